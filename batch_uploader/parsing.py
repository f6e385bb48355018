"""Turn one cell's text into a typed value, or say exactly what is wrong with it.

Each parser raises `CellError` with a sentence naming the column and the value as the user
wrote it; `validate.py` collects those sentences into the row's reason.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from batch_uploader.excel_facts import EXCEL_SIGNIFICANT_DIGITS

MAX_INT64 = 2**63 - 1

_EXCEL_WRAPPER = re.compile(r'^="(.*)"$', re.DOTALL)
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
_DECIMAL_INT = re.compile(r"^[+-]?\d+(?:\.0*)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
# parse_int: `1,000` (thousands, maybe with `.00`), and any other comma (a decimal comma).
_THOUSANDS_INT = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.0*)?$")
_DECIMAL_COMMA_INT = re.compile(r"^[+-]?\d+,\d+$")
# A cost: an optional sign, one currency mark (symbol, `US$`, or a letter code) before or
# after the number.
_CURRENCY_MARK = r"(?:[A-Za-z]{3}|[A-Za-z]{0,3}[$€£¥])"
_MONEY = re.compile(
    rf"^(?P<sign>[+-])?\s*(?P<pre>{_CURRENCY_MARK})?\s*(?P<number>.*?)\s*(?P<post>{_CURRENCY_MARK})?$"
)
# Number shapes of a decimal-comma column: `1.204,50`, `1 204,50`, `4,50`, `12`.
_GROUP_SEPARATORS = ". \u00a0\u202f"
_COMMA_MONEY = re.compile(rf"^(?:\d+|\d{{1,3}}(?:[{_GROUP_SEPARATORS}]\d{{3}})+)(?:,\d+)?$")
_GROUPING = re.compile(rf"[{_GROUP_SEPARATORS}]")
_COMMA_DECIMAL = re.compile(rf"^(?:\d+|\d{{1,3}}(?:[{_GROUP_SEPARATORS}]\d{{3}})+),\d+$")
_POINT_DECIMAL = re.compile(r"^(?:\d+|\d{1,3}(?:,\d{3})+)\.\d+$")
_POINT_THOUSANDS = re.compile(r"^\d{1,3}(?:\.\d{3})+$")
_COMMA_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+$")
CURRENCY_CODES = frozenset(
    {"USD", "EUR", "GBP", "CAD", "AUD", "NZD", "JPY", "CNY", "HKD", "SGD", "INR"}
    | {"CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "MXN", "BRL", "ZAR"}
)
"""Currency codes a cost may carry (`4.50 USD`); any other letters make it not a number."""
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
    """A whole number ID or quantity: `12`, `12.0`, `1,000`, `3,00` fine; `1.5`, `3,5`, `0` refused.

    A comma followed by exactly three digits groups thousands (`1,000` is 1000); any other
    comma is a decimal comma, accepted only when what follows it is zeros (`3,00` is 3).
    """
    if value.isascii() and value.isdigit() and len(value) <= EXCEL_SIGNIFICANT_DIGITS:
        number = int(value)  # the common case: plain digits
        if number >= minimum:
            return number
    value = value.strip()
    damage = excel_damage(column, value)
    if damage:
        raise CellError(damage)
    text = value
    if "," in text:
        if _THOUSANDS_INT.match(text):
            text = text.replace(",", "")
        elif _DECIMAL_COMMA_INT.match(text):
            whole, fraction = text.split(",")
            if fraction.strip("0"):
                msg = (
                    f'{column} "{value}" is not a whole number (it looks like '
                    f"{whole}.{fraction} written with a decimal comma)"
                )
                raise CellError(msg)
            text = whole
    if not _DECIMAL_INT.match(text):
        msg = f'{column} "{value}" is not a whole number'
        raise CellError(msg)
    number = int(Decimal(text))
    if number < minimum:
        msg = f'{column} "{value}" must be {minimum} or more'
        raise CellError(msg)
    if number > MAX_INT64:
        msg = f'{column} "{value}" is too large to be an ID'
        raise CellError(msg)
    return number


def decimal_comma_column(values: Iterable[str]) -> bool:
    """Whether a cost column writes decimals with a comma (`4,50`, `1.204,50 €`).

    True when at least one distinct value is clearly decimal-comma and none is clearly
    decimal-point (`4.50`, `1,204.50`); values such as `12`, `1,500` or `1.500` say nothing.
    Pass the answer to `parse_money(..., decimal_comma=...)` for every value of the column.
    """
    comma = False
    for value in dict.fromkeys(values):  # each distinct value once
        match = _MONEY.match(value.strip())
        if match is None:
            continue
        number = match["number"]
        if _COMMA_DECIMAL.match(number) and not _COMMA_THOUSANDS.match(number):
            comma = True
        elif _POINT_DECIMAL.match(number) and not _POINT_THOUSANDS.match(number):
            return False
    return comma


@functools.lru_cache(maxsize=4096)  # costs repeat across rows; a refusal is not cached
def parse_money(column: str, value: str, decimal_comma: bool = False) -> float:
    """A cost: `12.40`, `$1,204.50`, `4.50 USD`, `EUR 7` → a JSON number.

    Currency symbols (`$ € £ ¥`, `US$`) and three-letter codes (`USD`, `EUR`) before or after
    the number are dropped. A decimal comma (`4,50`, `1.204,50`) is read only when the
    column uses one (`decimal_comma`, see `decimal_comma_column`); otherwise it is refused
    rather than guessed: dropping the comma would send a cost a hundred times too high.
    Negative or non-numeric costs are refused.
    """
    match = _MONEY.match(value.strip())
    if match is None or not _known_currency(match["pre"], match["post"]):
        msg = f'{column} "{value}" is not a number'
        raise CellError(msg)
    text = match["number"]
    negative = match["sign"] == "-"
    if decimal_comma:
        if not _COMMA_MONEY.match(text.lstrip("+-")):
            msg = (
                f'{column} "{value}" is not a number (this column writes decimals with a '
                f"comma, e.g. 12,50)"
            )
            raise CellError(msg)
        text = _GROUPING.sub("", text).replace(",", ".")
    elif "," in text:
        if not _THOUSANDS.match(text):
            msg = f'{column} "{value}" is not a number (use a dot for decimals, e.g. 12.50)'
            raise CellError(msg)
        text = text.replace(",", "")
    if negative:
        text = "-" + text
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


def _known_currency(before: str | None, after: str | None) -> bool:
    """At most one currency mark, and a letter code only if it is a currency we know."""
    if before and after:
        return False
    mark = (before or after or "").strip().upper()
    return not mark.isalpha() or mark in CURRENCY_CODES


def parse_bool(column: str, value: str) -> bool:
    """`true/false`, `yes/no`, `y/n`, `1/0`, `x` → a JSON boolean."""
    lowered = value.casefold()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    msg = f'{column} "{value}" is not yes/no (use TRUE or FALSE)'
    raise CellError(msg)
