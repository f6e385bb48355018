"""Benchmark 3: the results workbook of 100k rows, vs a bare openpyxl write-only dump.

Both write the same cells from the same in-memory rows: the Results sheet (every input row,
its original columns, then Input Row, Status, Shipment ID, Error, Warnings) and the Failed
sheet (the rows not created). Ours also writes its Summary sheet, formats, column widths,
frozen header and autofilter, and renames a temporary file into place; that is the product.
"""

from __future__ import annotations

import cProfile
import gc
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook  # type: ignore[import-untyped]  # no stubs installed

from batch_uploader.config import Config
from batch_uploader.models import RowRef, RowResult, Status
from batch_uploader.pipeline import prepare
from batch_uploader.reader import Table
from batch_uploader.report import FAILED_STATUSES, RESULT_COLUMNS, RunSummary, write_workbook
from bench import datagen
from bench.common import (
    BYTES_PER_MB,
    OUT_DIR,
    REPEATS,
    REPO,
    Metric,
    Section,
    Sizes,
    Timing,
    fmt_ratio,
    fmt_s,
    log,
    median_seconds,
    timed,
)
from bench.profiling import profile_path, summarize

TITLE = "Results workbook"
MAX_RATIO = 1.3
"""Our workbook may take at most this many times the bare openpyxl dump."""
FIRST_SHIPMENT_ID = 500_001
WORK_DIR = OUT_DIR / "workbook"

Cell = str | int | None


def run(sizes: Sizes, *, profile: bool = False) -> Section:
    """Time write_workbook() and the openpyxl dump, alternating, REPEATS times each."""
    section = Section("report", TITLE)
    source = datagen.load_xlsx(sizes.report_rows)
    log(f"report: preparing {source.name} (not timed)")
    tables, results, summary = _sent_run(source)
    shutil.rmtree(WORK_DIR, ignore_errors=True)
    WORK_DIR.mkdir(parents=True)
    ours_path = WORK_DIR / "ours-results.xlsx"
    bare_path = WORK_DIR / "openpyxl-results.xlsx"
    ours: list[Timing] = []
    bare: list[Timing] = []
    for attempt in range(1, REPEATS + 1):
        gc.collect()
        bare.append(timed(lambda: _openpyxl_dump(bare_path, tables, results)))
        gc.collect()
        ours.append(timed(lambda: write_workbook(ours_path, tables, results, summary)))
        log(f"  run {attempt}: openpyxl {bare[-1].seconds:.2f} s, ours {ours[-1].seconds:.2f} s")
    ours_s = median_seconds([t.seconds for t in ours])
    bare_s = median_seconds([t.seconds for t in bare])
    ratio = ours_s / bare_s
    cpu_ratio = median_seconds([t.cpu_seconds for t in ours]) / median_seconds(
        [t.cpu_seconds for t in bare]
    )
    rows = sum(len(t.rows) for t in tables)
    section.add(Metric(f"{rows:,} rows: ours (write_workbook)", fmt_s(ours_s)))
    section.add(Metric(f"{rows:,} rows: bare openpyxl write-only", fmt_s(bare_s)))
    section.add(
        Metric("ratio ours / bare", fmt_ratio(ratio), f"≤ {MAX_RATIO}×", ratio <= MAX_RATIO)
    )
    section.add(Metric("ratio by CPU time (cross-check)", fmt_ratio(cpu_ratio)))
    section.add(
        Metric(
            "file size ours / bare",
            f"{ours_path.stat().st_size / BYTES_PER_MB:.1f} MB / "
            f"{bare_path.stat().st_size / BYTES_PER_MB:.1f} MB",
        )
    )
    failed = sum(1 for r in results.values() if r.status in FAILED_STATUSES)
    section.notes += [
        f"Rows: the {rows:,}-row generated .xlsx (see the load benchmark) read by prepare(); "
        f"every request is marked created with a Shipment ID, the {failed:,} invalid rows keep "
        "their reasons. Both writers get the same in-memory rows and write the same cells "
        "(empty cells are left out by both) to Results and Failed.",
        "Ours: `write_workbook()` — xlsxwriter constant_memory, cells typed as text, status "
        "colours, widths, frozen header, autofilter, Summary sheet, atomic rename. Bare: "
        "`openpyxl.Workbook(write_only=True)`, `append()` of the same cells, `save()` (no "
        "Summary sheet, no formats: a few dozen cells).",
        f"Timed in this process, bare and ours alternating, {REPEATS} runs each, medians "
        "of wall time compared (CPU time as a cross-check); garbage collected before each run.",
    ]
    if profile:
        stats = profile_path(f"report-{rows}")
        log(f"  profiling one more write_workbook → {stats.relative_to(REPO)}")
        profiler = cProfile.Profile()
        profiler.runcall(write_workbook, ours_path, tables, results, summary)
        stats.parent.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(stats)
        for line in summarize(stats):
            log(line)
    return section


def _sent_run(source: Path) -> tuple[list[Table], dict[RowRef, RowResult], RunSummary]:
    """What run() would hold after sending every request successfully."""
    prepared = prepare(Config(inputs=(source,), dry_run=True))
    results = dict(prepared.results)
    for index, request in enumerate(prepared.requests):
        for ref in request.refs:
            results[ref] = RowResult(
                Status.CREATED, FIRST_SHIPMENT_ID + index, "", prepared.warnings.get(ref, ())
            )
    now = datetime.now().astimezone()
    summary = RunSummary(
        run_id="bench",
        inputs=tuple(t.label for t in prepared.tables),
        started=now,
        finished=now,
        rows=dict(Counter(r.status for r in results.values())),
        shipments={Status.CREATED: len(prepared.requests)},
        requests_sent=len(prepared.requests),
        rate_limited=0,
        dry_run=False,
    )
    return prepared.tables, results, summary


def _openpyxl_dump(path: Path, tables: list[Table], results: dict[RowRef, RowResult]) -> None:
    """The baseline a user writes by hand: openpyxl write-only, one append() per row."""
    workbook = Workbook(write_only=True)
    header = [*tables[0].header, *RESULT_COLUMNS]
    for name, keep in (("Results", None), ("Failed", FAILED_STATUSES)):
        sheet = workbook.create_sheet(name)
        sheet.append(header)
        for row in _rows(tables, results, keep):
            sheet.append(row)
    workbook.save(path)


def _rows(
    tables: list[Table], results: dict[RowRef, RowResult], keep: frozenset[Status] | None
) -> Iterator[list[Cell]]:
    for file_index, table in enumerate(tables):
        for source_row in table.rows:
            result = results[RowRef(file_index, source_row.row_number)]
            if keep is not None and result.status not in keep:
                continue
            cells: list[Cell] = [value or None for value in source_row.cells]
            cells += [
                source_row.row_number,
                result.status.value,
                result.shipment_id,
                result.error or None,
                "; ".join(result.warnings) or None,
            ]
            yield cells
