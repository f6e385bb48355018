"""parsing.py: one cell's text → a typed value, or the clerk-facing reason it cannot be used."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import pytest

from batch_uploader.parsing import (
    CellError,
    clean,
    decimal_comma_column,
    excel_damage,
    parse_bool,
    parse_int,
    parse_money,
)

SCIENTIFIC = (
    '{column} "{value}" was turned into scientific notation by Excel; the real digits are '
    "lost. Format the column as Text and export the file again"
)
ROUNDED = (
    '{column} "{value}" ends in zeros after the 15th digit, as Excel leaves a long number it '
    "rounded; format the column as Text and export the file again"
)
NOT_A_DATE = (
    'Shipped At "{value}" is not a date/time (use 2026-11-26, 2026-11-26T16:15:00Z '
    "or 11/26/2026 4:15 PM)"
)


@pytest.fixture
def local_tz() -> Iterator[Callable[[str], None]]:
    """Set this process's local time zone (POSIX TZ string) for one test, then restore it."""
    saved = os.environ.get("TZ")

    def set_tz(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield set_tz
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("'000123", "000123"),
        ('="000123"', "000123"),
        ('  =" 000123 "  ', "000123"),
        ("  ' 000123", "000123"),
        ("\t1Z999AA10123456784 \n", "1Z999AA10123456784"),
        ("000123", "000123"),
        ("   ", ""),
    ],
)
def test_clean_strips_spaces_and_excel_text_markers_keeping_leading_zeros(
    raw: str, expected: str
) -> None:
    """A leading `'`, a `="…"` wrapper and outer spaces go; leading zeros stay."""
    assert clean(raw) == expected


@pytest.mark.parametrize("value", ["9.4055E+21", "9,4055E+21", "1e+15", "-2.5E-3", "7E10"])
def test_excel_damage_refuses_scientific_notation(value: str) -> None:
    """An identifier shown in scientific notation has lost its digits and is refused."""
    assert excel_damage("Tracking Number", value) == SCIENTIFIC.format(
        column="Tracking Number", value=value
    )


@pytest.mark.parametrize(
    "value",
    [
        "9405500000000000000000",  # 22 digits, zeros from the 6th on
        "9400111899223100000000",  # 22 digits, zeros after the 15th
        "12345678901234500",  # 17 digits, two zeros after the 15th
    ],
)
def test_excel_damage_refuses_long_numbers_zeroed_after_the_15th_digit(value: str) -> None:
    """Digits past the 15th all zero is what Excel leaves of a long number it rounded."""
    assert excel_damage("SKU", value) == ROUNDED.format(column="SKU", value=value)


@pytest.mark.parametrize(
    "value",
    [
        "9400111899223100012348",  # a real 22-digit USPS number
        "1234567890123450",  # one trailing zero after the 15th digit is not evidence
        "123456789012345",  # exactly 15 digits
        "000123",
        "1Z999AA10123456784",
        "ABC100000000000000000000",  # not all digits
        "2E",
    ],
)
def test_excel_damage_accepts_undamaged_identifiers(value: str) -> None:
    """Ordinary identifiers, long ones included, are not flagged."""
    assert excel_damage("Tracking Number", value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2", 2),
        ("2.0", 2),
        ("12.00", 12),
        ("+3", 3),
        ("007", 7),
        ("3 ", 3),
        (" 3", 3),
        ("3.0", 3),
        ("1,000", 1000),
        ("12,345,678", 12_345_678),
        ("1,000.00", 1000),
        ("3,00", 3),
    ],
)
def test_parse_int_accepts_whole_numbers_written_as_decimals(value: str, expected: int) -> None:
    """`2`, `2.0` (an Excel number cell), `1,000` (thousands) and `3 ` are whole numbers."""
    result = parse_int("Quantity", value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("two", 'Quantity "two" is not a whole number'),
        ("1.5", 'Quantity "1.5" is not a whole number'),
        ("1,00,000", 'Quantity "1,00,000" is not a whole number'),
        (",5", 'Quantity ",5" is not a whole number'),
        (
            "3,5",
            'Quantity "3,5" is not a whole number (it looks like 3.5 written with a decimal comma)',
        ),
        (
            "12,25",
            'Quantity "12,25" is not a whole number '
            "(it looks like 12.25 written with a decimal comma)",
        ),
        ("", 'Quantity "" is not a whole number'),
        ("0", 'Quantity "0" must be 1 or more'),
        ("-1", 'Quantity "-1" must be 1 or more'),
        ("0.0", 'Quantity "0.0" must be 1 or more'),
        ("9223372036854775808", 'Quantity "9223372036854775808" is too large to be an ID'),
        ("1E+3", SCIENTIFIC.format(column="Quantity", value="1E+3")),
    ],
)
def test_parse_int_refuses_with_column_and_value(value: str, reason: str) -> None:
    """A value that is not a positive whole number is refused, naming column and value."""
    with pytest.raises(CellError) as caught:
        parse_int("Quantity", value)
    assert str(caught.value) == reason


def test_parse_int_accepts_the_largest_int64() -> None:
    """The largest ID the API's int64 fields can hold is accepted."""
    assert parse_int("Inventory Variant ID", "9223372036854775807") == 2**63 - 1


def test_parse_int_minimum_is_adjustable() -> None:
    """`minimum=0` lets 0 through and still refuses negatives."""
    assert parse_int("Count", "0", minimum=0) == 0
    with pytest.raises(CellError, match=r'^Count "-1" must be 0 or more$'):
        parse_int("Count", "-1", minimum=0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$1,204.50", 1204.5),
        ("12.40", 12.4),
        ("7", 7.0),
        ("0", 0.0),
        ("€12.40", 12.4),
        ("£1,000", 1000.0),
        ("$ 3.5", 3.5),
        ("$4.50", 4.5),
        ("USD 4.50", 4.5),
        ("4.50 USD", 4.5),
        ("usd4.50", 4.5),
        ("£3", 3.0),
        ("US$ 4.50", 4.5),
        ("4.50$", 4.5),
        ("CAD 1,204.50", 1204.5),
    ],
)
def test_parse_money_accepts_currency_text(value: str, expected: float) -> None:
    """Currency symbols and thousands separators are dropped; the result is a float."""
    result = parse_money("Shipping Cost", value)
    assert result == expected
    assert type(result) is float


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("abc", 'Shipping Cost "abc" is not a number'),
        ("12.40 XYZ", 'Shipping Cost "12.40 XYZ" is not a number'),
        ("USD 12.40 EUR", 'Shipping Cost "USD 12.40 EUR" is not a number'),
        ("12.40 dollars", 'Shipping Cost "12.40 dollars" is not a number'),
        ("USD", 'Shipping Cost "USD" is not a number'),
        ("NaN", 'Shipping Cost "NaN" is not a number'),
        ("Infinity", 'Shipping Cost "Infinity" is not a number'),
        ("", 'Shipping Cost "" is not a number'),
        ("-5", 'Shipping Cost "-5" cannot be negative'),
        ("$-5.00", 'Shipping Cost "$-5.00" cannot be negative'),
    ],
)
def test_parse_money_refuses_with_column_and_value(value: str, reason: str) -> None:
    """A cost that is not a non-negative number is refused, naming column and value."""
    with pytest.raises(CellError) as caught:
        parse_money("Shipping Cost", value)
    assert str(caught.value) == reason


@pytest.mark.parametrize("value", ["12,50", "1.204,50"])
def test_parse_money_refuses_a_decimal_comma(value: str) -> None:
    """A decimal-comma cost (`;`-delimited European CSV) is refused, not multiplied by 100."""
    with pytest.raises(CellError) as caught:
        parse_money("Shipping Cost", value)
    assert str(caught.value) == (
        f'Shipping Cost "{value}" is not a number (use a dot for decimals, e.g. 12.50)'
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("4,50", 4.5),
        ("4,50 €", 4.5),
        ("EUR 4,50", 4.5),
        ("€4,5", 4.5),
        ("1.204,50", 1204.5),
        ("1 204,50 €", 1204.5),
        ("1\u00a0204,50", 1204.5),
        ("1.500", 1500.0),
        ("12", 12.0),
        ("0,00", 0.0),
    ],
)
def test_parse_money_reads_a_decimal_comma_when_the_column_uses_one(
    value: str, expected: float
) -> None:
    """With `decimal_comma=True`, `4,50 €` is 4.5 and `1.204,50` is 1204.5."""
    assert parse_money("Shipping Cost", value, decimal_comma=True) == expected


@pytest.mark.parametrize("value", ["4.50", "1,204.50", "4,5,0", "4,50,"])
def test_a_decimal_comma_column_refuses_a_decimal_point(value: str) -> None:
    """In a decimal-comma column, a dot-decimal cost is refused rather than misread."""
    with pytest.raises(CellError) as caught:
        parse_money("Shipping Cost", value, decimal_comma=True)
    assert str(caught.value) == (
        f'Shipping Cost "{value}" is not a number (this column writes decimals with a comma, '
        "e.g. 12,50)"
    )


def test_a_decimal_comma_cost_cannot_be_negative() -> None:
    """The sign is kept through the decimal-comma reading."""
    with pytest.raises(CellError, match=r'^Shipping Cost "-4,50 €" cannot be negative$'):
        parse_money("Shipping Cost", "-4,50 €", decimal_comma=True)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["4,50", "12", "", "1.204,50"], True),
        (["4,50 €", "EUR 3,10"], True),
        (["4,50", "4.50"], False),  # a clear decimal point: not consistent
        (["4,50", "1,204.50"], False),
        (["1,500", "1.500", "12"], False),  # nothing says which
        (["4.50", "1,204.50", "$3"], False),
        ([], False),
        (["abc", "4,50"], True),
    ],
)
def test_decimal_comma_column(values: list[str], expected: bool) -> None:
    """True when some distinct value has a decimal comma and none a clear decimal point."""
    assert decimal_comma_column(values) is expected


def test_decimal_comma_column_reads_each_distinct_value_once() -> None:
    """A million rows of a few costs are decided quickly (distinct values only)."""
    values = ["4,50", "12", "1.204,50"] * 333_334
    started = time.perf_counter()
    assert decimal_comma_column(iter(values)) is True
    assert time.perf_counter() - started < 1.0


def test_parse_money_refuses_a_cost_too_large_for_json() -> None:
    """A cost that overflows a float is refused instead of becoming `Infinity` in the body."""
    with pytest.raises(CellError) as caught:
        parse_money("Shipping Cost", "1e400")
    assert str(caught.value) == 'Shipping Cost "1e400" is not a number'


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("TRUE", True),
        ("true", True),
        ("Yes", True),
        ("y", True),
        ("1", True),
        ("x", True),
        ("FALSE", False),
        ("No", False),
        ("n", False),
        ("0", False),
    ],
)
def test_parse_bool_accepts_spreadsheet_spellings(value: str, expected: bool) -> None:
    """TRUE/FALSE, yes/no, y/n, 1/0 and an `x` mark become JSON booleans."""
    assert parse_bool("Suppressed", value) is expected


def test_parse_bool_refuses_other_text() -> None:
    """Anything else is refused with a hint of what to write."""
    with pytest.raises(CellError) as caught:
        parse_bool("Suppressed", "maybe")
    assert str(caught.value) == 'Suppressed "maybe" is not yes/no (use TRUE or FALSE)'
