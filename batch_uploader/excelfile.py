"""Excel workbooks (.xlsx, .xlsm) → records with the row numbers Excel shows, as text.

Guarantees:
- Nothing is parsed before excel_guards.check_archive has passed the file (zip bombs, XML
  entities, vast empty areas, old or encrypted workbooks).
- Row numbers are Excel's: leading empty rows count; the first used column is reported so
  unnamed columns can be called by their real position.
- Every cell becomes the text a person sees (see ``cell_text``); text cells stay as stored.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from python_calamine import CalamineSheet, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from batch_uploader.errors import InputError
from batch_uploader.excel_facts import EXCEL_SIGNIFICANT_DIGITS, MAX_COLUMNS
from batch_uploader.excel_guards import check_archive

EXCEL_SCIENTIFIC_FROM = 1e15
"""Excel keeps 15 significant digits; General format shows numbers this large as 9.4055E+21."""
CELL_TEXT_CACHE_SIZE = 100_000
"""Distinct typed values remembered per type while a sheet is read."""
_US_PER_S = 1_000_000
_S_PER_DAY = 86_400


Record = tuple[int, list[str]]
CellValue = int | float | str | bool | dt.time | dt.date | dt.datetime | dt.timedelta


@dataclass(frozen=True, slots=True)
class SheetSource:
    """The chosen worksheet: its name, first used column (1-based) and non-blank records."""

    sheet: str
    first_column: int
    records: Iterator[Record]


def open_sheet(path: Path, sheet: str | None) -> SheetSource:
    """Check the archive, open the workbook and pick ``sheet`` (default: first with data)."""
    check_archive(path)
    try:
        with CalamineWorkbook.from_path(path) as workbook:
            return _pick_sheet(path, workbook, sheet)
    except InputError:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a panic inside calamine surfaces as a BaseException
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = (
            f"{path.name}: cannot be read as an Excel workbook ({detail}): open it in Excel "
            "and save it again as .xlsx, or export the sheet as CSV."
        )
        raise InputError(msg) from None


def _pick_sheet(path: Path, workbook: CalamineWorkbook, wanted: str | None) -> SheetSource:
    names = list(workbook.sheet_names)
    listing = ", ".join(repr(n) for n in names)
    if wanted is not None:
        name = _match_sheet_name(names, wanted)
        if name is None:
            msg = (
                f"{path.name}: no sheet named {wanted!r} (sheets: {listing}): pass one of "
                "these names with --sheet."
            )
            raise InputError(msg)
        source = _sheet_source(path, workbook.get_sheet_by_name(name))
        if source is None:
            msg = (
                f"{path.name} [{name}]: the sheet is empty: choose the sheet with the shipments "
                f"with --sheet (sheets: {listing})."
            )
            raise InputError(msg)
        return source
    worksheets = [m for m in workbook.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
    # Visible sheets first: a hidden sheet with data is usually a lookup list, not the input.
    worksheets.sort(key=lambda m: m.visible != SheetVisibleEnum.Visible)
    for meta in worksheets:
        source = _sheet_source(path, workbook.get_sheet_by_name(meta.name))
        if source is not None:
            return source
    msg = (
        f"{path.name}: no worksheet has any data (sheets: {listing}): put the shipments on a "
        "sheet, with a header row above them, and save again."
    )
    raise InputError(msg)


def _match_sheet_name(names: list[str], wanted: str) -> str | None:
    if wanted in names:
        return wanted
    loose = [n for n in names if n.strip().casefold() == wanted.strip().casefold()]
    return loose[0] if len(loose) == 1 else None


def _sheet_source(path: Path, sheet: CalamineSheet) -> SheetSource | None:
    """The sheet's non-blank records, or None if it has none."""
    start = sheet.start
    if start is None:
        return None
    if sheet.width > MAX_COLUMNS:
        msg = (
            f"{path.name} [{sheet.name}]: the sheet's data spans {sheet.width:,} columns, more "
            f"than the {MAX_COLUMNS:,} allowed: delete the stray cells far to the right and "
            "save again."
        )
        raise InputError(msg)
    records = _records(sheet)
    first = next(records, None)
    if first is None:
        return None
    return SheetSource(sheet.name, start[1] + 1, _prepend(first, records))


def _prepend(first: Record, rest: Iterator[Record]) -> Iterator[Record]:
    yield first
    yield from rest


def _records(sheet: CalamineSheet) -> Iterator[Record]:
    # iter_rows() starts at the sheet's row 1 (leading empty rows come back empty) and at
    # the first used column, so enumerate() gives Excel's row numbers.
    text = _CellTexts()
    for row_number, values in enumerate(sheet.iter_rows(), start=1):
        cells = [v if type(v) is str else text(v) for v in values]
        first = cells[0] if cells else ""
        if (first and not first.isspace()) or any(c and not c.isspace() for c in cells):
            yield row_number, cells


class _CellTexts:
    """cell_text with a memory: quantities, costs and dates repeat down a sheet.

    One cache per type: 1, 1.0 and True are equal dict keys but read `1`, `1` and `TRUE`.
    """

    def __init__(self) -> None:
        self._by_type: dict[type, dict[CellValue, str]] = {}

    def __call__(self, value: CellValue) -> str:
        cache = self._by_type.setdefault(type(value), {})
        text = cache.get(value)
        if text is None:
            text = cell_text(value)
            if len(cache) < CELL_TEXT_CACHE_SIZE:
                cache[value] = text
        return text


def cell_text(value: CellValue) -> str:
    """The text a person sees in the cell (General format; dates in ISO order).

    Whole numbers lose their `.0`; other numbers show up to 15 significant digits (Excel's
    precision, so 0.1+0.2 shows `0.3`); numbers of 1e15 and more look as Excel shows them
    (`9.4055E+21`) so callers can spot tracking numbers Excel has already damaged.
    Booleans are `TRUE`/`FALSE`; date-times `YYYY-MM-DD HH:MM:SS`, dates `YYYY-MM-DD`, times
    `HH:MM:SS`, durations `H:MM:SS` (rounded to the second, as Excel displays them).
    calamine returns a date for any whole-day date/time value, so a date-time cell holding
    exactly midnight reads as `YYYY-MM-DD`.
    """
    render = _RENDERERS.get(type(value))
    if render is not None:
        return render(value)
    for kind, fallback in _RENDERERS.items():  # subclasses; calamine returns exact types
        if isinstance(value, kind):
            return fallback(value)
    return str(value)


def _float_text(value: float) -> str:
    if value.is_integer() and -EXCEL_SCIENTIFIC_FROM < value < EXCEL_SCIENTIFIC_FROM:
        return str(int(value))
    if not math.isfinite(value):
        return repr(value)
    if abs(value) >= EXCEL_SCIENTIFIC_FROM:
        mantissa, exponent = f"{value:.5E}".split("E")
        return f"{mantissa.rstrip('0').rstrip('.')}E{exponent}"
    return f"{value:.{EXCEL_SIGNIFICANT_DIGITS}g}".replace("e", "E")


def _int_text(value: int) -> str:
    return str(value) if abs(value) < EXCEL_SCIENTIFIC_FROM else _float_text(float(value))


def _bool_text(value: bool) -> str:
    return "TRUE" if value else "FALSE"


def _datetime_text(value: dt.datetime) -> str:
    if value.microsecond:
        try:
            value = value.replace(microsecond=0) + dt.timedelta(
                seconds=_round_seconds(value.microsecond)
            )
        except OverflowError:
            value = value.replace(microsecond=0)
    return value.isoformat(sep=" ")


def _date_text(value: dt.date) -> str:
    return value.isoformat()


def _time_text(value: dt.time) -> str:
    micros = ((value.hour * 60 + value.minute) * 60 + value.second) * _US_PER_S
    seconds = _round_seconds(micros + value.microsecond) % _S_PER_DAY
    return _clock_text(seconds, hour_digits=2)


def _duration_text(value: dt.timedelta) -> str:
    micros = value // dt.timedelta(microseconds=1)
    sign = "-" if micros < 0 else ""
    return sign + _clock_text(_round_seconds(abs(micros)))


# Exact types first (bool before int, datetime before date) for the isinstance fallback.
_RENDERERS: dict[type, Callable[[Any], str]] = {
    str: str,
    bool: _bool_text,
    int: _int_text,
    float: _float_text,
    dt.datetime: _datetime_text,
    dt.date: _date_text,
    dt.time: _time_text,
    dt.timedelta: _duration_text,
}


def _round_seconds(micros: int) -> int:
    """Whole seconds, half up, as Excel rounds a displayed time."""
    return (micros + _US_PER_S // 2) // _US_PER_S


def _clock_text(seconds: int, *, hour_digits: int = 1) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:0{hour_digits}d}:{minutes:02d}:{secs:02d}"
