"""Benchmark 1: whole `batch-uploader upload FILE --dry-run --offline` commands, timed.

Each run is one fresh CLI process timed from spawn to exit: interpreter start-up, imports,
reading, validating and grouping every row, and writing the results workbook. Its CPU time
and peak resident memory are the kernel's rusage of exactly that process (`os.wait4`). The
1M-row file also checks that stderr says something while the file is still loading.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from batch_uploader.errors import EXIT_OK, EXIT_ROWS_FAILED
from bench import child, datagen
from bench.common import (
    BYTES_PER_MB,
    OUT_DIR,
    REPEATS,
    REPO,
    Metric,
    Section,
    Sizes,
    cli_command,
    fmt_s,
    log,
    shown,
)
from bench.profiling import profile_path, summarize

TITLE = "Dry run of a whole file (CLI command)"
DAILY_MAX_WALL_S = 2.0
LARGE_MAX_WALL_S = 30.0
LARGE_MAX_PEAK_MB = 600.0
HUGE_MAX_PEAK_MB = 3000.0
FINISHED_EXIT_CODES = (EXIT_OK, EXIT_ROWS_FAILED)
"""A dry run finished when it wrote its workbook and exited 0, or 1 for the invalid rows
every generated file holds on purpose."""
HUGE_REPEATS = 1
"""The 1M-row file runs once: it only has to finish, with progress, within its memory."""
TIMEOUT_S = 1800.0
"""Longest one dry run may take before it is killed and reported."""
WORK_DIR = OUT_DIR / "dryrun"
PAGE_CACHE_CHUNK_BYTES = 16 * 1024 * 1024
_LOADED = re.compile(r"loaded ([\d,]+) rows: ([\d,]+) shipments to send, ([\d,]+) rows invalid")
_PROGRESS = re.compile(r"\d[\d,]*\s*(rows\b|%)", re.IGNORECASE)
"""A progress line counts rows or percent; the `loaded` line is the end of loading."""
# Variables that would give the dry run a token or another API to ask.
_CLEARED_ENV = ("FLXPOINT_API_TOKEN", "FLXPOINT_BASE_URL", "BATCH_UPLOADER_JOURNAL")


@dataclass(frozen=True)
class Case:
    """One input file and the targets stated for its size."""

    label: str
    path: Path
    rows: int
    repeats: int
    max_wall_s: float | None
    max_peak_mb: float | None
    wants_progress: bool


def run(sizes: Sizes, *, profile: bool = False) -> Section:
    """Generate the inputs (once), then time the dry run of each, REPEATS times (1M: once)."""
    section = Section("dryrun", TITLE)
    cases = [
        Case("daily .csv", datagen.export_csv(sizes.daily_rows), sizes.daily_rows, REPEATS,
             DAILY_MAX_WALL_S, None, False),
        Case("daily .xlsx", datagen.export_xlsx(sizes.daily_rows), sizes.daily_rows, REPEATS,
             DAILY_MAX_WALL_S, None, False),
        Case("large .csv", datagen.export_csv(sizes.large_rows), sizes.large_rows, REPEATS,
             LARGE_MAX_WALL_S, LARGE_MAX_PEAK_MB, False),
        Case("large .xlsx", datagen.export_xlsx(sizes.large_rows), sizes.large_rows, REPEATS,
             LARGE_MAX_WALL_S, LARGE_MAX_PEAK_MB, False),
        Case("huge .csv", datagen.export_csv(sizes.huge_rows), sizes.huge_rows, HUGE_REPEATS,
             None, HUGE_MAX_PEAK_MB, True),
    ]  # fmt: skip
    shutil.rmtree(WORK_DIR, ignore_errors=True)
    for case in cases:
        _measure(section, case)
    _without_the_memory_measures(section, cases[2])
    if profile:
        _profile(cases[2])
    example = _command(Path("FILE"), WORK_DIR / "RUN")
    section.notes += [
        f"Inputs: {len(datagen.EXPORT_HEADER)} columns like a daily carrier export "
        f"({', '.join(datagen.EXPORT_HEADER)}; the last four are not mapped); shipments of "
        f"1–{datagen.MAX_ITEMS_PER_SHIPMENT} rows; about half UPS (`1Z…`, valid check digit), "
        "half USPS (20 digits with a leading zero, valid check digit); US dates (11/26/2026); "
        f"{datagen.INVALID_ROW_SHARE:.1%} of rows have Quantity `two` (refused, as real exports "
        "have a few). The .xlsx is written by xlsxwriter with text, number and date cells. "
        "Generated once into bench/out/inputs/ (`export-v2-ROWS.csv|xlsx`).",
        f"Command: `{shown(example)}` with no token in the environment, timed from spawn to "
        "exit (start-up, imports, read, validate, group, results workbook). `--offline` keeps "
        "the dry run from asking Flxpoint; with no token it would not ask anyway.",
        f"Exit code 1 means some rows are invalid (the {datagen.INVALID_ROW_SHARE:.1%} planted "
        "ones); a run counts as finished when it exited 0 or 1 and wrote its workbook. "
        f"Wall: median of {REPEATS} runs (each run in brackets), the 1M-row file once. CPU = "
        "user + system seconds of the child; peak memory = its ru_maxrss (largest of the "
        "runs; includes the interpreter and imports; MB = 10^6 bytes).",
        "`loaded after` = when the `loaded N rows` line reached stderr (start-up + read + "
        "validate + group); the rest of the wall is the workbook and exit.",
        "Progress while loading: a stderr line counting rows or percent that arrives before "
        "the `loaded N rows` line (the column-mapping block printed after the header is not "
        "progress).",
    ]
    return section


def _command(path: Path, work_dir: Path) -> list[str]:
    return [
        *cli_command(),
        "upload",
        str(path),
        "--dry-run",
        "--offline",
        "--report-dir",
        str(work_dir / "reports"),
        "--journal",
        str(work_dir / "journal.sqlite3"),
    ]


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _CLEARED_ENV}


def _measure(section: Section, case: Case) -> None:
    _warm_page_cache(case.path)
    size_mb = case.path.stat().st_size / BYTES_PER_MB
    log(f"dryrun: {case.path.name} ({size_mb:.1f} MB), {case.repeats}×")
    runs: list[child.ChildRun] = []
    finished: list[bool] = []
    for attempt in range(1, case.repeats + 1):
        work = WORK_DIR / f"{case.path.stem}-{case.path.suffix[1:]}-{attempt}"
        done = child.run(_command(case.path, work), env=_environment(), timeout_s=TIMEOUT_S)
        runs.append(done)
        written = any((work / "reports").glob("*-results.xlsx"))
        finished.append(written and done.exit_code in FINISHED_EXIT_CODES and not done.timed_out)
        log(
            f"  run {attempt}: {done.wall_s:.2f} s wall, {done.cpu_s:.2f} s CPU, "
            f"{done.peak_rss_mb:.0f} MB peak, exit {done.exit_code}"
            f"{'' if finished[-1] else ' (no workbook or crashed)'}"
        )
        shutil.rmtree(work, ignore_errors=True)  # workbooks of 1M rows add up
    name = f"{case.rows:,}-row {case.label}"
    walls = [r.wall_s for r in runs]
    wall_s = statistics.median(walls)
    middle = sorted(runs, key=lambda r: r.wall_s)[len(runs) // 2]
    codes = ", ".join(str(r.exit_code) for r in runs)
    each = f" (runs: {', '.join(f'{w:.2f}' for w in walls)} s)" if len(runs) > 1 else ""
    section.add(
        Metric(
            f"{name}: wall",
            f"{fmt_s(wall_s)}{each}; exit {codes}",
            f"≤ {case.max_wall_s:g} s" if case.max_wall_s is not None else "finishes",
            all(finished) and (case.max_wall_s is None or wall_s <= case.max_wall_s),
        )
    )
    peak_mb = max(r.peak_rss_mb for r in runs)
    if case.max_peak_mb is not None:
        section.add(
            Metric(
                f"{name}: peak memory (RSS)",
                f"{peak_mb:.0f} MB",
                f"≤ {case.max_peak_mb:g} MB",
                peak_mb <= case.max_peak_mb,
            )
        )
    if case.wants_progress:
        shown, passed = _progress(middle)
        section.add(Metric(f"{name}: progress line while loading", shown, "shown", passed))
        section.add(Metric(f"{name}: longest silence on stderr", _longest_silence(middle)))
    loaded_at, counts = _loaded(middle)
    detail = f"CPU {fmt_s(middle.cpu_s)}"
    if case.max_peak_mb is None:
        detail += f", peak {peak_mb:.0f} MB"
    if loaded_at is not None:
        detail += (
            f"; loaded after {fmt_s(loaded_at)}, workbook + exit {fmt_s(middle.wall_s - loaded_at)}"
        )
    detail += f"; {case.rows / middle.wall_s:,.0f} rows/s"
    if counts:
        detail += f" → {counts}"
    section.add(Metric(f"{name}: where it goes (median run)", detail))
    for failed, ok in zip(runs, finished, strict=True):
        if not ok:
            killed = " (killed: timeout)" if failed.timed_out else ""
            section.notes.append(
                f"{name}: a run exited {failed.exit_code}{killed}: `{failed.stderr[-400:]}`"
            )


_VARIANTS = {
    "as shipped (the baseline of these three runs)": "pass",
    "results workbook streamed (constant_memory), as for inputs over 100,000 rows": (
        "from batch_uploader import report; report.STREAM_FROM_ROWS = 0"
    ),
    "workbook in memory, repeated cell values not shared": (
        "from batch_uploader import reader; "
        "reader.SharedValues.__call__ = lambda self, cells: tuple(cells)"
    ),
}
"""What the 100,000-row dry run would cost without each of the two measures that make it
fit: the in-memory workbook (report.STREAM_FROM_ROWS) and shared cell values
(reader.SharedValues). Each is switched off in the child process only, for one run, next to
one run as shipped: the machine's speed drifts over minutes, so they are compared together."""


def _without_the_memory_measures(section: Section, case: Case) -> None:
    """One run of `case` as shipped and with each measure switched off, back to back."""
    for variant, patch in _VARIANTS.items():
        log(f"dryrun: {case.path.name} once more, {variant}")
        work = WORK_DIR / f"{case.path.stem}-variant"
        code = f"{patch}; from batch_uploader.cli import main; main()"
        command = [sys.executable, "-c", code, *_command(case.path, work)[len(cli_command()) :]]
        done = child.run(command, env=_environment(), timeout_s=TIMEOUT_S)
        shutil.rmtree(work, ignore_errors=True)
        section.add(
            Metric(
                f"{case.rows:,}-row {case.label}, {variant} (one run, for comparison)",
                f"{fmt_s(done.wall_s)}, {done.peak_rss_mb:.0f} MB peak, exit {done.exit_code}",
            )
        )


def _loaded(run: child.ChildRun) -> tuple[float | None, str]:
    for at, line in run.stderr_lines:
        found = _LOADED.search(line)
        if found:
            _rows, shipments, invalid = found.groups()
            return at, f"{shipments} shipments, {invalid} rows invalid"
    return None, ""


def _progress(run: child.ChildRun) -> tuple[str, bool]:
    """Whether stderr showed a progress line (a count of rows, or a percentage) while loading.

    The column-mapping block the CLI prints once the header is read is not progress.
    """
    loaded_at, _ = _loaded(run)
    end = loaded_at if loaded_at is not None else run.wall_s
    before = [(at, line) for at, line in run.stderr_lines if at < end]
    progress = [(at, line) for at, line in before if _PROGRESS.search(line)]
    where = f"the `loaded` line at +{end:.1f} s" if loaded_at is not None else "the end"
    first = f"; first stderr line at +{before[0][0]:.1f} s" if before else ""
    if not progress:
        return f"none before {where} (of {run.wall_s:.1f} s wall){first}", False
    at, line = progress[0]
    return f"{len(progress)} before {where}; first at +{at:.1f} s: `{line.strip()[:80]}`", True


def _longest_silence(run: child.ChildRun) -> str:
    """The longest stretch with no stderr line, spawn and exit included: a clerk's wait."""
    marks = [0.0, *(at for at, _ in run.stderr_lines), run.wall_s]
    gap, start = max((b - a, a) for a, b in itertools.pairwise(marks))
    return f"{gap:.1f} s (from +{start:.1f} s; {len(run.stderr_lines)} stderr lines in all)"


def _profile(case: Case) -> None:
    """One more run of a case under cProfile (`python -m cProfile -o`), hot spots logged."""
    stats = profile_path(f"dryrun-{case.path.stem}")
    stats.parent.mkdir(parents=True, exist_ok=True)
    work = WORK_DIR / "profile"
    command = _command(case.path, work)
    profiled = [
        sys.executable,
        "-m",
        "cProfile",
        "-o",
        str(stats),
        "-m",
        "batch_uploader",
        *command[command.index("upload") :],
    ]
    log(f"  profiling one more run of {case.path.name} → {stats.relative_to(REPO)}")
    child.run(profiled, env=_environment(), timeout_s=TIMEOUT_S)
    for line in summarize(stats):
        log(line)


def _warm_page_cache(path: Path) -> None:
    """Read the file once so the first timed run does not pay for the disk alone."""
    with path.open("rb") as fh:
        while fh.read(PAGE_CACHE_CHUNK_BYTES):
            pass
