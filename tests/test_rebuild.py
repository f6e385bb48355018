"""`batch-uploader report RUN_ID`: a lost workbook is rebuilt from the journal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batch_uploader import pipeline
from batch_uploader.sandbox import Sandbox
from tests.conftest import EXAMPLE, read_workbook, sandbox_env, write_csv


def test_report_rebuilds_a_deleted_workbook(sandbox: Sandbox, cli_run, tmp_path: Path) -> None:
    """Delete the workbook, run `report RUN_ID`: the same rows, statuses and Shipment IDs."""
    bad = write_csv(
        tmp_path / "mixed.csv",
        [
            ["TEST-1", "101", "", "1ZREBUILD0001", "", "", "", "", "", "SKU-1", "1"],
            ["TEST-1", "101", "", "1ZREBUILD0002", "", "", "", "", "", "SKU-1", "lots"],
            ["TEST-2", "101", "", "1ZREBUILD0003", "", "", "", "", "", "NOPE", "1"],
        ],
    )
    run = cli_run("upload", str(bad), "--json", env=sandbox_env(sandbox))
    summary = json.loads(run.stdout)
    original = read_workbook(Path(summary["workbook"])).table("Results")
    Path(summary["workbook"]).unlink()
    rebuilt_run = cli_run(
        "report",
        summary["run_id"],
        "--journal",
        str(tmp_path / "journal.sqlite3"),
        "--report-dir",
        str(tmp_path / "rebuilt"),
    )
    assert rebuilt_run.code == 0, rebuilt_run.stderr
    (path,) = (tmp_path / "rebuilt").glob("*-results.xlsx")
    rebuilt = read_workbook(path).table("Results")
    keep = ("Tracking Number", "Input Row", "Status", "Shipment ID")
    assert [{k: r[k] for k in keep} for r in rebuilt] == [{k: r[k] for k in keep} for r in original]
    assert [r["Status"] for r in rebuilt] == ["created", "invalid", "failed"]


def test_crash_while_writing_the_workbook_keeps_the_journal(
    sandbox: Sandbox, cli_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workbook writer dies: nothing is lost, the rebuild shows every shipment created."""

    def explode(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pipeline, "write_workbook", explode)
    crashed = cli_run("upload", str(EXAMPLE), env=sandbox_env(sandbox))
    assert crashed.code == 2
    assert "Traceback" not in crashed.stderr
    assert "No space left on device" in crashed.stderr
    assert "batch-uploader report " in crashed.stderr
    monkeypatch.undo()
    journal = tmp_path / "journal.sqlite3"
    import sqlite3

    (run_id,) = sqlite3.connect(journal).execute("SELECT run_id FROM runs").fetchone()
    rebuilt = cli_run(
        "report", run_id, "--journal", str(journal), "--report-dir", str(tmp_path / "r")
    )
    assert rebuilt.code == 0, rebuilt.stderr
    (path,) = (tmp_path / "r").glob("*-results.xlsx")
    rows = read_workbook(path).table("Results")
    assert {r["Status"] for r in rows} == {"created"}
    assert {r["Shipment ID"] for r in rows} == {s["id"] for s in sandbox.shipments()}


def test_report_of_an_unknown_run_says_which_runs_exist(cli_run, tmp_path: Path) -> None:
    """An unknown RUN_ID: exit 2 and the journal's recent runs."""
    journal = tmp_path / "journal.sqlite3"
    from batch_uploader.journal import Journal

    Journal(journal).close()
    run = cli_run("report", "20990101-000000-abcdef", "--journal", str(journal))
    assert run.code == 2
    assert "is not in journal" in run.stderr
