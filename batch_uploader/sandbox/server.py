"""The HTTP front of the sandbox: a local fake of Flxpoint's shipment API.

API endpoints: `POST /shipments`, and the read side `GET /fulfillment-requests`,
`GET /shipments` and `GET /shipments/{id}`; GETs and POSTs of one token share its rate
limit. Standard library only. Each connection is served by its own thread (HTTP/1.1
keep-alive), so the sandbox sees the concurrency a real client produces. The server
never prints per request: request lines and headers may carry a token. With
`SandboxOptions.ssl_context` it speaks HTTPS (the handshake runs in the connection's
thread, so a slow client never holds up the others).

Admin endpoints (not part of the real API, no token, not rate limited):
`GET /_sandbox/shipments`, `GET /_sandbox/stats`, `POST /_sandbox/reset`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import ssl
import sys
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from batch_uploader.sandbox.faults import AfterCreate, Faults
from batch_uploader.sandbox.limits import retry_after_header
from batch_uploader.sandbox.reads import parse_fr_query, parse_shipment_query
from batch_uploader.sandbox.schema import ApiError, parse_create_request
from batch_uploader.sandbox.seed import Seed, SeedError
from batch_uploader.sandbox.state import (
    Principal,
    SandboxOptions,
    SandboxState,
    SandboxStats,
)

TOKEN_HEADER = "X-API-TOKEN"  # noqa: S105 (a header name, not a secret)
SHIPMENTS_PATH = "/shipments"
FULFILLMENT_REQUESTS_PATH = "/fulfillment-requests"
ADMIN_SHIPMENTS_PATH = "/_sandbox/shipments"
ADMIN_STATS_PATH = "/_sandbox/stats"
ADMIN_RESET_PATH = "/_sandbox/reset"
ALLOWED_METHODS = {
    SHIPMENTS_PATH: "GET, POST",
    FULFILLMENT_REQUESTS_PATH: "GET",
    ADMIN_SHIPMENTS_PATH: "GET",
    ADMIN_STATS_PATH: "GET",
    ADMIN_RESET_PATH: "POST",
}
MAX_BODY_BYTES = 1024 * 1024
# A too-large body up to this size is read and thrown away before the 413, so the client
# (still sending) is not cut off with a reset and actually sees the answer.
MAX_DRAINED_BYTES = 16 * MAX_BODY_BYTES
DRAIN_CHUNK_BYTES = 64 * 1024
# How often the accept loop checks for stop(); also bounds how long stop() takes.
POLL_INTERVAL_S = 0.05
# An idle keep-alive connection is closed after this long, so handler threads end.
IDLE_CONNECTION_TIMEOUT_S = 60.0
INTERNAL_ERROR_MESSAGE = "Internal server error"
# Clients connect to loopback when the sandbox listens on every interface.
_CONNECTABLE_HOST = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104

DEFAULT_OPTIONS = SandboxOptions()


class _App:
    """What every handler thread shares: the state and the fault injector."""

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.state = SandboxState(options)
        self.faults = Faults(
            latency_s=options.latency_s,
            fail_before_rate=options.fail_before_rate,
            lost_reply_rate=options.lost_reply_rate,
            drop_connection_rate=options.drop_connection_rate,
            random_seed=options.random_seed,
        )


def _reset(app: _App) -> dict[str, Any]:
    app.state.reset()
    return {"status": 200, "message": "The sandbox forgot its shipments and stats"}


class _HttpServer(ThreadingHTTPServer):
    """A threading server that can close its open keep-alive connections on stop."""

    daemon_threads = True
    # server_close() must not wait for threads blocked on idle client connections.
    block_on_close = False
    # socketserver's default backlog is 5: fifty tokens opening their connections at once
    # overflowed it, and the dropped SYNs were retried by the kernel 1-3 s later (measured:
    # the first requests of 50 tokens spread over 3 s). A real API's backlog is large.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], app: _App) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.ssl_context = app.options.ssl_context
        if self.ssl_context is not None:
            # Handshake later, in the connection's own thread (finish_request), not in
            # the accept loop where one silent client would stall every other.
            self.socket = self.ssl_context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            request.settimeout(IDLE_CONNECTION_TIMEOUT_S)
            try:
                request.do_handshake()
            except (OSError, ValueError):  # not TLS, bad certificate, gone: not our bug
                return
        super().finish_request(request, client_address)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can stall for seconds
        # on some machines; the sandbox never uses that name.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open client connection (their threads then end)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that goes away mid-request is normal; only real bugs are reported.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def url(self) -> str:
        """Return the base URL clients should use."""
        host, port = self.server_address[:2]
        host = _CONNECTABLE_HOST.get(str(host), str(host))
        shown = f"[{host}]" if ":" in host else host
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{shown}:{port}"


class _Handler(BaseHTTPRequestHandler):
    """Answers one connection's requests, in the order the API page documents."""

    server: _HttpServer
    protocol_version = "HTTP/1.1"
    server_version = "FlxpointSandbox/1.0"
    timeout = IDLE_CONNECTION_TIMEOUT_S
    arrived_at = 0.0

    def version_string(self) -> str:
        """Name the sandbox in the Server header (not the Python version)."""
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: a request line or header may carry a token."""

    def parse_request(self) -> bool:
        # Called right after the request line is read: the rate limit judges this
        # moment, not when the body or our own latency let us get to it.
        self.arrived_at = time.monotonic()
        return super().parse_request()

    # --- routing ------------------------------------------------------------------

    def do_POST(self) -> None:
        """Create a shipment, or reset the sandbox."""
        path = urlsplit(self.path).path
        if path == SHIPMENTS_PATH:
            self._create_shipment()
        elif path == ADMIN_RESET_PATH:
            self._admin(_reset)
        else:
            self._wrong_method_or_path(path)

    def do_GET(self) -> None:
        """Serve the read endpoints and the admin views."""
        parts = urlsplit(self.path)
        path, query = parts.path, parts.query
        state = self.server.app.state
        if path == FULFILLMENT_REQUESTS_PATH:
            self._read(lambda who: state.fulfillment_requests(who, parse_fr_query(query)))
        elif path == SHIPMENTS_PATH:
            self._read(lambda who: state.find_shipments(who, parse_shipment_query(query)))
        elif path.startswith(SHIPMENTS_PATH + "/") and path.count("/") == 2:
            self._read(lambda who: state.shipment(who, _path_id(path)))
        elif path == ADMIN_SHIPMENTS_PATH:
            self._admin(lambda app: app.state.shipments())
        elif path == ADMIN_STATS_PATH:
            self._admin(lambda app: app.state.stats().to_json())
        else:
            self._wrong_method_or_path(path)

    def _other_method(self) -> None:
        self._wrong_method_or_path(urlsplit(self.path).path)

    do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _other_method

    def _wrong_method_or_path(self, path: str) -> None:
        try:
            self._read_body()
        except ApiError as error:
            self._send_json(error.status, error.body())
            return
        allowed = ALLOWED_METHODS.get(path)
        if allowed is None:
            self._send_json(404, {"status": 404, "message": f"No such endpoint: {path}"})
        else:
            message = f"Method {self.command} is not allowed on {path}; use {allowed}"
            self._send_json(405, {"status": 405, "message": message}, {"Allow": allowed})

    def _admin(self, view: Callable[[_App], Any]) -> None:
        try:
            self._read_body()
        except ApiError as error:
            self._send_json(error.status, error.body())
            return
        try:
            payload = view(self.server.app)
        except SeedError as error:  # reset found the seed file broken
            self._send_json(500, {"status": 500, "message": str(error)})
            return
        self._send_json(200, payload)

    # --- GET /fulfillment-requests, GET /shipments ---------------------------------

    def _read(self, view: Callable[[Principal], Any]) -> None:
        """Answer one GET of the API: token, the shared rate limit, latency, then `view`."""
        state = self.server.app.state
        state.begin_read()
        status: int | None = 500
        try:
            status = self._answer_read(view)
        except OSError:
            status = None
            raise
        except Exception:
            with contextlib.suppress(OSError):
                self._send_json(500, {"status": 500, "message": INTERNAL_ERROR_MESSAGE})
            raise  # a sandbox bug: let the server report it
        finally:
            state.end_read(status)

    def _answer_read(self, view: Callable[[Principal], Any]) -> int:
        try:
            self._read_body()
            principal = self._authenticate()
            refused = self._before_answering(principal)
            if refused is not None:
                return refused
            payload = view(principal)
        except ApiError as error:
            return self._send_json(error.status, error.body())
        return self._send_json(200, payload)

    def _before_answering(self, principal: Principal) -> int | None:
        """The rate limit, then the injected latency and failure: the status sent, or None."""
        app = self.server.app
        wait_s = app.state.admit(principal, self.arrived_at)
        if wait_s is not None:
            return self._too_many_requests(wait_s)
        delay_s = app.faults.latency()
        if delay_s > 0:
            time.sleep(delay_s)
        if app.faults.fail_before():
            app.state.record_server_error()
            return self._send_json(500, {"status": 500, "message": INTERNAL_ERROR_MESSAGE})
        return None

    # --- POST /shipments ----------------------------------------------------------

    def _create_shipment(self) -> None:
        state = self.server.app.state
        state.begin_request()
        status: int | None = 500
        try:
            status = self._answer_create()
        except OSError:
            status = None  # the client went away; nothing more can be sent
            raise
        except Exception:
            with contextlib.suppress(OSError):
                self._send_json(500, {"status": 500, "message": INTERNAL_ERROR_MESSAGE})
            raise  # a sandbox bug: let the server report it
        finally:
            state.end_request(status)

    def _answer_create(self) -> int | None:
        """Answer one POST /shipments; return the status sent (None: connection dropped)."""
        app = self.server.app
        try:
            body = self._read_body()
            principal = self._authenticate()
            refused = self._before_answering(principal)
            if refused is not None:
                return refused
            request = parse_create_request(self.headers.get("Content-Type"), body)
            shipment = app.state.create(principal, request)
        except ApiError as error:
            return self._send_json(error.status, error.body())
        outcome = app.faults.after_create()
        if outcome is AfterCreate.DROP_CONNECTION:
            app.state.record_server_error()
            self._drop_connection()
            return None
        if outcome is AfterCreate.LOST_REPLY:
            app.state.record_server_error()
            return self._send_json(500, {"status": 500, "message": INTERNAL_ERROR_MESSAGE})
        return self._send_json(201, shipment)

    def _authenticate(self) -> Principal:
        token = self.headers.get(TOKEN_HEADER)
        if not token:
            raise ApiError(401, f"Missing {TOKEN_HEADER} header")
        principal = self.server.app.state.authenticate(token)
        if principal is None:
            # Never echo the token: it may be a real one sent to the wrong place.
            raise ApiError(401, f"The {TOKEN_HEADER} token is not valid")
        return principal

    def _too_many_requests(self, wait_s: float) -> int:
        retry_after = retry_after_header(wait_s)
        rate = self.server.app.options.rate
        message = (
            f"Too many requests: at most {rate:g} per second per token; retry after {retry_after} s"
        )
        return self._send_json(
            429, {"status": 429, "message": message}, {"Retry-After": retry_after}
        )

    # --- wire helpers -------------------------------------------------------------

    def _read_body(self) -> bytes:
        """Read the request body; refuse bodies we cannot or will not read."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise ApiError(411, "Send the body with a Content-Length header, not chunked")
        raw_length = self.headers.get("Content-Length") or "0"
        try:
            length = int(raw_length)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise ApiError(400, f"Invalid Content-Length header: {raw_length[:20]!r}")
        if length > MAX_BODY_BYTES:
            if length <= MAX_DRAINED_BYTES:
                self._discard(length)
            else:
                # Left unread, the rest of the body would be taken for the next request.
                self.close_connection = True
            raise ApiError(413, f"The request body is larger than {MAX_BODY_BYTES} bytes")
        return self.rfile.read(length) if length else b""

    def _discard(self, length: int) -> None:
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, DRAIN_CHUNK_BYTES))
            if not chunk:
                break
            remaining -= len(chunk)

    def _send_json(
        self, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> int:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        return status

    def _drop_connection(self) -> None:
        """Close the connection without writing a single byte of a response."""
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client is already gone
            self.connection.shutdown(socket.SHUT_RDWR)


def _path_id(path: str) -> int:
    """The `{id}` of `/shipments/{id}`, or `ApiError(404)`."""
    text = path.rsplit("/", 1)[1]
    if not text.isascii() or not text.isdigit():
        raise ApiError(404, f"No such endpoint: {path}")
    return int(text)


class Sandbox:
    """The local API served from a daemon thread.

    Use as a context manager, or call `start()` and `stop()`. The seed is loaded in
    the constructor, so a bad seed file fails here rather than in the server thread.
    """

    def __init__(
        self, options: SandboxOptions = DEFAULT_OPTIONS, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._options = options
        self._address = (host, port)
        self._app = _App(options)
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start serving; returns once the socket is listening."""
        if self._server is not None:
            msg = "The sandbox is already started"
            raise RuntimeError(msg)
        server = _HttpServer(self._address, self._app)
        thread = threading.Thread(
            target=server.serve_forever,
            args=(POLL_INTERVAL_S,),
            name="flxpoint-sandbox",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread

    def stop(self) -> None:
        """Stop serving and close every connection; does nothing if not started."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL, e.g. `http://127.0.0.1:8765` (only while started)."""
        if self._server is None:
            msg = "The sandbox is not started; call start() or use it in a with-block"
            raise RuntimeError(msg)
        return self._server.url()

    @property
    def account_token(self) -> str:
        """The seed's ACCOUNT token."""
        return self._app.state.seed.account_token

    @property
    def seed(self) -> Seed:
        """The loaded seed: sources with their tokens, purchase orders and items."""
        return self._app.state.seed

    def shipments(self) -> list[dict[str, Any]]:
        """Return a copy of every created Shipment object, in creation order."""
        return self._app.state.shipments()

    def stats(self) -> SandboxStats:
        """Return a snapshot of the request counters."""
        return self._app.state.stats()

    def reset(self) -> None:
        """Forget shipments and stats, and reload the seed."""
        self._app.state.reset()


def serve_forever(
    options: SandboxOptions, host: str, port: int, on_ready: Callable[[str], None]
) -> None:
    """Serve in the calling thread until KeyboardInterrupt, then close the socket.

    `on_ready(url)` is called once the socket is listening.
    """
    server = _HttpServer((host, port), _App(options))
    try:
        on_ready(server.url())
        server.serve_forever(POLL_INTERVAL_S)
    except KeyboardInterrupt:
        pass
    finally:
        server.close_connections()
        server.server_close()
