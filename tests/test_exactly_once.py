"""Exactly once under faults, kills, 429 storms and retries (issue: never lose or duplicate)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from batch_uploader.sandbox import Sandbox, SandboxOptions
from tests.conftest import REPO, read_workbook, sandbox_env, write_csv


def _rows(prefix: str, count: int, items_per_shipment: int = 1) -> list[list[str]]:
    rows = []
    for i in range(count):
        for item in range(items_per_shipment):
            rows.append(
                [
                    f"{prefix}-{i}",
                    "101",
                    "",
                    f"1Z{prefix}{i:08d}",
                    "UPS",
                    "",
                    "",
                    "",
                    "",
                    f"SKU-{item}",
                    "1",
                ]
            )
    return rows


def _assert_each_once(server: Sandbox, expected: int) -> None:
    keys = Counter((s["purchaseOrderId"], s["trackingNumber"]) for s in server.shipments())
    assert len(keys) == expected, f"{len(keys)} distinct shipments, expected {expected}"
    assert max(keys.values()) == 1, f"duplicates: {[k for k, n in keys.items() if n > 1]}"


def test_faults_never_duplicate_or_lose_a_shipment(cli_run, tmp_path: Path) -> None:
    """5 % 500s before creating + 5 % lost replies + 3 % dropped connections: each exactly once."""
    source = write_csv(tmp_path / "faults.csv", _rows("FLT", 30))
    options = SandboxOptions(
        auto_create_pos=True,
        fail_before_rate=0.05,
        lost_reply_rate=0.05,
        drop_connection_rate=0.03,
        random_seed=7,
    )
    with Sandbox(options) as server:
        run = cli_run("upload", str(source), env=sandbox_env(server))
        assert run.code == 0, run.workbook().table("Failed")
        _assert_each_once(server, 30)
        statuses = Counter(r["Status"] for r in run.workbook().table("Results"))
        assert set(statuses) <= {"created", "skipped"}
        assert server.stats().server_errors > 0  # the faults really happened


def test_rate_limit_storm_is_never_a_row_failure(cli_run, tmp_path: Path) -> None:
    """A server allowing 1 req/s answers many 429s; every row is still created."""
    source = write_csv(tmp_path / "storm.csv", _rows("STM", 8))
    with Sandbox(SandboxOptions(auto_create_pos=True, rate=1.0)) as server:
        run = cli_run("upload", str(source), "--json", env=sandbox_env(server))
        assert run.code == 0
        assert server.stats().rate_limited > 0
        _assert_each_once(server, 8)


def test_a_lost_reply_is_found_in_flxpoint_when_duplicates_are_allowed(
    cli_run, tmp_path: Path
) -> None:
    """--allow-duplicate-tracking + lost reply: Flxpoint is asked and has it; never re-sent."""
    source = write_csv(tmp_path / "dup.csv", _rows("DUP", 2))
    with Sandbox(SandboxOptions(auto_create_pos=True, lost_reply_rate=1.0)) as server:
        env = sandbox_env(server)
        run = cli_run("upload", str(source), "--allow-duplicate-tracking", env=env)
        assert run.code == 0, run.stderr
        results = run.workbook().table("Results")
        assert {r["Status"] for r in results} == {"created"}
        created = {s["trackingNumber"]: s["id"] for s in server.shipments()}
        assert {r["Shipment ID"] for r in results} == set(created.values())
        assert server.stats().requests == 2  # one POST each; the lookups are GETs
        again = cli_run("retry", str(run.workbook().path), "--allow-duplicate-tracking", env=env)
        assert again.code == 0
        assert server.stats().requests == 2
        _assert_each_once(server, 2)


def test_retry_sends_only_the_corrected_failed_rows(
    sandbox: Sandbox, cli_run, tmp_path: Path
) -> None:
    """Fix rows in the Failed sheet, `retry` the workbook: only those are sent, none twice."""
    source = write_csv(
        tmp_path / "fixme.csv",
        [
            ["TEST-1", "101", "", "1ZRETRYOK0001", "", "", "", "", "", "SKU-1", "1"],
            ["TEST-1", "101", "", "1ZRETRYFX0002", "", "", "", "", "", "SKU-9", "1"],
            ["TEST-2", "101", "", "1ZRETRYFX0003", "", "", "", "", "", "SKU-2", "two"],
        ],
    )
    env = sandbox_env(sandbox)
    first = cli_run("upload", str(source), env=env)
    assert first.code == 1
    assert sandbox.stats().requests == 2
    path = first.workbook().path
    book = openpyxl.load_workbook(path)
    failed = book["Failed"]
    header = [c.value for c in failed[1]]
    sku, qty = header.index("SKU") + 1, header.index("Quantity") + 1
    assert failed.cell(2, sku).value == "SKU-9"
    failed.cell(2, sku).value = "SKU-2"
    failed.cell(3, qty).value = "2"
    book.save(path)
    second = cli_run("retry", str(path), env=env)
    assert second.code == 0, second.stderr
    results = second.workbook().table("Results")
    assert [r["Status"] for r in results] == ["created", "created"]
    assert [r["Tracking Number"] for r in results] == ["1ZRETRYFX0002", "1ZRETRYFX0003"]
    assert sandbox.stats().requests == 4
    assert len(sandbox.shipments()) == 3


def _spawn(source: Path, server: Sandbox, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = os.environ | sandbox_env(server)
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
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("kill_after_s", [1.2, 2.3, 3.7])
def test_kill_9_then_rerun_creates_each_shipment_exactly_once(
    tmp_path: Path, kill_after_s: float
) -> None:
    """SIGKILL at a random-ish moment, run again: all shipments exist once; earlier ones skipped."""
    source = write_csv(tmp_path / "kill.csv", _rows("KIL", 10))
    options = SandboxOptions(
        auto_create_pos=True, latency_s=(0.1, 0.6), lost_reply_rate=0.1, random_seed=3
    )
    with Sandbox(options) as server:
        process = _spawn(source, server, tmp_path)
        time.sleep(kill_after_s)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        before = {s["trackingNumber"]: s["id"] for s in server.shipments()}
        rerun = _spawn(source, server, tmp_path)
        _, err = rerun.communicate(timeout=90)
        assert rerun.returncode == 0, err.decode()
        _assert_each_once(server, 10)
        books = sorted((tmp_path / "reports").glob("*-results.xlsx"))
        results = read_workbook(books[-1]).table("Results")
        for row in results:
            if row["Tracking Number"] in before and row["Status"] == "skipped":
                assert row["Shipment ID"] in (before[row["Tracking Number"]], None)
        skipped = [r for r in results if r["Status"] == "skipped"]
        assert len(skipped) >= len(before) - 1  # at most one was in flight when killed


def test_sigterm_writes_the_workbook_and_exits_130_then_rerun_finishes(tmp_path: Path) -> None:
    """SIGTERM: stop sending, write the workbook (rest `not sent`), exit 130; re-run completes."""
    source = write_csv(tmp_path / "term.csv", _rows("TRM", 12))
    with Sandbox(SandboxOptions(auto_create_pos=True, latency_s=(0.1, 0.3))) as server:
        process = _spawn(source, server, tmp_path)
        time.sleep(2.5)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
        assert process.returncode == 130
        (book,) = sorted((tmp_path / "reports").glob("*-results.xlsx"))
        statuses = Counter(r["Status"] for r in read_workbook(book).table("Results"))
        assert statuses["not sent"] > 0
        assert statuses["created"] == len(server.shipments())
        rerun = _spawn(source, server, tmp_path)
        rerun.communicate(timeout=60)
        assert rerun.returncode == 0
        _assert_each_once(server, 12)


def test_token_is_nowhere_in_journal_log_or_workbook(
    sandbox: Sandbox, cli_run, tmp_path: Path
) -> None:
    """The token never reaches the journal, the per-run log, the workbook or the output."""
    from tests.conftest import EXAMPLE

    run = cli_run("upload", str(EXAMPLE), "--verbose", env=sandbox_env(sandbox))
    assert run.code == 0
    token = sandbox.account_token.encode()
    files = [*tmp_path.rglob("*")]
    assert any(f.name.endswith(".log") for f in files)
    for path in files:
        if path.is_file():
            assert token not in path.read_bytes(), path
    assert sandbox.account_token not in run.stdout + run.stderr


def test_retry_of_a_workbook_with_nothing_failed_is_a_clean_no_op(
    sandbox: Sandbox, cli_run
) -> None:
    """`retry` when every row was created: says so, exit 0, nothing sent."""
    from tests.conftest import EXAMPLE

    first = cli_run("upload", str(EXAMPLE), env=sandbox_env(sandbox))
    assert first.code == 0
    requests = sandbox.stats().requests
    again = cli_run("retry", str(first.workbook().path), env=sandbox_env(sandbox))
    assert again.code == 0
    assert "nothing to retry" in again.stdout
    assert sandbox.stats().requests == requests
