"""The results workbook: Summary, Results (every input row) and Failed (ready to fix and re-run).

Every cell that came from the user is written as text, never as a formula or a number, so a
tracking number keeps its zeros and `=HYPERLINK(...)` stays inert. The workbook is written to
a temporary name and renamed, so a crash never leaves a half-written file under the real name.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batch_uploader.excel_facts import EXCEL_MAX_ROWS
from batch_uploader.models import RowRef, RowResult, Status
from batch_uploader.reader import PROGRESS_EVERY_ROWS, Progress, Table

if TYPE_CHECKING:
    import xlsxwriter

RESULT_COLUMNS = ("Input Row", "Status", "Shipment ID", "Error", "Warnings")
FILE_COLUMN = "Input File"
MIN_WIDTH, MAX_WIDTH = 8, 60
STREAM_FROM_ROWS = 100_000
"""Inputs with more rows are written in xlsxwriter's constant_memory mode (~100 bytes per
cell less, 5-20 % slower here). A 100,000-row dry run in memory peaks at ~545 MB (its
repeated cell values shared, see reader.SharedValues); a million rows would need 3 GB more."""
WIDTH_SAMPLE_ROWS = 500  # widths come from the first rows; enough to look right, cheap at 1M rows
STATUS_COLOURS = {
    Status.CREATED: "#C6EFCE",
    Status.SKIPPED: "#D9D9D9",
    Status.INVALID: "#FFC7CE",
    Status.FAILED: "#FFC7CE",
    Status.NOT_SENT: "#FFEB9C",
}
FAILED_STATUSES = frozenset({Status.INVALID, Status.FAILED, Status.NOT_SENT})


@dataclass(frozen=True)
class RunSummary:
    """What the Summary sheet and the one-line summary say."""

    run_id: str
    inputs: tuple[str, ...]
    started: datetime
    finished: datetime
    rows: dict[Status, int]
    shipments: dict[Status, int]
    requests_sent: int
    rate_limited: int
    dry_run: bool
    notes: tuple[str, ...] = field(default=())
    mapping: tuple[str, ...] = ()  # how each file was read: format, field ← header, rules
    not_data_rows: int = 0  # footers, totals, record counts: counted, listed nowhere
    top_reasons: tuple[tuple[str, int], ...] = ()  # the commonest row reasons, to fix first

    @property
    def total_rows(self) -> int:
        """Every input row that the workbook lists."""
        return sum(self.rows.values())


def write_workbook(
    path: Path,
    tables: Sequence[Table],
    results: dict[RowRef, RowResult],
    summary: RunSummary,
    progress: Progress | None = None,
) -> Path:
    """Write the workbook atomically; every row of every table appears exactly once in Results.

    `progress` is told (sheet, rows so far) every PROGRESS_EVERY_ROWS rows: a million-row
    workbook takes minutes, which would otherwise pass in silence.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    import xlsxwriter  # here, not at the top: a run refused early never needs it

    input_rows = sum(len(t.rows) for t in tables)
    workbook = xlsxwriter.Workbook(
        str(partial),
        {
            # Big inputs stream their rows to disk (flat memory at 1M rows); up to 100,000
            # rows stay in memory, where xlsxwriter writes 5-20 % faster (shared strings).
            "constant_memory": input_rows > STREAM_FROM_ROWS,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    styles = _Styles(workbook)
    _write_summary(workbook, styles, summary)
    columns = _union_columns(tables)
    multi = len(tables) > 1
    header = [*columns, *RESULT_COLUMNS, *([FILE_COLUMN] if multi else [])]
    for name, keep in (("Results", None), ("Failed", FAILED_STATUSES)):
        rows = _result_rows(tables, columns, results, keep, multi)
        _write_table(workbook, styles, name, header, rows, len(columns) + 1, progress)
    workbook.close()
    os.replace(partial, path)
    return path


class _Styles:
    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        self.header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        self.text = workbook.add_format({"num_format": "@"})
        self.label = workbook.add_format({"bold": True})
        self.status = {
            status: workbook.add_format({"bg_color": colour, "num_format": "@"})
            for status, colour in STATUS_COLOURS.items()
        }


def _write_summary(workbook: xlsxwriter.Workbook, styles: _Styles, summary: RunSummary) -> None:
    sheet = workbook.add_worksheet("Summary")
    lines: list[tuple[str, Any]] = [
        ("Run", summary.run_id),
        ("Input files", "\n".join(summary.inputs)),
        ("Started", summary.started.isoformat(timespec="seconds")),
        ("Finished", summary.finished.isoformat(timespec="seconds")),
        ("Dry run", "yes (nothing was sent)" if summary.dry_run else "no"),
        ("Rows", summary.total_rows),
    ]
    lines += [(f"Rows {status.value}", summary.rows.get(status, 0)) for status in Status]
    lines.append(("Shipments", sum(summary.shipments.values())))
    lines += [
        (f"Shipments {s.value}", summary.shipments.get(s, 0))
        for s in Status
        if s is not Status.INVALID  # an invalid row never becomes a shipment request
    ]
    lines += [
        ("Requests sent", summary.requests_sent),
        ("Rate limited (429)", summary.rate_limited),
    ]
    lines.append(("Rows that are not data", summary.not_data_rows))
    lines += [("Note", note) for note in summary.notes]
    lines += [(f"Reason ({count} rows)", reason) for reason, count in summary.top_reasons]
    lines += [("Mapping", line) for line in summary.mapping]
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 1, 70)
    for row, (label, value) in enumerate(lines):
        sheet.write_string(row, 0, label, styles.label)
        if isinstance(value, int):
            sheet.write_number(row, 1, value)
        else:
            sheet.write_string(row, 1, str(value), styles.text)


def input_labels(tables: Sequence[Table]) -> list[str]:
    """How each input is named in the workbook: its file name, or its path when two share one."""
    names = Counter(t.path.name for t in tables)
    labels = []
    for table in tables:
        if names[table.path.name] == 1:
            labels.append(table.label)
        else:
            sheet = f" [{table.sheet}]" if table.sheet else ""
            labels.append(f"{table.path}{sheet}")
    return labels


def _union_columns(tables: Sequence[Table]) -> list[str]:
    """The original columns, in order of first appearance across the input files."""
    seen: dict[str, None] = {}
    for table in tables:
        for name in table.header:
            seen.setdefault(name, None)
    return list(seen)


def _result_rows(
    tables: Sequence[Table],
    columns: list[str],
    results: dict[RowRef, RowResult],
    keep: frozenset[Status] | None,
    multi: bool,
) -> Iterator[tuple[list[str], int, RowResult]]:
    position = {name: i for i, name in enumerate(columns)}
    labels = input_labels(tables)
    for file_index, table in enumerate(tables):
        slots = [position[name] for name in table.header]
        same_layout = slots == list(range(len(columns)))
        for row in table.rows:
            result = results.get(RowRef(file_index, row.row_number))
            if result is None:
                continue  # not data (a footer, a totals row): counted in the Summary only
            if keep is not None and result.status not in keep:
                continue
            if same_layout:
                cells = list(row.cells)
            else:
                cells = [""] * len(columns)
                for slot, value in zip(slots, row.cells, strict=True):
                    cells[slot] = value
            if multi:
                cells.append(labels[file_index])
            yield cells, row.row_number, result


def _write_table(
    workbook: xlsxwriter.Workbook,
    styles: _Styles,
    name: str,
    header: list[str],
    rows: Iterator[tuple[list[str], int, RowResult]],
    status_col: int,
    progress: Progress | None,
) -> None:
    n_orig = status_col - 1
    sheet = workbook.add_worksheet(name)
    widths = [min(max(len(h) + 2, MIN_WIDTH), MAX_WIDTH) for h in header]
    for col, title in enumerate(header):
        sheet.write_string(0, col, title, styles.header)
    sheet.freeze_panes(1, 0)
    text_fmt = styles.text
    status_fmt = styles.status
    write_string = sheet.write_string
    row_index = 0
    for cells, input_row, result in rows:
        row_index += 1
        if row_index >= EXCEL_MAX_ROWS:
            break  # cannot happen for inputs that fit in Excel; the reader refuses larger ones
        for col in range(n_orig):
            value = cells[col]
            if value:
                write_string(row_index, col, value, text_fmt)
        sheet.write_number(row_index, n_orig, input_row)
        write_string(row_index, status_col, result.status.value, status_fmt[result.status])
        if result.shipment_id is not None:
            sheet.write_number(row_index, status_col + 1, result.shipment_id)
        if result.error:
            write_string(row_index, status_col + 2, result.error, text_fmt)
        if result.warnings:
            write_string(row_index, status_col + 3, "; ".join(result.warnings), text_fmt)
        for col in range(n_orig, len(cells)):  # the Input File column of multi-file runs
            write_string(row_index, status_col + 4 + col - n_orig, cells[col], text_fmt)
        if progress is not None and row_index % PROGRESS_EVERY_ROWS == 0:
            progress(name, row_index)
        if row_index <= WIDTH_SAMPLE_ROWS:
            for col in range(n_orig):
                widths[col] = max(widths[col], min(len(cells[col]) + 2, MAX_WIDTH))
            widths[status_col + 2] = max(
                widths[status_col + 2], min(len(result.error) + 2, MAX_WIDTH)
            )
    sheet.autofilter(0, 0, max(row_index, 1), len(header) - 1)
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
