"""Run `batch-uploader upload ... --json --quiet` against the sandbox and time the whole command."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import as_installed, cli_command

SECONDS_PER_REQUEST_BUDGET = 5.0
"""Generous upper bound per request before a hung upload is killed."""
FIXED_BUDGET_S = 300.0
# Variables that would point the CLI somewhere else than the flags say.
_CLEARED_ENV = ("FLXPOINT_BASE_URL", "BATCH_UPLOADER_JOURNAL")


@dataclass(frozen=True)
class UploadRun:
    """One CLI upload: its wall time, exit code, JSON summary and stderr."""

    wall_s: float
    exit_code: int
    summary: dict[str, Any]
    stderr: str


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
    command = [
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
    environment = {k: v for k, v in os.environ.items() if k not in _CLEARED_ENV} | env
    began = time.perf_counter()
    done = subprocess.run(
        command,
        env=as_installed(environment),
        capture_output=True,
        text=True,
        timeout=FIXED_BUDGET_S + SECONDS_PER_REQUEST_BUDGET * requests,
        check=False,
    )
    wall_s = time.perf_counter() - began
    summary: dict[str, Any] = {}
    lines = done.stdout.strip().splitlines()
    if lines:
        try:
            summary = json.loads(lines[-1])
        except json.JSONDecodeError:
            summary = {}
    return UploadRun(wall_s, done.returncode, summary, done.stderr.strip())
