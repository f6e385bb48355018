"""Deterministic benchmark inputs: carrier-export-like rows as CSV and .xlsx, made once.

Every file name carries GENERATOR_VERSION and its size, so a changed generator never reuses
an old file and a file is never regenerated needlessly. Files are written to a temporary
name and renamed, so an interrupted run leaves no half-written input behind.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from bench.common import ACCOUNT_SOURCE_ID, INPUTS_DIR, log

GENERATOR_VERSION = 1
RANDOM_SEED = 20261127
SEND_HEADER = ("PO Number", "Source ID", "Tracking Number", "Carrier", "SKU", "Quantity")
"""The send benchmarks' columns, as the issue states them."""
LOAD_HEADER = (
    "PO Number",
    "Source ID",
    "Tracking Number",
    "Carrier",
    "Method",
    "Shipped At",
    "Shipping Cost",
    "Tracking URL",
    "Note",
    "SKU",
    "Quantity",
    "Ship To Name",
)
"""The load/report inputs: 12 columns like a carrier export (the last one is not mapped)."""
MAX_ITEMS_PER_SHIPMENT = 3
"""Rows of one shipment: 1..3 items (same PO and tracking number, different SKUs)."""
INVALID_ROW_SHARE = 0.002
"""Rows with a Quantity of "two": a few invalid rows, as real exports have."""
URL_SHARE = 0.3
"""Shipments whose rows carry a tracking URL."""
NOTE_SHARE = 0.05
USPS_SERVICE_TYPE = "03"
"""USPS 20-digit numbers of this service type start with a zero: the zeros must survive."""
USPS_SERIAL_DIGITS = 17
TRACKING_URL = "https://tools.usps.com/go/TrackConfirmAction?tLabels="
METHODS = ("Priority Mail", "Ground Advantage", "First-Class Package", "Media Mail")
COLOURS = ("BLK", "WHT", "RED", "NVY", "GRY")
NAMES = ("Ana Silva", "Bo Chen", "Cam Patel", "Dee Okafor", "Eli Novak", "Fay Moreau")
FIRST_SHIP_DATE = datetime(2026, 11, 1, 8, 0)
SHIP_WINDOW_MIN = 30 * 24 * 60
"""Ship times fall in the 30 days from FIRST_SHIP_DATE, to the minute."""
US_DATETIME = "%m/%d/%Y %I:%M %p"
"""How CSV exports write Shipped At (11/26/2026 04:15 PM); .xlsx files get date cells."""
XLSX_DATE_FORMAT = "mm/dd/yyyy hh:mm AM/PM"


@dataclass(frozen=True, slots=True)
class LoadRow:
    """One generated input row, typed as a spreadsheet would hold it."""

    po_number: str
    source_id: int
    tracking_number: str
    carrier: str
    method: str
    shipped_at: datetime
    shipping_cost: float
    tracking_url: str
    note: str
    sku: str
    quantity: int | str
    ship_to: str

    def texts(self) -> list[str]:
        """The row as a CSV export writes it."""
        return [
            self.po_number,
            str(self.source_id),
            self.tracking_number,
            self.carrier,
            self.method,
            self.shipped_at.strftime(US_DATETIME),
            f"{self.shipping_cost:.2f}",
            self.tracking_url,
            self.note,
            self.sku,
            str(self.quantity),
            self.ship_to,
        ]


@dataclass(frozen=True, slots=True)
class SendRow:
    """One row of the send benchmarks: one shipment with one item."""

    po_number: str
    source_id: int
    tracking_number: str
    carrier: str
    sku: str
    quantity: int

    def texts(self) -> list[str]:
        """The row as the CSV holds it."""
        return [
            self.po_number,
            str(self.source_id),
            self.tracking_number,
            self.carrier,
            self.sku,
            str(self.quantity),
        ]


def usps_tracking(rng: random.Random) -> str:
    """A valid USPS 20-digit tracking number (mod-10 check digit) with a leading zero."""
    body = USPS_SERVICE_TYPE + "".join(rng.choices("0123456789", k=USPS_SERIAL_DIGITS))
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str(-total % 10)


def load_rows(count: int) -> Iterator[LoadRow]:
    """`count` rows in shipments of 1..MAX_ITEMS_PER_SHIPMENT rows, the same for every run."""
    rng = random.Random(RANDOM_SEED)
    made = 0
    shipment = 0
    while made < count:
        shipment += 1
        tracking = usps_tracking(rng)
        method = rng.choice(METHODS)
        shipped_at = FIRST_SHIP_DATE + timedelta(minutes=rng.randrange(SHIP_WINDOW_MIN))
        cost = round(rng.uniform(3, 40), 2)
        url = TRACKING_URL + tracking if rng.random() < URL_SHARE else ""
        note = f"Box 1 of 1, order {shipment}" if rng.random() < NOTE_SHARE else ""
        ship_to = rng.choice(NAMES)
        for _ in range(min(rng.randint(1, MAX_ITEMS_PER_SHIPMENT), count - made)):
            quantity: int | str = rng.randint(1, 5)
            if rng.random() < INVALID_ROW_SHARE:
                quantity = "two"
            sku = f"{rng.randrange(100_000):05d}-{rng.choice(COLOURS)}"
            yield LoadRow(
                f"PO-{shipment:07d}",
                ACCOUNT_SOURCE_ID,
                tracking,
                "USPS",
                method,
                shipped_at,
                cost,
                url,
                note,
                sku,
                quantity,
                ship_to,
            )
            made += 1


def send_rows(count: int, source_ids: tuple[int, ...] = (ACCOUNT_SOURCE_ID,)) -> list[SendRow]:
    """`count` one-row shipments, cycling through `source_ids`, each with its own PO."""
    rng = random.Random(RANDOM_SEED + count)
    return [
        SendRow(
            f"BENCH-{source_ids[i % len(source_ids)]}-{i + 1:05d}",
            source_ids[i % len(source_ids)],
            usps_tracking(rng),
            "USPS",
            f"{rng.randrange(100_000):05d}-{rng.choice(COLOURS)}",
            1,
        )
        for i in range(count)
    ]


def write_send_csv(path: Path, rows: list[SendRow]) -> Path:
    """Write the send benchmark's CSV (always rewritten: it is tiny)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(SEND_HEADER)
        writer.writerows(row.texts() for row in rows)
    return path


def load_csv(rows: int) -> Path:
    """The load benchmark's CSV of `rows` data rows, generated on first use."""
    path = INPUTS_DIR / f"load-v{GENERATOR_VERSION}-{rows}.csv"
    if not path.exists():
        log(f"generating {path.name} ({rows:,} rows, once)")
        partial = _partial(path)
        with partial.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(LOAD_HEADER)
            writer.writerows(row.texts() for row in load_rows(rows))
        partial.replace(path)
    return path


def load_xlsx(rows: int) -> Path:
    """The load benchmark's .xlsx of `rows` data rows (xlsxwriter constant_memory), once.

    Text cells are text (tracking numbers and SKUs keep their leading zeros), Source ID,
    Shipping Cost and Quantity are number cells, Shipped At is a date cell.
    """
    path = INPUTS_DIR / f"load-v{GENERATOR_VERSION}-{rows}.xlsx"
    if path.exists():
        return path
    log(f"generating {path.name} ({rows:,} rows, once)")
    partial = _partial(path)
    workbook = xlsxwriter.Workbook(
        str(partial),
        {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False},
    )
    sheet = workbook.add_worksheet("Shipments")
    date_format = workbook.add_format({"num_format": XLSX_DATE_FORMAT})
    text_format = workbook.add_format({"num_format": "@"})
    for col, title in enumerate(LOAD_HEADER):
        sheet.write_string(0, col, title)
    for index, row in enumerate(load_rows(rows), start=1):
        _write_xlsx_row(sheet, index, row, text_format, date_format)
    workbook.close()
    partial.replace(path)
    return path


def _write_xlsx_row(
    sheet: Worksheet,
    index: int,
    row: LoadRow,
    text: Format,
    date: Format,
) -> None:
    sheet.write_string(index, 0, row.po_number, text)
    sheet.write_number(index, 1, row.source_id)
    sheet.write_string(index, 2, row.tracking_number, text)
    sheet.write_string(index, 3, row.carrier, text)
    sheet.write_string(index, 4, row.method, text)
    sheet.write_datetime(index, 5, row.shipped_at, date)
    sheet.write_number(index, 6, row.shipping_cost)
    if row.tracking_url:
        sheet.write_string(index, 7, row.tracking_url, text)
    if row.note:
        sheet.write_string(index, 8, row.note, text)
    sheet.write_string(index, 9, row.sku, text)
    if isinstance(row.quantity, int):
        sheet.write_number(index, 10, row.quantity)
    else:
        sheet.write_string(index, 10, row.quantity, text)
    sheet.write_string(index, 11, row.ship_to, text)


def _partial(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.partial{path.suffix}")
