"""grouping.py with rows that have no item lines: whole-PO shipments and their packages."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from batch_uploader.column_choice import choose_columns
from batch_uploader.grouping import group_lines
from batch_uploader.models import RowProblem, ShipmentLine
from batch_uploader.profiles import bundled_profiles
from batch_uploader.validate import RowValidator

HEADER = ("PO Number", "Source ID", "Tracking Number", "Master Tracking Number", "Note")


def lines(*rows: Sequence[str]) -> list[ShipmentLine]:
    """Validate rows of HEADER (row numbers from 2, as a spreadsheet shows them)."""
    columns = choose_columns(HEADER, "carrier.csv", bundled_profiles(), forced=False)
    check = RowValidator(columns, 0)
    out = []
    for number, row in enumerate(rows, start=2):
        verdict = check(number, tuple(row))
        assert not isinstance(verdict, RowProblem), verdict.reason
        out.append(verdict)
    return out


def test_a_row_without_items_is_one_whole_po_shipment() -> None:
    """PO + tracking number and nothing else: one request with no item lines (whole PO)."""
    grouped = group_lines(lines(("PO-1", "101", "1ZAAA0000000001", "", "")))
    (request,) = grouped.requests
    assert request.whole_po
    assert (request.po.po_number, request.tracking_number) == ("PO-1", "1ZAAA0000000001")
    assert request.shipment.note is None


def test_packages_tied_by_a_master_number_are_one_shipment_under_it() -> None:
    """FedEx: later package rows leave the PO blank; all are one shipment, packages in the note."""
    grouped = group_lines(
        lines(
            ("PO-1", "101", "794600000001", "794600000001", "fragile"),
            ("", "", "794600000002", "794600000001", ""),
            ("", "", "794600000003", "794600000001", ""),
        )
    )
    assert not grouped.problems
    (request,) = grouped.requests
    assert request.tracking_number == "794600000001"
    assert len(request.refs) == 3
    assert request.shipment.note == ("fragile; packages: 794600000001, 794600000002, 794600000003")


def test_untied_packages_of_one_po_are_refused_with_what_to_add() -> None:
    """Two tracking numbers for one PO and nothing else: nobody knows which box holds what."""
    grouped = group_lines(
        lines(
            ("PO-1", "101", "1ZAAA0000000001", "", ""), ("PO-1", "101", "1ZAAA0000000002", "", "")
        )
    )
    assert not grouped.requests
    reasons = {p.reason for p in grouped.problems}
    assert len(grouped.problems) == 2
    (reason,) = reasons
    assert "PO PO-1 (source 101) has 2 tracking numbers" in reason
    assert "--packages first" in reason


def test_packages_first_ships_everything_on_the_first_number() -> None:
    """--packages first: one shipment on the first number, the others listed in its note."""
    grouped = group_lines(
        lines(
            ("PO-1", "101", "1ZAAA0000000001", "", ""), ("PO-1", "101", "1ZAAA0000000002", "", "")
        ),
        packages="first",
    )
    (request,) = grouped.requests
    assert request.tracking_number == "1ZAAA0000000001"
    assert request.shipment.note == "packages: 1ZAAA0000000001, 1ZAAA0000000002"


def test_two_numbers_in_one_cell_of_a_whole_po_row_are_that_shipments_packages() -> None:
    """A supplier's two-box order in one cell: one shipment, both numbers, never one glued."""
    grouped = group_lines(lines(("PO-1", "101", "1Z8VY0536847895679, 1Z8VY0536846272683", "", "")))
    (request,) = grouped.requests
    assert request.tracking_number == "1Z8VY0536847895679"
    assert request.shipment.note == "packages: 1Z8VY0536847895679, 1Z8VY0536846272683"


def test_a_package_row_whose_master_has_no_po_is_refused() -> None:
    """A package naming a master number that no row ties to a PO cannot be placed."""
    grouped = group_lines(lines(("", "", "794600000002", "794600000001", "")))
    (problem,) = grouped.problems
    assert "master tracking number 794600000001" in problem.reason


@pytest.mark.parametrize("packages", ["refuse", "first"])
def test_a_po_with_item_rows_and_whole_po_rows_refuses_the_whole_po_ones(packages: str) -> None:
    """Mixing rows with and without items on one PO would ship items twice: refuse the latter."""
    header = ("PO Number", "Source ID", "Tracking Number", "SKU", "Quantity")
    columns = choose_columns(header, "mixed.csv", bundled_profiles(), forced=False)
    check = RowValidator(columns, 0)
    rows = [
        ("PO-1", "101", "1ZAAA0000000001", "SKU-A", "1"),
        ("PO-1", "101", "1ZAAA0000000002", "", ""),
    ]
    verdicts = [check(n, r) for n, r in enumerate(rows, start=2)]
    assert all(isinstance(v, ShipmentLine) for v in verdicts)
    grouped = group_lines(verdicts, packages=packages)  # type: ignore[arg-type]
    (request,) = grouped.requests
    assert not request.whole_po
    (problem,) = grouped.problems
    assert problem.ref.row_number == 3
    assert "has rows with items and rows without" in problem.reason
