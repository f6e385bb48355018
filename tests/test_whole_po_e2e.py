"""Whole-PO requests through the sending phase against the sandbox over loopback HTTP.

The requests are built as grouping builds them (a whole-PO request has no items); the
sending phase asks Flxpoint what remains, posts that, and reports what it shipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from batch_uploader.asking import DRY_RUN_CHECKED
from batch_uploader.config import Config
from batch_uploader.errors import EXIT_AUTH
from batch_uploader.models import (
    ItemFields,
    Outcome,
    PoIdentity,
    RowRef,
    ShipmentFields,
    ShipmentRequest,
    Status,
)
from batch_uploader.run_hooks import Observer
from batch_uploader.sandbox import Sandbox
from batch_uploader.sender import ALREADY_CREATED
from batch_uploader.sending import SendReport, send
from tests.conftest import sandbox_env, write_csv

TIMES = "\u00d7"


def whole(po_number: str, source: int = 101, tracking: str = "1ZWHOLE0001") -> ShipmentRequest:
    """A whole-PO request: PO + tracking number, no items."""
    return ShipmentRequest(
        PoIdentity(po_number, source), tracking, ShipmentFields(carrier="UPS"), (), (RowRef(0, 2),)
    )


def items(po_number: str, tracking: str, *lines: ItemFields, source: int = 101) -> ShipmentRequest:
    return ShipmentRequest(
        PoIdentity(po_number, source),
        tracking,
        ShipmentFields(carrier="UPS"),
        lines,
        (RowRef(0, 3),),
    )


def run_send(
    server: Sandbox,
    tmp_path: Path,
    requests: Sequence[ShipmentRequest],
    *,
    token: str | None = None,
    dry_run: bool = False,
) -> SendReport:
    """The sending phase as pipeline.run calls it, against `server`."""
    config = Config(
        inputs=(tmp_path / "input.csv",),
        token=token or server.account_token,
        base_url=server.url,
        dry_run=dry_run,
        journal_path=tmp_path / "journal.sqlite3",
        report_dir=tmp_path / "reports",
    )
    log = None if dry_run else tmp_path / "run.log"
    return send(config, "run-1", ["input.csv"], requests, Observer(), log)


def test_partly_shipped_po_ships_only_the_remaining_items(sandbox: Sandbox, tmp_path: Path) -> None:
    """PO-20001 → one shipment of SKU-A x2 and SKU-C x1; the note says so."""
    report = run_send(sandbox, tmp_path, [whole("PO-20001")])
    (outcome,) = report.outcomes
    assert outcome.status is Status.CREATED, outcome
    assert outcome.note == f"shipped SKU-A {TIMES}2, SKU-C {TIMES}1"
    (shipment,) = sandbox.shipments()
    assert shipment["id"] == outcome.shipment_id
    assert sorted((i["sku"], i["quantity"]) for i in shipment["shipmentItems"]) == [
        ("SKU-A", 2),
        ("SKU-C", 1),
    ]
    assert report.requests == 2  # one GET, one POST
    assert report.fatal is None


def test_fully_shipped_unknown_and_item_requests_together(sandbox: Sandbox, tmp_path: Path) -> None:
    """Fully shipped → skipped; unknown PO → invalid; item rows are sent as they are."""
    requests = [
        whole("PO-20002"),
        whole("PO-99999", tracking="1ZWHOLE0002"),
        items("TEST-1", "1ZITEMS0001", ItemFields(1, "SKU-1")),
    ]
    report = run_send(sandbox, tmp_path, requests)
    assert report.outcomes[0] == Outcome(Status.SKIPPED, error="already fully shipped in Flxpoint")
    assert report.outcomes[1] == Outcome(
        Status.INVALID, error="PO PO-99999 not found in Flxpoint (source 101)"
    )
    assert report.outcomes[2].status is Status.CREATED
    assert [s["trackingNumber"] for s in sandbox.shipments()] == ["1ZITEMS0001"]


def test_rerun_skips_what_an_earlier_run_created_without_asking(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Run twice with one journal: the second says skipped with the Shipment ID, sends nothing."""
    first = run_send(sandbox, tmp_path, [whole("PO-20001")])
    reads = sandbox.stats().reads
    second = run_send(sandbox, tmp_path, [whole("PO-20001")])
    assert second.outcomes == [
        Outcome(Status.SKIPPED, first.outcomes[0].shipment_id, ALREADY_CREATED)
    ]
    assert second.requests == 0
    assert sandbox.stats().reads == reads
    assert len(sandbox.shipments()) == 1


def test_dry_run_with_a_token_checks_without_posting(sandbox: Sandbox, tmp_path: Path) -> None:
    """A dry run that asks Flxpoint: SKU and quantity checked, whole-PO items shown, no POST."""
    requests = [
        items("PO-20001", "1ZDRY0001", ItemFields(1, "SKU-Z")),
        items("PO-20001", "1ZDRY0002", ItemFields(2, "SKU-C")),
        items("PO-20001", "1ZDRY0003", ItemFields(2, "SKU-A")),
        whole("PO-20001", tracking="1ZDRY0004"),
    ]
    report = run_send(sandbox, tmp_path, requests, dry_run=True)
    assert [o.status for o in report.outcomes] == [
        Status.INVALID,
        Status.INVALID,
        Status.NOT_SENT,
        Status.NOT_SENT,
    ]
    assert "SKU SKU-Z is not on PO PO-20001" in report.outcomes[0].error
    assert report.outcomes[1].error == (
        f"SKU-C {TIMES}2 but only 1 remains to ship on PO PO-20001 (source 101)"
    )
    assert report.outcomes[2].error == DRY_RUN_CHECKED
    assert report.outcomes[3].note == f"would ship SKU-A {TIMES}2, SKU-C {TIMES}1"
    assert sandbox.stats().requests == 0
    assert report.requests == 1
    assert not (tmp_path / "journal.sqlite3").exists()  # a dry run writes no journal


def test_a_refused_token_stops_the_run_before_anything_is_posted(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A 401 on the lookup: exit 3, every request `not sent`, nothing posted."""
    requests = [whole("PO-20001"), items("TEST-1", "1ZITEMS0002", ItemFields(1, "SKU-1"))]
    report = run_send(sandbox, tmp_path, requests, token="not-a-sandbox-token")
    assert report.fatal is not None
    assert "refused the token" in report.fatal
    assert report.fatal_code == EXIT_AUTH
    assert {o.status for o in report.outcomes} == {Status.NOT_SENT}
    assert sandbox.stats().requests == 0


def test_cli_whole_po_rows(sandbox: Sandbox, cli_run, tmp_path: Path) -> None:
    """`upload` of PO + tracking rows: remaining items shipped (noted in Warnings), a fully
    shipped PO skipped, an unknown PO invalid; exit 1 for the invalid row."""
    source = write_csv(
        tmp_path / "whole.csv",
        [
            ["PO-20001", "101", "1ZCLI0001"],
            ["PO-20002", "101", "1ZCLI0002"],
            ["PO-99999", "101", "1ZCLI0003"],
        ],
        header=["PO Number", "Source ID", "Tracking Number"],
    )
    run = cli_run("upload", str(source), "--quiet", env=sandbox_env(sandbox))
    assert run.code == 1, run.stderr
    rows = {r["PO Number"]: r for r in run.workbook().table("Results")}
    assert rows["PO-20001"]["Status"] == "created"
    assert f"shipped SKU-A {TIMES}2, SKU-C {TIMES}1" in rows["PO-20001"]["Warnings"]
    assert (rows["PO-20002"]["Status"], rows["PO-20002"]["Error"]) == (
        "skipped",
        "already fully shipped in Flxpoint",
    )
    assert (rows["PO-99999"]["Status"], rows["PO-99999"]["Error"]) == (
        "invalid",
        "PO PO-99999 not found in Flxpoint (source 101)",
    )
    assert len(sandbox.shipments()) == 1


def test_cli_dry_run_with_a_token_reports_what_flxpoint_would_refuse(
    sandbox: Sandbox, cli_run, tmp_path: Path
) -> None:
    """`upload --dry-run` with a token: SKU not on the PO, too many, unknown PO -> invalid."""
    rows = [
        ["PO-20003", "102", "", "1ZDRYCHECK001", "", "", "", "", "", "SKU-A", "1"],
        ["PO-20003", "102", "", "1ZDRYCHECK002", "", "", "", "", "", "SKU-Z", "1"],
        ["PO-20003", "102", "", "1ZDRYCHECK003", "", "", "", "", "", "SKU-C", "9"],
        ["PO-99999", "101", "", "1ZDRYCHECK004", "", "", "", "", "", "SKU-A", "1"],
        ["PO-20002", "101", "", "1ZDRYCHECK005", "", "", "", "", "", "", ""],
    ]
    source = write_csv(tmp_path / "check.csv", rows)
    run = cli_run("upload", str(source), "--dry-run", env=sandbox_env(sandbox))
    assert run.code == 1, run.stderr
    results = run.workbook().table("Results")
    assert [r["Status"] for r in results] == [
        "not sent",
        "invalid",
        "invalid",
        "invalid",
        "skipped",
    ]
    assert "SKU-Z" in results[1]["Error"]
    assert "remain" in results[2]["Error"]
    assert "not found in Flxpoint" in results[3]["Error"]
    assert results[4]["Error"] == "already fully shipped in Flxpoint"
    assert sandbox.stats().requests == 0  # nothing posted
    assert sandbox.stats().reads == run.workbook().summary()["Requests sent"]  # reads only
    offline = cli_run("upload", str(source), "--dry-run", "--offline", env=sandbox_env(sandbox))
    assert {r["Status"] for r in offline.workbook().table("Results")} == {"not sent"}
