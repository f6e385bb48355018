"""grouping.py: valid rows → one Create Shipment request per PO identity + tracking number."""

from __future__ import annotations

import pytest

from batch_uploader.column_choice import choose_columns
from batch_uploader.grouping import Grouped, group_lines
from batch_uploader.models import (
    ItemFields,
    PoIdentity,
    RowProblem,
    RowRef,
    ShipmentFields,
    ShipmentLine,
    ShipmentRequest,
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
    "Custom: Gift",
    "Custom: Dept",
)
COLUMNS = choose_columns(HEADER, "shipments.csv", bundled_profiles(), forced=False)


def row(**values: str) -> dict[str, str]:
    """One row's cells by column name (`_` for spaces); PO 1001 / source 101 / TRK-1 default."""
    base = {"PO Number": "1001", "Source ID": "101", "Tracking Number": "TRK-1", "Quantity": "1"}
    return base | {key.replace("_", " "): value for key, value in values.items()}


def lines(*rows: dict[str, str], file_index: int = 0, first_row: int = 2) -> list[ShipmentLine]:
    """Validate rows as spreadsheet rows first_row, first_row+1, ...; all must be valid."""
    check = RowValidator(COLUMNS, file_index)
    out = []
    for number, values in enumerate(rows, start=first_row):
        assert set(values) <= set(HEADER), set(values) - set(HEADER)
        result = check(number, tuple(values.get(column, "") for column in HEADER))
        assert isinstance(result, ShipmentLine), result
        out.append(result)
    return out


def conflict(reason: str, po: str = "PO 1001 (source 101)", tracking: str = "TRK-1") -> str:
    return (
        f"rows for {po} with tracking {tracking} disagree on {reason}; "
        "make them agree so the shipment can be sent"
    )


def test_rows_of_one_po_and_tracking_number_become_one_request() -> None:
    """Same PO + tracking: one request, its items in row order, shipment fields from the rows."""
    grouped = group_lines(
        lines(
            row(SKU="A", Quantity="2", Carrier="Acme Freight"),
            row(SKU="B", Quantity="1"),
            row(SKU="C", Quantity="5", Carrier="Acme Freight"),
        )
    )
    assert grouped == Grouped(
        requests=(
            ShipmentRequest(
                po=PoIdentity(po_number="1001", source_id=101),
                tracking_number="TRK-1",
                shipment=ShipmentFields(carrier="Acme Freight"),
                items=(
                    ItemFields(quantity=2, sku="A"),
                    ItemFields(quantity=1, sku="B"),
                    ItemFields(quantity=5, sku="C"),
                ),
                refs=(RowRef(0, 2), RowRef(0, 3), RowRef(0, 4)),
            ),
        ),
        problems=(),
    )


def test_different_tracking_numbers_for_one_po_are_separate_requests() -> None:
    """One PO shipped in two boxes: two requests, in the order their first row appears."""
    grouped = group_lines(
        lines(
            row(Tracking_Number="TRK-2", SKU="A"),
            row(Tracking_Number="TRK-1", SKU="B"),
            row(Tracking_Number="TRK-2", SKU="C"),
        )
    )
    assert [(r.tracking_number, r.refs) for r in grouped.requests] == [
        ("TRK-2", (RowRef(0, 2), RowRef(0, 4))),
        ("TRK-1", (RowRef(0, 3),)),
    ]
    assert [[i.sku for i in r.items] for r in grouped.requests] == [["A", "C"], ["B"]]


@pytest.mark.parametrize(
    "other",
    [
        row(PO_Number="1002"),
        row(Source_ID="102"),
        row(Source_ID=""),
        row(PO_Number="", Source_ID="", Fulfillment_Request_ID="1001"),
    ],
    ids=["other-po-number", "other-source", "no-source", "fulfillment-request-id"],
)
def test_a_different_po_identity_is_a_separate_request(other: dict[str, str]) -> None:
    """The same tracking number under another PO identity is another request."""
    grouped = group_lines(lines(row(SKU="A"), other | {"SKU": "B"}))
    assert [r.refs for r in grouped.requests] == [(RowRef(0, 2),), (RowRef(0, 3),)]


def test_rows_from_several_files_join_one_request() -> None:
    """Rows of the same PO and tracking number in two input files are one request (contract)."""
    first = lines(row(SKU="A"), file_index=0)
    second = lines(row(SKU="B"), file_index=1, first_row=5)
    (request,) = group_lines(first + second).requests
    assert request.refs == (RowRef(0, 2), RowRef(1, 5))


def test_blank_cells_do_not_disagree() -> None:
    """A shipment field filled on one row only is the group's value; blanks elsewhere are fine."""
    grouped = group_lines(
        lines(
            row(SKU="A"),
            row(SKU="B", Carrier="Acme Freight", Shipping_Cost="4.50", Suppressed="yes"),
            row(SKU="C", Method="Ground", **{"Custom:_Gift": "wrap"}),
        )
    )
    assert grouped.problems == ()
    (request,) = grouped.requests
    assert request.shipment == ShipmentFields(
        carrier="Acme Freight",
        method="Ground",
        shipping_cost=4.5,
        suppressed=True,
        custom_fields=(("Gift", "wrap"),),
    )


def test_the_same_value_written_differently_does_not_disagree() -> None:
    """Values that parse alike (a time in two zones, `$4.50` and `4.5`) agree."""
    grouped = group_lines(
        lines(
            row(SKU="A", Shipped_At="2026-11-26T16:15:00Z", Shipping_Cost="$4.50"),
            row(SKU="B", Shipped_At="2026-11-26T11:15:00-05:00", Shipping_Cost="4.5"),
        )
    )
    assert grouped.problems == ()
    (request,) = grouped.requests
    assert (request.shipment.shipped_at, request.shipment.shipping_cost) == (
        "2026-11-26T16:15:00Z",
        4.5,
    )


@pytest.mark.parametrize(
    ("column", "first", "second", "reason"),
    [
        ("Carrier", "UPS", "FedEx", 'Carrier: "UPS" (row 2) vs "FedEx" (row 3)'),
        ("Method", "Ground", "Air", 'Method: "Ground" (row 2) vs "Air" (row 3)'),
        (
            "Shipped_At",
            "2026-11-26T16:15:00Z",
            "2026-11-27T16:15:00Z",
            'Shipped At: "2026-11-26T16:15:00Z" (row 2) vs "2026-11-27T16:15:00Z" (row 3)',
        ),
        ("Shipping_Cost", "12.50", "13", 'Shipping Cost: "12.5" (row 2) vs "13.0" (row 3)'),
        (
            "Tracking_URL",
            "https://a.example/1",
            "https://b.example/1",
            'Tracking URL: "https://a.example/1" (row 2) vs "https://b.example/1" (row 3)',
        ),
        ("Note", "fragile", "heavy", 'Note: "fragile" (row 2) vs "heavy" (row 3)'),
        ("Suppressed", "yes", "no", 'Suppressed: "True" (row 2) vs "False" (row 3)'),
        ("Custom:_Gift", "yes", "no", "custom fields: Gift=yes (row 2) vs Gift=no (row 3)"),
    ],
)
def test_disagreeing_shipment_field_refuses_every_row_of_the_group(
    column: str, first: str, second: str, reason: str
) -> None:
    """Two rows of one shipment with different values: none is sent; both rows name the field."""
    grouped = group_lines(lines(row(SKU="A", **{column: first}), row(SKU="B", **{column: second})))
    assert grouped.requests == ()
    assert [(p.ref, p.reason) for p in grouped.problems] == [
        (RowRef(0, 2), conflict(reason)),
        (RowRef(0, 3), conflict(reason)),
    ]


def test_conflict_in_one_group_leaves_other_groups_alone() -> None:
    """Only the disagreeing shipment is refused; every row of it, blank ones included."""
    grouped = group_lines(
        lines(
            row(SKU="A", Carrier="Acme"),
            row(Tracking_Number="TRK-9", SKU="X", Carrier="Orbit"),
            row(SKU="B"),
            row(SKU="C", Carrier="Zeta"),
        )
    )
    reason = conflict('Carrier: "Acme" (row 2) vs "Zeta" (row 5)')
    assert grouped.problems == (
        RowProblem(RowRef(0, 2), reason),
        RowProblem(RowRef(0, 4), reason),
        RowProblem(RowRef(0, 5), reason),
    )
    assert [r.refs for r in grouped.requests] == [(RowRef(0, 3),)]


def test_every_disagreeing_field_is_named() -> None:
    """Several disagreeing fields are all listed, in the order of the API's shipment fields."""
    grouped = group_lines(
        lines(
            row(SKU="A", Carrier="UPS", Note="fragile"),
            row(SKU="B", Carrier="FedEx", Note="heavy"),
        )
    )
    expected = conflict(
        'Carrier: "UPS" (row 2) vs "FedEx" (row 3); Note: "fragile" (row 2) vs "heavy" (row 3)'
    )
    assert {p.reason for p in grouped.problems} == {expected}


def test_conflict_names_rows_with_the_given_row_label() -> None:
    """Rows are named through `row_label`, so several input files can say which file."""
    grouped = group_lines(
        lines(row(SKU="A", Method="Ground"), row(SKU="B", Method="Air")),
        row_label=lambda ref: f"east.csv row {ref.row_number}",
    )
    reason = conflict('Method: "Ground" (east.csv row 2) vs "Air" (east.csv row 3)')
    assert {p.reason for p in grouped.problems} == {reason}


def test_conflict_for_a_fulfillment_request_names_it() -> None:
    """A group identified by fulfillment request ID is named that way in the reason."""
    grouped = group_lines(
        lines(
            row(PO_Number="", Source_ID="", Fulfillment_Request_ID="77", SKU="A", Note="a"),
            row(PO_Number="", Source_ID="", Fulfillment_Request_ID="77", SKU="B", Note="b"),
        )
    )
    reason = conflict('Note: "a" (row 2) vs "b" (row 3)', po="fulfillment request 77")
    assert {p.reason for p in grouped.problems} == {reason}


def test_refused_rows_keep_their_tracking_warnings() -> None:
    """A conflict does not drop the rows' tracking-number warnings."""
    grouped = group_lines(lines(row(SKU="A", Carrier="UPS"), row(SKU="B", Carrier="FedEx")))
    assert [p.warnings for p in grouped.problems] == [
        (
            'Tracking Number "TRK-1" does not look like a valid UPS tracking number '
            "(format or check digit); check it before the customer does",
        ),
        (
            'Tracking Number "TRK-1" does not look like a valid FedEx tracking number '
            "(format or check digit); check it before the customer does",
        ),
    ]


@pytest.mark.parametrize("allow", [True, False])
def test_allow_duplicate_tracking_is_carried_on_every_request(allow: bool) -> None:
    """`--allow-duplicate-tracking` is set on each request built."""
    grouped = group_lines(
        lines(row(SKU="A"), row(Tracking_Number="TRK-2", SKU="B")),
        allow_duplicate_tracking=allow,
    )
    assert [r.allow_duplicate_tracking for r in grouped.requests] == [allow, allow]


def test_no_lines_give_no_requests() -> None:
    """An empty input groups to nothing."""
    assert group_lines([]) == Grouped((), ())


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"Custom:_Gift": "yes", "Custom:_Dept": "D7"}, {"Custom:_Gift": "yes"}),
        ({"Custom:_Gift": "yes"}, {"Custom:_Dept": "D7"}),
    ],
    ids=["one-blank", "complementary-blanks"],
)
def test_blank_custom_cells_do_not_disagree(first: dict[str, str], second: dict[str, str]) -> None:
    """A custom column blank on one row of a shipment does not disagree with a filled one."""
    grouped = group_lines(lines(row(SKU="A", **first), row(SKU="B", **second)))
    assert grouped.problems == ()
    (request,) = grouped.requests
    assert request.shipment.custom_fields == (("Gift", "yes"), ("Dept", "D7"))
