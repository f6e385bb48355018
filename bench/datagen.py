"""Deterministic benchmark inputs: carrier-export-like files, sandbox seeds, send files.

Every generated file name carries GENERATOR_VERSION and its size, so a changed generator
never reuses an old file and a file is never regenerated needlessly. Large files are
written to a temporary name and renamed, so an interrupted run leaves no half-written input.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from bench.common import ACCOUNT_SOURCE_ID, ACCOUNT_TOKEN, INPUTS_DIR, log

GENERATOR_VERSION = 2
RANDOM_SEED = 20261127
SEND_HEADER = ("PO Number", "Source ID", "Tracking Number", "Carrier", "SKU", "Quantity")
"""The send benchmarks' columns: one item per shipment."""
WHOLE_PO_HEADER = ("PO Number", "Source ID", "Tracking Number")
"""Issue 14's whole-PO rows: no items, so the tool must look the PO's items up."""
EXPORT_HEADER = (
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
    "Ship To City",
    "Ship To State",
    "Weight (lb)",
)
"""The dry-run inputs: 15 columns like a daily carrier export (the last four are not mapped)."""
MAX_ITEMS_PER_SHIPMENT = 3
"""Rows of one shipment: 1..3 items (same PO and tracking number, different SKUs)."""
INVALID_ROW_SHARE = 0.002
"""Rows with a Quantity of "two": a few invalid rows, as real exports have."""
UPS_SHARE = 0.5
"""Shipments sent by UPS (1Z numbers); the others go by USPS (20-digit numbers)."""
URL_SHARE = 0.3
"""Shipments whose rows carry a tracking URL."""
NOTE_SHARE = 0.05
USPS_SERVICE_TYPE = "03"
"""USPS 20-digit numbers of this service type start with a zero: the zeros must survive."""
USPS_SERIAL_DIGITS = 17
UPS_SHIPPER_CHARS = 6
UPS_SERVICES = {"01": "UPS Next Day Air", "02": "UPS 2nd Day Air", "03": "UPS Ground"}
UPS_PACKAGE_DIGITS = 7
USPS_METHODS = ("Priority Mail", "Ground Advantage", "First-Class Package")
TRACKING_URLS = {
    "UPS": "https://www.ups.com/track?tracknum=",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels=",
}
COLOURS = ("BLK", "WHT", "RED", "NVY", "GRY")
NAMES = ("Ana Silva", "Bo Chen", "Cam Patel", "Dee Okafor", "Eli Novak", "Fay Moreau")
CITIES = (("Austin", "TX"), ("Denver", "CO"), ("Boise", "ID"), ("Tampa", "FL"), ("Salem", "OR"))
FIRST_SHIP_DATE = date(2026, 11, 1)
SHIP_WINDOW_DAYS = 30
US_DATE = "%m/%d/%Y"
"""How CSV exports write Shipped At (11/26/2026); .xlsx files get date cells."""
XLSX_DATE_FORMAT = "mm/dd/yyyy"
SEED_FIRST_SOURCE_ID = ACCOUNT_SOURCE_ID
SEED_FIRST_FR_ID = 3_000_001
SEED_FIRST_ITEM_ID = 7_000_001
WHOLE_PO_PREFIX = "WPO"
SOURCE_TOKEN_PREFIX = "bench-source-"  # noqa: S105 -- sandbox-only tokens, never real


def ups_tracking(rng: random.Random, service: str) -> str:
    """A valid UPS `1Z` number: shipper, service, package digits, mod-10 check digit."""
    shipper = "".join(rng.choices("0123456789ABCDEFGHJKLMNPRSTVWXYZ", k=UPS_SHIPPER_CHARS))
    body = shipper + service + "".join(rng.choices("0123456789", k=UPS_PACKAGE_DIGITS))
    values = [int(ch) if ch.isdigit() else (ord(ch) - ord("A") + 2) % 10 for ch in body]
    total = sum(v * (2 if i % 2 else 1) for i, v in enumerate(values))
    return f"1Z{body}{-total % 10}"


def usps_tracking(rng: random.Random) -> str:
    """A valid USPS 20-digit tracking number (mod-10 check digit) with a leading zero."""
    body = USPS_SERVICE_TYPE + "".join(rng.choices("0123456789", k=USPS_SERIAL_DIGITS))
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str(-total % 10)


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One generated export row, typed as a spreadsheet would hold it."""

    po_number: str
    source_id: int
    tracking_number: str
    carrier: str
    method: str
    shipped_at: date
    shipping_cost: float
    tracking_url: str
    note: str
    sku: str
    quantity: int | str
    ship_to: str
    city: str
    state: str
    weight_lb: float

    def texts(self) -> list[str]:
        """The row as a CSV export writes it."""
        return [
            self.po_number,
            str(self.source_id),
            self.tracking_number,
            self.carrier,
            self.method,
            self.shipped_at.strftime(US_DATE),
            f"{self.shipping_cost:.2f}",
            self.tracking_url,
            self.note,
            self.sku,
            str(self.quantity),
            self.ship_to,
            self.city,
            self.state,
            f"{self.weight_lb:.1f}",
        ]


def export_rows(count: int) -> Iterator[ExportRow]:
    """`count` rows in shipments of 1..MAX_ITEMS_PER_SHIPMENT rows, the same for every run."""
    rng = random.Random(RANDOM_SEED)
    made = 0
    shipment = 0
    while made < count:
        shipment += 1
        if rng.random() < UPS_SHARE:
            service = rng.choice(tuple(UPS_SERVICES))
            carrier, method, tracking = "UPS", UPS_SERVICES[service], ups_tracking(rng, service)
        else:
            carrier, method, tracking = "USPS", rng.choice(USPS_METHODS), usps_tracking(rng)
        shipped_at = FIRST_SHIP_DATE + timedelta(days=rng.randrange(SHIP_WINDOW_DAYS))
        cost = round(rng.uniform(3, 40), 2)
        url = TRACKING_URLS[carrier] + tracking if rng.random() < URL_SHARE else ""
        note = f"Box 1 of 1, order {shipment}" if rng.random() < NOTE_SHARE else ""
        ship_to = rng.choice(NAMES)
        city, state = rng.choice(CITIES)
        weight = round(rng.uniform(0.2, 30), 1)
        for _ in range(min(rng.randint(1, MAX_ITEMS_PER_SHIPMENT), count - made)):
            quantity: int | str = rng.randint(1, 5)
            if rng.random() < INVALID_ROW_SHARE:
                quantity = "two"
            sku = f"{rng.randrange(100_000):05d}-{rng.choice(COLOURS)}"
            yield ExportRow(
                f"PO-{shipment:07d}",
                ACCOUNT_SOURCE_ID,
                tracking,
                carrier,
                method,
                shipped_at,
                cost,
                url,
                note,
                sku,
                quantity,
                ship_to,
                city,
                state,
                weight,
            )
            made += 1


def export_csv(rows: int) -> Path:
    """The dry-run benchmark's CSV of `rows` data rows, generated on first use."""
    path = INPUTS_DIR / f"export-v{GENERATOR_VERSION}-{rows}.csv"
    if not path.exists():
        log(f"generating {path.name} ({rows:,} rows, once)")
        partial = _partial(path)
        with partial.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(EXPORT_HEADER)
            writer.writerows(row.texts() for row in export_rows(rows))
        partial.replace(path)
    return path


def export_xlsx(rows: int) -> Path:
    """The dry-run benchmark's .xlsx of `rows` data rows (xlsxwriter constant_memory), once.

    Text cells are text (tracking numbers and SKUs keep their leading zeros); Source ID,
    Shipping Cost, Quantity and Weight are number cells; Shipped At is a date cell.
    """
    path = INPUTS_DIR / f"export-v{GENERATOR_VERSION}-{rows}.xlsx"
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
    for col, title in enumerate(EXPORT_HEADER):
        sheet.write_string(0, col, title)
    for index, row in enumerate(export_rows(rows), start=1):
        _write_xlsx_row(sheet, index, row, text_format, date_format)
    workbook.close()
    partial.replace(path)
    return path


def _write_xlsx_row(
    sheet: Worksheet, index: int, row: ExportRow, text: Format, day: Format
) -> None:
    texts = row.texts()
    numbers: dict[int, float] = {1: row.source_id, 6: row.shipping_cost, 14: row.weight_lb}
    if isinstance(row.quantity, int):
        numbers[10] = row.quantity
    for col, value in enumerate(texts):
        if col in numbers:
            sheet.write_number(index, col, numbers[col])
        elif col == EXPORT_HEADER.index("Shipped At"):
            sheet.write_datetime(index, col, row.shipped_at, day)
        elif value:  # empty cells are left out, as spreadsheet programs do
            sheet.write_string(index, col, value, text)


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


def write_send_csv(path: Path, rows: Sequence[SendRow]) -> Path:
    """Write a send benchmark's CSV (always rewritten: it is small)."""
    return _write_csv(path, SEND_HEADER, [row.texts() for row in rows])


def source_ids(count: int) -> tuple[int, ...]:
    """The sources of the generated seed: SEED_FIRST_SOURCE_ID and the next count - 1."""
    return tuple(range(SEED_FIRST_SOURCE_ID, SEED_FIRST_SOURCE_ID + count))


def source_token(source_id: int) -> str:
    """The sandbox token of a generated source."""
    return f"{SOURCE_TOKEN_PREFIX}{source_id}"


def whole_po_number(index: int) -> str:
    """The PO number of the index-th (1-based) whole-PO purchase order of the seed."""
    return f"{WHOLE_PO_PREFIX}-{ACCOUNT_SOURCE_ID}-{index:05d}"


def write_seed(path: Path, sources: int, whole_pos: int) -> Path:
    """A sandbox seed: `sources` sources with their own tokens, and `whole_pos` purchase
    orders of source ACCOUNT_SOURCE_ID with 1..MAX_ITEMS_PER_SHIPMENT items each.

    Everything else the benchmarks send goes to POs the sandbox makes up (--auto-create-pos).
    """
    rng = random.Random(RANDOM_SEED + sources + whole_pos)
    item_id = SEED_FIRST_ITEM_ID
    orders: list[dict[str, Any]] = []
    for index in range(1, whole_pos + 1):
        items = []
        for _ in range(rng.randint(1, MAX_ITEMS_PER_SHIPMENT)):
            items.append(
                {
                    "purchaseOrderItemId": item_id,
                    "orderItemId": item_id + 1_000_000,
                    "sku": f"{rng.randrange(100_000):05d}-{COLOURS[len(items)]}",
                    "quantity": rng.randint(1, 5),
                }
            )
            item_id += 1
        orders.append(
            {
                "fulfillmentRequestId": SEED_FIRST_FR_ID + index,
                "purchaseOrderNumber": whole_po_number(index),
                "sourceId": ACCOUNT_SOURCE_ID,
                "orderId": SEED_FIRST_FR_ID + 500_000 + index,
                "items": items,
            }
        )
    seed = {
        "_comment": "Generated by bench/datagen.py (git-ignored); sandbox-only tokens.",
        "accountId": 40001,
        "accountToken": ACCOUNT_TOKEN,
        "sources": [
            {"sourceId": sid, "name": f"Bench Source {sid}", "token": source_token(sid)}
            for sid in source_ids(sources)
        ],
        "purchaseOrders": orders,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(seed, indent=1) + "\n", encoding="utf-8")
    return path


def write_whole_po_csv(path: Path, count: int) -> Path:
    """`count` rows, one per seeded whole-PO purchase order: PO, source, tracking only."""
    rng = random.Random(RANDOM_SEED - count)
    rows = [
        [whole_po_number(i), str(ACCOUNT_SOURCE_ID), ups_tracking(rng, "03")]
        for i in range(1, count + 1)
    ]
    return _write_csv(path, WHOLE_PO_HEADER, rows)


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _partial(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.partial{path.suffix}")
