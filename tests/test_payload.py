"""payload.py: a ShipmentRequest → the exact JSON body the Create Shipment page documents."""

from __future__ import annotations

import json
from typing import Any

import pytest

from batch_uploader.column_choice import choose_columns
from batch_uploader.grouping import group_lines
from batch_uploader.models import (
    ItemFields,
    PoIdentity,
    RowRef,
    ShipmentFields,
    ShipmentLine,
    ShipmentRequest,
)
from batch_uploader.payload import build_body
from batch_uploader.profiles import bundled_profiles
from batch_uploader.validate import RowValidator


def as_json(value: Any) -> str:
    """JSON text with sorted keys: tells 2 from 2.0 from "2" and true from 1."""
    return json.dumps(value, sort_keys=True, allow_nan=False)


PO_1001 = PoIdentity(po_number="PO-1001", source_id=101)
ONE_ITEM = (ItemFields(quantity=1, sku="A-1"),)


def request(
    po: PoIdentity = PO_1001,
    shipment: ShipmentFields | None = None,
    items: tuple[ItemFields, ...] = ONE_ITEM,
    allow_duplicate_tracking: bool = False,
) -> ShipmentRequest:
    refs = tuple(RowRef(0, n) for n in range(2, 2 + len(items)))
    fields = shipment or ShipmentFields()
    return ShipmentRequest(po, "1Z999AA10123456784", fields, items, refs, allow_duplicate_tracking)


def test_minimal_request_sends_only_the_required_fields() -> None:
    """No optional field is sent empty: no carrier, cost, custom fields or duplicate flag."""
    assert as_json(build_body(request())) == as_json(
        {
            "purchaseOrderNumber": "PO-1001",
            "sourceId": 101,
            "shipment": {
                "trackingNumber": "1Z999AA10123456784",
                "shipmentItems": [{"sku": "A-1", "quantity": 1}],
            },
        }
    )


def test_full_request_uses_the_api_field_names_and_types() -> None:
    """Every field in camelCase; IDs and quantities as integers, cost as a number."""
    body = build_body(
        request(
            shipment=ShipmentFields(
                carrier="UPS",
                method="Ground",
                shipped_at="2026-11-26T21:15:00Z",
                shipping_cost=1204.5,
                tracking_url="https://track.example/1Z",
                note="left at door",
                suppressed=True,
                custom_fields=(("Gift Message", "Happy birthday"), ("Dept", "7")),
            ),
            items=(
                ItemFields(
                    quantity=2,
                    sku="A-1",
                    purchase_order_item_id=11,
                    order_item_id=12,
                    inventory_variant_id=9_007_199_254_740_993,
                    rma_item_id=14,
                    custom_fields=(("Color", "red"),),
                ),
            ),
            allow_duplicate_tracking=True,
        )
    )
    assert as_json(body) == as_json(
        {
            "purchaseOrderNumber": "PO-1001",
            "sourceId": 101,
            "allowDuplicateTrackingNumbers": True,
            "shipment": {
                "trackingNumber": "1Z999AA10123456784",
                "carrier": "UPS",
                "method": "Ground",
                "shippedAt": "2026-11-26T21:15:00Z",
                "shippingCost": 1204.5,
                "trackingUrl": "https://track.example/1Z",
                "note": "left at door",
                "suppressed": True,
                "shipmentItems": [
                    {
                        "sku": "A-1",
                        "quantity": 2,
                        "purchaseOrderItemId": 11,
                        "orderItemId": 12,
                        "inventoryVariantId": 9_007_199_254_740_993,
                        "rmaItemId": 14,
                        "customFields": [{"name": "Color", "value": "red"}],
                    }
                ],
                "customFields": [
                    {"name": "Gift Message", "value": "Happy birthday"},
                    {"name": "Dept", "value": "7"},
                ],
            },
        }
    )


def test_fulfillment_request_id_identifies_the_po_never_purchase_order_id() -> None:
    """A fulfillment request goes as `fulfillmentRequestId`, not the deprecated key."""
    body = build_body(request(po=PoIdentity(fulfillment_request_id=1388412)))
    assert as_json(body) == as_json(
        {
            "fulfillmentRequestId": 1388412,
            "shipment": {
                "trackingNumber": "1Z999AA10123456784",
                "shipmentItems": [{"sku": "A-1", "quantity": 1}],
            },
        }
    )


def test_po_number_without_source_sends_no_source_id() -> None:
    """A PO number without a source (source token) sends `purchaseOrderNumber` alone."""
    body = build_body(request(po=PoIdentity(po_number="ORDER_123-1")))
    assert {k: v for k, v in body.items() if k != "shipment"} == {
        "purchaseOrderNumber": "ORDER_123-1"
    }


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (ShipmentFields(suppressed=False), {"suppressed": False}),
        (ShipmentFields(shipping_cost=0.0), {"shippingCost": 0.0}),
        (ShipmentFields(carrier="", note=""), {}),
    ],
    ids=["suppressed-false", "free-shipping", "empty-text"],
)
def test_false_and_zero_are_values_but_empty_text_is_not(
    fields: ShipmentFields, expected: dict[str, Any]
) -> None:
    """`suppressed: false` and a zero cost are sent; empty strings are left out."""
    shipment = build_body(request(shipment=fields))["shipment"]
    extra = {k: v for k, v in shipment.items() if k not in ("trackingNumber", "shipmentItems")}
    assert as_json(extra) == as_json(expected)


def test_items_keep_their_order_and_only_their_own_fields() -> None:
    """Several items are listed in row order, each with only the IDs it has."""
    items = (
        ItemFields(quantity=3, purchase_order_item_id=1884921),
        ItemFields(quantity=1, sku="B-2"),
        ItemFields(quantity=2, order_item_id=55),
    )
    shipment = build_body(request(items=items))["shipment"]
    assert as_json(shipment["shipmentItems"]) == as_json(
        [
            {"quantity": 3, "purchaseOrderItemId": 1884921},
            {"sku": "B-2", "quantity": 1},
            {"quantity": 2, "orderItemId": 55},
        ]
    )


def test_the_same_request_gives_the_same_json_text() -> None:
    """Bodies are built fresh each time and serialise identically, key order included."""
    req = request(shipment=ShipmentFields(carrier="UPS", custom_fields=(("a", "b"),)))
    first, second = build_body(req), build_body(req)
    assert first is not second
    assert json.dumps(first) == json.dumps(second)


def test_spreadsheet_text_becomes_typed_json() -> None:
    """From cells to body: `2.0` → 2, `$1,204.50` → 1204.5, `="000123"` stays text with zeros."""
    header = ("PO Number", "Source ID", "Tracking Number", "Shipping Cost", "SKU", "Quantity")
    header += ("PO Item ID", "Custom: Gift", "Item Custom: Lot")
    columns = choose_columns(header, "f.csv", bundled_profiles(), forced=False)
    check = RowValidator(columns, 0, default_source_id=None)
    rows = [
        ("1001", "101", "'0001234", "$1,204.50", '="000123"', "2.0", "7.0", "", "L1"),
        ("1001", "101", "'0001234", "", "B", "1", "", "wrap", ""),
    ]
    lines = [check(n, r) for n, r in enumerate(rows, start=2)]
    assert all(isinstance(line, ShipmentLine) for line in lines)
    (req,) = group_lines(line for line in lines if isinstance(line, ShipmentLine)).requests
    assert as_json(build_body(req)) == as_json(
        {
            "purchaseOrderNumber": "1001",
            "sourceId": 101,
            "shipment": {
                "trackingNumber": "0001234",
                "shippingCost": 1204.5,
                "shipmentItems": [
                    {
                        "sku": "000123",
                        "quantity": 2,
                        "purchaseOrderItemId": 7,
                        "customFields": [{"name": "Lot", "value": "L1"}],
                    },
                    {"sku": "B", "quantity": 1},
                ],
                "customFields": [{"name": "Gift", "value": "wrap"}],
            },
        }
    )
