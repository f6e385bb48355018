"""Regenerate the blank input templates: `python templates/make_templates.py`.

The column list is the contract's canonical one; tests check the checked-in files match it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import xlsxwriter

HERE = Path(__file__).resolve().parent
COLUMNS = [
    ("PO Number", "The purchase order number as Flxpoint shows it. Or use Fulfillment Request ID."),
    (
        "Source ID",
        "The Flxpoint source of the PO (account tokens). Blank: --source-id, or a source token.",
    ),
    (
        "Fulfillment Request ID",
        "Flxpoint's ID of the PO (alias: PO ID). Use instead of PO Number + Source ID.",
    ),
    ("Tracking Number", "Required. Type it as text so Excel keeps leading zeros and all digits."),
    ("Carrier", "e.g. UPS, FedEx, USPS. Same for every row of one tracking number."),
    ("Method", "e.g. ups_ground."),
    ("Shipped At", "2026-11-26, 2026-11-26T16:15:00Z or 11/26/2026 4:15 PM (local time)."),
    ("Shipping Cost", "A number, e.g. 12.40."),
    ("Tracking URL", "Optional link to the carrier's tracking page."),
    ("Note", "Optional."),
    ("Suppressed", "TRUE to keep this shipment from syncing back to the channel."),
    ("SKU", "The item's SKU on the PO. Or PO Item ID / Order Item ID."),
    ("Quantity", "Required. A whole number, 1 or more."),
    ("PO Item ID", "Optional: Flxpoint's purchase order item ID."),
    ("Order Item ID", "Optional: Flxpoint's order item ID."),
    ("Inventory Variant ID", "Optional."),
    ("RMA Item ID", "Optional."),
]
INSTRUCTIONS = [
    "One row = one item of one shipment.",
    "Rows with the same PO and the same Tracking Number become ONE shipment with several items.",
    "Different tracking numbers for one PO become separate shipments.",
    "Extra columns `Custom: NAME` (shipment) and `Item Custom: NAME` (item) become custom fields.",
    "Format the Tracking Number, SKU and ID columns as Text before pasting (this template does).",
    "Upload: batch-uploader upload shipments.xlsx   (token in FLXPOINT_API_TOKEN)",
    "Every run writes a results workbook; fix the rows of its Failed sheet and run "
    "batch-uploader retry RESULTS.xlsx",
]


def main() -> None:
    names = [name for name, _ in COLUMNS]
    with (HERE / "shipments-template.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow(names)
    book = xlsxwriter.Workbook(str(HERE / "shipments-template.xlsx"))
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    text = book.add_format({"num_format": "@"})
    sheet = book.add_worksheet("Shipments")
    for col, name in enumerate(names):
        sheet.write_string(0, col, name, bold)
        sheet.set_column(col, col, max(len(name) + 4, 14), text)
    sheet.freeze_panes(1, 0)
    guide = book.add_worksheet("Instructions")
    guide.set_column(0, 0, 24)
    guide.set_column(1, 1, 100)
    row = 0
    for line in INSTRUCTIONS:
        guide.write_string(row, 0, line)
        row += 1
    row += 1
    guide.write_string(row, 0, "Column", bold)
    guide.write_string(row, 1, "What to put there", bold)
    for name, help_text in COLUMNS:
        row += 1
        guide.write_string(row, 0, name)
        guide.write_string(row, 1, help_text)
    book.close()


if __name__ == "__main__":
    main()
