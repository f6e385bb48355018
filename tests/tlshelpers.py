"""Real networks on loopback: an HTTPS server with its own test CA, and a CONNECT proxy.

Both bind 127.0.0.1 on a free port, serve from daemon threads, and stop when their `with`
block ends or, at the latest, after MAX_LIFETIME_S, so a failing test cannot leave them behind.
"""

from __future__ import annotations

import contextlib
import enum
import json
import select
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import trustme

LOOPBACK = "127.0.0.1"
MAX_LIFETIME_S = 60.0  # a server outlives no test by more than this
IO_TIMEOUT_S = 5.0  # one socket read or write inside the helpers
POLL_S = 0.02  # how soon a server notices it is asked to stop
_CHUNK = 65536


class TestCA:
    """A throw-away CA and a server certificate it signed, written to files for the client."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path, *names: str) -> None:
        self.ca = trustme.CA()
        self.cert = self.ca.issue_cert(*(names or (LOOPBACK, "localhost")))
        self.ca_pem = directory / "test-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_pem))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.cert.configure_cert(context)
        return context


class _Stoppable:
    """Shared start/stop: serve in a thread, shut down on exit or after MAX_LIFETIME_S."""

    server: socketserver.BaseServer

    def _start(self) -> None:
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": POLL_S}, daemon=True
        )
        self._thread.start()
        self._timer = threading.Timer(MAX_LIFETIME_S, self.stop)
        self._timer.daemon = True
        self._timer.start()

    def stop(self) -> None:
        self._timer.cancel()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=IO_TIMEOUT_S)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class _QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[tuple[str, str]]
    delay_s: float

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # refused handshakes are what some tests are about: no tracebacks on stderr


class _ApiHandler(BaseHTTPRequestHandler):
    """Answers like the API would: 201 with a Shipment ID for POST, 200 for GET."""

    server: _QuietHTTPServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._reply(200, {"ok": True})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        time.sleep(self.server.delay_s)
        self._reply(201, {"id": 1000 + len(self.server.requests)})

    def _reply(self, status: int, body: object) -> None:
        self.server.requests.append((self.command, self.path))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class ApiServer(_Stoppable):
    """A tiny API on 127.0.0.1: HTTPS with `ca`'s certificate, or plain http without one."""

    server: _QuietHTTPServer

    def __init__(self, ca: TestCA | None, *, delay_s: float = 0.0) -> None:
        self.server = _QuietHTTPServer((LOOPBACK, 0), _ApiHandler)
        self.server.requests = []
        self.server.delay_s = delay_s  # before answering a POST: a slow API
        if ca is not None:
            # The handshake happens in the handler thread, on first read, not in accept().
            self.server.socket = ca.server_context().wrap_socket(
                self.server.socket, server_side=True, do_handshake_on_connect=False
            )
        self.port = self.server.server_address[1]
        scheme = "https" if ca is not None else "http"
        self.url = f"{scheme}://{LOOPBACK}:{self.port}"
        self._start()

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request answered."""
        return self.server.requests

    def __enter__(self) -> ApiServer:
        return self


class ProxyMode(enum.Enum):
    """How the proxy treats a CONNECT."""

    TUNNEL = "tunnel"  # 200, then relay bytes both ways (loopback targets only)
    SILENT = "silent"  # read the request, never answer: a proxy that hangs
    REFUSE_407 = "407"  # 407 Proxy Authentication Required


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    mode: ProxyMode
    connects: list[str]
    closing: threading.Event

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class _ProxyHandler(socketserver.BaseRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        client: socket.socket = self.request
        client.settimeout(IO_TIMEOUT_S)
        head = b""
        while b"\r\n\r\n" not in head:
            data = client.recv(_CHUNK)
            if not data:
                return
            head += data
        method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        if method != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        self.server.connects.append(target)
        if self.server.mode is ProxyMode.SILENT:
            self.server.closing.wait(MAX_LIFETIME_S)
            return
        if self.server.mode is ProxyMode.REFUSE_407:
            client.sendall(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n'
            )
            return
        host, port = target.rsplit(":", 1)
        if host != LOOPBACK:  # this proxy never leaves the machine
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        with socket.create_connection((host, int(port)), timeout=IO_TIMEOUT_S) as upstream:
            client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            _relay(client, upstream, self.server.closing)


def _relay(a: socket.socket, b: socket.socket, closing: threading.Event) -> None:
    """Copy bytes both ways until either side closes or the proxy stops."""
    peers = {a: b, b: a}
    while not closing.is_set():
        ready, _, _ = select.select(list(peers), [], [], POLL_S)
        for sock in ready:
            try:
                data = sock.recv(_CHUNK)
            except OSError:
                return
            if not data:
                return
            peers[sock].sendall(data)


class ConnectProxy(_Stoppable):
    """An HTTP CONNECT proxy on 127.0.0.1 that counts the tunnels asked of it."""

    server: _ProxyServer

    def __init__(self, mode: ProxyMode = ProxyMode.TUNNEL) -> None:
        self.server = _ProxyServer((LOOPBACK, 0), _ProxyHandler)
        self.server.mode = mode
        self.server.connects = []
        self.server.closing = threading.Event()
        self.port = self.server.server_address[1]
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._start()

    @property
    def connects(self) -> list[str]:
        """The HOST:PORT of every CONNECT received."""
        return self.server.connects

    def stop(self) -> None:
        self.server.closing.set()  # ends relays and silent waits
        super().stop()

    def __enter__(self) -> ConnectProxy:
        return self


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port with nothing listening on it (connections are refused)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
    yield port
