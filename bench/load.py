"""Benchmark 2: load + validate + group, vs a bare pandas read of the same file.

Each timing is one fresh `python -m bench.probe` process (what a CLI run is); the probe
times only the call, not the interpreter start or the imports. Ours and the bare read
alternate, REPEATS times each, and the medians are compared. Peak memory is ru_maxrss of
the probe processes that ran only our prepare() (the largest of them).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import datagen
from bench.common import (
    BYTES_PER_KIB,
    BYTES_PER_MB,
    REPEATS,
    REPO,
    Metric,
    Section,
    Sizes,
    as_installed,
    fmt_ratio,
    fmt_s,
    log,
    median_seconds,
)
from bench.profiling import profile_path, summarize

TITLE = "Load + validate + group"
MAX_RATIO = 1.5
"""Our prepare() may take at most this many times the bare pandas read."""
MAX_PEAK_MB = 600.0
"""Peak resident memory of a process doing only prepare() on the 100k-row .xlsx."""
PEAK_TARGET_ROWS = 100_000
"""The memory target is stated for this many rows of .xlsx."""
PROBE_TIMEOUT_S = 3600.0
"""Longest one probe may run (a 1M-row CSV through a slow prepare() included)."""
PAGE_CACHE_CHUNK_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ProbeRun:
    """One probe process's answer."""

    seconds: float
    cpu_seconds: float
    peak_mb: float
    info: dict[str, Any]


def run(sizes: Sizes, *, profile: bool = False) -> Section:
    """Measure the .xlsx and the .csv input; optionally profile one more run of ours."""
    section = Section("load", TITLE)
    inputs = (
        ("xlsx", datagen.load_xlsx(sizes.xlsx_rows), sizes.xlsx_rows, "pandas-xlsx"),
        ("csv", datagen.load_csv(sizes.csv_rows), sizes.csv_rows, "pandas-csv"),
    )
    for label, path, rows, bare_kind in inputs:
        _measure_file(section, label, path, rows, bare_kind, profile=profile)
    section.notes += [
        f"Inputs: {len(datagen.LOAD_HEADER)} columns like a carrier export "
        f"({', '.join(datagen.LOAD_HEADER)}); shipments of 1–{datagen.MAX_ITEMS_PER_SHIPMENT} "
        f"rows; USPS 20-digit tracking numbers with a leading zero (valid check digits); "
        f"{datagen.INVALID_ROW_SHARE:.1%} of rows have Quantity `two`. The .xlsx is written "
        "by xlsxwriter (constant_memory) with text, number and date cells; the CSV holds the "
        "same kind of rows with US-style dates. Both are generated once into bench/out/inputs/.",
        "Ours: `prepare(Config(inputs=(path,), dry_run=True))` (read, map columns, validate "
        'every row, group into requests). Bare: `pandas.read_excel(path, engine="calamine", '
        "dtype=str)` / `pandas.read_csv(path, dtype=str)`, which only reads.",
        f"Each timing is a fresh `python -m bench.probe` process timing only the call "
        f"(imports excluded); ours and bare alternate, {REPEATS} runs each, medians compared. "
        "Ours runs as a user's install has it, without pandas (bench/without_pandas/ hides it; "
        "pyarrow would import it on first use). The bare reads run with pyarrow installed, as "
        "in any environment that has batch-uploader, so pandas 3 stores `dtype=str` columns "
        "as Arrow strings. "
        "The target is on wall time; the CPU-time ratio (user + system of the probe) is a "
        "cross-check that other load on the machine did not decide the verdict.",
        "Peak memory: ru_maxrss of the probe processes that did only prepare() (the largest); "
        "it includes the interpreter and imports. MB = 10^6 bytes.",
    ]
    return section


def _measure_file(
    section: Section, label: str, path: Path, rows: int, bare_kind: str, *, profile: bool
) -> None:
    _warm_page_cache(path)
    log(f"load: {path.name} ({path.stat().st_size / BYTES_PER_MB:.1f} MB), {REPEATS}× each")
    ours: list[ProbeRun] = []
    bare: list[ProbeRun] = []
    for attempt in range(1, REPEATS + 1):
        bare.append(_probe(bare_kind, path))
        ours.append(_probe("ours", path))
        log(
            f"  run {attempt}: bare {bare[-1].seconds:.2f} s, ours {ours[-1].seconds:.2f} s "
            f"({ours[-1].peak_mb:.0f} MB peak)"
        )
    ours_s = median_seconds([r.seconds for r in ours])
    bare_s = median_seconds([r.seconds for r in bare])
    ratio = ours_s / bare_s
    info = ours[0].info
    name = f"{rows:,}-row .{label}"
    section.add(Metric(f"{name}: ours (read+validate+group)", fmt_s(ours_s)))
    section.add(Metric(f"{name}: bare pandas read", fmt_s(bare_s)))
    target = f"≤ {MAX_RATIO}×"
    section.add(Metric(f"{name}: ratio ours / bare", fmt_ratio(ratio), target, ratio <= MAX_RATIO))
    cpu_ratio = median_seconds([r.cpu_seconds for r in ours]) / median_seconds(
        [r.cpu_seconds for r in bare]
    )
    section.add(Metric(f"{name}: ratio by CPU time (cross-check)", fmt_ratio(cpu_ratio)))
    peak_mb = max(r.peak_mb for r in ours)
    bare_peak_mb = max(r.peak_mb for r in bare)
    has_target = label == "xlsx" and rows >= PEAK_TARGET_ROWS
    section.add(
        Metric(
            f"{name}: peak memory of prepare() process",
            f"{peak_mb:.0f} MB (bare read: {bare_peak_mb:.0f} MB)",
            f"≤ {MAX_PEAK_MB:.0f} MB" if has_target else "",
            peak_mb <= MAX_PEAK_MB if has_target else None,
        )
    )
    section.add(
        Metric(
            f"{name}: throughput ours",
            f"{rows / ours_s:,.0f} rows/s → {info.get('requests', 0):,} requests, "
            f"{info.get('invalid', 0):,} invalid rows",
        )
    )
    if profile:
        stats = profile_path(f"load-{label}-{rows}")
        log(f"  profiling one more run of ours → {stats.relative_to(REPO)}")
        _probe("ours", path, profile_to=stats)
        for line in summarize(stats):
            log(line)


def _probe(kind: str, path: Path, profile_to: Path | None = None) -> ProbeRun:
    command = [sys.executable, "-m", "bench.probe", kind, str(path)]
    if profile_to is not None:
        command += ["--profile", str(profile_to)]
    done = subprocess.run(
        command,
        cwd=REPO,
        env=as_installed() if kind == "ours" else None,
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        msg = f"probe {kind} {path.name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}"
        raise RuntimeError(msg)
    answer = json.loads(done.stdout)
    peak_mb = answer.pop("max_rss_kib") * BYTES_PER_KIB / BYTES_PER_MB
    return ProbeRun(answer.pop("seconds"), answer.pop("cpu_seconds"), peak_mb, answer)


def _warm_page_cache(path: Path) -> None:
    """Read the file once so the first timed run does not pay for the disk alone."""
    with path.open("rb") as fh:
        while fh.read(PAGE_CACHE_CHUNK_BYTES):
            pass
