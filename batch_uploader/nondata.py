"""Rows below the header that are not data: footers, record counts, totals, row types.

Exports add lines that are not shipments: eBay ends with `2,record(s) downloaded,from ...`
and `Seller ID : ...`, supplier sheets with a `Total` row, TikTok repeats a description of
each column under the header, Matrixify writes transaction and shipping lines between the
line items. Such rows are counted and skipped, never reported as invalid rows.

Guarantee: pure and cheap. A row with both its tracking number and PO identity filled, and
nothing that looks like a footer in them, is decided after a few string checks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from batch_uploader.headers import field_scores
from batch_uploader.profiles import ColumnMap

__all__ = ["non_data_reason"]

_RECORD_COUNT = re.compile(
    r"^\s*\d[\d,.]*\s*(records?|rows?|orders?|lines?|items?|shipments?|results?)(\(s\))?\s*"
    r"(downloaded|exported|selected|found|listed|returned|in total|total)\b",
    re.IGNORECASE,
)
_COUNT_LINE = re.compile(
    r"^\s*(total\s+)?(number\s+of\s+)?(records|rows|orders|lines|shipments|results)\s*[:=]?\s*\d[\d,]*\s*$",
    re.IGNORECASE,
)
_SELLER_LINE = re.compile(r"^\s*seller\s*(id|name)?\s*:", re.IGNORECASE)
_TOTALS = re.compile(
    r"^\s*(grand\s*|sub\s*-?\s*)?totals?\b\s*[:\-]?\s*(\w+\s*)?:?\s*$|^\s*summary\s*:?\s*$",
    re.IGNORECASE,
)
_REPORT_LINE = re.compile(
    r"^\s*(report\s+(generated|created|run|date)|generated\s+(on|at|by)|exported\s+(on|at|by)"
    r"|printed\s+(on|at|by)|page\s+\d+\s+of\s+\d+|end\s+of\s+report)\b",
    re.IGNORECASE,
)
FOOTER_START = frozenset("trsgpe")
"""First letters (casefolded) of every footer word above: other cells skip the regexes."""
FOOTER_CELLS = 3
"""How many leading filled cells a footer line's text is read from."""
DESCRIPTION_MIN_WORDS = 3
"""A 'tracking number' of this many words is a sentence describing the column."""


def _looks_like_footer(text: str) -> str | None:
    stripped = text.strip()
    if not stripped:
        return None
    first = stripped[0]
    if first.isdigit():
        return "record count" if _RECORD_COUNT.match(stripped) else None
    if first.casefold() not in FOOTER_START:
        return None
    if _SELLER_LINE.match(stripped):
        return "seller line"
    if _TOTALS.match(stripped):
        return "totals row"
    if _COUNT_LINE.match(stripped) or _RECORD_COUNT.match(stripped):
        return "record count"
    if _REPORT_LINE.match(stripped):
        return "report line"
    return None


def _row_type(cells: Sequence[str], column_map: ColumnMap) -> str | None:
    profile = column_map.profile
    column = profile.row_type_column
    if column is None:
        return None
    wanted = " ".join(column.casefold().split())
    for index, name in enumerate(column_map.header):
        if " ".join(name.casefold().split()) == wanted:
            value = cells[index].strip() if index < len(cells) else ""
            kept = {k.casefold() for k in profile.row_types_kept}
            if value and value.casefold() not in kept:
                return f"{column} {value}"
            return None
    return None


def non_data_reason(cells: Sequence[str], column_map: ColumnMap) -> str | None:
    """Why a row below the header is not a data row (a short kind), or None for a data row.

    Kinds: `blank row`, `record count`, `seller line`, `totals row`, `report line`,
    `header repeated`, `column descriptions`, `only unmapped columns`, and
    `<type column> <value>` for a row type the format's profile does not keep
    (e.g. `Line: Type Transaction`).
    """
    fields = column_map.fields
    kind = _row_type(cells, column_map)
    if kind is not None:
        return kind
    tracking_at = fields.get("tracking_number")
    po_at = fields.get("po_number", fields.get("fulfillment_request_id"))
    tracking = cells[tracking_at].strip() if tracking_at is not None else ""
    po = cells[po_at].strip() if po_at is not None else ""
    leading: list[int] = []  # a footer's text sits in its first few filled cells
    for index, cell in enumerate(cells):
        if cell.strip():
            leading.append(index)
            if len(leading) == FOOTER_CELLS:
                break
    if not leading:
        return "blank row"
    if tracking and tracking_at not in leading:  # the common case: a data row
        return _repeated_or_described(tracking, po) if po else None
    first = cells[leading[0]]
    joined = " ".join(cells[i].strip() for i in leading)
    for text in (first, joined):
        kind = _looks_like_footer(text)
        if kind is not None:
            return kind
    if tracking and po:
        return _repeated_or_described(tracking, po)
    ignored = column_map.ignored_indexes
    if all(i in ignored for i, c in enumerate(cells) if c.strip()):
        return "only unmapped columns"
    return None


def _repeated_or_described(tracking: str, po: str) -> str | None:
    """The header again (Amazon's label row) or a row describing each column (TikTok)."""
    if not tracking[0].isalpha():
        return None  # tracking numbers start with a digit far more often: the common case
    if len(tracking.split()) >= DESCRIPTION_MIN_WORDS and len(po.split()) >= DESCRIPTION_MIN_WORDS:
        return "column descriptions"
    if "tracking_number" in field_scores(tracking) and field_scores(po):
        return "header repeated"
    return None
