"""headers.py: which header means which field, by its words; precedence and ties."""

from __future__ import annotations

import pytest

from batch_uploader.headers import HeaderTie, best_columns, field_scores, words

FIELDS = (
    "po_number",
    "source_id",
    "fulfillment_request_id",
    "tracking_number",
    "carrier",
    "method",
    "shipped_at",
    "shipping_cost",
    "tracking_url",
    "note",
    "suppressed",
    "sku",
    "quantity",
    "purchase_order_item_id",
    "order_item_id",
    "inventory_variant_id",
    "rma_item_id",
    "void",
    "master_tracking_number",
)

SPELLINGS = {
    "po_number": [
        "Order ID",
        "order_id",
        "OrderId",
        "order-id",
        "ORDER #",
        "Order Number",
        "Order No.",
        "P.O. Number",
        "Purchase Order",
        "Customer PO",
        "PO Num",
        "ordernumber",
        "Package Reference 1",
    ],
    "source_id": ["Source ID", "source_id", "SourceId"],
    "fulfillment_request_id": ["Fulfillment Request ID", "fulfillment_request_id"],
    "tracking_number": [
        "Tracking Number",
        "Tracking #",
        "Tracking No",
        "tracking_number",
        "TrackingNumber",
        "trackingnumber",
        "TRACKING-NUMBER",
        "Tracking ID",
        "Tracking",
        "Shipment - Tracking Number",
        "Package Tracking Number",
        "Fulfillment: Tracking Number",
        "Carrier Tracking Number",
        "Trk #",
    ],
    "master_tracking_number": [
        "Master Tracking Number",
        "Lead Tracking Number",
        "Shipment Information Lead Tracking Number",
        "master_tracking_no",
    ],
    "carrier": [
        "Carrier",
        "Carrier Name",
        "carrier-code",
        "Courier",
        "Ship Carrier",
        "Shipping Provider Name",
        "tracking_provider",
        "Tracking Company",
        "Shipment - Carrier",
    ],
    "method": [
        "Ship Method",
        "Shipping Method",
        "ship-method",
        "Service",
        "Shipping Service",
        "Shipment - Service",
        "Service Type",
        "Ship Via",
    ],
    "shipped_at": [
        "Ship Date",
        "Shipped Date",
        "Date Shipped",
        "date_shipped",
        "ship-date",
        "Shipped At",
        "Shipped On Date",
        "Shipped Time",
        "Shipment - Ship Date",
        "Date - Shipped Date",
        "ShipDate",
    ],
    "shipping_cost": ["Shipping Cost", "Freight", "Freight Cost", "Shipment - Cost", "Postage"],
    "tracking_url": ["Tracking URL", "Tracking Link", "tracking_url", "Fulfillment: Tracking URL"],
    "note": ["Note", "Notes", "Comments", "shipping_note", "Shipment Note"],
    "suppressed": ["Suppressed", "Suppress Notification"],
    "sku": [
        "SKU",
        "Item SKU",
        "Lineitem sku",
        "Line: SKU",
        "Seller SKU",
        "Vendor SKU",
        "item_sku",
        "ItemSku",
        "Item - SKU",
        "Item Number",
        "Item #",
        "Part Number",
    ],
    "quantity": [
        "Qty",
        "Quantity",
        "Qty Shipped",
        "Quantity Shipped",
        "Ship Qty",
        "qty_shipped",
        "QtyShipped",
        "Units",
        "Lineitem quantity",
        "Item - Qty",
        "Line: Quantity",
        "Qty Ordered",
    ],
    "purchase_order_item_id": ["PO Item ID", "Purchase Order Item ID", "po_item_id"],
    "inventory_variant_id": ["Inventory Variant ID", "inventory_variant_id"],
    "rma_item_id": ["RMA Item ID", "rma_item_id"],
    "void": ["Void", "Voided", "Void Indicator"],
}

FALSE_FRIENDS = [
    ("Tracking URL", "tracking_number"),
    ("Tracking Link", "tracking_number"),
    ("Tracking Company", "tracking_number"),
    ("Master Tracking Number", "tracking_number"),
    ("Ship To Name", "shipped_at"),
    ("Ship By Date", "shipped_at"),
    ("Order Date", "shipped_at"),
    ("Estimated Delivery Date", "shipped_at"),
    ("Order Total", "shipping_cost"),
    ("Item Price", "shipping_cost"),
    ("Shipping And Handling", "shipping_cost"),
    ("Order Item ID", "order_item_id"),
    ("order-item-id", "purchase_order_item_id"),
    ("Order Item ID", "po_number"),
    ("Order Date", "po_number"),
    ("Order Status", "po_number"),
    ("Sales Record Number", "po_number"),
    ("Payment Method", "method"),
    ("Buyer Note", "note"),
    ("Sku Quantity of return", "quantity"),
    ("Sku Quantity of return", "sku"),
    ("SKU Unit Original Price", "sku"),
    ("Number of Pieces", "quantity"),
    ("Package Count", "quantity"),
    ("Unit Price", "quantity"),
    ("Ship To Company or Name", "carrier"),
    ("Custom Label", "sku"),
    ("Variant ID", "inventory_variant_id"),
    ("Source", "source_id"),
]


@pytest.mark.parametrize(("header", "field"), [(h, f) for f, hs in SPELLINGS.items() for h in hs])
def test_each_spelling_names_its_field(header: str, field: str) -> None:
    """A header in any naming style is a candidate for the field its words mean."""
    if field in {"source_id", "fulfillment_request_id", "inventory_variant_id", "rma_item_id"}:
        found = best_columns([header], fields=FIELDS, exact={field: header})
    else:
        found = best_columns([header], fields=FIELDS)
    assert {f: c.header for f, c in found.items()} == {field: header}


@pytest.mark.parametrize(("header", "field"), FALSE_FRIENDS)
def test_false_friends_are_not_that_field(header: str, field: str) -> None:
    """Headers that share words with a field but mean something else are not mapped to it."""
    assert field not in field_scores(header)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("order_id", ("order", "id")),
        ("OrderId", ("order", "id")),
        ("order-id", ("order", "id")),
        ("ORDER #", ("order", "number")),
        ("Lineitem sku", ("item", "sku")),
        ("Shipment - Tracking Number", ("shipment", "tracking", "number")),
        ("P.O. No.", ("po", "number")),
        ("trackingnumber", ("tracking", "number")),
        ("QTYShipped", ("quantity", "shipped")),
    ],
)
def test_words_split_every_naming_style(header: str, expected: tuple[str, ...]) -> None:
    """snake_case, CamelCase, kebab-case, run-together and symbols give the same words."""
    assert words(header) == expected


def test_shipped_quantity_wins_over_plain_and_ordered() -> None:
    """Among quantity columns, "shipped" beats none, which beats "ordered"."""
    header = ["Qty Ordered", "Quantity", "Qty Shipped"]
    assert best_columns(header, fields=FIELDS)["quantity"].header == "Qty Shipped"
    assert best_columns(header[:2], fields=FIELDS)["quantity"].header == "Quantity"


def test_exact_name_beats_alias_beats_words() -> None:
    """`PO Number` (exact) wins over `PO #` (alias) and `Order Number` (words)."""
    header = ["Order Number", "PO #", "PO Number"]
    exact = {"po_number": "PO Number"}
    aliases = {"po_number": ("PO Number", "PO #")}
    found = best_columns(header, fields=FIELDS, exact=exact, aliases=aliases)
    assert (found["po_number"].header, found["po_number"].how) == ("PO Number", "exact")
    found = best_columns(header[:2], fields=FIELDS, exact=exact, aliases=aliases)
    assert (found["po_number"].header, found["po_number"].how) == ("PO #", "alias")
    found = best_columns(header[:1], fields=FIELDS, exact=exact, aliases=aliases)
    assert (found["po_number"].header, found["po_number"].how) == ("Order Number", "words")


def test_order_number_beats_order_id_and_reference() -> None:
    """A word-matched PO: "PO" words > "Order Number" > "Order ID" > a reference."""
    header = ["Reference 1", "Order ID", "Order Number"]
    assert best_columns(header, fields=FIELDS)["po_number"].header == "Order Number"
    assert best_columns(header[:2], fields=FIELDS)["po_number"].header == "Order ID"


def test_each_column_is_used_for_one_field_only() -> None:
    """A tracking number and a master tracking number column each get their own field."""
    found = best_columns(["Master Tracking Number", "Tracking Number"], fields=FIELDS)
    assert found["master_tracking_number"].index == 0
    assert found["tracking_number"].index == 1


def test_skipped_columns_are_not_matched() -> None:
    """Columns the caller already used are left alone."""
    found = best_columns(["SKU", "Item SKU"], fields=FIELDS, skip={0})
    assert found["sku"].header == "Item SKU"


def test_a_true_tie_names_both_headers() -> None:
    """Two different headers equally good for one field are a tie, never a guess."""
    with pytest.raises(HeaderTie) as caught:
        best_columns(["Item SKU", "Vendor SKU", "Tracking"], fields=FIELDS)
    assert caught.value.field == "sku"
    assert caught.value.headers == ("Item SKU", "Vendor SKU")


def test_the_same_header_twice_is_not_a_tie() -> None:
    """A repeated header is one column name: the leftmost is used."""
    found = best_columns(["Item SKU", "item sku"], fields=FIELDS)
    assert found["sku"].index == 0


def test_text_that_is_no_header_names_nothing() -> None:
    """Data values, long text and numbers give no candidates."""
    for cell in ["1Z4F7E830310001010", "12", "", "Widget", "x" * 200, "UPS Ground"]:
        assert field_scores(cell) == {}
