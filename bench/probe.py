"""One measurement in a fresh interpreter: `python -m bench.probe KIND FILE [--profile OUT]`.

Prints one JSON object on stdout: the seconds the measured call took (imports excluded),
wall and CPU (user + system, all threads), the process's peak resident memory (ru_maxrss,
which on Linux counts the interpreter and its imports too), and what was read. A fresh
process per measurement is what a user's CLI run is, and it makes ru_maxrss belong to this
one call alone.

KIND is `ours` (batch_uploader's prepare(): read, validate, group), `pandas-xlsx`
(`pandas.read_excel(FILE, engine="calamine", dtype=str)`) or `pandas-csv`
(`pandas.read_csv(FILE, dtype=str)`).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

KINDS = ("ours", "pandas-xlsx", "pandas-csv")


def _ours(path: Path) -> Callable[[], dict[str, Any]]:
    from batch_uploader.config import Config
    from batch_uploader.pipeline import prepare

    config = Config(inputs=(path,), dry_run=True)

    def call() -> dict[str, Any]:
        prepared = prepare(config)
        return {
            "rows": sum(len(t.rows) for t in prepared.tables),
            "requests": len(prepared.requests),
            "invalid": len(prepared.results),
        }

    return call


def _pandas(path: Path, kind: str) -> Callable[[], dict[str, Any]]:
    import pandas as pd  # type: ignore[import-untyped]  # no stubs installed

    def call() -> dict[str, Any]:
        if kind == "pandas-xlsx":
            frame = pd.read_excel(path, engine="calamine", dtype=str)
        else:
            frame = pd.read_csv(path, dtype=str)
        return {"rows": len(frame)}

    return call


def measure(kind: str, path: Path, profile_to: Path | None) -> dict[str, Any]:
    """Run one measurement of `kind` on `path` and describe it."""
    call = _ours(path) if kind == "ours" else _pandas(path, kind)
    profiler = cProfile.Profile() if profile_to is not None else None
    began, began_cpu = time.perf_counter(), time.process_time()
    info = profiler.runcall(call) if profiler is not None else call()
    seconds = time.perf_counter() - began
    cpu_seconds = time.process_time() - began_cpu
    if profiler is not None and profile_to is not None:
        profile_to.parent.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(profile_to)
    max_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "kind": kind,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "max_rss_kib": max_rss_kib,
        **info,
    }


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, measure once, print the JSON object."""
    parser = argparse.ArgumentParser(prog="python -m bench.probe", description=__doc__)
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("path", type=Path)
    parser.add_argument("--profile", type=Path, help="Write cProfile stats of the call here.")
    args = parser.parse_args(argv)
    json.dump(measure(args.kind, args.path, args.profile), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
