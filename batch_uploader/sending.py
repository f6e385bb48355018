"""The sending phase of a run: tokens, HTTP client, journal, run lock, log, signals, Sender.

pipeline.run() hands this module the requests to send; it returns their outcomes (one per
request, in order) and the counts the summary needs. Everything that exists only while the
API is being talked to lives here: the router that picks each request's token, the HTTP
client, the run lock, the Ctrl-C handling and the per-run log. In order:
1. ask Flxpoint (`asking.consult`) what the whole-PO requests ship, or, for a dry run that
   asks Flxpoint, check every request and stop there (nothing posted, no lock, no journal
   intents);
2. send the rest (`Sender`), one run per token at a time (`runlock`).
A lookup that fails stops the run before anything is posted: `fatal` says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import signal
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import httpx

from batch_uploader.asking import (
    DRY_RUN_CHECKED,
    READ_PAGE_SIZE,
    Consulted,
    consult,
    needs_asking,
)
from batch_uploader.config import Config
from batch_uploader.errors import EXIT_AUTH, EXIT_BAD_INPUT, UploaderError
from batch_uploader.httpclient import (
    certificate_problem,
    make_client,
    proxy_problem,
    tls_context,
)
from batch_uploader.journal import Entry, Journal, State, request_key
from batch_uploader.lanes import Lane, Router
from batch_uploader.lookups import FlxpointReader
from batch_uploader.models import Outcome, ShipmentRequest, Status
from batch_uploader.run_hooks import Observer, RunControl
from batch_uploader.runlock import hold_run_lock
from batch_uploader.sender import (
    ALREADY_CREATED,
    CONNECT_TIMEOUT_S,
    NOT_SENT_STOPPED,
    REPLY_TIMEOUT_S,
    Attempt,
    Sender,
    SendOptions,
)

USER_AGENT = "batch-uploader/0.1 (+https://github.com/batch-uploader)"
# The journal has when another run's last request was about to leave, not when the server
# saw it, and this process has no measured lateness yet: its first request keeps this much
# more than the spacing from that one (measured: 0.502 s on loopback met a 429 under load).
CROSS_RUN_MARGIN_S = 0.05
INTERRUPTED_NOTE = "interrupted: rows not sent are marked 'not sent'; run again to finish"


@dataclass
class SendReport:
    """What the sending phase did, for the workbook's summary and the exit code."""

    outcomes: list[Outcome] = field(default_factory=list)
    requests: int = 0
    rate_limited: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    notes: tuple[str, ...] = ()
    # Why the run stopped early (a 401, a certificate, a proxy, a failed lookup), and its
    # exit code.
    fatal: str | None = None
    fatal_code: int = EXIT_AUTH


def send(
    config: Config,
    run_id: str,
    inputs: list[str],
    requests: Sequence[ShipmentRequest],
    observer: Observer,
    log_path: Path | None,
    control: RunControl | None = None,
) -> SendReport:
    """Start the sandbox if asked, open the journal, the log and the run lock; send everything.

    With `config.dry_run` (a dry run that asks Flxpoint) every request is only checked
    against Flxpoint: nothing is posted, no run lock is taken, no journal intent is written,
    and `log_path` may be None. Outcomes come back one per request, in order.
    """
    with contextlib.ExitStack() as stack:
        base_url, token, scope = _endpoint(config, stack)
        router = Router(token, config.source_tokens, config.rate)
        options = SendOptions(
            max_attempts=config.max_attempts, include_unknown=config.include_unknown
        )
        clients = _clients(config, base_url, router.lanes, options.in_flight_per_token)
        if config.dry_run:
            # Read-only: the journal is only read, and only if an earlier run made one.
            journal = Journal(config.journal_path) if config.journal_path.exists() else None
            if journal is not None:
                stack.callback(journal.close)
            run = _Run(
                config, run_id, scope, router, journal, observer, None, control, options, base_url
            )
            return asyncio.run(run.check(clients, requests))
        journal = Journal(config.journal_path)
        stack.callback(journal.close)
        journal.start_run(run_id, inputs, journal_settings(config, scope, router))
        log = _open_log(stack, log_path)
        fingerprints = [lane.fingerprint for lane in router.lanes]
        lock = hold_run_lock(
            config.journal_path, scope, fingerprints, run_id, on_wait=observer.waiting
        )
        stack.enter_context(lock)
        run = _Run(
            config, run_id, scope, router, journal, observer, log, control, options, base_url
        )
        return asyncio.run(run.send(clients, requests))
    raise AssertionError("unreachable")  # pragma: no cover


def _open_log(stack: contextlib.ExitStack, path: Path | None) -> TextIO | None:
    """The per-run log next to the workbook (one line per request), closed with the run."""
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    return stack.enter_context(path.open("w", encoding="utf-8"))


def _endpoint(config: Config, stack: contextlib.ExitStack) -> tuple[str, str | None, str]:
    """Base URL, default token and journal scope: the API's, or an in-process sandbox's."""
    if not config.sandbox:
        return config.base_url, config.token, config.base_url
    from batch_uploader.sandbox import Sandbox  # only needed for --sandbox

    sandbox = stack.enter_context(Sandbox())
    # A new in-process sandbox knows no earlier shipments: its journal scope is its own.
    return sandbox.url, sandbox.account_token, f"{sandbox.url}#sandbox-{secrets.token_hex(8)}"


@dataclass
class _Run:
    """One sending phase's collaborators, so the async part takes few arguments."""

    config: Config
    run_id: str
    scope: str
    router: Router
    journal: Journal | None
    observer: Observer
    log: TextIO | None
    control: RunControl | None
    options: SendOptions
    base_url: str

    async def send(
        self, clients: dict[str, httpx.AsyncClient], requests: Sequence[ShipmentRequest]
    ) -> SendReport:
        """Consult Flxpoint for the whole-PO requests, then send what is left to send."""
        assert self.journal is not None
        report = SendReport()
        async with _all_open(clients):
            readers = self._readers(clients)
            sender = Sender(
                clients,
                self.journal,
                scope=self.scope,
                lane_for=self.router.lane_for,
                run_id=self.run_id,
                options=self.options,
                on_outcome=self.observer.outcome,
                on_attempt=self._attempted,
                readers=readers,
            )
            for lane in self.router.lanes:
                last_sent = self.journal.last_sent(lane.fingerprint)
                if last_sent is not None:
                    lane.pacer.continue_after(last_sent + CROSS_RUN_MARGIN_S)
            loop = asyncio.get_running_loop()
            asking: asyncio.Future[list[Consulted]] | None = None

            def stop() -> None:
                sender.stop()
                if asking is not None:
                    asking.cancel()

            if self.control is not None:
                self.control._bind(loop, stop)
            self.observer.sending(len(requests))
            with _stop_on_signals(stop):
                began = loop.time()
                try:
                    asking = asyncio.ensure_future(self._consult(requests, readers, False))
                    consulted = await self._asked(asking, sender, report)
                    if consulted is None:
                        report.outcomes = [Outcome(Status.NOT_SENT, error=NOT_SENT_STOPPED)] * len(
                            requests
                        )
                    else:
                        report.outcomes = await self._send_rest(sender, consulted)
                finally:
                    self.observer.finished()
                report.seconds = loop.time() - began
        report.requests = sender.stats.requests + sum(r.requests for r in readers.values())
        report.rate_limited = sender.stats.rate_limited + sum(
            r.rate_limited for r in readers.values()
        )
        return self._ended(report, sender)

    async def _asked(
        self,
        asking: asyncio.Future[list[Consulted]],
        sender: Sender,
        report: SendReport,
    ) -> list[Consulted] | None:
        """What Flxpoint said before sending; None when a Stop or a failed lookup ended it."""
        try:
            return await asking
        except asyncio.CancelledError:
            if not sender.stopping.is_set():
                raise  # not our Stop: someone cancelled the run itself
            return None
        except UploaderError as exc:
            report.fatal, report.fatal_code = self._lookup_problem(exc)
            return None

    @staticmethod
    def _ended(report: SendReport, sender: Sender) -> SendReport:
        """Why the sending ended (a fatal problem, an interrupt), for the summary's notes."""
        if report.fatal is None:
            report.fatal, report.fatal_code = sender.fatal, sender.fatal_code
        report.interrupted = sender.stopping.is_set() and report.fatal is None
        if report.interrupted:
            report.notes = (INTERRUPTED_NOTE,)
        elif report.fatal:
            report.notes = (f"stopped: {report.fatal}",)
        return report

    async def check(
        self, clients: dict[str, httpx.AsyncClient], requests: Sequence[ShipmentRequest]
    ) -> SendReport:
        """A dry run that asks Flxpoint: every request checked, nothing posted."""
        report = SendReport()
        async with _all_open(clients):
            readers = self._readers(clients)
            began = asyncio.get_running_loop().time()
            try:
                consulted = await self._consult(requests, readers, True)
            except UploaderError as exc:
                report.fatal, report.fatal_code = self._lookup_problem(exc)
                report.outcomes = [Outcome(Status.NOT_SENT, error=NOT_SENT_STOPPED)] * len(requests)
                report.notes = (f"stopped: {report.fatal}",)
            else:
                report.outcomes = [
                    c.outcome or Outcome(Status.NOT_SENT, error=DRY_RUN_CHECKED) for c in consulted
                ]
            report.seconds = asyncio.get_running_loop().time() - began
        report.requests = sum(r.requests for r in readers.values())
        report.rate_limited = sum(r.rate_limited for r in readers.values())
        return report

    def _readers(self, clients: dict[str, httpx.AsyncClient]) -> dict[str, FlxpointReader]:
        """One reader per token, on the token's client, pacing GETs with the token's Pacer."""
        return {
            lane.fingerprint: FlxpointReader(
                clients[lane.fingerprint], lane.token, lane.pacer, page_size=READ_PAGE_SIZE
            )
            for lane in self.router.lanes
        }

    async def _consult(
        self,
        requests: Sequence[ShipmentRequest],
        readers: dict[str, FlxpointReader],
        check_all: bool,
    ) -> list[Consulted]:
        """Ask Flxpoint about the requests that need it and that no earlier run created."""

        def reader_for(request: ShipmentRequest) -> FlxpointReader:
            return readers[self.router.lane_for(request).fingerprint]

        consulted: dict[int, Consulted] = {}
        asked: list[int] = []
        for index, request in enumerate(requests):
            if not needs_asking(request, check_all=check_all):
                consulted[index] = Consulted(request)
                continue
            entry = self._journal_entry(request)
            if entry is None or entry.state is not State.CREATED:
                asked.append(index)
                continue
            # The sender skips it as created by an earlier run: it needs no items, and its
            # PO, shipped by then, would only say "already fully shipped".
            skipped = Outcome(Status.SKIPPED, entry.shipment_id, ALREADY_CREATED)
            consulted[index] = Consulted(request, skipped if check_all else None)
        answers = await consult([requests[i] for i in asked], reader_for, check_all=check_all)
        consulted.update(zip(asked, answers, strict=True))
        result = [consulted[i] for i in range(len(requests))]
        if not check_all:
            for item in result:
                if item.outcome is not None:
                    self.observer.outcome(item.request, item.outcome)
        return result

    def _journal_entry(self, request: ShipmentRequest) -> Entry | None:
        if self.journal is None:
            return None
        fingerprint = self.router.lane_for(request).fingerprint
        return self.journal.get(request_key(self.scope, fingerprint, request))

    async def _send_rest(self, sender: Sender, consulted: list[Consulted]) -> list[Outcome]:
        """Send the requests Flxpoint's answers left to send; put the others' outcomes back."""
        to_send = [c for c in consulted if c.outcome is None]
        sent = iter(await sender.send_all([c.request for c in to_send]))
        outcomes = []
        for item in consulted:
            if item.outcome is not None:
                outcomes.append(item.outcome)
                continue
            outcome = next(sent)
            if item.note and outcome.status is Status.CREATED:
                outcome = replace(outcome, note=item.note)
            outcomes.append(outcome)
        return outcomes

    def _lookup_problem(self, exc: UploaderError) -> tuple[str, int]:
        """The one line and exit code of a lookup that stopped the run."""
        problem = certificate_problem(exc) or proxy_problem(exc, self.base_url)
        if problem is not None:
            return problem, EXIT_BAD_INPUT
        return str(exc), exc.exit_code

    def _attempted(self, attempt: Attempt) -> None:
        if self.log is not None:
            _log_attempt(self.log, attempt)
        self.observer.attempt(attempt)


@contextlib.asynccontextmanager
async def _all_open(clients: dict[str, httpx.AsyncClient]) -> AsyncIterator[None]:
    """Every token's client open for the run, and all closed after it, whatever happens."""
    async with contextlib.AsyncExitStack() as stack:
        for client in clients.values():
            await stack.enter_async_context(client)
        yield


def _clients(
    config: Config, base_url: str, lanes: Sequence[Lane], per_lane: int
) -> dict[str, httpx.AsyncClient]:
    """One HTTP client per token: verified TLS (plus --ca-bundle), the proxy if any, explicit
    timeouts, no redirects, a connection per request in flight. A bad CA file is a ConfigError.

    Each token gets its own connection pool: httpcore walks every connection of a pool for
    each request, so 50 tokens sharing one pool of 400 spent most of their CPU there
    (profiled in the 50-token benchmark). The TLS context is built once and shared.
    """
    context = tls_context(config.ca_bundle) if httpx.URL(base_url).scheme == "https" else None
    return {
        lane.fingerprint: make_client(
            base_url,
            ca_bundle=config.ca_bundle,
            max_connections=per_lane,
            timeout=httpx.Timeout(REPLY_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
            headers={"User-Agent": USER_AGENT},
            context=context,
        )
        for lane in lanes
    }


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
