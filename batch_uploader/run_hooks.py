"""How a run talks to whoever watches it: progress hooks (Observer) and a Stop (RunControl).

The CLI's progress bar, cron's plain lines and the web page's live view are Observers; the
web page's Stop button is a RunControl. Neither knows anything about how requests are sent.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable

from batch_uploader.models import Outcome, ShipmentRequest
from batch_uploader.sender import Attempt


class Observer:
    """Hooks for progress display; the default does nothing (cron, tests)."""

    def loading(self, step: str, label: str, rows: int) -> None:
        """A big file is being read or checked (`step`): `rows` so far, every 100,000."""

    def mapped(self, lines: list[str]) -> None:
        """How each file was read (format, field ← header): shown before anything is sent."""

    def loaded(self, rows: int, requests: int, invalid: int) -> None:
        """After validation and grouping, before sending."""

    def sending(self, total: int) -> None:
        """Sending starts: `total` requests."""

    def outcome(self, request: ShipmentRequest, outcome: Outcome) -> None:
        """One request finished."""

    def attempt(self, attempt: Attempt) -> None:
        """One HTTP exchange finished (a retry is one more); it left `elapsed_ms` before `at`."""

    def finished(self) -> None:
        """Sending is over."""

    def waiting(self, message: str) -> None:
        """Another run holds this token's run lock; said once. Printed even with --quiet/--json
        (on stderr): a run that seems to hang must say why."""
        print(f"batch-uploader: {message}", file=sys.stderr, flush=True)


class RunControl:
    """Stops a run from another thread (the web page's Stop button), like Ctrl-C does."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stop: Callable[[], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.stopped = False

    def stop(self) -> None:
        """Send nothing new; the workbook is still written (exit 130). Thread-safe."""
        with self._lock:
            self.stopped = True
            if self._loop is not None and self._stop is not None:
                self._loop.call_soon_threadsafe(self._stop)

    def _bind(self, loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> None:
        with self._lock:
            self._loop, self._stop = loop, stop
            if self.stopped:
                loop.call_soon_threadsafe(stop)
