"""Run `batch-uploader upload ... --json --quiet` against the sandbox and time the whole command."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import child
from bench.common import cli_command

SECONDS_PER_REQUEST_BUDGET = 5.0
"""Generous upper bound per request before a hung upload is killed."""
FIXED_BUDGET_S = 300.0
# Variables that would point the CLI somewhere else than the flags say.
_CLEARED_ENV = ("FLXPOINT_BASE_URL", "BATCH_UPLOADER_JOURNAL")


@dataclass(frozen=True)
class UploadRun:
    """One CLI upload: its wall time, exit code, JSON summary, stderr and CPU use."""

    wall_s: float
    exit_code: int
    summary: dict[str, Any]
    stderr: str
    cpu_s: float
    peak_rss_mb: float


def upload_command(
    csv_path: Path, base_url: str, work_dir: Path, extra: tuple[str, ...] = ()
) -> list[str]:
    """The command line: a fresh journal and report dir under `work_dir`."""
    return [
        *cli_command(),
        "upload",
        str(csv_path),
        "--base-url",
        base_url,
        "--journal",
        str(work_dir / "journal.sqlite3"),
        "--report-dir",
        str(work_dir / "reports"),
        "--json",
        "--quiet",
        *extra,
    ]


def upload(
    csv_path: Path,
    base_url: str,
    work_dir: Path,
    *,
    env: dict[str, str],
    requests: int,
    extra: tuple[str, ...] = (),
) -> UploadRun:
    """Upload `csv_path` with a fresh journal and report dir under `work_dir`."""
    environment = {k: v for k, v in os.environ.items() if k not in _CLEARED_ENV} | env
    done = child.run(
        upload_command(csv_path, base_url, work_dir, extra),
        env=environment,
        timeout_s=FIXED_BUDGET_S + SECONDS_PER_REQUEST_BUDGET * requests,
    )
    summary: dict[str, Any] = {}
    lines = done.stdout.strip().splitlines()
    if lines:
        try:
            summary = json.loads(lines[-1])
        except json.JSONDecodeError:
            summary = {}
    return UploadRun(
        done.wall_s, done.exit_code, summary, done.stderr.strip(), done.cpu_s, done.peak_rss_mb
    )
