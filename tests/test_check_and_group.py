"""check_and_group.py: a daily batch is checked row by row without loading Arrow; a big input
column by column. Both roads give the same verdicts (tests/test_validate_columns.py); here
the command line itself shows which modules a run loads, so start-up stays short.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import EXAMPLE, write_csv

from batch_uploader.check_and_group import BULK_MIN_ROWS

HEAVY = {"pyarrow", "numpy"}


def modules_loaded_by_dry_run(path: Path, report_dir: Path) -> set[str]:
    """Every module `batch-uploader upload PATH --dry-run` imported (python -X importtime)."""
    command = ["upload", str(path), "--dry-run", "--report-dir", str(report_dir)]
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "batch_uploader", *command],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("FLXPOINT_")},
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    lines = done.stderr.splitlines()
    return {line.rsplit("|", 1)[-1].strip() for line in lines if line.startswith("import time:")}


def test_a_daily_batch_never_loads_arrow_or_numpy(tmp_path: Path) -> None:
    """The bundled example (12 rows) is read, checked and grouped without the column road."""
    loaded = modules_loaded_by_dry_run(EXAMPLE, tmp_path)
    assert "batch_uploader.validate" in loaded  # the import log is real
    assert not HEAVY & loaded
    assert list(tmp_path.glob("example-shipments-*-results.xlsx"))  # the dry run finished


def test_a_big_input_takes_the_column_road(tmp_path: Path) -> None:
    """From BULK_MIN_ROWS rows on, rows are checked column by column (Arrow and numpy)."""
    rows = [
        [f"PO-{n}", "101", "", f"1Z999AA1{n:010d}", "UPS", "", "", "", "", "SKU-1", "1"]
        for n in range(BULK_MIN_ROWS)
    ]
    path = write_csv(tmp_path / "big.csv", rows)
    loaded = modules_loaded_by_dry_run(path, tmp_path / "reports")
    assert loaded >= HEAVY
    assert "batch_uploader.validate_columns" in loaded
