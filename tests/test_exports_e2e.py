"""End to end on real-shaped export files: what reaches the sandbox, what the workbook says.

Each fixture is a small file under tests/fixtures/ named `export-*` (made by
make_export_fixtures.py). Every test uploads it with the real CLI to a sandbox API over HTTP
and checks the exact strings the sandbox stored and each workbook row's Status and Input Row.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import batch_uploader.sender
from batch_uploader.column_choice import choose_columns
from batch_uploader.errors import InputError
from batch_uploader.profiles import load_profile
from batch_uploader.sandbox import Sandbox, SandboxOptions
from tests.conftest import FIXTURES, sandbox_env

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@pytest.fixture
def server() -> Iterator[Sandbox]:
    """A sandbox that accepts any PO and SKU of a known source, so fixtures need no seed POs."""
    with Sandbox(SandboxOptions(auto_create_pos=True)) as sandbox:
        yield sandbox


@pytest.fixture
def bodies(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every request body the sender builds, as the JSON that goes on the wire."""
    sent: list[dict[str, Any]] = []
    build = batch_uploader.sender.build_body

    def spy(request: Any) -> dict[str, Any]:
        body = build(request)
        sent.append(json.loads(json.dumps(body)))
        return body

    monkeypatch.setattr(batch_uploader.sender, "build_body", spy)
    return sent


def _fixture(name: str) -> str:
    return str(FIXTURES / name)


def _wire(local: str) -> str:
    """A date/time without offset, as sent: this machine's local time converted to UTC.

    A date without a time is sent as noon UTC, the same calendar day in every zone.
    """
    if len(local) == len("2026-11-26"):
        return f"{local}T12:00:00Z"
    moment = dt.datetime.fromisoformat(local).astimezone()
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stored(wire: str) -> str:
    """How the API gives back a shippedAt it received (milliseconds added)."""
    return wire.removesuffix("Z") + ".000Z"


def _by_tracking(server: Sandbox) -> dict[str, dict[str, Any]]:
    return {s["trackingNumber"]: s for s in server.shipments()}


def _items(shipment: dict[str, Any]) -> list[tuple[str, int]]:
    return [(i["sku"], i["quantity"]) for i in shipment["shipmentItems"]]


def _customs(fields: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(f["name"], f["value"]) for f in fields]


def _column(rows: list[dict[str, Any]], name: str) -> list[Any]:
    return [row[name] for row in rows]


# --- 1. text encodings and shapes -----------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "export-utf8.csv",
        "export-utf8-bom.csv",
        "export-utf16-unicode-text.txt",
        "export-windows-1252.csv",
        "export-semicolon.csv",
        "export-tab.tsv",
        "export-pipe.txt",
    ],
)
def test_text_encodings_and_delimiters_arrive_exactly(server: Sandbox, cli_run, name: str) -> None:
    """Each encoding/delimiter: exact tracking strings, zeros kept, `Café Müller` intact."""
    run = cli_run("upload", _fixture(name), env=sandbox_env(server))
    assert run.code == 0, run.stderr
    results = run.workbook().table("Results")
    assert _column(results, "Status") == ["created", "created"]
    assert _column(results, "Input Row") == [2, 3]
    assert _column(results, "Tracking Number") == ["0012345678901234567", "1Z999AA10123456784"]
    assert _column(results, "Note") == ["Café Müller", None]
    shipments = server.shipments()
    assert [s["trackingNumber"] for s in shipments] == [
        "0012345678901234567",
        "1Z999AA10123456784",
    ]
    first, second = shipments
    assert first["note"] == "Café Müller"
    assert (first["carrier"], first["sourceId"]) == (None, 101)
    assert _items(first) == [("000123-BLK", 1)]
    assert second["note"] is None
    assert second["carrier"] == "UPS"
    assert _items(second) == [("TEE-NVY-M", 2)]
    assert [r["Shipment ID"] for r in results] == [s["id"] for s in shipments]


def test_quoted_note_with_line_break_arrives_with_it(server: Sandbox, cli_run) -> None:
    """A quoted Note spanning two lines is one row, and the sandbox gets the newline."""
    run = cli_run("upload", _fixture("export-multiline-note.csv"), env=sandbox_env(server))
    assert run.code == 0, run.stderr
    results = run.workbook().table("Results")
    assert _column(results, "Input Row") == [2, 3]
    assert _column(results, "Status") == ["created", "created"]
    assert results[0]["Note"] == "Leave at back door.\nRing twice."
    shipments = _by_tracking(server)
    assert shipments["0012345678901234568"]["note"] == "Leave at back door.\nRing twice."
    assert shipments["1Z999AA10234567892"]["note"] == "plain"


def test_blank_rows_are_ignored_and_later_rows_keep_their_numbers(server: Sandbox, cli_run) -> None:
    """Blank, whitespace and delimiter-only rows are not in the workbook; row 7 stays row 7."""
    run = cli_run("upload", _fixture("export-blank-rows.csv"), env=sandbox_env(server))
    assert run.code == 0, run.stderr
    results = run.workbook().table("Results")
    assert _column(results, "Input Row") == [2, 7]
    assert _column(results, "Status") == ["created", "created"]
    assert _column(results, "PO Number") == ["EXP-1201", "EXP-1202"]
    assert [s["trackingNumber"] for s in server.shipments()] == [
        "0012345678901234569",
        "1Z999AA10345678900",
    ]
    assert _items(server.shipments()[1]) == [("SKU-2", 3)]


def test_title_line_above_header_is_not_data(server: Sandbox, cli_run) -> None:
    """A report title and an empty line above the header: data rows are 4 and 5, as Excel shows."""
    run = cli_run("upload", _fixture("export-title-line.csv"), env=sandbox_env(server))
    assert run.code == 0, run.stderr
    results = run.workbook().table("Results")
    assert _column(results, "Input Row") == [4, 5]
    assert _column(results, "Status") == ["created", "created"]
    assert [s["trackingNumber"] for s in server.shipments()] == [
        "0000012345",
        "1ZX4V1230312345678",
    ]


def test_amazon_flat_file_with_template_line(server: Sandbox, cli_run, bodies) -> None:
    """Amazon ship-confirm flat file: TemplateType line skipped, fields mapped, zeros kept."""
    run = cli_run(
        "upload",
        _fixture("export-amazon-ship-confirm.txt"),
        "--source-id",
        "101",
        env=sandbox_env(server),
    )
    assert run.code == 0, run.stderr
    results = run.workbook().table("Results")
    assert _column(results, "Input Row") == [3, 4]
    assert _column(results, "Status") == ["created", "created"]
    assert [b["purchaseOrderNumber"] for b in bodies] == [
        "112-1234567-1234567",
        "112-7654321-7654321",
    ]
    assert {b["sourceId"] for b in bodies} == {101}
    usps, ups = server.shipments()
    assert usps["trackingNumber"] == "9400111899223197428497"
    assert (usps["carrier"], usps["method"]) == ("USPS", "Priority Mail")
    assert usps["shippedAt"] == _stored(_wire("2026-11-26"))
    assert _items(usps) == [("000123-BLK", 1)]
    assert ups["trackingNumber"] == "0012345678901234567"
    assert (ups["carrier"], ups["method"]) == ("UPS", "Ground")
    assert ups["shippedAt"] == "2026-11-27T00:15:00.000Z"
    assert _items(ups) == [("TEE-NVY-M", 2)]


def test_amazon_carrier_name_is_sent_when_carrier_code_is_other(server: Sandbox, cli_run) -> None:
    """Amazon carrier-code `Other` + carrier-name `OnTrac`: the shipment's carrier is OnTrac."""
    run = cli_run(
        "upload",
        _fixture("export-amazon-other-carrier.txt"),
        "--source-id",
        "101",
        env=sandbox_env(server),
    )
    assert run.code == 0, run.stderr
    assert _column(run.workbook().table("Results"), "Status") == ["created"]
    (shipment,) = server.shipments()
    assert shipment["trackingNumber"] == "D10011234567890"
    assert shipment["carrier"] == "OnTrac"


# --- 2. Excel workbooks -----------------------------------------------------------------------


def test_typed_excel_cells(server: Sandbox, cli_run, bodies) -> None:
    """Number, date and text cells are sent right; numbers Excel already damaged are refused."""
    run = cli_run("upload", _fixture("export-typed-cells.xlsx"), env=sandbox_env(server))
    assert run.code == 1
    results = run.workbook().table("Results")
    assert _column(results, "Input Row") == [2, 3, 4, 5]
    assert _column(results, "Status") == ["created", "invalid", "invalid", "created"]
    assert (
        'Tracking Number "9.4055E+21" was turned into scientific notation' in (results[1]["Error"])
    )
    assert (
        'Tracking Number "1.23457E+19" was turned into scientific notation' in (results[2]["Error"])
    )
    # The workbook shows the cells as text: zeros kept, numbers as Excel shows them.
    assert results[0]["Tracking Number"] == "0012345678901234567"
    assert (results[0]["SKU"], results[0]["Quantity"]) == ("000123", "2")
    first, last = bodies
    assert first["sourceId"] == 101
    assert first["shipment"]["shipmentItems"] == [{"sku": "000123", "quantity": 2}]
    assert first["shipment"]["shippedAt"] == _wire("2026-11-26T16:15:00")
    assert first["shipment"]["shippingCost"] == 12.5
    assert last["shipment"]["shippedAt"] == _wire("2026-11-25")
    shipments = _by_tracking(server)
    assert list(shipments) == ["0012345678901234567", "1Z999AA10123456784"]
    typed = shipments["0012345678901234567"]
    assert _items(typed) == [("000123", 2)]
    assert typed["shippedAt"] == _stored(_wire("2026-11-26T16:15:00"))
    assert typed["shippingCost"] == 12.5
    assert [f["Input Row"] for f in run.workbook().table("Failed")] == [3, 4]


@pytest.mark.parametrize(
    ("name", "options", "label", "trackings"),
    [
        ("export-macro.xlsm", [], "export-macro.xlsm [Shipments]", ["0009876543210"]),
        (
            "export-two-sheets.xlsx",
            ["--sheet", "Today"],
            "export-two-sheets.xlsx [Today]",
            ["0012345678902201", "1Z999AA10234567892"],
        ),
        (
            "export-empty-first-sheet.xlsx",
            [],
            "export-empty-first-sheet.xlsx [Shipments]",
            ["0012345678902301"],
        ),
    ],
    ids=["xlsm", "sheet-option", "empty-first-sheet"],
)
def test_workbook_sheet_is_chosen(
    server: Sandbox, cli_run, name: str, options: list[str], label: str, trackings: list[str]
) -> None:
    """.xlsm reads like .xlsx; --sheet picks a later sheet; an empty first sheet is passed over."""
    run = cli_run("upload", _fixture(name), *options, env=sandbox_env(server))
    assert run.code == 0, run.stderr
    book = run.workbook()
    results = book.table("Results")
    assert _column(results, "Status") == ["created"] * len(trackings)
    assert _column(results, "Input Row") == list(range(2, 2 + len(trackings)))
    assert _column(results, "Tracking Number") == trackings
    assert [s["trackingNumber"] for s in server.shipments()] == trackings
    assert book.summary()["Input files"] == label


def test_unknown_sheet_exits_2_listing_the_sheets(server: Sandbox, cli_run) -> None:
    """--sheet with a name the workbook lacks: exit 2 listing the sheets; nothing is sent."""
    run = cli_run(
        "upload",
        _fixture("export-two-sheets.xlsx"),
        "--sheet",
        "Tomorrow",
        env=sandbox_env(server),
    )
    assert run.code == 2
    assert "no sheet named 'Tomorrow'" in run.stderr
    assert "(sheets: 'Archive', 'Today')" in run.stderr
    assert "--sheet" in run.stderr
    assert server.stats().requests == 0
    assert not list(run.report_dir.glob("*-results.xlsx"))


# --- 3. Excel text markers in CSV -------------------------------------------------------------


def test_excel_text_markers_are_stripped_before_sending(server: Sandbox, cli_run, bodies) -> None:
    """`'000123` / `="000123"` in Tracking Number and SKU: sent as `000123`, kept as written."""
    run = cli_run("upload", _fixture("export-excel-markers.csv"), env=sandbox_env(server))
    assert run.code == 0, run.stderr
    results = run.workbook().table("Results")
    assert _column(results, "Input Row") == [2, 3]
    assert _column(results, "Status") == ["created", "created"]
    assert _column(results, "Tracking Number") == ["'000123", '="0004567890"']
    assert _column(results, "SKU") == ['="000123"', "'000789"]
    assert [b["shipment"]["trackingNumber"] for b in bodies] == ["000123", "0004567890"]
    shipments = server.shipments()
    assert [s["trackingNumber"] for s in shipments] == ["000123", "0004567890"]
    assert [_items(s) for s in shipments] == [[("000123", 1)], [("000789", 1)]]


# --- 4. two files in one run ------------------------------------------------------------------


def test_two_input_files_in_one_run(server: Sandbox, cli_run) -> None:
    """`upload a.csv b.xlsx`: both are sent; Input File tells rows apart; Input Row per file."""
    run = cli_run(
        "upload",
        _fixture("export-multi-a.csv"),
        _fixture("export-multi-b.xlsx"),
        env=sandbox_env(server),
    )
    assert run.code == 0, run.stderr
    book = run.workbook()
    results = book.table("Results")
    assert _column(results, "Input File") == [
        "export-multi-a.csv",
        "export-multi-a.csv",
        "export-multi-b.xlsx [Sheet1]",
        "export-multi-b.xlsx [Sheet1]",
    ]
    assert _column(results, "Input Row") == [2, 3, 2, 3]
    assert _column(results, "Status") == ["created"] * 4
    assert _column(results, "Tracking Number") == [
        "0012345678904001",
        "0012345678904002",
        "0012345678904003",
        "1Z999AA10345678900",
    ]
    assert _column(results, "Warehouse") == [None, None, "East", "East"]
    shipments = _by_tracking(server)
    assert list(shipments) == _column(results, "Tracking Number")
    assert _items(shipments["1Z999AA10345678900"]) == [("SKU-3", 2)]
    assert _column(results, "Shipment ID") == [s["id"] for s in shipments.values()]
    assert book.summary()["Input files"] == "export-multi-a.csv\nexport-multi-b.xlsx [Sheet1]"


def test_two_files_with_the_same_name_are_told_apart(
    server: Sandbox, cli_run, tmp_path: Path
) -> None:
    """`upload mon/orders.csv tue/orders.csv`: the Input File column still tells the rows apart."""
    inputs = []
    for day, fixture in (("mon", "export-multi-a.csv"), ("tue", "export-ups-check-digit.csv")):
        (tmp_path / day).mkdir()
        inputs.append(tmp_path / day / "orders.csv")
        shutil.copyfile(FIXTURES / fixture, inputs[-1])
    run = cli_run("upload", *map(str, inputs), "--dry-run", env=sandbox_env(server))
    assert run.code == 0, run.stderr
    book = run.workbook()
    results = book.table("Results")
    assert _column(results, "Input Row") == [2, 3, 2, 3]
    files = _column(results, "Input File")
    assert files[0] == files[1] != files[2] == files[3]
    assert all("orders.csv" in f for f in files)
    assert len(set(book.summary()["Input files"].splitlines())) == 2


def test_same_file_given_twice_does_not_double_the_items(server: Sandbox, cli_run) -> None:
    """`upload a.csv a.csv` (an overlapping glob): each item reaches the sandbox once."""
    source = _fixture("export-multi-a.csv")
    run = cli_run("upload", source, source, env=sandbox_env(server))
    assert run.code == 0, run.stderr
    assert [_items(s) for s in server.shipments()] == [[("SKU-1", 1)], [("SKU-2", 2)]]
    results = run.workbook().table("Results")
    assert set(_column(results, "Status")) <= {"created", "skipped"}
    assert all(r["Shipment ID"] is not None for r in results)


# --- 5. profiles ------------------------------------------------------------------------------


def test_shipstation_export_is_detected_and_mapped(server: Sandbox, cli_run, bodies) -> None:
    """ShipStation "Category - Field" headers: carrier, service, US date, $ cost all arrive."""
    run = cli_run(
        "upload", _fixture("export-shipstation.csv"), "--source-id", "101", env=sandbox_env(server)
    )
    assert run.code == 0, run.stderr
    results = run.workbook().table("Results")
    assert _column(results, "Input Row") == [2, 3, 4]
    assert _column(results, "Status") == ["created"] * 3
    assert results[0]["Shipment ID"] == results[1]["Shipment ID"]  # one box, two items
    for body in bodies:
        assert RFC3339_UTC.match(body["shipment"]["shippedAt"])
        assert isinstance(body["shipment"]["shippingCost"], float)
    ups, usps = server.shipments()
    assert ups["trackingNumber"] == "1Z999AA10123456784"
    assert (ups["carrier"], ups["method"]) == ("UPS", "UPS Ground")
    assert ups["shippedAt"] == _stored(_wire("2026-11-26T16:15:00"))
    assert ups["shippingCost"] == 8.45
    assert _items(ups) == [("000123-BLK", 1), ("MUG-11OZ", 2)]
    assert usps["trackingNumber"] == "9400111899223197428497"
    assert (usps["carrier"], usps["method"]) == ("USPS", "USPS Priority Mail")
    assert usps["shippedAt"] == _stored(_wire("2026-11-26"))
    assert usps["shippingCost"] == 7.1
    assert {s["sourceId"] for s in (ups, usps)} == {101}


def test_shopify_matrixify_export_is_detected_and_mapped(server: Sandbox, cli_run, bodies) -> None:
    """Matrixify orders: Name, Line: SKU/Quantity and the Fulfillment: columns arrive."""
    run = cli_run(
        "upload",
        _fixture("export-shopify-matrixify.csv"),
        "--source-id",
        "101",
        env=sandbox_env(server),
    )
    assert run.code == 0, run.stderr
    results = run.workbook().table("Results")
    assert _column(results, "Input Row") == [2, 3]
    assert _column(results, "Status") == ["created", "created"]
    assert [b["purchaseOrderNumber"] for b in bodies] == ["#1001", "#1002"]
    assert [b["shipment"]["shippedAt"] for b in bodies] == [
        "2026-11-26T21:15:00Z",
        "2026-11-26T22:30:00Z",
    ]
    ups, fedex = server.shipments()
    assert ups["trackingNumber"] == "1Z5R89390357567127"
    assert ups["carrier"] == "UPS"
    assert ups["trackingUrl"] == "https://www.ups.com/track?tracknum=1Z5R89390357567127"
    assert ups["note"] == "Gift wrap please"
    assert _items(ups) == [("000123-BLK", 1)]
    assert fedex["trackingNumber"] == "449044304137821"
    assert fedex["carrier"] == "FedEx"
    assert fedex["shippedAt"] == "2026-11-26T22:30:00.000Z"
    assert fedex["note"] is None
    assert _items(fedex) == [("000456-WHT", 3)]


@pytest.mark.parametrize("name", ["export-supplier.csv", "export-supplier.xlsx"])
def test_supplier_sheet_is_detected_and_mapped(server: Sandbox, cli_run, bodies, name: str) -> None:
    """Supplier sheet (Order Number, Tracking, Item Number, ...): every field, cost as a number."""
    run = cli_run("upload", _fixture(name), "--source-id", "101", env=sandbox_env(server))
    assert run.code == 0, run.stderr
    results = run.workbook().table("Results")
    assert _column(results, "Input Row") == [2, 3]
    assert _column(results, "Status") == ["created", "created"]
    assert [b["shipment"]["shippingCost"] for b in bodies] == [45.0, 12.5]
    assert all(type(b["shipment"]["shippingCost"]) is float for b in bodies)
    assert {b["shipment"]["shippedAt"] for b in bodies} == {_wire("2026-11-26")}
    ltl, ups = server.shipments()
    assert ltl["trackingNumber"] == "0012345678977001"
    assert (ltl["carrier"], ltl["method"]) == ("R+L Carriers", "LTL")
    assert ltl["shippedAt"] == _stored(_wire("2026-11-26"))
    assert ltl["shippingCost"] == 45
    assert _items(ltl) == [("000123-BLK", 2)]
    assert ups["trackingNumber"] == "1Z999AA10123456784"
    assert (ups["carrier"], ups["method"], ups["shippingCost"]) == ("UPS", "Ground", 12.5)
    assert _items(ups) == [("000456-WHT", 1)]


def test_users_own_profile_maps_odd_headers(server: Sandbox, cli_run) -> None:
    """--profile my.toml: a 3PL's own header names reach the right shipment fields."""
    run = cli_run(
        "upload",
        _fixture("export-odd-headers.csv"),
        "--profile",
        _fixture("export-odd-profile.toml"),
        env=sandbox_env(server),
    )
    assert run.code == 0, run.stderr
    results = run.workbook().table("Results")
    assert _column(results, "Input Row") == [2, 3]
    assert _column(results, "Status") == ["created", "created"]
    estes, ups = server.shipments()
    assert estes["trackingNumber"] == "0012345678905001"
    assert (estes["carrier"], estes["method"], estes["sourceId"]) == ("Estes", "LTL", 101)
    assert estes["shippedAt"] == _stored(_wire("2026-11-26"))
    assert _items(estes) == [("P-1", 4)]
    assert ups["trackingNumber"] == "1Z4W5E670398765435"
    assert _items(ups) == [("P-2", 1)]


def test_users_profile_saved_with_a_bom_is_read(server: Sandbox, cli_run) -> None:
    """A profile TOML saved by Notepad/Excel with a UTF-8 BOM works like the same file without."""
    run = cli_run(
        "upload",
        _fixture("export-odd-headers.csv"),
        "--profile",
        _fixture("export-odd-profile-bom.toml"),
        env=sandbox_env(server),
    )
    assert run.code == 0, run.stderr
    assert _column(run.workbook().table("Results"), "Status") == ["created", "created"]
    assert [s["carrier"] for s in server.shipments()] == ["Estes", "UPS"]


def test_profile_with_unknown_field_exits_2_naming_it(server: Sandbox, cli_run) -> None:
    """A profile TOML mapping `tracking_numbr`: exit 2, the message names it; nothing sent."""
    run = cli_run(
        "upload",
        _fixture("export-odd-headers.csv"),
        "--profile",
        _fixture("export-bad-profile.toml"),
        env=sandbox_env(server),
    )
    assert run.code == 2
    assert "unknown column field 'tracking_numbr'" in run.stderr
    assert "export-bad-profile.toml" in run.stderr
    assert "tracking_number" in run.stderr  # the known fields are listed
    assert server.stats().requests == 0


def test_header_matching_two_bundled_profiles_equally_exits_2(server: Sandbox, cli_run) -> None:
    """Our columns and a supplier's side by side: a tie is refused, asking for --profile."""
    run = cli_run("upload", _fixture("export-ambiguous-header.csv"), env=sandbox_env(server))
    assert run.code == 2
    assert "matches several profiles equally (canonical, supplier-tracking)" in run.stderr
    assert "--profile" in run.stderr
    assert server.stats().requests == 0


def test_tie_between_two_user_profiles_is_refused() -> None:
    """Two profiles recognising the same columns: choose_columns refuses rather than guesses."""
    profiles = [load_profile(FIXTURES / f"export-tie-{x}.toml") for x in "ab"]
    header = ("Ref", "Trk", "Part", "Units", "Notes")
    with pytest.raises(InputError, match=r"several profiles equally \(tie-a, tie-b\)") as err:
        choose_columns(header, "odd.csv", profiles, forced=False)
    assert "--profile" in str(err.value)
    assert str(err.value).startswith("odd.csv: ")
    # Forced to one of them, the same header is fine.
    chosen = choose_columns(header, "odd.csv", profiles[1:], forced=True)
    assert chosen.profile.name == "tie-b"


# --- 6. voided labels -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["export-worldship-void.csv", "export-worldship-void.xlsx"])
def test_voided_label_is_not_sent(server: Sandbox, cli_run, name: str) -> None:
    """WorldShip `Void Indicator` Y: that row is `invalid` ("voided label"), the others are sent."""
    run = cli_run("upload", _fixture(name), env=sandbox_env(server))
    assert run.code == 1
    book = run.workbook()
    results = book.table("Results")
    assert _column(results, "Input Row") == [2, 3, 4]
    assert _column(results, "Status") == ["created", "invalid", "created"]
    assert results[1]["Error"].startswith("voided label")
    assert results[1]["Shipment ID"] is None
    assert [s["trackingNumber"] for s in server.shipments()] == [
        "1Z999AA10123456784",
        "1Z999AA10345678900",
    ]
    assert [f["Input Row"] for f in book.table("Failed")] == [3]


# --- 7. custom fields -------------------------------------------------------------------------


def test_custom_fields_reach_shipment_and_items(server: Sandbox, cli_run, bodies) -> None:
    """`Custom: Gift Message` / `Item Custom: Lot` become customFields; empty ones are left out."""
    run = cli_run("upload", _fixture("export-custom-fields.csv"), env=sandbox_env(server))
    assert run.code == 0, run.stderr
    results = run.workbook().table("Results")
    assert _column(results, "Input Row") == [2, 3, 4]
    assert _column(results, "Status") == ["created"] * 3
    gift, plain = bodies
    assert gift["shipment"]["customFields"] == [
        {"name": "Gift Message", "value": "Happy birthday!"}
    ]
    assert gift["shipment"]["shipmentItems"] == [
        {"sku": "SKU-1", "quantity": 1, "customFields": [{"name": "Lot", "value": "L-0042"}]},
        {"sku": "SKU-2", "quantity": 2},
    ]
    assert "customFields" not in plain["shipment"]
    assert plain["shipment"]["shipmentItems"] == [
        {"sku": "SKU-1", "quantity": 1, "customFields": [{"name": "Lot", "value": "L-0050"}]}
    ]
    shipments = _by_tracking(server)
    boxed = shipments["1Z999AA10123456784"]
    assert _customs(boxed["customFields"]) == [("Gift Message", "Happy birthday!")]
    assert [_customs(i["customFields"]) for i in boxed["shipmentItems"]] == [
        [("Lot", "L-0042")],
        [],
    ]
    loose = shipments["0012345678907002"]
    assert loose["customFields"] == []
    assert [_customs(i["customFields"]) for i in loose["shipmentItems"]] == [[("Lot", "L-0050")]]


# --- 8. tracking-number warnings --------------------------------------------------------------


def test_bad_ups_check_digit_is_sent_with_a_warning(server: Sandbox, cli_run) -> None:
    """A UPS number failing its check digit is still `created`; Warnings says it looks invalid."""
    run = cli_run("upload", _fixture("export-ups-check-digit.csv"), env=sandbox_env(server))
    assert run.code == 0, run.stderr
    results = run.workbook().table("Results")
    assert _column(results, "Input Row") == [2, 3]
    assert _column(results, "Status") == ["created", "created"]
    assert results[0]["Warnings"] == (
        'Tracking Number "1Z12345E0205271688" does not look like a valid UPS tracking number '
        "(format or check digit); check it before the customer does"
    )
    assert results[1]["Warnings"] is None
    assert results[0]["Error"] is None
    assert [s["trackingNumber"] for s in server.shipments()] == [
        "1Z12345E0205271688",
        "1Z999AA10123456784",
    ]
