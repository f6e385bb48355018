"""Turn one cell's text into a typed value, or say exactly what is wrong with it.

Each parser raises `CellError` with a sentence naming the column and the value as the user
wrote it; `validate.py` collects those sentences into the row's reason.
"""

from __future__ import annotations

import functools
import math
import re
import time as time_module
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation

# Excel keeps 15 significant digits; anything longer typed into a number cell is rounded.
EXCEL_SIGNIFICANT_DIGITS = 15
MAX_INT64 = 2**63 - 1

_EXCEL_WRAPPER = re.compile(r'^="(.*)"$', re.DOTALL)
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
_DECIMAL_INT = re.compile(r"^[+-]?\d+(?:\.0*)?$")
_US_DATE = re.compile(
    r"^(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4}|\d{2})"
    r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?\s*(?P<ampm>[AaPp][Mm])?)?$"
)
_MONEY_SYMBOLS = "$€£¥"
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_TRUE = frozenset({"true", "yes", "y", "1", "x"})
_FALSE = frozenset({"false", "no", "n", "0"})


class CellError(ValueError):
    """A cell's value cannot be used; the message is the clerk-facing reason."""


def clean(raw: str) -> str:
    """Strip spaces and Excel's text markers: a leading `'` and a `="…"` wrapper."""
    value = raw.strip()
    if not value or value[0] not in "'=":
        return value  # the common case, kept cheap: this runs for every cell
    wrapped = _EXCEL_WRAPPER.match(value)
    if wrapped:
        value = wrapped.group(1).strip()
    if value.startswith("'"):
        value = value[1:].strip()
    return value


def excel_damage(column: str, value: str) -> str | None:
    """Why an identifier was visibly damaged by Excel, or None.

    Scientific notation (`9.4055E+21`) and long digit strings whose digits past the 15th are
    zeros are what Excel leaves after it has stored an identifier as a number.
    """
    if len(value) <= EXCEL_SIGNIFICANT_DIGITS + 1 and "E" not in value and "e" not in value:
        return None  # the common case, decided without a regex: this runs for every row
    if _SCIENTIFIC.match(value):
        return (
            f'{column} "{value}" was turned into scientific notation by Excel; the real '
            f"digits are lost. Format the column as Text and export the file again"
        )
    tail = value[EXCEL_SIGNIFICANT_DIGITS:]
    if value.isdigit() and len(tail) >= 2 and set(tail) == {"0"}:
        return (
            f'{column} "{value}" ends in zeros after the 15th digit, as Excel leaves a long '
            f"number it rounded; format the column as Text and export the file again"
        )
    return None


def parse_int(column: str, value: str, *, minimum: int = 1) -> int:
    """A whole number ID or quantity: `12`, `12.0` fine; `1.5`, `two`, `0` refused."""
    if value.isascii() and value.isdigit() and len(value) <= EXCEL_SIGNIFICANT_DIGITS:
        number = int(value)  # the common case: plain digits
        if number >= minimum:
            return number
    damage = excel_damage(column, value)
    if damage:
        raise CellError(damage)
    if not _DECIMAL_INT.match(value):
        msg = f'{column} "{value}" is not a whole number'
        raise CellError(msg)
    number = int(Decimal(value))
    if number < minimum:
        msg = f'{column} "{value}" must be {minimum} or more'
        raise CellError(msg)
    if number > MAX_INT64:
        msg = f'{column} "{value}" is too large to be an ID'
        raise CellError(msg)
    return number


@functools.lru_cache(maxsize=4096)  # costs repeat across rows; a refusal is not cached
def parse_money(column: str, value: str) -> float:
    """A cost: `12.40`, `$1,204.50`, `7` → a JSON number; negative or non-numeric refused.

    A decimal comma (`12,50`) is refused rather than guessed: dropping the comma would send
    a cost a hundred times too high.
    """
    text = value.strip(_MONEY_SYMBOLS + " ")
    if "," in text:
        if not _THOUSANDS.match(text):
            msg = f'{column} "{value}" is not a number (use a dot for decimals, e.g. 12.50)'
            raise CellError(msg)
        text = text.replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or not math.isfinite(float(amount)):
        msg = f'{column} "{value}" is not a number'
        raise CellError(msg)
    if amount < 0:
        msg = f'{column} "{value}" cannot be negative'
        raise CellError(msg)
    return float(amount)


def parse_bool(column: str, value: str) -> bool:
    """`true/false`, `yes/no`, `y/n`, `1/0`, `x` → a JSON boolean."""
    lowered = value.casefold()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    msg = f'{column} "{value}" is not yes/no (use TRUE or FALSE)'
    raise CellError(msg)


def parse_datetime(column: str, value: str) -> str:
    """A ship date/time as RFC 3339 in UTC; see `_parse_datetime`."""
    # Ship dates repeat across thousands of rows: remember them, per local time zone.
    return _parse_datetime(column, value, time_module.timezone, time_module.altzone)


@functools.lru_cache(maxsize=4096)
def _parse_datetime(column: str, value: str, _tz: int, _alt_tz: int) -> str:
    """A ship date/time as RFC 3339 in UTC (`2026-11-26T16:15:00Z`).

    Accepts ISO 8601 (with or without time and offset), `m/d/yyyy [h:mm[:ss] [AM/PM]]`, and the
    `YYYY-MM-DD HH:MM:SS` text that Excel date cells are read as. A time without an offset is
    the local time of the machine running the upload, as the clerk who typed it meant it.
    """
    msg = (
        f'{column} "{value}" is not a date/time (use 2026-11-26, 2026-11-26T16:15:00Z '
        f"or 11/26/2026 4:15 PM)"
    )
    parsed = _parse_iso(value) or _parse_us(value)
    if parsed is None:
        raise CellError(msg)
    try:
        if parsed.tzinfo is None:
            parsed = parsed.astimezone()  # naive → this machine's local time zone
        return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError) as exc:  # year 1 or 9999 across a time zone
        raise CellError(msg) from exc


def _parse_iso(value: str) -> datetime | None:
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time())
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _full_year(text: str) -> int:
    """`26` → 2026: a two-digit ship year is this century (Excel's own reading of it)."""
    year = int(text)
    return 2000 + year if len(text) == 2 else year


def _parse_us(value: str) -> datetime | None:
    match = _US_DATE.match(value)
    if not match:
        return None
    hour = int(match["H"] or 0)
    ampm = (match["ampm"] or "").lower()
    if ampm and not 1 <= hour <= 12:
        return None
    if ampm == "pm" and hour != 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    try:
        return datetime(
            _full_year(match["y"]),
            int(match["m"]),
            int(match["d"]),
            hour,
            int(match["M"] or 0),
            int(match["S"] or 0),
        )
    except ValueError:
        return None
