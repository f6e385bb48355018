"""Past runs, from the journal's runs table, read-only.

`Journal` has no query that lists finished runs with their workbooks, so this reads the
table itself in a read-only connection; it never writes to the journal.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from batch_uploader.report import FAILED_STATUSES
from batch_uploader.web.workbooks import summary_counts

PAST_RUNS_SHOWN = 20
_COUNTS_CACHE: dict[tuple[str, float], dict[str, int]] = {}


@dataclass(frozen=True)
class PastRun:
    """One finished run as the Past runs section lists it."""

    run_id: str
    started: str
    finished: str | None
    inputs: list[str]
    workbook: Path | None
    exit_code: int | None


def past_runs(journal_path: Path, limit: int = PAST_RUNS_SHOWN) -> list[PastRun]:
    """The newest runs of the journal, newest first ([] when there is no journal yet)."""
    if not journal_path.is_file():
        return []
    try:
        db = sqlite3.connect(f"{journal_path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return []
    try:
        rows = db.execute(
            "SELECT run_id, started_at, finished_at, inputs, workbook, exit_code FROM runs "
            "ORDER BY started_at DESC LIMIT ?",
            (limit,),
        ).fetchall()
    except sqlite3.Error:
        return []
    finally:
        db.close()
    return [
        PastRun(
            run_id=str(r[0]),
            started=str(r[1]),
            finished=str(r[2]) if r[2] else None,
            inputs=[line for line in str(r[3]).split("\n") if line],
            workbook=Path(r[4]) if r[4] else None,
            exit_code=r[5],
        )
        for r in rows
    ]


def find_run(journal_path: Path, run_id: str) -> PastRun | None:
    """One run by its ID, among the ones the page lists."""
    return next((r for r in past_runs(journal_path, limit=1000) if r.run_id == run_id), None)


def describe(run: PastRun) -> dict[str, Any]:
    """The JSON the page renders for one past run (the workbook by run ID, never by path)."""
    workbook = run.workbook if run.workbook is not None and run.workbook.is_file() else None
    counts = _counts(workbook) if workbook is not None else {}
    retryable = sum(n for status, n in counts.items() if status in FAILED_STATUSES)
    return {
        "run_id": run.run_id,
        "started": _local(run.started),
        "finished": _local(run.finished) if run.finished else None,
        "files": run.inputs,
        "counts": counts,
        "exit_code": run.exit_code,
        "workbook_name": workbook.name if workbook is not None else None,
        "retryable": retryable,
    }


def _counts(path: Path) -> dict[str, int]:
    key = (str(path), path.stat().st_mtime)
    if key not in _COUNTS_CACHE:
        _COUNTS_CACHE[key] = summary_counts(path)
    return _COUNTS_CACHE[key]


def _local(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return stamp
