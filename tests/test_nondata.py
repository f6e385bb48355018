"""nondata.py: rows below the header that are not data are told apart, cheaply."""

from __future__ import annotations

import time

import pytest

from batch_uploader.column_choice import choose_columns
from batch_uploader.nondata import non_data_reason
from batch_uploader.profiles import ColumnMap, bundled_profiles

HEADER = ["PO Number", "Tracking Number", "SKU", "Quantity", "Ship To Name"]


def column_map(header: list[str] = HEADER) -> ColumnMap:
    return choose_columns(header, "f.csv", bundled_profiles(), forced=False)


@pytest.mark.parametrize(
    ("cells", "kind"),
    [
        (["3 record(s) downloaded", "", "", "", ""], "record count"),
        (["3", "record(s) downloaded", "from Nov-24-26 to Nov-26-26", "", ""], "record count"),
        (["Total records: 12", "", "", "", ""], "record count"),
        (["Seller ID : acme_store", "", "", "", ""], "seller line"),
        (["Seller ID: acme_store", "", "", "", ""], "seller line"),
        (["Total", "", "", "12", ""], "totals row"),
        (["Grand Total:", "", "", "12", ""], "totals row"),
        (["", "", "Subtotal", "5", ""], "totals row"),
        (["Report generated on 11/27/2026", "", "", "", ""], "report line"),
        (["Page 1 of 3", "", "", "", ""], "report line"),
        (["", "", "", "", "Ana Ruiz"], "only unmapped columns"),
        (["", "", "", "", ""], "blank row"),
        (["PO Number", "Tracking Number", "SKU", "Quantity", ""], "header repeated"),
        (
            ["The purchase order number.", "The carrier's tracking number.", "", "", ""],
            "column descriptions",
        ),
    ],
)
def test_non_data_rows_say_what_they_are(cells: list[str], kind: str) -> None:
    """Footer, count, seller, totals, report, padding and repeated-header rows are not data."""
    assert non_data_reason(cells, column_map()) == kind


@pytest.mark.parametrize(
    "cells",
    [
        ["PO-10001", "1Z4F7E830310001010", "TEE-NVY-M", "2", "Ana Ruiz"],
        ["Total Wine PO 7", "1Z4F7E830310001010", "TEE", "2", ""],
        ["Seller-77", "1Z4F7E830310001010", "TEE", "2", ""],
        ["PO-10001", "", "TEE-NVY-M", "2", ""],  # invalid (no tracking), but a data row
        ["", "1Z4F7E830310001010", "", "", ""],  # invalid (no PO), but a data row
        ["12", "771234500021", "SKU-1", "1", ""],  # a numeric PO is not a record count
    ],
)
def test_data_rows_are_data_even_when_invalid(cells: list[str]) -> None:
    """A row with any mapped cell filled is a data row; validation decides if it is valid."""
    assert non_data_reason(cells, column_map()) is None


def test_matrixify_row_types_other_than_line_item_are_not_data() -> None:
    """Matrixify's `Line: Type` is honoured: only `Line Item` rows are shipment items."""
    header = ["Name", "Line: Type", "Line: SKU", "Line: Quantity", "Fulfillment: Tracking Number"]
    chosen = column_map(header)
    assert chosen.format_name == "shopify-matrixify"
    row = ["PO-10001", "Line Item", "TEE", "1", "1Z4F7E830310001010"]
    assert non_data_reason(row, chosen) is None
    row[1] = "Transaction"
    assert non_data_reason(row, chosen) == "Line: Type Transaction"
    row[1] = "line item"
    assert non_data_reason(row, chosen) is None


def test_normal_rows_are_decided_fast() -> None:
    """The common case (tracking and PO filled) costs microseconds per row."""
    chosen = column_map()
    row = ["PO-10001", "1Z4F7E830310001010", "TEE-NVY-M", "2", "Ana Ruiz"]
    start = time.perf_counter()
    for _ in range(100_000):
        non_data_reason(row, chosen)
    assert time.perf_counter() - start < 1.5  # 15 µs per row, generous for shared CPUs
