"""Reading our own results workbooks back, for the page: Failed rows and Summary counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook

MAX_FAILED_SHOWN = 200
"""Failed rows shown inline; the workbook's Failed sheet has every one."""


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def failed_rows(path: Path) -> tuple[list[str], list[list[str]], int]:
    """The Failed sheet's header, its first MAX_FAILED_SHOWN rows, and how many more it has."""
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        rows = workbook.get_sheet_by_name("Failed").to_python(skip_empty_area=False)
    except Exception:  # an unreadable workbook only hides the inline table, never the link
        return [], [], 0
    if not rows:
        return [], [], 0
    header = [_text(c) for c in rows[0]]
    body = [[_text(c) for c in row] for row in rows[1:] if any(_text(c) for c in row)]
    return header, body[:MAX_FAILED_SHOWN], max(0, len(body) - MAX_FAILED_SHOWN)


def summary_counts(path: Path) -> dict[str, int]:
    """`Rows created` … `Rows not sent` of the Summary sheet, as status → count."""
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        rows = workbook.get_sheet_by_name("Summary").to_python(skip_empty_area=False)
    except Exception:  # a missing or foreign workbook: no counts, the run still lists
        return {}
    counts = {}
    for row in rows:
        if len(row) >= 2 and isinstance(row[0], str) and row[0].startswith("Rows "):
            value = row[1]
            if isinstance(value, (int, float)):
                counts[row[0].removeprefix("Rows ")] = int(value)
    return counts
