"""Ship dates as clerks and shipping software write them → RFC 3339 in UTC.

Guarantees:
- Every form below is read the same way whatever the machine's time zone, except a time
  without an offset, which is the local time of the machine running the upload (the clerk's).
- A date without a time is sent as noon UTC (`2026-11-26T12:00:00Z`), so it keeps its calendar
  day in every time zone from UTC-11 to UTC+11, on any machine.
- Day/month order is never guessed per value: a column has one order (`decide_order`), and a
  column whose values contradict each other is refused as a whole (`DateOrderConflict`).
- An impossible date (`31/02/2026`) is refused; a date more than a year from today is sent
  with a warning, since back-dated and pre-dated shipments are real.

Accepted: ISO 8601 (`2026-11-26`, `2026-11-26T16:15:00Z`, `2026-11-26 16:15:00+02:00`, which
is also the text Excel date cells are read as), `m/d/yyyy`, `d/m/yyyy`, `m-d-yyyy`,
`d-m-yyyy` (per the column's order), `yyyy/m/d`, `d.m.yyyy` (always day first), English month
names (`Nov 26, 2026`, `26 Nov 2026`, `Nov-26-26`, `26-Nov-2026`, `November 26th 2026`, with an
optional weekday: `Thu, Nov 26, 2026`), two-digit years (`26` is 2026), and an optional
12- or 24-hour time (`4:15 PM`, `4 PM`, `16:15`, `16:15:30`) with an optional offset
(`Z`, `UTC`, `GMT`, `+02:00`, `-0800`).
"""

from __future__ import annotations

import functools
import re
import time as time_module
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Literal

from batch_uploader.errors import InputError
from batch_uploader.parsing import CellError

DateOrder = Literal["mdy", "dmy"]
DateOrderOption = Literal["auto", "mdy", "dmy"]

DEFAULT_ORDER: DateOrder = "mdy"
"""Order of a column whose values and profile say nothing: the US exports most files come from."""
DATE_ONLY_UTC_HOUR = 12
"""A date without a time is sent at this hour UTC: the same calendar day from UTC-11 to UTC+11."""
FAR_FROM_TODAY_DAYS = 366
"""A ship date further than this from today is sent with a warning (usually a wrong year)."""
TWO_DIGIT_YEAR_BASE = 2000
"""`26` is 2026: a two-digit ship year is this century, as Excel reads it."""
SHIP_DATE_CACHE_SIZE = 16_384
"""Distinct (value, order, zone, today) answers remembered; a file repeats a few dates."""
RFC3339_UTC = "%Y-%m-%dT%H:%M:%SZ"

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_WEEKDAYS = {
    name: number
    for number, names in enumerate(
        (
            ("mon", "monday"),
            ("tue", "tues", "tuesday"),
            ("wed", "weds", "wednesday"),
            ("thu", "thur", "thurs", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        )
    )
    for name in names
}
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES: tuple[str, ...] = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
)
_MONTH_NAMES += ("September", "October", "November", "December")

_WEEKDAY = r"(?:(?P<wd>[a-z]{3,9})\.?,?\s+)?"
_TIME = (
    r"(?:(?:\s*[t,]\s*|\s+(?:at\s+)?)"
    r"(?P<H>\d{1,2})(?::(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d{1,9})?)?)?"
    r"\s*(?P<ampm>[ap]\.?m\.?)?"
    r"\s*(?P<tz>z|utc|gmt|[+-]\d{2}(?::?\d{2})?)?)?"
)
_DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?"
_YEAR_SEP = r"(?:,\s*|[\s/-]+)"
_NUMERIC = re.compile(
    rf"^{_WEEKDAY}(?P<a>\d{{1,4}})(?P<sep>[/.-])(?P<b>\d{{1,2}})(?P=sep)(?P<c>\d{{1,4}}){_TIME}$",
    re.IGNORECASE,
)
_MONTH_FIRST = re.compile(
    rf"^{_WEEKDAY}(?P<mon>[a-z]{{3,9}})\.?[\s/-]*{_DAY}{_YEAR_SEP}(?P<y>\d{{4}}|\d{{2}}){_TIME}$",
    re.IGNORECASE,
)
_DAY_FIRST = re.compile(
    rf"^{_WEEKDAY}{_DAY}[\s/-]*(?P<mon>[a-z]{{3,9}})\.?{_YEAR_SEP}(?P<y>\d{{4}}|\d{{2}}){_TIME}$",
    re.IGNORECASE,
)
# What one value says about the order: two 1-2 digit parts, then the year, split by / or -.
_ORDER_EVIDENCE = re.compile(r"^\s*(\d{1,2})([/-])(\d{1,2})\2(?:\d{4}|\d{2})(?:$|[\sTt,])")
_LAST_DAY_OF_MONTH = 31
_LAST_MONTH = 12
_ORDERS: tuple[DateOrder, ...] = ("mdy", "dmy")
_YEAR_DIGITS = 4
_SHORT_YEAR_DIGITS = 2
_HOURS_ON_A_CLOCK = 12


class DateOrderConflict(InputError):
    """A date column holds both day-first and month-first values: no order reads it (exit 2)."""


@dataclass(frozen=True)
class OrderDecision:
    """The day/month order chosen for one column, and what decided it (shown to the user)."""

    order: DateOrder
    decided_by: str


@dataclass(frozen=True)
class ShipDate:
    """A ship date as sent (`iso`, RFC 3339 UTC) and a warning for the workbook, if any."""

    iso: str
    warning: str | None


@dataclass(frozen=True, slots=True)
class _Reading:
    """A value as written: naive = the machine's local time; aware = its own offset."""

    stamp: datetime
    has_time: bool


class _Unreadable(ValueError):
    """The value is not a date; `detail` says why when it looks like one (`no day 31`)."""

    def __init__(self, detail: str | None = None, *, swapped: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.swapped = swapped  # the other day/month order would read it


def order_evidence(value: str) -> DateOrder | None:
    """What one value says about day/month order: `31/05/2026` → "dmy", `05/31/2026` → "mdy".

    Only numeric dates split by `/` or `-` with the year last say anything, and only when one
    of the first two parts is 13 to 31; month names, year-first and dotted dates say nothing.
    """
    match = _ORDER_EVIDENCE.match(value)
    if match is None:
        return None
    first, second = int(match[1]), int(match[3])
    if _LAST_MONTH < first <= _LAST_DAY_OF_MONTH and 1 <= second <= _LAST_MONTH:
        return "dmy"
    if _LAST_MONTH < second <= _LAST_DAY_OF_MONTH and 1 <= first <= _LAST_MONTH:
        return "mdy"
    return None


def decide_order(
    values: Iterable[str],
    *,
    column: str,
    option: DateOrderOption,
    profile_order: DateOrder | None,
) -> OrderDecision:
    """The order to read a column with: `--date-order`, else its values, else the profile.

    With `option="auto"`, a column holding a day-first value (`31/05/2026`) and a month-first
    one (`05/31/2026`) raises `DateOrderConflict` naming both. Each distinct value is looked
    at once, so a million rows of a few dates cost a set, not a million checks.
    """
    if option != "auto":
        return OrderDecision(option, "--date-order")
    examples: dict[DateOrder, str] = {}
    for value in dict.fromkeys(values):  # distinct, in file order (stable messages)
        evidence = order_evidence(value)
        if evidence is not None and evidence not in examples:
            examples[evidence] = value.strip()
            if len(examples) == len(_ORDERS):  # both orders seen
                msg = (
                    f'{column} mixes day-first dates ("{examples["dmy"]}") and month-first '
                    f'dates ("{examples["mdy"]}"), so a date like 05/06/2026 cannot be read '
                    "safely: correct the column, or say which order it uses with "
                    "--date-order dmy or --date-order mdy"
                )
                raise DateOrderConflict(msg)
    if "dmy" in examples:
        example = examples["dmy"]
        return OrderDecision("dmy", f'the values (first part {_part(example, 0)} in "{example}")')
    if "mdy" in examples:
        example = examples["mdy"]
        return OrderDecision("mdy", f'the values (second part {_part(example, 1)} in "{example}")')
    if profile_order is not None:
        return OrderDecision(profile_order, "the format's profile")
    return OrderDecision(DEFAULT_ORDER, "default (month first)")


def _part(value: str, index: int) -> int:
    return int(re.split(r"[/-]", value, maxsplit=2)[index])


def parse_ship_date(column: str, value: str, order: DateOrder, *, today: date) -> ShipDate:
    """`value` as RFC 3339 UTC (`2026-11-26T21:15:00Z`), read with the column's `order`.

    Raises `CellError` naming the column and value, with forms that would work. Answers
    are remembered per distinct value, order, local time zone and today, refusals included.
    """
    answer = _ship_date(column, value, order, today, time_module.timezone, time_module.altzone)
    if isinstance(answer, str):
        raise CellError(answer)
    return answer


@functools.lru_cache(maxsize=SHIP_DATE_CACHE_SIZE)
def _ship_date(
    column: str, value: str, order: DateOrder, today: date, _tz: int, _alt_tz: int
) -> ShipDate | str:
    """parse_ship_date's answer, or the refusal's message (so refusals are cached too)."""
    try:
        reading = _read(value.strip(), order)
        iso = (
            _utc_text(reading.stamp)
            if reading.has_time
            else f"{reading.stamp.date().isoformat()}T{DATE_ONLY_UTC_HOUR:02d}:00:00Z"
        )
    except _Unreadable as exc:
        return _refusal(column, value, order, exc)
    warning = None
    if abs((reading.stamp.date() - today).days) > FAR_FROM_TODAY_DAYS:
        warning = f'{column} "{value}" is more than a year from today'
    return ShipDate(iso, warning)


def _utc_text(stamp: datetime) -> str:
    """An aware or local (naive) time as RFC 3339 UTC; no UTC equivalent → _Unreadable."""
    try:
        if stamp.tzinfo is None:
            stamp = stamp.astimezone()  # naive → this machine's local time zone
        return stamp.astimezone(UTC).strftime(RFC3339_UTC)
    except (OverflowError, ValueError, OSError) as exc:  # year 1 or 9999 across a zone
        raise _Unreadable("it is outside the calendar once converted to UTC") from exc


def _refusal(column: str, value: str, order: DateOrder, exc: _Unreadable) -> str:
    if exc.detail is None:
        examples = (
            "2026-11-26, 11/26/2026, 11/26/2026 4:15 PM, Nov 26, 2026"
            if order == "mdy"
            else "2026-11-26, 26/11/2026, 26.11.2026 16:15, 26 Nov 2026"
        )
        return f'{column} "{value}" is not a date/time (use {examples} or 2026-11-26T16:15:00Z)'
    msg = f'{column} "{value}" is not a real date ({exc.detail})'
    if exc.swapped:
        other, first = ("dmy", "day") if order == "mdy" else ("mdy", "month")
        msg += f"; if this file writes the {first} first, use --date-order {other}"
    return msg


def _read(value: str, order: DateOrder) -> _Reading:
    """The date/time a value writes, or _Unreadable."""
    iso = _read_iso(value)
    if iso is not None:
        return iso
    numeric = _NUMERIC.match(value)
    match = numeric or _MONTH_FIRST.match(value) or _DAY_FIRST.match(value)
    if match is None:
        raise _Unreadable
    if numeric is not None:
        year, month, day, swappable = _numeric_parts(match, order)
    else:
        month = _MONTHS.get(match["mon"].casefold(), 0)
        if not month:
            raise _Unreadable
        year, day, swappable = _full_year(match["y"]), int(match["d"]), False
    day_value = _calendar_day(year, month, day, swappable)
    _check_weekday(match["wd"], day_value)
    if match["H"] is None:
        return _Reading(datetime(day_value.year, day_value.month, day_value.day), False)
    return _Reading(_with_time(day_value, match), True)


def _read_iso(value: str) -> _Reading | None:
    """ISO 8601, and the `YYYY-MM-DD[ HH:MM:SS]` text Excel date cells are read as.

    The basic form `20261126` (UPS WorldShip's Collection Date) is ISO 8601 too.
    """
    if len(value) == len("20261126") and value.isdigit() and value.startswith(("19", "20")):
        value = f"{value[:4]}-{value[4:6]}-{value[6:]}"
    if len(value) < len("2026-11-26") or not value[:4].isdigit():
        return None
    try:
        if len(value) == len("2026-11-26"):
            day = date.fromisoformat(value)
            return _Reading(datetime(day.year, day.month, day.day), False)
        return _Reading(datetime.fromisoformat(value), True)
    except ValueError:
        return None


def _numeric_parts(match: re.Match[str], order: DateOrder) -> tuple[int, int, int, bool]:
    """(year, month, day, whether the other order would fit) of `a?b?c` with one separator."""
    a, b, c = match["a"], match["b"], match["c"]
    if len(a) == _YEAR_DIGITS:  # yyyy/m/d: year first is never ambiguous
        if len(c) > _SHORT_YEAR_DIGITS:
            raise _Unreadable
        return int(a), int(b), int(c), False
    if len(a) > _SHORT_YEAR_DIGITS or len(c) not in (_SHORT_YEAR_DIGITS, _YEAR_DIGITS):
        raise _Unreadable
    year = _full_year(c)
    if match["sep"] == ".":  # d.m.yyyy: nobody writes the month first with dots
        return year, int(b), int(a), False
    if order == "dmy":
        return year, int(b), int(a), True
    return year, int(a), int(b), True


def _full_year(text: str) -> int:
    year = int(text)
    return TWO_DIGIT_YEAR_BASE + year if len(text) == _SHORT_YEAR_DIGITS else year


def _calendar_day(year: int, month: int, day: int, swappable: bool) -> date:
    """The date, or _Unreadable saying what does not exist (and whether swapping helps)."""
    try:
        return date(year, month, day)
    except ValueError:
        pass
    swapped = swappable and _exists(year, day, month)
    if not 1 <= month <= _LAST_MONTH:
        raise _Unreadable(f"there is no month {month}", swapped=swapped)
    if year < 1:
        raise _Unreadable(f"there is no year {year}")
    raise _Unreadable(f"{_MONTH_NAMES[month - 1]} {year} has no day {day}", swapped=swapped)


def _exists(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _check_weekday(written: str | None, day: date) -> None:
    if written is None:
        return
    weekday = _WEEKDAYS.get(written.casefold())
    if weekday is None:
        raise _Unreadable
    if weekday != day.weekday():
        detail = (
            f"it says {_WEEKDAY_NAMES[weekday]}, but {day:%b} {day.day}, {day.year} "
            f"is a {_WEEKDAY_NAMES[day.weekday()]}"
        )
        raise _Unreadable(detail)


def _with_time(day: date, match: re.Match[str]) -> datetime:
    """The day at the matched time (12- or 24-hour), with its offset if one is written."""
    hour, minute, second = int(match["H"]), int(match["M"] or 0), int(match["S"] or 0)
    ampm = (match["ampm"] or "").replace(".", "").casefold()
    if not ampm and match["M"] is None:
        raise _Unreadable  # a lone number after the date is not a time
    if ampm:
        if not 1 <= hour <= _HOURS_ON_A_CLOCK:
            raise _Unreadable
        hour = hour % _HOURS_ON_A_CLOCK + (_HOURS_ON_A_CLOCK if ampm == "pm" else 0)
    try:
        stamp = datetime(day.year, day.month, day.day, hour, minute, second)
    except ValueError:
        raise _Unreadable from None
    offset = (match["tz"] or "").casefold()
    if not offset:
        return stamp
    if offset in ("z", "utc", "gmt"):
        return stamp.replace(tzinfo=UTC)
    digits = offset[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:] or 0)
    if minutes >= 24 * 60:
        raise _Unreadable
    sign = -1 if offset[0] == "-" else 1
    return stamp.replace(tzinfo=timezone(sign * timedelta(minutes=minutes)))
