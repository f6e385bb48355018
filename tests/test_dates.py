"""dates.py: ship dates in every common form → RFC 3339 UTC, with the column's day/month order.

Every test here runs three times: with the machine's local zone set to UTC, Asia/Tokyo
(UTC+9) and America/Los_Angeles (UTC-8 in winter), so a plain `pytest` covers all three.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import date

import pytest

from batch_uploader import dates
from batch_uploader.dates import (
    DateOrder,
    DateOrderConflict,
    OrderDecision,
    ShipDate,
    decide_order,
    order_evidence,
    parse_ship_date,
)
from batch_uploader.errors import InputError
from batch_uploader.parsing import CellError

TODAY = date(2026, 11, 30)
ZONES = ("UTC", "Asia/Tokyo", "America/Los_Angeles")


@pytest.fixture(params=ZONES, autouse=True)
def zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with this process's local time zone set to each of ZONES."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    dates._ship_date.cache_clear()
    yield request.param
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()
    dates._ship_date.cache_clear()


def ship(value: str, order: DateOrder = "mdy") -> str:
    return parse_ship_date("Shipped At", value, order, today=TODAY).iso


# Dates without a time: noon UTC, the same calendar day in every zone.
@pytest.mark.parametrize(
    ("value", "order", "expected"),
    [
        ("2026-11-26", "mdy", "2026-11-26"),
        ("2026-11-26", "dmy", "2026-11-26"),
        ("20261126", "mdy", "2026-11-26"),  # ISO 8601 basic: UPS WorldShip's Collection Date
        ("11/26/2026", "mdy", "2026-11-26"),
        ("26/11/2026", "dmy", "2026-11-26"),
        ("05/06/2026", "mdy", "2026-05-06"),
        ("05/06/2026", "dmy", "2026-06-05"),
        ("1/5/2026", "mdy", "2026-01-05"),
        ("1/5/2026", "dmy", "2026-05-01"),
        ("11-26-2026", "mdy", "2026-11-26"),
        ("26-11-2026", "dmy", "2026-11-26"),
        ("2026/11/26", "mdy", "2026-11-26"),
        ("2026/1/5", "dmy", "2026-01-05"),
        ("2026-1-5", "mdy", "2026-01-05"),
        ("26.11.2026", "mdy", "2026-11-26"),  # dotted dates are day first in any column
        ("5.1.2026", "dmy", "2026-01-05"),
        ("11/26/26", "mdy", "2026-11-26"),
        ("26/11/26", "dmy", "2026-11-26"),
        ("Nov 26, 2026", "mdy", "2026-11-26"),
        ("Nov 26, 2026", "dmy", "2026-11-26"),
        ("26 Nov 2026", "mdy", "2026-11-26"),
        ("Nov-26-26", "dmy", "2026-11-26"),
        ("26-Nov-2026", "mdy", "2026-11-26"),
        ("26-nov-26", "mdy", "2026-11-26"),
        ("November 26 2026", "mdy", "2026-11-26"),
        ("November 26th, 2026", "mdy", "2026-11-26"),
        ("Sept 3, 2026", "mdy", "2026-09-03"),
        ("3 September 2026", "mdy", "2026-09-03"),
        ("Thu, Nov 26, 2026", "mdy", "2026-11-26"),
        ("Thursday, November 26, 2026", "dmy", "2026-11-26"),
        ("Thu 26 Nov 2026", "dmy", "2026-11-26"),
        ("  2026-11-26 ", "mdy", "2026-11-26"),
    ],
)
def test_a_date_without_time_is_sent_as_noon_utc(
    value: str, order: DateOrder, expected: str
) -> None:
    """A date alone keeps its calendar day: noon UTC, whatever the machine's zone."""
    assert ship(value, order) == f"{expected}T12:00:00Z"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-26T16:15:00Z", "2026-11-26T16:15:00Z"),
        ("2026-11-26T16:15:00+00:00", "2026-11-26T16:15:00Z"),
        ("2026-11-26T16:15:00+02:00", "2026-11-26T14:15:00Z"),
        ("2026-11-26T23:30:00-05:00", "2026-11-27T04:30:00Z"),
        ("2026-11-26 16:15:00-08:00", "2026-11-27T00:15:00Z"),
        ("2026-11-26T16:15:00.750Z", "2026-11-26T16:15:00Z"),
        ("2026-11-26T16:15Z", "2026-11-26T16:15:00Z"),
        ("11/26/2026 4:15 PM UTC", "2026-11-26T16:15:00Z"),
        ("11/26/2026 16:15 GMT", "2026-11-26T16:15:00Z"),
        ("11/26/2026 16:15 -0500", "2026-11-26T21:15:00Z"),
        ("Nov 26, 2026 4:15 PM +09:00", "2026-11-26T07:15:00Z"),
    ],
)
def test_a_time_with_an_offset_is_converted_to_utc(value: str, expected: str) -> None:
    """A written offset (`Z`, `UTC`, `+02:00`, `-0500`) decides, not the machine's zone."""
    assert ship(value) == expected


# Times without an offset are the machine's local time: expected UTC text per zone.
@pytest.mark.parametrize(
    ("value", "order", "utc", "tokyo", "los_angeles"),
    [
        (
            "11/26/2026 4:15 PM",
            "mdy",
            "2026-11-26T16:15:00Z",
            "2026-11-26T07:15:00Z",
            "2026-11-27T00:15:00Z",
        ),
        (
            "26/11/2026 16:15",
            "dmy",
            "2026-11-26T16:15:00Z",
            "2026-11-26T07:15:00Z",
            "2026-11-27T00:15:00Z",
        ),
        (
            "2026-11-26 16:15:30",  # the text an Excel date-time cell is read as
            "mdy",
            "2026-11-26T16:15:30Z",
            "2026-11-26T07:15:30Z",
            "2026-11-27T00:15:30Z",
        ),
        (
            "2026-11-26T16:15",
            "dmy",
            "2026-11-26T16:15:00Z",
            "2026-11-26T07:15:00Z",
            "2026-11-27T00:15:00Z",
        ),
        (
            "11/26/2026 12:05 AM",
            "mdy",
            "2026-11-26T00:05:00Z",
            "2026-11-25T15:05:00Z",
            "2026-11-26T08:05:00Z",
        ),
        (
            "11/26/2026 12:05 PM",
            "mdy",
            "2026-11-26T12:05:00Z",
            "2026-11-26T03:05:00Z",
            "2026-11-26T20:05:00Z",
        ),
        (
            "Thu, Nov 26, 2026 4:15 p.m.",
            "mdy",
            "2026-11-26T16:15:00Z",
            "2026-11-26T07:15:00Z",
            "2026-11-27T00:15:00Z",
        ),
        (
            "26.11.2026 4 PM",
            "mdy",
            "2026-11-26T16:00:00Z",
            "2026-11-26T07:00:00Z",
            "2026-11-27T00:00:00Z",
        ),
        (
            "2026-11-26 4:15 PM",
            "mdy",
            "2026-11-26T16:15:00Z",
            "2026-11-26T07:15:00Z",
            "2026-11-27T00:15:00Z",
        ),
        (
            "26-Nov-2026 at 16:15:30",
            "dmy",
            "2026-11-26T16:15:30Z",
            "2026-11-26T07:15:30Z",
            "2026-11-27T00:15:30Z",
        ),
        (
            "7/4/2026 9:00 AM",  # summer: Los Angeles is UTC-7
            "mdy",
            "2026-07-04T09:00:00Z",
            "2026-07-04T00:00:00Z",
            "2026-07-04T16:00:00Z",
        ),
    ],
)
def test_a_time_without_offset_is_the_machines_local_time(
    zone: str, value: str, order: DateOrder, utc: str, tokyo: str, los_angeles: str
) -> None:
    """A time as the clerk wrote it (12- or 24-hour) is local time, converted to UTC."""
    expected = {"UTC": utc, "Asia/Tokyo": tokyo, "America/Los_Angeles": los_angeles}[zone]
    assert ship(value, order) == expected


@pytest.mark.parametrize(
    ("value", "order", "reason"),
    [
        ("31/02/2026", "dmy", "February 2026 has no day 31"),
        ("02/31/2026", "mdy", "February 2026 has no day 31"),
        ("29.02.2027", "mdy", "February 2027 has no day 29"),
        ("2026-02-30", "mdy", "February 2026 has no day 30"),
        ("2026-13-01", "dmy", "there is no month 13"),
        ("Feb 30, 2026", "mdy", "February 2026 has no day 30"),
        ("13/13/2026", "dmy", "there is no month 13"),
        ("Fri, Nov 26, 2026", "mdy", "it says Friday, but Nov 26, 2026 is a Thursday"),
    ],
)
def test_an_impossible_date_is_refused(value: str, order: DateOrder, reason: str) -> None:
    """A date that does not exist is refused, saying what does not exist."""
    with pytest.raises(CellError) as caught:
        ship(value, order)
    assert str(caught.value) == f'Shipped At "{value}" is not a real date ({reason})'


@pytest.mark.parametrize(
    ("value", "order", "hint"),
    [
        ("26/11/2026", "mdy", "if this file writes the day first, use --date-order dmy"),
        ("11/26/2026", "dmy", "if this file writes the month first, use --date-order mdy"),
    ],
)
def test_a_date_that_fits_the_other_order_says_which_option_reads_it(
    value: str, order: DateOrder, hint: str
) -> None:
    """A day-first date read month first (or the reverse) names the --date-order that fits."""
    with pytest.raises(CellError) as caught:
        ship(value, order)
    assert str(caught.value).endswith(f"; {hint}")


@pytest.mark.parametrize(
    ("order", "examples"),
    [
        ("mdy", "2026-11-26, 11/26/2026, 11/26/2026 4:15 PM, Nov 26, 2026"),
        ("dmy", "2026-11-26, 26/11/2026, 26.11.2026 16:15, 26 Nov 2026"),
    ],
)
@pytest.mark.parametrize(
    "value",
    [
        "soon",
        "",
        "11/06/2026 13:15 PM",
        "11/06/2026 0:15 AM",
        "11/06/2026 25:00",
        "11/06/2026 4",
        "Smarch 3, 2026",
        "Nov 26",
        "11/26/202",
        "46352",
        "11/06/2026 4:15 PM +25:00",
    ],
)
def test_unreadable_text_is_refused_with_the_forms_that_work(
    value: str, order: DateOrder, examples: str
) -> None:
    """The reason names the column and value, and shows forms in the column's order."""
    with pytest.raises(CellError) as caught:
        ship(value, order)
    assert str(caught.value) == (
        f'Shipped At "{value}" is not a date/time (use {examples} or 2026-11-26T16:15:00Z)'
    )


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"])
def test_a_date_outside_the_calendar_in_utc_is_refused(value: str) -> None:
    """A time with no UTC equivalent is a row reason, not a traceback."""
    with pytest.raises(CellError, match="is not a real date"):
        ship(value)


@pytest.mark.parametrize(
    ("value", "warned"),
    [
        ("2026-11-30", False),
        ("2025-11-29", False),  # 366 days back
        ("2025-11-28", True),
        ("2027-12-01", False),  # 366 days ahead
        ("2027-12-02", True),
        ("11/26/16", True),
        ("1/1/2099 4:15 PM", True),
    ],
)
def test_a_date_more_than_a_year_from_today_is_a_warning(value: str, warned: bool) -> None:
    """A far date (usually a wrong year) is sent, with a warning for the workbook."""
    result = parse_ship_date("Ship Date", value, "mdy", today=TODAY)
    assert isinstance(result, ShipDate)
    expected = f'Ship Date "{value}" is more than a year from today' if warned else None
    assert result.warning == expected


def test_refusals_and_answers_are_remembered_per_distinct_value() -> None:
    """Each distinct (value, order, zone, today) is parsed once, refusals included."""
    dates._ship_date.cache_clear()
    for _ in range(3):
        ship("11/26/2026")
        with pytest.raises(CellError):
            ship("soon")
    info = dates._ship_date.cache_info()
    assert (info.misses, info.hits) == (2, 4)


@pytest.mark.parametrize(
    ("value", "evidence"),
    [
        ("31/05/2026", "dmy"),
        ("13-01-26", "dmy"),
        ("05/31/2026", "mdy"),
        ("1/13/2026 4:15 PM", "mdy"),
        ("05/06/2026", None),
        ("12/12/2026", None),
        ("2026-05-31", None),
        ("2026/05/31", None),
        ("31.05.2026", None),
        ("May 31, 2026", None),
        ("31 May 2026", None),
        ("45/05/2026", None),
        ("13/13/2026", None),
        ("", None),
    ],
)
def test_order_evidence_of_one_value(value: str, evidence: DateOrder | None) -> None:
    """Only a numeric day-month-year value with a part from 13 to 31 tells the order."""
    assert order_evidence(value) == evidence


def test_decide_order_follows_the_values() -> None:
    """A day-first value decides dmy, and the decision says which value showed it."""
    decision = decide_order(
        ["05/06/2026", "31/05/2026", "01/02/2026"],
        column="Ship Date",
        option="auto",
        profile_order="mdy",
    )
    assert decision == OrderDecision("dmy", 'the values (first part 31 in "31/05/2026")')
    decision = decide_order(
        ["05/06/2026", "05/31/2026"], column="D", option="auto", profile_order=None
    )
    assert decision == OrderDecision("mdy", 'the values (second part 31 in "05/31/2026")')


def test_decide_order_falls_back_to_the_profile_then_month_first() -> None:
    """Values that say nothing leave the order to the profile, then to month first."""
    values = ["05/06/2026", "2026-05-31", "May 31, 2026"]
    assert decide_order(values, column="D", option="auto", profile_order="dmy") == OrderDecision(
        "dmy", "the format's profile"
    )
    assert decide_order(values, column="D", option="auto", profile_order=None) == OrderDecision(
        "mdy", "default (month first)"
    )


@pytest.mark.parametrize("option", ["mdy", "dmy"])
def test_the_option_wins_over_values_and_profile(option: DateOrder) -> None:
    """--date-order decides, even against the values (each is then read or refused)."""
    decision = decide_order(
        ["31/05/2026", "05/31/2026"], column="D", option=option, profile_order="mdy"
    )
    assert decision == OrderDecision(option, "--date-order")


def test_mixed_orders_are_refused_naming_the_column_and_two_values() -> None:
    """Day-first and month-first values in one column: exit 2, naming both and the option."""
    with pytest.raises(DateOrderConflict) as caught:
        decide_order(
            ["05/06/2026", "05/31/2026", "31/05/2026", "30/05/2026"],
            column="Ship Date",
            option="auto",
            profile_order=None,
        )
    assert isinstance(caught.value, InputError)
    assert caught.value.exit_code == 2
    assert str(caught.value) == (
        'Ship Date mixes day-first dates ("31/05/2026") and month-first dates ("05/31/2026"), '
        "so a date like 05/06/2026 cannot be read safely: correct the column, or say which "
        "order it uses with --date-order dmy or --date-order mdy"
    )


def test_decide_order_looks_at_each_distinct_value_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A million rows of a few dates cost a few checks, not a million."""
    seen: list[str] = []
    real = dates.order_evidence

    def counting(value: str) -> DateOrder | None:
        seen.append(value)
        return real(value)

    monkeypatch.setattr(dates, "order_evidence", counting)
    values = ["05/06/2026", "31/05/2026", "2026-05-31"] * 333_334
    started = time.perf_counter()
    decision = decide_order(iter(values), column="D", option="auto", profile_order=None)
    assert decision.order == "dmy"
    assert sorted(seen) == sorted({"05/06/2026", "31/05/2026", "2026-05-31"})
    assert time.perf_counter() - started < 1.0
