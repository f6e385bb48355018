"""run(config): read → map → validate → group → send → report, in that order.

This is the one place where the stages meet. Each stage is a module of its own; none of them
knows about the command line (cli.py) or about the stages after it. The web page calls the
same two functions as the CLI: `prepare` (nothing sent) and `run`.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from batch_uploader.carriers import CarrierTable
from batch_uploader.column_choice import choose_columns, header_score
from batch_uploader.config import Config
from batch_uploader.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_ROWS_FAILED,
    InputError,
    NoRowsError,
    NothingToDo,
    ReportError,
)
from batch_uploader.excel_facts import EXCEL_MAX_ROWS
from batch_uploader.grouping import group_lines
from batch_uploader.journal import Journal
from batch_uploader.models import (
    Outcome,
    RowProblem,
    RowRef,
    RowResult,
    ShipmentLine,
    ShipmentRequest,
    Status,
)
from batch_uploader.nondata import non_data_reason
from batch_uploader.profiles import (
    ColumnMap,
    Profile,
    available_profiles,
    resolve_profile,
)
from batch_uploader.reader import PROGRESS_EVERY_ROWS, Progress, SourceRow, Table, read_table
from batch_uploader.report import (
    FILE_COLUMN,
    RESULT_COLUMNS,
    RunSummary,
    input_labels,
    write_workbook,
)
from batch_uploader.run_hooks import Observer, RunControl
from batch_uploader.sending import SendReport, send
from batch_uploader.table_rules import TableReading, read_rules
from batch_uploader.validate import RowValidator

__all__ = ["Observer", "Prepared", "RunControl", "RunResult", "prepare", "run"]

DRY_RUN_NOTE = "dry run: nothing was sent"
WHOLE_PO_DRY_RUN_NOTE = (
    "dry run: nothing was sent; the PO's remaining items are looked up in Flxpoint when sent"
)
TOP_REASONS = 5
"""How many of the commonest row reasons the Summary sheet lists."""


@dataclass(frozen=True)
class RunResult:
    """What the CLI needs to print and which exit code to use."""

    exit_code: int
    workbook: Path
    log_file: Path | None
    summary: RunSummary
    interrupted: bool
    seconds_sending: float
    message: str | None = None  # why the run stopped early (a 401, a certificate), for stderr

    def as_json(self) -> dict[str, Any]:
        """The `--json` summary object: counts, requests, times, the mapping, the workbook."""
        summary = self.summary
        return {
            "exit_code": self.exit_code,
            "run_id": summary.run_id,
            "inputs": list(summary.inputs),
            "dry_run": summary.dry_run,
            "interrupted": self.interrupted,
            "rows": {s.value: n for s, n in summary.rows.items()},
            "shipments": {s.value: n for s, n in summary.shipments.items()},
            "rows_total": summary.total_rows,
            "requests": summary.requests_sent,
            "rate_limited": summary.rate_limited,
            "seconds": round((summary.finished - summary.started).total_seconds(), 3),
            "seconds_sending": round(self.seconds_sending, 3),
            "mapping": list(summary.mapping),
            "not_data_rows": summary.not_data_rows,
            "workbook": str(self.workbook),
            "log": str(self.log_file) if self.log_file else None,
        }


@dataclass(frozen=True)
class Prepared:
    """Everything before sending: the tables read, how each was read, the rows already
    decided (invalid, or the same row as an earlier file's), the warnings of accepted rows,
    and the requests to send."""

    tables: list[Table]
    readings: list[TableReading]
    results: dict[RowRef, RowResult]
    warnings: dict[RowRef, tuple[str, ...]]
    requests: Sequence[ShipmentRequest]

    @property
    def column_maps(self) -> list[ColumnMap]:
        """Which column holds which field, per table."""
        return [reading.columns for reading in self.readings]

    @property
    def not_data_rows(self) -> int:
        """Rows that were not data (footers, totals, record counts): counted, not listed."""
        return sum(sum(reading.not_data.values()) for reading in self.readings)

    def mapping_lines(self) -> list[str]:
        """The mapping of every table, as printed before sending and kept in the Summary."""
        return [line for reading in self.readings for line in reading.lines()]


def prepare(config: Config, observer: Observer | None = None) -> Prepared:
    """Read → map → validate → group; nothing is sent (the dry run and the benchmark use it)."""
    profiles = [resolve_profile(config.profile)] if config.profile else available_profiles()
    observer = observer or Observer()
    tables = _load(config, profiles, lambda label, rows: observer.loading("reading", label, rows))
    total = sum(len(t.rows) for t in tables)
    if total > EXCEL_MAX_ROWS - 1:
        msg = (
            f"{', '.join(input_labels(tables))}: {total:,} rows, more than one results sheet "
            f"holds ({EXCEL_MAX_ROWS - 1:,}); split the file and upload the parts "
            f"one after another"
        )
        raise InputError(msg)
    checked = _Checked()
    carriers = CarrierTable.load()
    labels = input_labels(tables)
    for file_index, (table, columns) in enumerate(
        zip(tables, _column_maps(config, tables, profiles), strict=True)
    ):
        rules, decision = read_rules(
            table.label,
            table.rows,
            columns,
            date_option=config.date_order,
            carriers=carriers,
            today=date.today(),
        )
        validator = RowValidator(columns, file_index, config.source_id, rules)
        not_data = checked.check(
            table, validator, labels, many_files=len(tables) > 1, observer=observer
        )
        checked.readings.append(
            TableReading(table.label, columns, rules, decision, not_data, validator.sent_carriers)
        )
    grouped = group_lines(
        checked.lines,
        allow_duplicate_tracking=config.allow_duplicate_tracking,
        packages=config.packages,
        row_label=lambda ref: _row_label(tables, ref),
    )
    results = dict(checked.decided)
    for problem in sorted([*checked.problems, *grouped.problems], key=lambda p: p.ref):
        results[problem.ref] = RowResult(
            Status.INVALID, error=problem.reason, warnings=problem.warnings
        )
    return Prepared(tables, checked.readings, results, checked.warnings, grouped.requests)


@dataclass
class _Checked:
    """What validation found so far, over every table of a run."""

    readings: list[TableReading] = field(default_factory=list)
    lines: list[ShipmentLine] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    decided: dict[RowRef, RowResult] = field(default_factory=dict)
    warnings: dict[RowRef, tuple[str, ...]] = field(default_factory=dict)
    earlier: dict[tuple[tuple[str, str], ...], str] = field(default_factory=dict)

    def check(
        self,
        table: Table,
        validator: RowValidator,
        labels: list[str],
        *,
        many_files: bool,
        observer: Observer,
    ) -> Counter[str]:
        """Validate one table's rows; returns how many rows were not data, by kind.

        With several input files, a row identical in every mapped field to a row of an
        earlier file (the same export given twice) is skipped, not shipped twice.
        """
        not_data: Counter[str] = Counter()
        columns = validator.columns
        here: dict[tuple[tuple[str, str], ...], str] = {}
        for count, row in enumerate(table.rows, start=1):
            if count % PROGRESS_EVERY_ROWS == 0:
                observer.loading("checking", table.label, count)
            kind = non_data_reason(row.cells, columns)
            if kind is not None:
                not_data[kind] += 1
                continue
            ref = RowRef(validator.file_index, row.row_number)
            values = validator.values(row.cells) if many_files else None
            if values is not None:
                key = tuple(sorted(values.items()))
                if (first := self.earlier.get(key)) is not None:
                    self.decided[ref] = RowResult(Status.SKIPPED, error=f"same row as {first}")
                    continue
                here.setdefault(key, f"{labels[validator.file_index]} row {row.row_number}")
            verdict = validator(row.row_number, row.cells, values)
            if isinstance(verdict, RowProblem):
                self.problems.append(verdict)
                continue
            self.lines.append(verdict)
            if verdict.warnings:
                self.warnings[ref] = verdict.warnings
        for key, where in here.items():
            self.earlier.setdefault(key, where)
        return not_data


def run(
    config: Config, observer: Observer | None = None, control: RunControl | None = None
) -> RunResult:
    """Do one upload (or dry run, or retry) and write its workbook.

    `control` lets another thread stop the run as Ctrl-C would (the web page's Stop).
    """
    observer = observer or Observer()
    started = datetime.now().astimezone()
    run_id = f"{started:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    prepared = prepare(config, observer)
    requests = prepared.requests
    observer.mapped(prepared.mapping_lines())
    observer.loaded(sum(len(t.rows) for t in prepared.tables), len(requests), len(prepared.results))
    workbook_path = new_workbook_path(config, config.report_dir, started)
    log_path = None
    sent = SendReport()
    if config.dry_run and not config.asks_flxpoint:
        outcomes = [
            Outcome(Status.NOT_SENT, error=WHOLE_PO_DRY_RUN_NOTE if r.whole_po else DRY_RUN_NOTE)
            for r in requests
        ]
    else:  # send, or (a dry run with a token) ask Flxpoint whether each would pass
        stem = workbook_path.name.removesuffix("-results.xlsx")
        log_path = None if config.dry_run else workbook_path.with_name(f"{stem}.log")
        sendable = [r for r in requests if _has_token(config, r)]
        inputs = input_labels(prepared.tables)
        sent = send(config, run_id, inputs, sendable, observer, log_path, control)
        by_request = dict(zip(sendable, sent.outcomes, strict=True))
        outcomes = [by_request.get(r) or _no_token(r) for r in requests]
    results = row_results(prepared, outcomes)
    summary = summarize(run_id, prepared, started, results, outcomes, sent, config.dry_run)
    _write(config, workbook_path, prepared.tables, results, summary, observer)
    code = _exit_code(config, sent, Counter(r.status for r in results.values()))
    if not config.dry_run:
        _record_finish(config, run_id, workbook_path, code)
    return RunResult(
        code, workbook_path, log_path, summary, sent.interrupted, sent.seconds, sent.fatal
    )


def row_results(prepared: Prepared, outcomes: Sequence[Outcome]) -> dict[RowRef, RowResult]:
    """Every row's workbook line: the refused rows, then each request's outcome on its rows."""
    results = dict(prepared.results)
    for request, outcome in zip(prepared.requests, outcomes, strict=True):
        for ref in request.refs:
            warnings = prepared.warnings.get(ref, ())
            if outcome.note:
                warnings = (*warnings, outcome.note)
            results[ref] = RowResult(outcome.status, outcome.shipment_id, outcome.error, warnings)
    return results


def summarize(
    run_id: str,
    prepared: Prepared,
    started: datetime,
    results: dict[RowRef, RowResult],
    outcomes: Sequence[Outcome],
    sent: SendReport,
    dry_run: bool,
) -> RunSummary:
    """The Summary sheet's facts: inputs, times, rows and shipments by status, requests."""
    return RunSummary(
        run_id=run_id,
        inputs=tuple(input_labels(prepared.tables)),
        started=started,
        finished=datetime.now().astimezone(),
        rows=dict(Counter(r.status for r in results.values())),
        shipments=dict(Counter(o.status for o in outcomes)),
        requests_sent=sent.requests,
        rate_limited=sent.rate_limited,
        dry_run=dry_run,
        notes=sent.notes,
        mapping=tuple(prepared.mapping_lines()),
        not_data_rows=prepared.not_data_rows,
        top_reasons=tuple(
            Counter(
                r.error for r in results.values() if r.status in (Status.INVALID, Status.FAILED)
            ).most_common(TOP_REASONS)
        ),
    )


def _write(
    config: Config,
    path: Path,
    tables: Sequence[Table],
    results: dict[RowRef, RowResult],
    summary: RunSummary,
    observer: Observer,
) -> None:
    try:  # progress lines: "writing sheet Results: 100,000 rows so far"
        write_workbook(path, tables, results, summary, partial(observer.loading, "writing sheet"))
    except OSError as exc:
        rebuild = (
            "" if config.dry_run else f"; rebuild it with: batch-uploader report {summary.run_id}"
        )
        msg = (
            f"cannot write the results workbook {path} ({exc.strerror or exc}); "
            f"every outcome is in the journal{rebuild}"
        )
        raise ReportError(msg) from exc


def _exit_code(config: Config, sent: SendReport, rows: Counter[Status]) -> int:
    if sent.fatal is not None:
        return sent.fatal_code
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


def _load(config: Config, profiles: Sequence[Profile], progress: Progress) -> list[Table]:
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
            table = read_table(
                path, sheet=sheet, encoding=config.encoding, header_score=score, progress=progress
            )
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
        overrides = dict(config.column_overrides)
        maps.append(choose_columns(table.header, table.label, profiles, forced, overrides))
    return maps


def _row_label(tables: Sequence[Table], ref: RowRef) -> str:
    if len(tables) == 1:
        return f"row {ref.row_number}"
    return f"{input_labels(tables)[ref.file_index]} row {ref.row_number}"


def new_workbook_path(config: Config, directory: Path, started: datetime) -> Path:
    """`<input stem>-<YYYYmmdd-HHMMSS>-results.xlsx`, not taken by an earlier workbook."""
    first = config.retry_of or config.inputs[0]
    stem = first.stem.removesuffix("-results")
    more = len(config.inputs) - 1
    stem = f"{stem}-and-{more}-more" if more > 0 else stem
    candidate = directory / f"{stem}-{started:%Y%m%d-%H%M%S}-results.xlsx"
    counter = 2  # two runs in one second get -2, -3, ...
    while candidate.exists():
        candidate = directory / f"{stem}-{started:%Y%m%d-%H%M%S}-{counter}-results.xlsx"
        counter += 1
    return candidate
