"""Real export layouts (tests/fixtures/real, sources in SOURCES.md) are recognised by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from batch_uploader.column_choice import choose_columns, header_score
from batch_uploader.errors import InputError
from batch_uploader.nondata import non_data_reason
from batch_uploader.profiles import (
    FIELD_LABELS,
    ColumnMap,
    bundled_profiles,
)
from batch_uploader.reader import Table, read_table

REAL = Path(__file__).parent / "fixtures" / "real"
CHECKED = ("po_number", "tracking_number", "sku", "quantity", "carrier", "shipped_at")

# fixture -> (format, header row, {field: header} for the CHECKED fields it has)
FORMATS = {
    "shipstation-shipments.csv": (
        "shipstation",
        1,
        {
            "po_number": "Order - Number",
            "tracking_number": "Shipment - Tracking Number",
            "sku": "Item - SKU",
            "quantity": "Item - Qty",
            "carrier": "Shipment - Carrier",
            "shipped_at": "Shipment - Ship Date",
        },
    ),
    "matrixify-orders.csv": (
        "shopify-matrixify",
        1,
        {
            "po_number": "Name",
            "tracking_number": "Fulfillment: Tracking Number",
            "sku": "Line: SKU",
            "quantity": "Line: Quantity",
            "carrier": "Fulfillment: Tracking Company",
            "shipped_at": "Fulfillment: Processed At",
        },
    ),
    "amazon-ship-confirm.txt": (
        "amazon-ship-confirm",
        3,
        {
            "po_number": "order-id",
            "tracking_number": "tracking-number",
            "quantity": "quantity",
            "carrier": "carrier-name",
            "shipped_at": "ship-date",
        },
    ),
    "ebay-orders-report.csv": (
        "ebay-orders",
        2,
        {
            "po_number": "Order Number",
            "tracking_number": "Tracking Number",
            "sku": "Custom Label",
            "quantity": "Quantity",
            "shipped_at": "Shipped On Date",
        },
    ),
    "tiktok-shop-orders.csv": (
        "tiktok-shop",
        1,
        {
            "po_number": "Order ID",
            "tracking_number": "Tracking ID",
            "sku": "Seller SKU",
            "quantity": "Quantity",
            "carrier": "Shipping Provider Name",
            "shipped_at": "Shipped Time",
        },
    ),
    "woocommerce-ast-import.csv": (
        "woocommerce-ast",
        1,
        {
            "po_number": "order_id",
            "tracking_number": "tracking_number",
            "sku": "sku",
            "quantity": "qty",
            "carrier": "tracking_provider",
            "shipped_at": "date_shipped",
        },
    ),
    "fedex-ship-manager-history.csv": (
        "fedex-ship-manager",
        1,
        {
            "po_number": "P.O. Number",
            "tracking_number": "Tracking Number",
            "shipped_at": "Ship Date",
        },
    ),
    "ups-worldship-export.csv": (
        "ups-worldship",
        1,
        {
            "po_number": "Package Reference 1",
            "tracking_number": "Package Tracking Number",
            "shipped_at": "Collection Date",
        },
    ),
    "supplier-sheet.csv": (
        "supplier-tracking",
        3,
        {
            "po_number": "Customer PO",
            "tracking_number": "Tracking #",
            "sku": "Item #",
            "quantity": "Qty Shipped",
            "shipped_at": "Ship Date",
        },
    ),
}
# fixture -> the non-data rows (row number as the spreadsheet shows it -> kind)
NON_DATA = {
    "matrixify-orders.csv": {4: "Line: Type Shipping Line", 5: "Line: Type Transaction"},
    "ebay-orders-report.csv": {6: "record count", 7: "seller line"},
    "tiktok-shop-orders.csv": {2: "column descriptions"},
    "supplier-sheet.csv": {8: "totals row"},
}


def load(name: str) -> Table:
    return read_table(REAL / name, header_score=header_score(bundled_profiles()))


def columns(name: str) -> tuple[Table, ColumnMap]:
    table = load(name)
    return table, choose_columns(table.header, table.label, bundled_profiles(), forced=False)


def test_every_fixture_has_a_source_note_and_every_profile_a_source() -> None:
    """SOURCES.md names each fixture; each bundled profile says what layout it follows."""
    sources = (REAL / "SOURCES.md").read_text(encoding="utf-8")
    for fixture in REAL.iterdir():
        if fixture.name != "SOURCES.md":
            assert f"`{fixture.name}`" in sources
    for profile in bundled_profiles():
        if profile.name != "canonical":
            assert profile.source, profile.name


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_real_format_is_recognised_by_name(name: str) -> None:
    """Each real layout is read at its header row, named, and its key columns mapped."""
    expected_format, header_row, expected = FORMATS[name]
    table, chosen = columns(name)
    assert table.header_row == header_row
    assert chosen.format_name == expected_format
    mapped = {f: table.header[i] for f, i in chosen.fields.items() if f in CHECKED}
    assert mapped == expected


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_non_data_rows_are_told_apart(name: str) -> None:
    """Footers, totals, descriptions and kept-out row types are not data; every other row is."""
    table, chosen = columns(name)
    found = {r.row_number: non_data_reason(r.cells, chosen) for r in table.rows}
    assert {n: k for n, k in found.items() if k is not None} == NON_DATA.get(name, {})


def test_amazon_order_item_id_is_never_a_flxpoint_id() -> None:
    """Amazon's order-item-id is ignored, not sent as a Flxpoint Order Item ID."""
    _, chosen = columns("amazon-ship-confirm.txt")
    assert "order_item_id" not in chosen.fields
    assert "purchase_order_item_id" not in chosen.fields
    assert "order-item-id" in chosen.ignored


@pytest.mark.parametrize(
    ("name", "master"),
    [
        ("fedex-ship-manager-history.csv", "Master Tracking Number"),
        ("ups-worldship-export.csv", "Lead Tracking Number"),
    ],
)
def test_carrier_exports_map_the_master_tracking_number(name: str, master: str) -> None:
    """FedEx's master and UPS's lead tracking number tie the packages of one shipment."""
    table, chosen = columns(name)
    assert table.header[chosen.fields["master_tracking_number"]] == master


def test_fedex_later_packages_leave_the_po_blank() -> None:
    """The 2nd package row of a FedEx multi-package shipment has no PO: the layout kept."""
    table, chosen = columns("fedex-ship-manager-history.csv")
    po = chosen.fields["po_number"]
    assert [r.cells[po] for r in table.rows] == ["PO-10001", "", "PO-10002"]


def test_shopify_admin_export_is_refused_with_what_to_export() -> None:
    """A Shopify orders export has no tracking numbers: refused, saying so and what to do."""
    table = load("shopify-orders-export.csv")
    with pytest.raises(InputError) as caught:
        choose_columns(table.header, table.label, bundled_profiles(), forced=False)
    message = str(caught.value)
    assert message.startswith("shopify-orders-export.csv: this is a Shopify admin orders export")
    assert "no tracking numbers" in message
    assert "Matrixify" in message


def test_a_generic_sheet_is_mapped_by_its_words() -> None:
    """Headers no profile lists are mapped by meaning, and the format is `generic`."""
    header = ["Order ID", "Item SKU", "Qty Ordered", "Qty Shipped", "Trk #", "Ship Method", "x"]
    chosen = choose_columns(header, "f.csv", bundled_profiles(), forced=False)
    assert chosen.format_name == "generic"
    assert {f: header[i] for f, i in chosen.fields.items()} == {
        "po_number": "Order ID",
        "tracking_number": "Trk #",
        "method": "Ship Method",
        "sku": "Item SKU",
        "quantity": "Qty Shipped",
    }
    assert set(chosen.how.values()) == {"words"}
    assert chosen.ignored == ("Qty Ordered", "x")


# Headers that lack one or both required fields; the other fields are there under any name.
REFUSED_HEADERS = [
    (
        ["Order ID", "Item SKU", "Qty Shipped", "Carrier", "Ship Date", "Tracking URL"],
        ["Tracking Number"],
    ),
    (
        ["Tracking Number", "Item SKU", "Qty", "Ship Method", "Order Date", "Order Total"],
        ["PO Number or Fulfillment Request ID"],
    ),
    (
        ["Item SKU", "Qty Shipped", "Ship To Name", "Item Price"],
        ["Tracking Number", "PO Number or Fulfillment Request ID"],
    ),
    (
        ["Seller SKU", "Quantity", "Tracking Link", "Order Status", "Tracking Num"],
        ["PO Number or Fulfillment Request ID"],
    ),
    (
        ["Sales Record Number", "Custom Label", "Quantity", "Shipping Service", "Ref #"],
        ["Tracking Number"],
    ),
]


@pytest.mark.parametrize(("header", "missing"), REFUSED_HEADERS)
def test_every_refusal_names_only_the_missing_fields(header: list[str], missing: list[str]) -> None:
    """The one-line refusal names the missing required fields, and no present field."""
    with pytest.raises(InputError) as caught:
        choose_columns(header, "f.csv", bundled_profiles(), forced=False)
    message = str(caught.value)
    assert "\n" not in message
    assert "profile" not in message
    named = message.split("required column missing: ", 1)[1].split(". Name it with")[0]
    named_fields = [re.sub(r" \(did you mean .*\?\)$", "", part) for part in named.split("; ")]
    assert named_fields == missing
    labels = set(FIELD_LABELS.values()) - {"Tracking Number", "PO Number", "Fulfillment Request ID"}
    without_suggestions = re.sub(r"\(did you mean [^)]*\)", "", named)
    assert not [label for label in labels if label in without_suggestions]


def test_refusal_suggests_the_closest_headers() -> None:
    """A missing field names the file's nearest headers as "did you mean"."""
    header = ["Order Number", "Item SKU", "Qty", "Trackng Nmbr"]
    with pytest.raises(InputError) as caught:
        choose_columns(header, "f.csv", bundled_profiles(), forced=False)
    assert str(caught.value) == (
        'f.csv: required column missing: Tracking Number (did you mean "Trackng Nmbr"?). '
        "Name it with --map tracking_number=HEADER."
    )
