"""run(config): read → map → validate → group → send → report, in that order.

This is the one place where the stages meet. Each stage is a module of its own; none of them
knows about the command line (cli.py) or about the stages after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import signal
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import httpx

from batch_uploader.check_and_group import check_and_group
from batch_uploader.config import Config
from batch_uploader.errors import InputError, NoRowsError, NothingToDo, ReportError
from batch_uploader.journal import Journal, token_fingerprint
from batch_uploader.models import (
    Outcome,
    RowRef,
    RowResult,
    ShipmentRequest,
    Status,
)
from batch_uploader.pacing import Pacer
from batch_uploader.profiles import (
    ColumnMap,
    Profile,
    bundled_profiles,
    choose_columns,
    header_score,
    resolve_profile,
)
from batch_uploader.reader import SourceRow, Table, read_table
from batch_uploader.report import (
    EXCEL_MAX_ROWS,
    FILE_COLUMN,
    RESULT_COLUMNS,
    RunSummary,
    input_labels,
    load_writer,
    write_workbook,
)
from batch_uploader.sender import (
    CONNECT_TIMEOUT_S,
    DEFAULT_MAX_IN_FLIGHT,
    REPLY_TIMEOUT_S,
    Attempt,
    Lane,
    Sender,
    SendOptions,
)

EXIT_OK, EXIT_ROWS_FAILED, EXIT_AUTH, EXIT_INTERRUPTED = 0, 1, 3, 130
USER_AGENT = "batch-uploader/0.1 (+https://github.com/batch-uploader)"
WRITER_LOAD_AFTER_S = 0.25
"""When, into sending, the workbook writer is imported (the event loop is idle then)."""


class Observer:
    """Hooks for progress display; the default does nothing (cron, tests)."""

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


@dataclass(frozen=True)
class RunResult:
    """What the CLI needs to print and which exit code to use."""

    exit_code: int
    workbook: Path
    log_file: Path | None
    summary: RunSummary
    interrupted: bool
    seconds_sending: float
    message: str | None = None  # why the run stopped early (a 401), for stderr


@dataclass(frozen=True)
class Prepared:
    """Everything before sending: the tables read, the rows refused, the requests to send."""

    tables: list[Table]
    results: dict[RowRef, RowResult]  # the invalid rows so far
    warnings: dict[RowRef, tuple[str, ...]]
    requests: Sequence[ShipmentRequest]


def prepare(config: Config, *, in_bulk: bool | None = None) -> Prepared:
    """Read → map → validate → group; nothing is sent (the dry run and the benchmark use it).

    `in_bulk` forces one road of `check_and_group` (tests compare them); by default the
    number of rows decides.
    """
    profiles = [resolve_profile(config.profile)] if config.profile else bundled_profiles()
    tables = _load(config, profiles)
    total = sum(len(t.rows) for t in tables)
    if total > EXCEL_MAX_ROWS - 1:
        msg = (
            f"{', '.join(input_labels(tables))}: {total:,} rows, more than one results sheet "
            f"holds ({EXCEL_MAX_ROWS - 1:,}); split the file and upload the parts "
            f"one after another"
        )
        raise InputError(msg)
    checked = check_and_group(
        tables,
        _column_maps(config, tables, profiles),
        default_source_id=config.source_id,
        allow_duplicate_tracking=config.allow_duplicate_tracking,
        row_label=lambda ref: _row_label(tables, ref),
        in_bulk=in_bulk,
    )
    return Prepared(tables, checked.refused, checked.warnings, checked.requests)


def run(config: Config, observer: Observer | None = None) -> RunResult:
    """Do one upload (or dry run, or retry) and write its workbook."""
    observer = observer or Observer()
    started = datetime.now().astimezone()
    run_id = f"{started:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    prepared = prepare(config)
    tables, results, warnings, requests = (
        prepared.tables,
        prepared.results,
        prepared.warnings,
        prepared.requests,
    )
    observer.loaded(sum(len(t.rows) for t in tables), len(requests), len(results))
    workbook_path = new_workbook_path(config, config.report_dir, started)
    log_path = (
        None
        if config.dry_run
        else workbook_path.with_name(workbook_path.name.removesuffix("-results.xlsx") + ".log")
    )
    sent = _SendReport()
    if config.dry_run:
        outcomes = [Outcome(Status.NOT_SENT, error="dry run: nothing was sent")] * len(requests)
    else:
        assert log_path is not None
        sendable = [r for r in requests if _has_token(config, r)]
        sent = _send(config, run_id, tables, sendable, observer, log_path)
        by_request = dict(zip(sendable, sent.outcomes, strict=True))
        outcomes = [by_request.get(r) or _no_token(r) for r in requests]
    for request, outcome in zip(requests, outcomes, strict=True):
        for ref in request.refs:
            results[ref] = RowResult(
                outcome.status, outcome.shipment_id, outcome.error, warnings.get(ref, ())
            )
    row_counts = Counter(r.status for r in results.values())
    shipment_counts = Counter(o.status for o in outcomes)
    summary = RunSummary(
        run_id=run_id,
        inputs=tuple(input_labels(tables)),
        started=started,
        finished=datetime.now().astimezone(),
        rows=dict(row_counts),
        shipments=dict(shipment_counts),
        requests_sent=sent.requests,
        rate_limited=sent.rate_limited,
        dry_run=config.dry_run,
        notes=sent.notes,
    )
    try:
        write_workbook(workbook_path, tables, results, summary)
    except OSError as exc:
        rebuild = "" if config.dry_run else f"; rebuild it with: batch-uploader report {run_id}"
        msg = (
            f"cannot write the results workbook {workbook_path} ({exc.strerror or exc}); "
            f"every outcome is in the journal{rebuild}"
        )
        raise ReportError(msg) from exc
    code = _exit_code(config, sent, row_counts)
    if not config.dry_run:
        _record_finish(config, run_id, workbook_path, code)
    return RunResult(
        code, workbook_path, log_path, summary, sent.interrupted, sent.seconds, sent.auth_error
    )


def _exit_code(config: Config, sent: _SendReport, rows: Counter[Status]) -> int:
    if sent.auth_error is not None:
        return EXIT_AUTH
    if sent.interrupted:
        return EXIT_INTERRUPTED
    if rows[Status.INVALID] or rows[Status.FAILED]:
        return EXIT_ROWS_FAILED
    if rows[Status.NOT_SENT] and not config.dry_run:
        return EXIT_ROWS_FAILED
    return EXIT_OK


def _record_finish(config: Config, run_id: str, workbook: Path, code: int) -> None:
    """Note where the workbook went; the journal already holds every outcome."""
    journal = Journal(config.journal_path)
    try:
        journal.finish_run(run_id, str(workbook.resolve()), code)
    finally:
        journal.close()


def _has_token(config: Config, request: ShipmentRequest) -> bool:
    """With --tokens and no default token, only the listed sources can be sent."""
    if config.sandbox or config.token or not config.source_tokens:
        return True
    return request.po.source_id in config.source_tokens


def _no_token(request: ShipmentRequest) -> Outcome:
    source = request.po.source_id
    where = f"source {source}" if source is not None else "a row with no Source ID"
    return Outcome(
        Status.FAILED,
        error=f"no token for {where}: add it to the --tokens file, or pass --token",
    )


def _load(config: Config, profiles: Sequence[Profile]) -> list[Table]:
    """Read every input; a retry reads the Failed sheet and drops our result columns."""
    score = header_score(profiles)
    tables = []
    seen: set[Path] = set()
    for path in config.inputs:
        if path.resolve() in seen:
            continue  # `inbox/*.csv inbox/a*.csv`: one file named twice is read once
        seen.add(path.resolve())
        sheet = "Failed" if config.retry_of is not None else config.sheet
        try:
            table = read_table(path, sheet=sheet, encoding=config.encoding, header_score=score)
        except NoRowsError as exc:
            if config.retry_of is None:
                raise
            msg = f"nothing to retry: the Failed sheet of {path.name} has no rows"
            raise NothingToDo(msg) from exc
        if config.retry_of is not None:
            table = _strip_result_columns(table)
        tables.append(table)
    return tables


def _strip_result_columns(table: Table) -> Table:
    """The Failed sheet is the original columns followed by ours; keep the original ones."""
    ours = {*RESULT_COLUMNS, FILE_COLUMN}
    keep = len(table.header)
    while keep and table.header[keep - 1] in ours:
        keep -= 1
    rows = tuple(SourceRow(r.row_number, r.cells[:keep]) for r in table.rows)
    return replace(table, header=table.header[:keep], rows=rows)


def _column_maps(
    config: Config, tables: Sequence[Table], profiles: Sequence[Profile]
) -> list[ColumnMap]:
    """Which column holds which field, per table; a results workbook is pointed to `retry`."""
    maps = []
    for table in tables:
        if table.sheet == "Summary" and table.header[:1] == ("Run",):
            msg = (
                f"{table.label}: this is a results workbook; to send its failed rows again use "
                f"`batch-uploader retry {table.path.name}` (or upload it with --sheet Failed)"
            )
            raise InputError(msg)
        forced = bool(config.profile)
        maps.append(choose_columns(table.header, table.label, profiles, forced=forced))
    return maps


def _row_label(tables: Sequence[Table], ref: RowRef) -> str:
    if len(tables) == 1:
        return f"row {ref.row_number}"
    return f"{input_labels(tables)[ref.file_index]} row {ref.row_number}"


def new_workbook_path(config: Config, directory: Path, started: datetime) -> Path:
    """`<input stem>-<YYYYmmdd-HHMMSS>-results.xlsx`, not taken by an earlier workbook."""
    return _unique_path(
        directory, f"{_report_stem(config)}-{started:%Y%m%d-%H%M%S}", "-results.xlsx"
    )


def _report_stem(config: Config) -> str:
    first = config.retry_of or config.inputs[0]
    stem = first.stem.removesuffix("-results")
    more = len(config.inputs) - 1
    return f"{stem}-and-{more}-more" if more > 0 else stem


def _unique_path(directory: Path, stem: str, suffix: str) -> Path:
    """A workbook name no earlier run used (two runs in one second get -2, -3, ...)."""
    candidate = directory / f"{stem}{suffix}"
    counter = 2
    while candidate.exists():
        candidate = directory / f"{stem}-{counter}{suffix}"
        counter += 1
    return candidate


@dataclass
class _SendReport:
    outcomes: list[Outcome] = field(default_factory=list)
    requests: int = 0
    rate_limited: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    notes: tuple[str, ...] = ()
    auth_error: str | None = None


def _send(
    config: Config,
    run_id: str,
    tables: Sequence[Table],
    requests: Sequence[ShipmentRequest],
    observer: Observer,
    log_path: Path,
) -> _SendReport:
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
        router = _Router(token, config.source_tokens, config.rate)
        journal.start_run(run_id, input_labels(tables), _settings(config, scope, router))
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = stack.enter_context(log_path.open("w", encoding="utf-8"))
        return asyncio.run(
            _send_async(config, run_id, base_url, scope, router, journal, requests, observer, log)
        )
    raise AssertionError("unreachable")  # pragma: no cover


async def _send_async(
    config: Config,
    run_id: str,
    base_url: str,
    scope: str,
    router: _Router,
    journal: Journal,
    requests: Sequence[ShipmentRequest],
    observer: Observer,
    log: TextIO,
) -> _SendReport:
    options = SendOptions(
        max_attempts=config.max_attempts,
        include_unknown=config.include_unknown,
        # Enough in flight per token that API latency never starves any token's limiter.
        max_in_flight=max(DEFAULT_MAX_IN_FLIGHT, 4 * len(router.lanes)),
    )
    timeout = httpx.Timeout(REPLY_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
    limits = httpx.Limits(max_connections=options.max_in_flight)
    report = _SendReport()
    async with httpx.AsyncClient(
        base_url=base_url,
        timeout=timeout,
        limits=limits,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        # TLS is spoken only to an https:// base URL (plain http is allowed to this machine
        # only, and redirects are not followed): without it the CA bundle is not loaded,
        # ~0.1 s of every sandbox run's start-up.
        verify=urlsplit(base_url).scheme != "http",
    ) as client:
        sender = Sender(
            client,
            journal,
            scope=scope,
            lane_for=router.lane_for,
            run_id=run_id,
            options=options,
            on_outcome=observer.outcome,
            on_attempt=lambda attempt: _attempted(log, observer, attempt),
        )
        for lane in router.lanes:
            lane.pacer.continue_after(journal.last_sent(lane.fingerprint))
        observer.sending(len(requests))
        with _stop_on_signals(sender.stop):
            loop = asyncio.get_running_loop()
            # Between the first request and the second (0.5 s later), not after the last.
            loop.call_later(WRITER_LOAD_AFTER_S, load_writer)
            began = loop.time()
            try:
                report.outcomes = await sender.send_all(requests)
            finally:
                observer.finished()
            report.seconds = loop.time() - began
        report.requests = sender.stats.requests
        report.rate_limited = sender.stats.rate_limited
        report.auth_error = sender.auth_error
        report.interrupted = sender.stopping.is_set() and sender.auth_error is None
        if report.interrupted:
            report.notes = (
                "interrupted: rows not sent are marked 'not sent'; run again to finish",
            )
        elif report.auth_error:
            report.notes = (f"stopped: {report.auth_error}",)
    return report


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


def _settings(config: Config, scope: str, router: _Router) -> dict[str, Any]:
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


class _Router:
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
            raise AssertionError(msg)  # prevented by _has_token()
        return lane


def _attempted(log: TextIO, observer: Observer, attempt: Attempt) -> None:
    _log_attempt(log, attempt)
    observer.attempt(attempt)


def _log_attempt(log: TextIO, attempt: Attempt) -> None:
    """One line per request: time, PO, tracking, result, attempt, ms. Never the token."""
    request = attempt.request
    log.write(
        f"{attempt.at.isoformat(timespec='milliseconds')}\t{_log_safe(request.po.label)}\t"
        f"{_log_safe(request.tracking_number)}\t{attempt.result}\tattempt={attempt.attempt}\t"
        f"{attempt.elapsed_ms:.0f}ms\n"
    )
    log.flush()


# Every character that can end or split a line (str.splitlines' set) or hide in a terminal.
_CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")
_FORMULA_START = ("=", "+", "-", "@")


def _log_safe(value: str) -> str:
    """One request stays one line, and a spreadsheet opening the log evaluates nothing.

    Tabs and line breaks are escaped; a value starting like a formula gets a leading `'`
    (OWASP's advice for CSV injection). The API got the exact value; this is only the log.
    """
    value = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)
    return f"'{value}" if value.startswith(_FORMULA_START) else value
