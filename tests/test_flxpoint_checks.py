"""flxpoint_checks: what Flxpoint would say about a request, read as tables."""

from __future__ import annotations

import pytest

from batch_uploader.flxpoint_checks import (
    ALREADY_SHIPPED,
    OK,
    CheckVerdict,
    check_request,
    check_whole_po,
    known_shipment,
    po_not_found,
    shipped_items_note,
    whole_po_items,
)
from batch_uploader.lookups import FrItem, FulfillmentRequest, KnownShipment
from batch_uploader.models import ItemFields, PoIdentity, ShipmentFields, ShipmentRequest

PO = PoIdentity(po_number="PO-1", source_id=101)
# SKU-A: 3 ordered, 1 shipped (2 remain); SKU-B: 2 of 2 shipped; SKU-C: 1, none shipped.
PARTLY = FulfillmentRequest(
    id=9,
    number="PO-1",
    source_id=101,
    items=(
        FrItem(id=11, sku="SKU-A", quantity=3, shipped=1, voided=0, order_item_id=21),
        FrItem(id=12, sku="SKU-B", quantity=2, shipped=2, voided=0, order_item_id=22),
        FrItem(id=13, sku="SKU-C", quantity=1, shipped=0, voided=0, order_item_id=23),
    ),
)
SHIPPED = FulfillmentRequest(9, "PO-1", 101, (FrItem(11, "SKU-A", 2, 2, 0),))
CANCELED = FulfillmentRequest(9, "PO-1", 101, (FrItem(11, "SKU-A", 2, 0, 2),))
NO_ITEMS = FulfillmentRequest(9, "PO-1", 101, ())
# The same SKU on two lines: what remains on both counts.
TWO_LINES = FulfillmentRequest(
    9, "PO-1", 101, (FrItem(11, "SKU-A", 1, 0, 0), FrItem(12, "SKU-A", 2, 1, 0))
)


def request(*items: ItemFields, po: PoIdentity = PO) -> ShipmentRequest:
    return ShipmentRequest(
        po=po, tracking_number="1Z1", shipment=ShipmentFields(), items=items, refs=()
    )


def sku(name: str, quantity: int = 1) -> ItemFields:
    return ItemFields(quantity=quantity, sku=name)


@pytest.mark.parametrize(
    ("quantity", "shipped", "voided", "remaining"),
    [(3, 0, 0, 3), (3, 1, 0, 2), (3, 1, 1, 1), (3, 3, 0, 0), (3, 4, 0, 0), (2, 0, 2, 0)],
)
def test_remaining_is_quantity_minus_shipped_minus_voided_never_negative(
    quantity: int, shipped: int, voided: int, remaining: int
) -> None:
    """remaining = quantity - shipped - voided, at least 0 (over-shipped lines exist)."""
    assert FrItem(1, "X", quantity, shipped, voided).remaining == remaining


@pytest.mark.parametrize(
    ("items", "fr", "expected"),
    [
        ((sku("SKU-A", 2),), PARTLY, OK),
        ((sku("SKU-A"), sku("SKU-C")), PARTLY, OK),
        ((ItemFields(2, purchase_order_item_id=11),), PARTLY, OK),
        ((ItemFields(1, order_item_id=23),), PARTLY, OK),
        ((ItemFields(1, inventory_variant_id=5),), PARTLY, OK),  # cannot be judged
        ((sku("ANY-SKU", 50),), NO_ITEMS, OK),  # nothing known about the items
        ((sku("SKU-A", 2),), TWO_LINES, OK),  # 1 + 1 remain on its two lines
    ],
)
def test_requests_flxpoint_would_take(
    items: tuple[ItemFields, ...], fr: FulfillmentRequest, expected: CheckVerdict
) -> None:
    """Items on the PO with enough left to ship are ok."""
    assert check_request(request(*items), fr) == expected


@pytest.mark.parametrize(
    ("items", "fr", "reason"),
    [
        ((sku("SKU-A", 5),), PARTLY, "SKU-A ×5 but only 2 remain to ship on PO PO-1 (source 101)"),
        (
            (sku("SKU-A", 2), sku("SKU-A", 1)),  # summed per SKU
            PARTLY,
            "SKU-A ×3 but only 2 remain to ship on PO PO-1 (source 101)",
        ),
        ((sku("SKU-C", 2),), PARTLY, "SKU-C ×2 but only 1 remains to ship on PO PO-1 (source 101)"),
        (
            (sku("SKU-B"),),
            PARTLY,
            "SKU-B ×1 but nothing remains to ship on PO PO-1 (source 101) (2 ordered, 2 shipped)",
        ),
        (
            (sku("SKU-Z"),),
            PARTLY,
            "SKU SKU-Z is not on PO PO-1 (source 101) (its SKUs: SKU-A, SKU-B, SKU-C)",
        ),
        (
            (ItemFields(1, purchase_order_item_id=99),),
            PARTLY,
            "PO item ID 99 is not on PO PO-1 (source 101) (its items: SKU-A, SKU-B, SKU-C)",
        ),
        (
            (ItemFields(1, sku="SKU-C", purchase_order_item_id=11),),
            PARTLY,
            "PO item ID 11 is SKU SKU-A on PO PO-1 (source 101), not SKU-C",
        ),
        (
            (ItemFields(1, order_item_id=99),),
            PARTLY,
            "Order item ID 99 is not on PO PO-1 (source 101)",
        ),
        (
            (ItemFields(2, purchase_order_item_id=11), sku("SKU-A")),  # same line, two names
            PARTLY,
            "SKU-A ×3 but only 2 remain to ship on PO PO-1 (source 101)",
        ),
        ((sku("SKU-A", 3),), TWO_LINES, "SKU-A ×3 but only 2 remain to ship on PO PO-1"),
        (
            (sku("SKU-A"),),
            CANCELED,
            "PO PO-1 (source 101) is canceled in Flxpoint: every item is voided, "
            "nothing remains to ship",
        ),
        (
            (sku("SKU-X"), sku("SKU-A", 9)),  # unknown items first, then quantities
            PARTLY,
            "SKU SKU-X is not on PO PO-1 (source 101) (its SKUs: SKU-A, SKU-B, SKU-C)",
        ),
    ],
)
def test_requests_flxpoint_would_refuse(
    items: tuple[ItemFields, ...], fr: FulfillmentRequest, reason: str
) -> None:
    """Each refusal is `invalid` with the sentence a clerk can act on."""
    verdict = check_request(request(*items), fr)
    assert verdict.kind == "invalid"
    assert verdict.reason.startswith(reason)


def test_sku_on_two_lines_counts_what_remains_on_both() -> None:
    """SKU-A is on two lines with 1 + 1 left: 2 is fine, 3 is too many."""
    assert check_request(request(sku("SKU-A", 2)), TWO_LINES) == OK
    assert check_request(request(sku("SKU-A", 3)), TWO_LINES).kind == "invalid"


@pytest.mark.parametrize(
    ("po", "reason"),
    [
        (PoIdentity(po_number="PO-9", source_id=101), "PO PO-9 not found in Flxpoint (source 101)"),
        (PoIdentity(po_number="PO-9"), "PO PO-9 not found in Flxpoint"),
        (
            PoIdentity(fulfillment_request_id=77),
            "Fulfillment request 77 not found in Flxpoint",
        ),
    ],
)
def test_unknown_po_is_invalid(po: PoIdentity, reason: str) -> None:
    """No FR: invalid, naming the PO as the row named it."""
    assert check_request(request(sku("SKU-A"), po=po), None) == CheckVerdict("invalid", reason)
    assert check_whole_po(po, None) == CheckVerdict("invalid", reason)
    assert po_not_found(po) == reason


def test_fully_shipped_po_is_the_shipped_verdict() -> None:
    """Nothing left and something shipped: `shipped`, the contract's skipped reason."""
    verdict = check_request(request(sku("SKU-A")), SHIPPED)
    assert verdict == CheckVerdict("shipped", ALREADY_SHIPPED)
    assert verdict.reason == "already fully shipped in Flxpoint"
    assert check_whole_po(PO, SHIPPED) == verdict


@pytest.mark.parametrize(
    ("fr", "kind"),
    [(PARTLY, "ok"), (SHIPPED, "shipped"), (CANCELED, "invalid"), (NO_ITEMS, "invalid")],
)
def test_whole_po_verdicts(fr: FulfillmentRequest, kind: str) -> None:
    """A whole-PO row: ok while anything remains; shipped; canceled or itemless is invalid."""
    assert check_whole_po(PO, fr).kind == kind


def test_whole_po_items_are_what_remains() -> None:
    """Every line with something left, that much, named by SKU and PO item ID."""
    assert whole_po_items(PARTLY) == (
        ItemFields(quantity=2, sku="SKU-A", purchase_order_item_id=11),
        ItemFields(quantity=1, sku="SKU-C", purchase_order_item_id=13),
    )
    assert whole_po_items(SHIPPED) == ()


@pytest.mark.parametrize(
    ("items", "note"),
    [
        ((sku("SKU-A", 2), sku("SKU-B")), "shipped SKU-A ×2, SKU-B ×1"),
        ((sku("SKU-A"), sku("SKU-A")), "shipped SKU-A ×2"),
        ((ItemFields(3, purchase_order_item_id=11),), "shipped PO item ID 11 ×3"),
        ((), "shipped nothing"),
    ],
)
def test_shipped_items_note(items: tuple[ItemFields, ...], note: str) -> None:
    """The note lists SKUs with their summed quantities, in order."""
    assert shipped_items_note(items) == note


def test_known_shipment_by_tracking_number() -> None:
    """A shipment Flxpoint has with the request's tracking number is found; others are not."""
    known = [KnownShipment(1, "1Z0", 9), KnownShipment(2, "1Z1", 9)]
    assert known_shipment(request(sku("SKU-A")), known) == known[1]
    assert known_shipment(request(sku("SKU-A")), known[:1]) is None
