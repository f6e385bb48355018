"""The sending phase of a run: tokens, HTTP client, journal, run log, signals, then Sender.

pipeline.run() hands this module the requests to send; it returns their outcomes and the
counts the summary needs. Everything that exists only while requests are in flight lives
here: the router that picks each request's token, the HTTP client, the Ctrl-C handling and
the per-run log.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import httpx

from batch_uploader.config import Config
from batch_uploader.errors import EXIT_AUTH
from batch_uploader.journal import Journal, token_fingerprint
from batch_uploader.models import Outcome, ShipmentRequest
from batch_uploader.pacing import Pacer
from batch_uploader.sender import (
    CONNECT_TIMEOUT_S,
    REPLY_TIMEOUT_S,
    Attempt,
    Lane,
    Sender,
    SendOptions,
)

USER_AGENT = "batch-uploader/0.1 (+https://github.com/batch-uploader)"
INTERRUPTED_NOTE = "interrupted: rows not sent are marked 'not sent'; run again to finish"


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


@dataclass
class SendReport:
    """What the sending phase did, for the workbook's summary and the exit code."""

    outcomes: list[Outcome] = field(default_factory=list)
    requests: int = 0
    rate_limited: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    notes: tuple[str, ...] = ()
    # Why the run stopped early (a 401, an untrusted certificate), and the exit code it means.
    fatal: str | None = None
    fatal_code: int = EXIT_AUTH


def send(
    config: Config,
    run_id: str,
    inputs: list[str],
    requests: Sequence[ShipmentRequest],
    observer: Observer,
    log_path: Path,
    control: RunControl | None = None,
) -> SendReport:
    """Start the sandbox if asked, open the journal and the log, and send everything."""
    with contextlib.ExitStack() as stack:
        base_url, token, scope = config.base_url, config.token, config.base_url
        if config.sandbox:
            from batch_uploader.sandbox import Sandbox  # only needed for --sandbox

            sandbox = stack.enter_context(Sandbox())
            base_url, token = sandbox.url, sandbox.account_token
            # A new in-process sandbox knows no earlier shipments: its journal scope is its own.
            scope = f"{sandbox.url}#sandbox-{secrets.token_hex(8)}"
        journal = Journal(config.journal_path)
        stack.callback(journal.close)
        router = Router(token, config.source_tokens, config.rate)
        journal.start_run(run_id, inputs, journal_settings(config, scope, router))
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = stack.enter_context(log_path.open("w", encoding="utf-8"))
        run = _Run(config, run_id, scope, router, journal, observer, log, control)
        return asyncio.run(run.send(base_url, requests))
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class _Run:
    """One sending phase's collaborators, so the async part takes few arguments."""

    config: Config
    run_id: str
    scope: str
    router: Router
    journal: Journal
    observer: Observer
    log: TextIO
    control: RunControl | None

    async def send(self, base_url: str, requests: Sequence[ShipmentRequest]) -> SendReport:
        options = SendOptions(
            max_attempts=self.config.max_attempts, include_unknown=self.config.include_unknown
        )
        report = SendReport()
        async with _client(
            base_url, options.in_flight_per_token * len(self.router.lanes)
        ) as client:
            sender = Sender(
                client,
                self.journal,
                scope=self.scope,
                lane_for=self.router.lane_for,
                run_id=self.run_id,
                options=options,
                on_outcome=self.observer.outcome,
                on_attempt=self._attempted,
            )
            for lane in self.router.lanes:
                lane.pacer.continue_after(self.journal.last_sent(lane.fingerprint))
            loop = asyncio.get_running_loop()
            if self.control is not None:
                self.control._bind(loop, sender.stop)
            self.observer.sending(len(requests))
            with _stop_on_signals(sender.stop):
                began = loop.time()
                try:
                    report.outcomes = await sender.send_all(requests)
                finally:
                    self.observer.finished()
                report.seconds = loop.time() - began
        report.requests = sender.stats.requests
        report.rate_limited = sender.stats.rate_limited
        report.fatal = sender.auth_error
        report.interrupted = sender.stopping.is_set() and sender.auth_error is None
        if report.interrupted:
            report.notes = (INTERRUPTED_NOTE,)
        elif report.fatal:
            report.notes = (f"stopped: {report.fatal}",)
        return report

    def _attempted(self, attempt: Attempt) -> None:
        _log_attempt(self.log, attempt)
        self.observer.attempt(attempt)


def _client(base_url: str, max_connections: int) -> httpx.AsyncClient:
    """The HTTP client: explicit timeouts, no redirects, a connection per request in flight."""
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(REPLY_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        limits=httpx.Limits(max_connections=max_connections),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        # Plain http is allowed to this machine only (config.check_base_url); only https
        # needs the CA bundle.
        verify=urlsplit(base_url).scheme != "http",
    )


@contextlib.contextmanager
def _stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Ctrl-C / SIGTERM stop new sends; the workbook is still written (exit 130)."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)
        try:
            loop.add_signal_handler(sig, stop)
            installed.append((sig, previous))
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # Windows or not the main thread: Ctrl-C falls back to KeyboardInterrupt
    try:
        yield
    finally:
        for sig, previous in installed:
            loop.remove_signal_handler(sig)
            signal.signal(sig, previous)  # asyncio leaves SIG_DFL behind; put back the CLI's


def journal_settings(config: Config, scope: str, router: Router) -> dict[str, Any]:
    """How to read this run's inputs again and find its journal keys; never the token."""
    return {
        "inputs": [str(p.resolve()) for p in config.inputs],
        "sheet": config.sheet,
        "encoding": config.encoding,
        "profile": config.profile,
        "source_id": config.source_id,
        "allow_duplicate_tracking": config.allow_duplicate_tracking,
        "retry_of": str(config.retry_of.resolve()) if config.retry_of else None,
        "scope": scope,
        "default_fingerprint": router.default_fingerprint,
        "source_fingerprints": router.source_fingerprints,
        "report_dir": str(config.report_dir.resolve()),
    }


class Router:
    """Which token sends a request: the source's own token (--tokens), else the default one."""

    def __init__(self, default: str | None, by_source: dict[int, str], rate: float) -> None:
        self._default = Lane(default, token_fingerprint(default), Pacer(rate)) if default else None
        self._by_source = {
            source: Lane(
                token, token_fingerprint(token), Pacer(rate), f"source {source} (--tokens)"
            )
            for source, token in by_source.items()
        }
        self.lanes = [*self._by_source.values(), *([self._default] if self._default else [])]
        self.default_fingerprint = self._default.fingerprint if self._default else None
        self.source_fingerprints = {str(s): lane.fingerprint for s, lane in self._by_source.items()}

    def lane_for(self, request: ShipmentRequest) -> Lane:
        lane = self._by_source.get(request.po.source_id or 0, self._default)
        if lane is None:
            msg = f"no token for {request.label}"
            raise AssertionError(msg)  # prevented by pipeline's token check
        return lane


def _log_attempt(log: TextIO, attempt: Attempt) -> None:
    """One line per request: time, PO, tracking, result, attempt, ms. Never the token."""
    request = attempt.request
    log.write(
        f"{attempt.at.isoformat(timespec='milliseconds')}\t{log_safe(request.po.label)}\t"
        f"{log_safe(request.tracking_number)}\t{attempt.result}\tattempt={attempt.attempt}\t"
        f"{attempt.elapsed_ms:.0f}ms\n"
    )
    log.flush()


# Every character that can end or split a line (str.splitlines' set) or hide in a terminal.
_CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")
_FORMULA_START = ("=", "+", "-", "@")


def log_safe(value: str) -> str:
    """One request stays one line, and a spreadsheet opening the log evaluates nothing.

    Tabs and line breaks are escaped; a value starting like a formula gets a leading `'`
    (OWASP's advice for CSV injection). The API got the exact value; this is only the log.
    """
    value = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)
    return f"'{value}" if value.startswith(_FORMULA_START) else value
