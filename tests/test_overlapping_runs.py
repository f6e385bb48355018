"""Two CLI processes with one journal and one token: the second waits, nothing is sent twice.

Two real processes (as two cron jobs would be) upload overlapping files to one sandbox; the
second starts 0.3 s after the first, says once that it waits, then sends only what the
first did not, keeping the token's spacing: both exit 0, every shipment exists once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from batch_uploader.sandbox import Sandbox, SandboxOptions
from tests.conftest import REPO, sandbox_env, write_csv

FIRST = range(0, 24)
SECOND = range(12, 32)  # half of it is the first file's rows
START_GAP_S = 0.3
WAIT_LINE = "waiting for run "


def _file(path: Path, numbers: range) -> Path:
    rows = [
        [f"OVL-{n}", "101", "", f"1ZOVL{n:08d}", "UPS", "", "", "", "", "SKU-1", "1"]
        for n in numbers
    ]
    return write_csv(path, rows)


def _start(source: Path, server: Sandbox, tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "batch_uploader",
            "upload",
            str(source),
            "--quiet",
            "--journal",
            str(tmp_path / "journal.sqlite3"),
            "--report-dir",
            str(tmp_path / "reports"),
            *extra,
        ],
        cwd=REPO,
        env=os.environ | sandbox_env(server),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("extra", [(), ("--allow-duplicate-tracking",)], ids=["refused", "allowed"])
def test_second_run_waits_and_sends_nothing_twice(tmp_path: Path, extra: tuple[str, ...]) -> None:
    """Each shipment created once, ≤ 1 % 429s, both exit 0, one waiting line from the second."""
    first_file = _file(tmp_path / "first.csv", FIRST)
    second_file = _file(tmp_path / "second.csv", SECOND)
    with Sandbox(SandboxOptions(auto_create_pos=True)) as server:
        first = _start(first_file, server, tmp_path, *extra)
        time.sleep(START_GAP_S)
        second = _start(second_file, server, tmp_path, *extra)
        _, first_err = first.communicate(timeout=120)
        _, second_err = second.communicate(timeout=120)
        assert first.returncode == 0, first_err
        assert second.returncode == 0, second_err
        keys = Counter(s["trackingNumber"] for s in server.shipments())
        assert len(keys) == len(set(FIRST) | set(SECOND))
        assert max(keys.values()) == 1
        stats = server.stats()
        assert stats.requests == len(keys)  # the overlap was never posted again
        assert stats.rate_limited * 100 <= stats.requests
    assert WAIT_LINE not in first_err
    assert second_err.count(WAIT_LINE) == 1, second_err
    (line,) = second_err.strip().splitlines()
    assert line.startswith("batch-uploader: waiting for run ")
    assert line.endswith("to finish; Ctrl-C to stop")
