"""Browser sessions: a random cookie, a CSRF token, and the API token typed into the page.

The API token lives only in this process's memory, in the session that typed it: it is never
written to disk, never sent back to the browser and never logged.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from batch_uploader.web.uploads import Upload

SESSION_COOKIE = "bu_session"
CSRF_HEADER = "x-csrf-token"
SESSION_IDLE_S = 12 * 3600
"""A session unused this long is forgotten (and its uploaded files removed)."""


@dataclass
class Session:
    """One browser's state; the API token is excluded from repr, so it never prints."""

    id: str
    csrf: str
    client: str
    api_token: str | None = field(default=None, repr=False)
    upload: Upload | None = None
    last_job: str | None = None
    last_used: float = field(default_factory=time.monotonic)


class Sessions:
    """Every live session, by cookie value; safe to use from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, Session] = {}

    def get(self, session_id: str | None) -> Session | None:
        """The session of a cookie value, if it is one we issued and it is not stale."""
        if not session_id:
            return None
        with self._lock:
            session = self._by_id.get(session_id)
            if session is not None:
                session.last_used = time.monotonic()
            return session

    def new(self, client: str) -> Session:
        """A fresh session with its own unguessable cookie value and CSRF token."""
        self._expire()
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), client)
        with self._lock:
            self._by_id[session.id] = session
        return session

    def close_all(self) -> None:
        """Forget every session and remove their uploaded files (server shutdown)."""
        with self._lock:
            sessions, self._by_id = list(self._by_id.values()), {}
        for session in sessions:
            if session.upload is not None:
                session.upload.discard()

    def _expire(self) -> None:
        cutoff = time.monotonic() - SESSION_IDLE_S
        with self._lock:
            stale = [s for s in self._by_id.values() if s.last_used < cutoff]
            for session in stale:
                del self._by_id[session.id]
        for session in stale:
            if session.upload is not None:
                session.upload.discard()


def csrf_matches(session: Session | None, sent: str | None) -> bool:
    """The request carries this session's CSRF token (compared in constant time)."""
    if session is None or not sent:
        return False
    return secrets.compare_digest(session.csrf.encode(), sent.encode())
