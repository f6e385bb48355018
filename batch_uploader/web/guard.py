"""What every request passes before any route: Host check, password, size limit, CSRF.

- A `Host` header that does not name this server is refused (421): a page on another site
  cannot reach us through a DNS name rebound to 127.0.0.1.
- With `--allow-remote`, HTTP Basic authentication with BATCH_UPLOADER_PASSWORD (401).
- A body over the limit is refused (413) before or while it arrives, never stored whole.
- Every state-changing request carries the page's CSRF token in the X-CSRF-Token header (403).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from http.cookies import SimpleCookie

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from batch_uploader.web.sessions import CSRF_HEADER, SESSION_COOKIE, Sessions, csrf_matches
from batch_uploader.web.settings import WebSettings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SMALL_BODY_BYTES = 64 * 1024
"""The largest body of any request but a file upload (they carry a few JSON fields)."""
UPLOAD_PATH = "/api/uploads"


class BodyTooLarge(Exception):
    """The request body passed the limit while it was being read."""


class Guard:
    """ASGI middleware in front of the whole app; see the module docstring."""

    def __init__(self, app: ASGIApp, settings: WebSettings, sessions: Sessions) -> None:
        self.app = app
        self.settings = settings
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        host = headers.get("host", "").lower()
        if host not in self.settings.allowed_hosts:
            await _reply(send, 421, "This server does not answer to that Host name.")
            return
        if self.settings.password and not _password_ok(headers, self.settings.password):
            await _reply(
                send,
                401,
                "Password required (BATCH_UPLOADER_PASSWORD of the server).",
                [(b"www-authenticate", b'Basic realm="batch-uploader", charset="UTF-8"')],
            )
            return
        method = scope["method"]
        if method not in SAFE_METHODS:
            session = self.sessions.get(_cookie(headers, SESSION_COOKIE))
            if not csrf_matches(session, headers.get(CSRF_HEADER)):
                await _reply(
                    send, 403, "Missing or wrong CSRF token: reload the page and try again."
                )
                return
        limit = (
            self.settings.upload_limit_bytes if scope["path"] == UPLOAD_PATH else SMALL_BODY_BYTES
        )
        too_large = f"Too large: at most {_size(limit)} can be uploaded at once."
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await _reply(send, 413, too_large, close=True)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if started:
                raise
            await _reply(send, 413, too_large, close=True)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _cookie(headers: dict[str, str], name: str) -> str | None:
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is the same as none
        return None
    morsel = cookie.get(name)
    return morsel.value if morsel is not None else None


def session_id_of(headers: dict[str, str]) -> str | None:
    """The session cookie's value in a request's headers."""
    return _cookie(headers, SESSION_COOKIE)


def _password_ok(headers: dict[str, str], password: str) -> bool:
    scheme, _, encoded = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    _, _, given = decoded.partition(":")
    return secrets.compare_digest(given.encode(), password.encode())


def _size(limit: int) -> str:
    mb = limit / (1024 * 1024)
    return f"{mb:g} MB" if mb >= 1 else f"{limit / 1024:g} KB"


async def _reply(
    send: Send,
    status: int,
    message: str,
    extra: list[tuple[bytes, bytes]] | None = None,
    *,
    close: bool = False,
) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *(extra or []),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
