"""End to end: the real CLI, the real pipeline, the sandbox API over HTTP on 127.0.0.1."""

from __future__ import annotations

import csv
import itertools
import json
import re
from pathlib import Path

import pytest

from batch_uploader.sandbox import Sandbox
from tests.conftest import EXAMPLE, sandbox_env, sandbox_process, write_csv


def _example_rows() -> list[dict[str, str]]:
    with EXAMPLE.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_progress_under_cron_is_plain_lines_at_the_requests_rate(sandbox: Sandbox, cli_run) -> None:
    """Not a terminal: plain lines on stderr; the rate shown is what the API limit counts.

    12 shipments finish in about 6 s, so "finished per second since the start" would read
    above the 2/s we promise; the line shows requests per second between the first and the
    last to leave (the whole-PO row's lookup is one of them).
    """
    run = cli_run("upload", str(EXAMPLE), env=sandbox_env(sandbox))
    assert run.code == 0, run.stderr
    lines = run.stderr.splitlines()
    assert "loaded 13 rows: 12 shipments to send, 0 rows invalid" in lines
    final = [line for line in lines if line.startswith("12/12 shipments: 12 created, 0 skipped")]
    assert final, lines
    shown = re.search(r"; ([0-9.]+) requests/s", final[-1])
    assert shown, final[-1]
    assert 1.5 <= float(shown.group(1)) <= 2.0  # a 429 (1 s wait) would pull it to ~1.8
    assert "\x1b" not in run.stderr  # no terminal escapes in a cron mail


def test_example_file_creates_every_row_once(sandbox: Sandbox, cli_run) -> None:
    """A clean file: every row `created` with its ID, one request per PO + tracking number."""
    run = cli_run("upload", str(EXAMPLE), env=sandbox_env(sandbox))
    assert run.code == 0, run.stderr
    rows = _example_rows()
    groups = {(r["PO Number"] or r["Fulfillment Request ID"], r["Tracking Number"]) for r in rows}
    shipments = sandbox.shipments()
    assert len(shipments) == len(groups)
    stats = sandbox.stats()
    assert stats.requests - stats.rate_limited == len(groups)
    item_rows = [r for r in rows if r["SKU"]]
    # The one row without items ships what remains on PO-20003: SKU-A x2, SKU-B x2, SKU-C x1.
    assert sum(len(s["shipmentItems"]) for s in shipments) == len(item_rows) + 3
    results = run.workbook().table("Results")
    (whole,) = [r for r in results if not r["SKU"]]
    assert "shipped SKU-A ×2, SKU-B ×2, SKU-C ×1" in whole["Warnings"]
    assert [r["Status"] for r in results] == ["created"] * len(rows)
    ids = {s["trackingNumber"]: s["id"] for s in shipments}
    for row, result in zip(rows, results, strict=True):
        assert result["Shipment ID"] == ids[row["Tracking Number"]]
        for column, value in row.items():  # original columns unchanged, as text
            assert (result[column] or "") == value
    assert [r["Input Row"] for r in results] == list(range(2, len(rows) + 2))
    assert run.workbook().table("Failed") == []
    assert "results workbook:" in run.stdout


def test_two_items_on_one_tracking_number_are_one_request(
    sandbox: Sandbox, cli_run, tmp_path: Path
) -> None:
    """Rows sharing PO and tracking become one shipment with items in row order."""
    source = write_csv(
        tmp_path / "two.csv",
        [
            ["TEST-1", "101", "", "1ZTWOITEMS0001", "UPS", "", "", "", "", "SKU-2", "1"],
            ["TEST-1", "101", "", "1ZTWOITEMS0001", "", "", "", "", "", "SKU-1", "3"],
            ["TEST-1", "101", "", "1ZOTHERBOX0002", "UPS", "", "", "", "", "SKU-3", "2"],
        ],
    )
    run = cli_run("upload", str(source), env=sandbox_env(sandbox))
    assert run.code == 0, run.stderr
    shipments = sandbox.shipments()
    assert len(shipments) == 2
    first = shipments[0]
    assert first["trackingNumber"] == "1ZTWOITEMS0001"
    assert [(i["sku"], i["quantity"]) for i in first["shipmentItems"]] == [
        ("SKU-2", 1),
        ("SKU-1", 3),
    ]
    assert first["carrier"] == "UPS"


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        ({"Tracking Number": ""}, "Tracking Number is empty"),
        ({"Quantity": "two"}, 'Quantity "two" is not a whole number'),
        ({"Quantity": "0"}, 'Quantity "0" must be 1 or more'),
        ({"Quantity": "-1"}, 'Quantity "-1" must be 1 or more'),
        ({"Quantity": "1.5"}, 'Quantity "1.5" is not a whole number'),
        ({"PO Number": "", "Source ID": ""}, "no purchase order"),
        ({"SKU": ""}, "no item identifier"),
        ({"Shipped At": "yesterday"}, 'Shipped At "yesterday" is not a date/time'),
        ({"Shipping Cost": "free"}, 'Shipping Cost "free" is not a number'),
        ({"Tracking Number": "9.4055E+21"}, "scientific notation"),
    ],
)
def test_each_validation_rule_marks_the_row_invalid_and_sends_nothing(
    sandbox: Sandbox, cli_run, tmp_path: Path, cells: dict[str, str], reason: str
) -> None:
    """A bad row is `invalid` with a reason naming column and value; the good row still goes."""
    good = {
        "PO Number": "TEST-2",
        "Source ID": "101",
        "Tracking Number": "1ZGOODROW0001",
        "Quantity": "1",
        "SKU": "SKU-1",
        "Shipped At": "2026-11-26",
        "Shipping Cost": "4.50",
    }
    bad = good | {"Tracking Number": "1ZBADROW00002"} | cells
    header = list(good)
    source = write_csv(
        tmp_path / "rules.csv", [list(good.values()), [bad[h] for h in header]], header
    )
    run = cli_run("upload", str(source), env=sandbox_env(sandbox))
    assert run.code == 1
    results = run.workbook().table("Results")
    assert results[0]["Status"] == "created"
    assert results[1]["Status"] == "invalid"
    assert reason in results[1]["Error"]
    assert [s["trackingNumber"] for s in sandbox.shipments()] == ["1ZGOODROW0001"]
    failed = run.workbook().table("Failed")
    assert [f["Input Row"] for f in failed] == [3]


def test_disagreeing_rows_of_one_shipment_are_not_sent(
    sandbox: Sandbox, cli_run, tmp_path: Path
) -> None:
    """Two rows of one PO + tracking with different carriers: neither is sent, both say why."""
    source = write_csv(
        tmp_path / "disagree.csv",
        [
            ["TEST-3", "102", "", "1ZDISAGREE001", "UPS", "", "", "", "", "SKU-1", "1"],
            ["TEST-3", "102", "", "1ZDISAGREE001", "FedEx", "", "", "", "", "SKU-2", "1"],
        ],
    )
    run = cli_run("upload", str(source), env=sandbox_env(sandbox))
    assert run.code == 1
    results = run.workbook().table("Results")
    assert [r["Status"] for r in results] == ["invalid", "invalid"]
    for result in results:
        assert 'Carrier: "UPS" (row 2) vs "FedEx" (row 3)' in result["Error"]
    assert sandbox.stats().requests == 0


def test_api_refusal_is_failed_with_status_and_message(
    sandbox: Sandbox, cli_run, tmp_path: Path
) -> None:
    """A SKU not on the PO: the API's 400 and its message land in the row's Error."""
    source = write_csv(
        tmp_path / "refused.csv",
        [["TEST-4", "102", "", "1ZREFUSED0001", "", "", "", "", "", "NOT-ON-PO", "1"]],
    )
    run = cli_run("upload", str(source), env=sandbox_env(sandbox))
    assert run.code == 1
    (result,) = run.workbook().table("Results")
    assert result["Status"] == "failed"
    assert result["Error"].startswith("HTTP 400: ")
    assert "NOT-ON-PO" in result["Error"]


def test_unknown_token_stops_with_exit_3(sandbox: Sandbox, cli_run) -> None:
    """401: the run stops at once, exit 3, and nothing further is sent."""
    env = sandbox_env(sandbox) | {"FLXPOINT_API_TOKEN": "wrong-token-123"}
    run = cli_run("upload", str(EXAMPLE), env=env)
    assert run.code == 3
    assert "401" in run.stderr
    stats = sandbox.stats()
    assert stats.requests + stats.reads == 1  # the first request (the whole-PO row's lookup)
    assert sandbox.shipments() == []
    assert "wrong-token-123" not in run.stdout + run.stderr


def test_dry_run_sends_nothing(sandbox: Sandbox, cli_run, tmp_path: Path) -> None:
    """--dry-run: valid rows are `not sent`, bad rows `invalid`, no request reaches the API."""
    source = write_csv(
        tmp_path / "dry.csv",
        [
            ["TEST-5", "103", "", "1ZDRYRUN00001", "", "", "", "", "", "SKU-1", "1"],
            ["TEST-5", "103", "", "1ZDRYRUN00002", "", "", "", "", "", "SKU-1", "zero"],
        ],
    )
    run = cli_run("upload", str(source), "--dry-run", env=sandbox_env(sandbox))
    assert run.code == 1  # one row is invalid
    assert [r["Status"] for r in run.workbook().table("Results")] == ["not sent", "invalid"]
    assert sandbox.stats().requests == 0


def test_formulas_in_input_stay_text_in_workbook_and_are_sent_verbatim(
    sandbox: Sandbox, cli_run, tmp_path: Path
) -> None:
    """A cell starting with `=` is sent exactly and written as text, never as a formula."""
    note = '=HYPERLINK("http://evil.example","click")'
    source = write_csv(
        tmp_path / "formula.csv",
        [
            ["TEST-6", "103", "", "1ZFORMULA0001", "", "", "", "", note, "SKU-1", "1"],
            ["TEST-6", "103", "", "1ZFORMULA0002", "", "", "", "", "=1+1", "SKU-1", "x"],
        ],
    )
    run = cli_run("upload", str(source), env=sandbox_env(sandbox))
    assert run.code == 1
    assert sandbox.shipments()[0]["note"] == note
    book = run.workbook()
    for sheet in book.book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula"
    results = book.table("Results")
    assert [r["Note"] for r in results] == [note, "=1+1"]


def test_rerun_skips_what_was_created(sandbox: Sandbox, cli_run) -> None:
    """The same file again: nothing is sent, every row `skipped` with its Shipment ID."""
    first = cli_run("upload", str(EXAMPLE), env=sandbox_env(sandbox))
    assert first.code == 0
    ids = [r["Shipment ID"] for r in first.workbook().table("Results")]
    requests = sandbox.stats().requests
    second = cli_run("upload", str(EXAMPLE), env=sandbox_env(sandbox))
    assert second.code == 0
    results = second.workbook().table("Results")
    assert [r["Status"] for r in results] == ["skipped"] * len(ids)
    assert [r["Shipment ID"] for r in results] == ids
    assert sandbox.stats().requests == requests


def test_json_summary_is_the_only_stdout(sandbox: Sandbox, cli_run) -> None:
    """--json prints exactly one JSON object on stdout with counts and the workbook path."""
    run = cli_run("upload", str(EXAMPLE), "--json", env=sandbox_env(sandbox))
    assert run.code == 0
    summary = json.loads(run.stdout)
    rows = len(_example_rows())
    assert summary["rows"] == {"created": rows}
    stats = sandbox.stats()
    assert summary["requests"] == stats.requests + stats.reads  # POSTs and lookups alike
    assert Path(summary["workbook"]).exists()


def test_sandbox_flag_needs_no_token(cli_run) -> None:
    """`upload --sandbox` starts the sandbox in-process: the demo works with no token at all."""
    run = cli_run("upload", str(EXAMPLE), "--sandbox")
    assert run.code == 0, run.stderr
    assert {r["Status"] for r in run.workbook().table("Results")} == {"created"}


def test_requests_never_closer_than_half_a_second(cli_run, tmp_path: Path) -> None:
    """Against strict 0.5 s spacing in another process: no 429, every gap the server saw ≥ 0.5 s."""
    rows = [
        [f"RATE-{i}", "101", "", f"1ZRATE{i:08d}", "", "", "", "", "", "SKU-1", "1"]
        for i in range(10)
    ]
    source = write_csv(tmp_path / "rate.csv", rows)
    with sandbox_process("--auto-create-pos", "--latency", "0.2-0.9") as server:
        env = {"FLXPOINT_API_TOKEN": "sandbox-account-token", "FLXPOINT_BASE_URL": server.url}
        run = cli_run("upload", str(source), env=env)
        stats = server.stats()
    assert run.code == 0, run.stderr
    assert stats["rate_limited"] == 0
    (times,) = stats["request_times"].values()
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.5
    assert stats["max_in_flight"] >= 2  # latency does not serialise the requests


def test_tokens_file_sends_each_source_with_its_own_token(
    sandbox: Sandbox, cli_run, tmp_path: Path
) -> None:
    """--tokens: each source's shipments go with that source's token; unlisted sources fail."""
    tokens = tmp_path / "tokens.toml"
    tokens.write_text('[tokens]\n"101" = "TOKEN_101"\n"102" = "TOKEN_102"\n', encoding="utf-8")
    source = write_csv(
        tmp_path / "multi.csv",
        [
            ["TEST-1", "101", "", "1ZMULTI000001", "", "", "", "", "", "SKU-1", "1"],
            ["TEST-3", "102", "", "1ZMULTI000002", "", "", "", "", "", "SKU-1", "1"],
            ["TEST-2", "101", "", "1ZMULTI000003", "", "", "", "", "", "SKU-1", "1"],
            ["TEST-5", "103", "", "1ZMULTI000004", "", "", "", "", "", "SKU-1", "1"],
        ],
    )
    env = {
        "FLXPOINT_BASE_URL": sandbox.url,
        "TOKEN_101": "sandbox-source-101",
        "TOKEN_102": "sandbox-source-102",
    }
    run = cli_run("upload", str(source), "--tokens", str(tokens), env=env)
    assert run.code == 1
    results = run.workbook().table("Results")
    assert [r["Status"] for r in results] == ["created", "created", "created", "failed"]
    assert results[3]["Error"].startswith("no token for source 103")
    assert {s["sourceId"] for s in sandbox.shipments()} == {101, 102}
    assert len(sandbox.stats().request_times) == 2  # two tokens, each paced on its own
    assert "sandbox-source-10" not in run.stdout + run.stderr
