"""Round 2 as a clerk meets it: the mapping shown, --map, user profiles, real values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batch_uploader.config import Config
from batch_uploader.pipeline import prepare
from tests.conftest import FIXTURES, write_csv

REAL = FIXTURES / "real"
ODD_HEADER = ["Order Ref", "Parcel Code", "Item Code", "Units"]


def test_every_run_prints_the_format_and_each_mapped_field_before_sending(cli_run) -> None:
    """A ShipStation export: the format, `SKU ← "Item - SKU"`, and what was ignored."""
    run = cli_run("upload", str(REAL / "shipstation-shipments.csv"), "--dry-run")
    assert run.code == 0, run.stderr
    first, *rest = run.stderr.splitlines()
    assert first.startswith("shipstation-shipments.csv: format shipstation")
    assert '  SKU ← "Item - SKU"' in rest
    assert '  Tracking Number ← "Shipment - Tracking Number"' in rest
    assert rest.index('  SKU ← "Item - SKU"') < next(
        i for i, line in enumerate(rest) if line.startswith("loaded ")
    )


def test_json_and_the_summary_sheet_record_the_mapping(cli_run) -> None:
    """--json's `mapping` and the Summary's Mapping lines say the same as the console."""
    run = cli_run("upload", str(REAL / "ebay-orders-report.csv"), "--dry-run", "--json")
    payload = json.loads(run.stdout)
    assert payload["mapping"][0].startswith("ebay-orders-report.csv: format ebay-orders")
    assert payload["not_data_rows"] >= 1
    summary = run.workbook().sheets["Summary"]
    mapping = [row[1] for row in summary if row[0] == "Mapping"]
    assert mapping == payload["mapping"]
    not_data = [row[1] for row in summary if row[0] == "Rows that are not data"]
    assert not_data == [payload["not_data_rows"]]


def test_footer_rows_are_not_rows_and_do_not_fail_the_run(cli_run) -> None:
    """eBay's `N record(s) downloaded` and `Seller ID :` lines: counted, not `invalid`."""
    run = cli_run("upload", str(REAL / "ebay-orders-report.csv"), "--dry-run")
    assert run.code == 0, run.stderr
    statuses = {row["Status"] for row in run.workbook().table("Results")}
    assert statuses == {"not sent"}


def test_the_summary_lists_the_commonest_row_reasons(cli_run, tmp_path: Path) -> None:
    """The five commonest reasons with their counts: what to fix first."""
    rows = [
        ["PO-1", "101", "", f"1ZREASON{i:05d}", "", "", "", "", "", "SKU-1", "two"]
        for i in range(3)
    ]
    rows.append(["PO-1", "101", "", "1ZREASON99999", "", "", "", "", "", "", "1"])
    run = cli_run("upload", str(write_csv(tmp_path / "r.csv", rows)), "--dry-run")
    assert run.code == 1
    reasons = {
        row[0]: row[1]
        for row in run.workbook().sheets["Summary"]
        if str(row[0]).startswith("Reason")
    }
    assert reasons["Reason (3 rows)"] == 'Quantity "two" is not a whole number'
    assert "Reason (1 rows)" in reasons


def test_map_fixes_an_unknown_header_for_one_run(cli_run, tmp_path: Path) -> None:
    """Without --map the file is refused naming the field; with it, the rows are read."""
    path = write_csv(
        tmp_path / "odd.csv", [["PO-10001", "1ZODD000001", "00123-BLK", "1"]], ODD_HEADER
    )
    refused = cli_run("upload", str(path), "--dry-run")
    assert refused.code == 2
    assert (
        "required column missing: Tracking Number; PO Number or Fulfillment Request ID"
        in refused.stderr
    )
    run = cli_run(
        "upload",
        str(path),
        "--dry-run",
        "--map",
        "po_number=Order Ref",
        "--map",
        "tracking_number=Parcel Code",
    )
    assert run.code == 0, run.stderr
    assert '  PO Number ← "Order Ref"  [--map]' in run.stderr


def test_map_with_an_unknown_field_or_header_is_one_line_exit_2(cli_run, tmp_path: Path) -> None:
    """A typo in --map is refused before anything is read further, naming the choices."""
    path = write_csv(
        tmp_path / "odd.csv", [["PO-10001", "1ZODD000001", "00123-BLK", "1"]], ODD_HEADER
    )
    run = cli_run("upload", str(path), "--dry-run", "--map", "po_numbr=Order Ref")
    assert run.code == 2
    assert run.stderr.count("\n") == 1
    assert "unknown field 'po_numbr'" in run.stderr
    run = cli_run("upload", str(path), "--dry-run", "--map", "po_number=Order Reference")
    assert run.code == 2
    assert 'the file has no column "Order Reference"' in run.stderr


def test_profiles_new_saves_a_profile_that_the_next_run_detects(cli_run, tmp_path: Path) -> None:
    """`profiles new` writes the user's profile; the same export is then mapped by itself."""
    path = write_csv(
        tmp_path / "odd.csv", [["PO-10001", "1ZODD000001", "00123-BLK", "1"]], ODD_HEADER
    )
    saved = cli_run(
        "profiles",
        "new",
        "acme",
        "--from",
        str(path),
        "--map",
        "po_number=Order Ref",
        "--map",
        "tracking_number=Parcel Code",
    )
    assert saved.code == 0, saved.stderr
    assert "wrote profile acme: " in saved.stdout
    run = cli_run("upload", str(path), "--dry-run")
    assert run.code == 0, run.stderr
    assert run.stderr.startswith("odd.csv: format acme")
    listed = cli_run("profiles")
    assert "acme: the layout of odd.csv" in listed.stdout


def test_day_first_values_decide_the_column_and_the_summary_says_so(tmp_path: Path) -> None:
    """`31/05/2026` in the column: every date of it is read day first (03/04 is 3 April)."""
    rows = [
        ["PO-1", "101", "", "1ZDATE000001", "", "", "31/05/2026", "", "", "SKU-1", "1"],
        ["PO-1", "101", "", "1ZDATE000002", "", "", "03/04/2026", "", "", "SKU-1", "1"],
    ]
    prepared = prepare(Config(inputs=(write_csv(tmp_path / "d.csv", rows),), dry_run=True))
    dates = [r.shipment.shipped_at for r in prepared.requests]
    assert dates == ["2026-05-31T12:00:00Z", "2026-04-03T12:00:00Z"]
    assert any(
        "dates: day first (decided by the values" in line for line in prepared.mapping_lines()
    )


def test_a_column_mixing_both_orders_is_refused_naming_two_values(cli_run, tmp_path: Path) -> None:
    """31/05 and 05/31 in one column cannot both be right: exit 2 naming both and the option."""
    rows = [
        ["PO-1", "101", "", "1ZDATE000001", "", "", "31/05/2026", "", "", "SKU-1", "1"],
        ["PO-1", "101", "", "1ZDATE000002", "", "", "05/31/2026", "", "", "SKU-1", "1"],
    ]
    run = cli_run("upload", str(write_csv(tmp_path / "d.csv", rows)), "--dry-run")
    assert run.code == 2
    assert '"31/05/2026"' in run.stderr
    assert '"05/31/2026"' in run.stderr
    assert "--date-order" in run.stderr
    forced = cli_run(
        "upload", str(write_csv(tmp_path / "d.csv", rows[:1])), "--dry-run", "--date-order", "dmy"
    )
    assert forced.code == 0


def test_a_carrier_code_is_sent_by_its_name_and_the_row_says_so(tmp_path: Path, cli_run) -> None:
    """ShipStation's `stamps_com` goes to Flxpoint as USPS; Warnings: `Sent Carrier: USPS`."""
    rows = [
        ["PO-1", "101", "", "9400111899223100012345", "stamps_com", "", "", "", "", "SKU-1", "1"]
    ]
    path = write_csv(tmp_path / "c.csv", rows)
    (request,) = prepare(Config(inputs=(path,), dry_run=True)).requests
    assert request.shipment.carrier == "USPS"
    run = cli_run("upload", str(path), "--dry-run")
    (row,) = run.workbook().table("Results")
    assert row["Carrier"] == "stamps_com"  # the original cell is kept
    assert "Sent Carrier: USPS" in row["Warnings"]
    assert '  carrier "stamps_com" is sent as USPS (1 rows)' in run.stderr.splitlines()


def test_two_tracking_numbers_on_a_row_with_items_are_refused(cli_run, tmp_path: Path) -> None:
    """Never sent as one number: put each package on its own row."""
    cell = "1Z8VY0536847895679, 1Z8VY0536846272683"
    rows = [["PO-1", "101", "", cell, "UPS", "", "", "", "", "SKU-1", "2"]]
    run = cli_run("upload", str(write_csv(tmp_path / "t.csv", rows)), "--dry-run")
    (row,) = run.workbook().table("Results")
    assert row["Status"] == "invalid"
    assert row["Error"] == (
        f"Tracking Number holds 2 numbers ({cell}): put each package on its own row"
    )
    assert "check digit" not in (row["Warnings"] or "")


@pytest.mark.parametrize(("cost", "expected"), [("4,50 €", 4.5), ("1.204,50", 1204.5)])
def test_a_decimal_comma_cost_column_is_read_as_such(
    tmp_path: Path, cost: str, expected: float
) -> None:
    """A column that writes `4,50` consistently is a decimal-comma column, not 450."""
    rows = [
        ["PO-1", "101", "", "1ZCOST000001", "", "", "", cost, "", "SKU-1", "1"],
        ["PO-1", "101", "", "1ZCOST000002", "", "", "", "2,25", "", "SKU-1", "1"],
    ]
    prepared = prepare(Config(inputs=(write_csv(tmp_path / "m.csv", rows),), dry_run=True))
    assert [r.shipment.shipping_cost for r in prepared.requests] == [expected, 2.25]


def test_a_carrier_export_without_items_becomes_whole_po_shipments(cli_run) -> None:
    """FedEx Ship Manager: PO + tracking only; the dry run says the items are looked up."""
    run = cli_run("upload", str(REAL / "fedex-ship-manager-history.csv"), "--dry-run", "--offline")
    assert run.code == 0, run.stderr
    rows = run.workbook().table("Results")
    assert {r["Status"] for r in rows} == {"not sent"}
    assert all("looked up in Flxpoint when sent" in r["Error"] for r in rows)


def test_a_big_dry_run_tells_its_progress_while_reading_checking_and_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing passes in silence: a million-row file takes minutes to read and to write.

    The step is made small (every 2 rows) so that a six-row file shows it.
    """
    from batch_uploader import pipeline, reader, report
    from batch_uploader.config import Config
    from batch_uploader.run_hooks import Observer

    for module in (pipeline, reader, report):
        monkeypatch.setattr(module, "PROGRESS_EVERY_ROWS", 2)
    told: list[tuple[str, str, int]] = []

    class Recorder(Observer):
        def loading(self, step: str, label: str, rows: int) -> None:
            told.append((step, label, rows))

    path = tmp_path / "six.csv"
    lines = ["PO Number,Tracking Number,SKU,Quantity"]
    lines += [f"PO-{n},1Z999AA1012345678{n},SKU-{n},1" for n in range(6)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = Config(inputs=(path,), dry_run=True, offline=True, report_dir=tmp_path / "out")

    result = pipeline.run(config, Recorder())

    assert result.workbook.exists()
    steps = [(step, label) for step, label, _ in told]
    assert steps == [
        *[("reading", "six.csv")] * 3,
        *[("checking", "six.csv")] * 3,
        *[("writing sheet", "Results")] * 3,
        *[("writing sheet", "Failed")] * 3,
    ]
    assert [rows for _, _, rows in told] == [2, 4, 6] * 4
