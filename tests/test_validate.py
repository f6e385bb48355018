"""validate.py: one input row → a ShipmentLine ready to send, or a RowProblem with its reason."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence

import pytest

from batch_uploader.column_choice import choose_columns
from batch_uploader.models import (
    ItemFields,
    PoIdentity,
    RowProblem,
    RowRef,
    ShipmentFields,
    ShipmentLine,
)
from batch_uploader.profiles import bundled_profiles
from batch_uploader.validate import RowValidator

HEADER = (
    "PO Number",
    "Source ID",
    "Fulfillment Request ID",
    "Tracking Number",
    "Carrier",
    "Method",
    "Shipped At",
    "Shipping Cost",
    "Tracking URL",
    "Note",
    "Suppressed",
    "SKU",
    "Quantity",
    "PO Item ID",
    "Order Item ID",
    "Inventory Variant ID",
    "RMA Item ID",
    "Void",
    "Custom: Gift Message",
    "Custom: Dept",
    "Item Custom: Color",
    "Item Custom: Lot",
)
UPS_OK = "1Z999AA10123456784"  # valid UPS check digit
UPS_BAD = "1Z999AA10123456785"  # wrong UPS check digit
NO_ITEM_ID = "no item identifier: fill in SKU, PO Item ID or Order Item ID"
NO_PO = "no purchase order: fill in PO Number or Fulfillment Request ID"


def validator(
    header: Sequence[str] = HEADER, *, default_source_id: int | None = None, file_index: int = 0
) -> RowValidator:
    columns = choose_columns(header, "shipments.csv", bundled_profiles(), forced=False)
    return RowValidator(columns, file_index, default_source_id)


def cells(header: Sequence[str] = HEADER, **values: str) -> tuple[str, ...]:
    """A row for `header`, every cell blank except those named (spaces → `_` in the names)."""
    named = {key.replace("_", " "): value for key, value in values.items()}
    unknown = set(named) - set(header)
    assert not unknown, unknown
    return tuple(named.get(column, "") for column in header)


def good(**overrides: str) -> tuple[str, ...]:
    """A minimal valid row, with some cells replaced."""
    values = {"PO_Number": "1001", "Tracking_Number": UPS_OK, "SKU": "A-1", "Quantity": "2"}
    return cells(**(values | overrides))


def check(row: tuple[str, ...], default_source_id: int | None = None) -> ShipmentLine | RowProblem:
    return validator(default_source_id=default_source_id)(7, row)


def reason_of(row: tuple[str, ...]) -> str:
    result = check(row)
    assert isinstance(result, RowProblem), result
    return result.reason


def line_of(row: tuple[str, ...], default_source_id: int | None = None) -> ShipmentLine:
    result = check(row, default_source_id)
    assert isinstance(result, ShipmentLine), result
    return result


@pytest.fixture
def eastern_standard_time() -> Iterator[None]:
    """Run one test with the local time zone fixed at UTC-5 (no DST), then restore it."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "EST5"
    time.tzset()
    yield
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


def test_a_full_row_becomes_a_shipment_line() -> None:
    """Every column lands in its typed field; blank custom values are left out."""
    row = cells(
        PO_Number="PO-1001",
        Source_ID="101",
        Tracking_Number=UPS_OK,
        Carrier="UPS",
        Method="Ground",
        Shipped_At="2026-11-26T16:15:00-05:00",
        Shipping_Cost="$1,204.50",
        Tracking_URL="https://track.example/1Z",
        Note="left at door",
        Suppressed="no",
        SKU="A-1",
        Quantity="2.0",
        PO_Item_ID="11",
        Order_Item_ID="12",
        Inventory_Variant_ID="13",
        RMA_Item_ID="14",
        **{"Custom:_Gift_Message": "Happy birthday", "Item_Custom:_Color": "red"},
    )
    assert validator(file_index=1)(5, row) == ShipmentLine(
        ref=RowRef(1, 5),
        po=PoIdentity(po_number="PO-1001", source_id=101),
        tracking_number=UPS_OK,
        shipment=ShipmentFields(
            carrier="UPS",
            method="Ground",
            shipped_at="2026-11-26T21:15:00Z",
            shipping_cost=1204.5,
            tracking_url="https://track.example/1Z",
            note="left at door",
            suppressed=False,
            custom_fields=(("Gift Message", "Happy birthday"),),
        ),
        item=ItemFields(
            quantity=2,
            sku="A-1",
            purchase_order_item_id=11,
            order_item_id=12,
            inventory_variant_id=13,
            rma_item_id=14,
            custom_fields=(("Color", "red"),),
        ),
        given=frozenset(
            {
                "carrier",
                "method",
                "shipped_at",
                "shipping_cost",
                "tracking_url",
                "note",
                "suppressed",
                "custom_fields",
            }
        ),
        warnings=(),
    )


def test_a_minimal_row_fills_only_what_was_given() -> None:
    """Blank optional cells stay None and are not listed as given."""
    line = line_of(good())
    assert line.shipment == ShipmentFields()
    assert line.item == ItemFields(quantity=2, sku="A-1")
    assert line.given == frozenset()


def test_empty_tracking_number_is_refused() -> None:
    """A row without a tracking number names the column."""
    assert reason_of(good(Tracking_Number="  ")) == "Tracking Number is empty"


def test_reasons_use_the_column_names_of_the_users_file() -> None:
    """Messages name the column as the user's header spells it (`Qty`, `Tracking No`)."""
    header = ("PO #", "Tracking No", "SKU", "Qty")
    check_row = validator(header)
    result = check_row(3, ("1001", "", "A-1", "two"))
    assert result == RowProblem(
        RowRef(0, 3), 'Tracking No is empty; Qty "two" is not a whole number'
    )


@pytest.mark.parametrize(
    ("row", "default_source_id", "expected"),
    [
        (good(Source_ID="101"), None, PoIdentity(po_number="1001", source_id=101)),
        (good(), 555, PoIdentity(po_number="1001", source_id=555)),
        (good(Source_ID="101"), 555, PoIdentity(po_number="1001", source_id=101)),
        (good(), None, PoIdentity(po_number="1001")),
        (good(PO_Number="", Fulfillment_Request_ID="42"), None, PoIdentity(None, None, 42)),
        (good(Fulfillment_Request_ID="42.0"), 555, PoIdentity(None, None, 42)),
    ],
    ids=["row-source", "default-source", "row-source-wins", "no-source", "fr-id", "fr-id-wins"],
)
def test_po_identity(
    row: tuple[str, ...], default_source_id: int | None, expected: PoIdentity
) -> None:
    """PO Number with the row's Source ID or --source-id, or a Fulfillment Request ID."""
    assert line_of(row, default_source_id=default_source_id).po == expected


def test_po_id_header_is_a_fulfillment_request_id() -> None:
    """A `PO ID` column identifies the PO by fulfillment request ID."""
    header = ("PO ID", "Tracking Number", "SKU", "Quantity")
    line = validator(header)(2, ("88", UPS_OK, "A-1", "1"))
    assert isinstance(line, ShipmentLine)
    assert line.po == PoIdentity(fulfillment_request_id=88)


def test_row_without_po_identity_is_refused() -> None:
    """No PO Number and no Fulfillment Request ID: the row says which to fill in."""
    assert reason_of(good(PO_Number="")) == NO_PO


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"Source_ID": "abc"}, 'Source ID "abc" is not a whole number'),
        ({"Source_ID": "0"}, 'Source ID "0" must be 1 or more'),
        ({"Fulfillment_Request_ID": "12.5"}, 'Fulfillment Request ID "12.5" is not a whole number'),
    ],
)
def test_bad_po_ids_are_refused(override: dict[str, str], reason: str) -> None:
    """A Source ID or Fulfillment Request ID that is not a positive whole number is refused."""
    assert reason_of(good(**override)) == reason


@pytest.mark.parametrize(("value", "expected"), [("2", 2), ("2.0", 2), (" 3 ", 3), ("'5", 5)])
def test_quantity_accepts_whole_numbers(value: str, expected: int) -> None:
    """`2` and `2.0` are the quantity 2."""
    assert line_of(good(Quantity=value)).item.quantity == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("two", 'Quantity "two" is not a whole number'),
        ("0", 'Quantity "0" must be 1 or more'),
        ("-1", 'Quantity "-1" must be 1 or more'),
        ("1.5", 'Quantity "1.5" is not a whole number'),
        ("", "Quantity is empty"),
    ],
)
def test_quantity_refusals_name_the_column_and_value(value: str, reason: str) -> None:
    """A quantity that is not a positive whole number is refused with the column and value."""
    assert reason_of(good(Quantity=value)) == reason


@pytest.mark.parametrize(
    ("column", "value", "item"),
    [
        ("SKU", "'000123", ItemFields(quantity=2, sku="000123")),
        ("PO_Item_ID", "11", ItemFields(quantity=2, purchase_order_item_id=11)),
        ("Order_Item_ID", "12", ItemFields(quantity=2, order_item_id=12)),
    ],
)
def test_any_one_item_identifier_is_enough(column: str, value: str, item: ItemFields) -> None:
    """SKU, PO Item ID or Order Item ID alone identifies the item (as the API requires)."""
    assert line_of(good(**{"SKU": "", column: value})).item == item


@pytest.mark.parametrize(
    "override",
    [{}, {"RMA_Item_ID": "14"}, {"Inventory_Variant_ID": "13"}],
    ids=["nothing", "rma-only", "inventory-variant-only"],
)
def test_row_without_item_identifier_is_refused(override: dict[str, str]) -> None:
    """Without SKU, PO Item ID or Order Item ID (RMA/variant IDs are not enough) it is refused."""
    assert reason_of(good(SKU="", **override)) == NO_ITEM_ID


def test_bad_item_id_is_refused() -> None:
    """An item ID that is not a whole number is refused, naming column and value."""
    assert reason_of(good(PO_Item_ID="abc")) == 'PO Item ID "abc" is not a whole number'


def test_every_problem_of_a_row_is_reported_together() -> None:
    """All of a row's problems are in one reason, in column-check order."""
    row = cells(Quantity="two", Shipping_Cost="abc", Suppressed="maybe")
    assert reason_of(row) == "; ".join(
        [
            "Tracking Number is empty",
            NO_PO,
            'Quantity "two" is not a whole number',
            NO_ITEM_ID,
            'Shipping Cost "abc" is not a number',
            'Suppressed "maybe" is not yes/no (use TRUE or FALSE)',
        ]
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-26T16:15:00Z", "2026-11-26T16:15:00Z"),
        ("2026-11-26T16:15:00+02:00", "2026-11-26T14:15:00Z"),
        ("11/26/2026 4:15 PM", "2026-11-26T21:15:00Z"),
        ("11/26/2026", "2026-11-26T12:00:00Z"),  # a date alone: noon UTC keeps its day
        ("2026-11-26 16:15:00", "2026-11-26T21:15:00Z"),
    ],
)
@pytest.mark.usefixtures("eastern_standard_time")
def test_shipped_at_becomes_rfc3339_utc(value: str, expected: str) -> None:
    """ISO 8601, m/d/yyyy [h:mm AM/PM] and Excel date text become RFC 3339 in UTC."""
    assert line_of(good(Shipped_At=value)).shipment.shipped_at == expected


def test_unreadable_shipped_at_is_refused() -> None:
    """A Shipped At that is not a date names the formats that work."""
    assert reason_of(good(Shipped_At="next tuesday")) == (
        'Shipped At "next tuesday" is not a date/time (use 2026-11-26, 11/26/2026, '
        "11/26/2026 4:15 PM, Nov 26, 2026 or 2026-11-26T16:15:00Z)"
    )


@pytest.mark.parametrize(("value", "expected"), [("$1,204.50", 1204.5), ("0", 0.0)])
def test_shipping_cost_is_a_number(value: str, expected: float) -> None:
    """Shipping Cost with currency symbol and thousands separator becomes a number."""
    assert line_of(good(Shipping_Cost=value)).shipment.shipping_cost == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("free", 'Shipping Cost "free" is not a number'),
        ("-3", 'Shipping Cost "-3" cannot be negative'),
    ],
)
def test_bad_shipping_cost_is_refused(value: str, reason: str) -> None:
    """A Shipping Cost that is not a non-negative number is refused."""
    assert reason_of(good(Shipping_Cost=value)) == reason


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        (
            "Tracking_Number",
            "9.4055E+21",
            'Tracking Number "9.4055E+21" was turned into scientific notation by Excel; the '
            "real digits are lost. Format the column as Text and export the file again",
        ),
        (
            "Tracking_Number",
            "9405500000000000000000",
            'Tracking Number "9405500000000000000000" ends in zeros after the 15th digit, as '
            "Excel leaves a long number it rounded; format the column as Text and export the "
            "file again",
        ),
        (
            "SKU",
            "1.23457E+11",
            'SKU "1.23457E+11" was turned into scientific notation by Excel; the real digits '
            "are lost. Format the column as Text and export the file again",
        ),
    ],
)
def test_excel_damaged_identifiers_are_refused(column: str, value: str, reason: str) -> None:
    """Tracking numbers and SKUs Excel turned into numbers are refused with the fix."""
    assert reason_of(good(**{column: value})) == reason


@pytest.mark.parametrize("value", ["'000123", '="000123"', "  000123  "])
def test_excel_text_markers_are_cleaned_and_leading_zeros_kept(value: str) -> None:
    """`'000123` and `="000123"` are the text 000123, in tracking number and SKU alike."""
    line = line_of(good(Tracking_Number=value, SKU=value))
    assert (line.tracking_number, line.item.sku) == ("000123", "000123")


@pytest.mark.parametrize("value", ["Y", "y", "yes", "X", "TRUE", "1", "void", "Voided"])
def test_voided_label_is_not_sent(value: str) -> None:
    """A void mark makes the row a `voided label` problem, even when the rest is blank."""
    assert check(cells(Void=value)) == RowProblem(
        RowRef(0, 7), "voided label: this package was voided, so it is not sent"
    )


@pytest.mark.parametrize("value", ["N", "no", "", "0"])
def test_unvoided_row_is_validated_normally(value: str) -> None:
    """`N`, `no`, `0` or a blank void cell does not stop the row."""
    assert isinstance(check(good(Void=value)), ShipmentLine)


def test_custom_fields_with_empty_values_are_left_out() -> None:
    """Only custom columns with a value become custom fields, in column order, cleaned."""
    row = good(
        **{
            "Custom:_Gift_Message": "  ",
            "Custom:_Dept": '="007"',
            "Item_Custom:_Color": "",
            "Item_Custom:_Lot": "L-9",
        }
    )
    line = line_of(row)
    assert line.shipment.custom_fields == (("Dept", "007"),)
    assert line.item.custom_fields == (("Lot", "L-9"),)
    assert line.given == frozenset({"custom_fields"})


def test_row_without_custom_values_gives_no_custom_fields() -> None:
    """Custom columns left blank do not count as given (so they never disagree)."""
    line = line_of(good(**{"Item_Custom:_Color": "red"}))
    assert (line.shipment.custom_fields, line.given) == ((), frozenset())


@pytest.mark.parametrize(("value", "expected"), [("yes", True), ("FALSE", False), ("x", True)])
def test_suppressed_is_a_boolean(value: str, expected: bool) -> None:
    """Suppressed yes/no text becomes a boolean."""
    assert line_of(good(Suppressed=value)).shipment.suppressed is expected


def test_tracking_warning_rides_along_with_a_valid_row() -> None:
    """A UPS number failing its check digit still goes, with a warning for the workbook."""
    line = line_of(good(Tracking_Number=UPS_BAD, Carrier="UPS"))
    assert line.warnings == (
        f'Tracking Number "{UPS_BAD}" does not look like a valid UPS tracking number '
        "(format or check digit); check it before the customer does",
    )


def test_tracking_warning_is_kept_on_a_refused_row() -> None:
    """A refused row keeps its tracking warning alongside the reason."""
    result = check(good(Tracking_Number=UPS_BAD, Quantity="0"))
    assert result == RowProblem(
        RowRef(0, 7),
        'Quantity "0" must be 1 or more',
        (
            f'Tracking Number "{UPS_BAD}" looks like UPS but fails the UPS check digit; '
            "check it before the customer does",
        ),
    )


def test_valid_tracking_number_has_no_warning() -> None:
    """A well-formed UPS number with carrier UPS carries no warning."""
    assert line_of(good(Carrier="UPS Ground")).warnings == ()
