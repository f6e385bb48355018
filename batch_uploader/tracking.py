"""Tracking-number sanity checks that warn but never reject, and cells holding several numbers.

A number that fails its carrier's format or check digit is usually a typo, but carriers add
formats faster than any rule list; so it becomes a `Warnings` cell, not a refusal.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tracking_numbers

MIN_TRACKING_CHARS = 8
"""A part of a cell shorter than this is not a tracking number of its own (`9400` of a
USPS number printed in groups, `ABC 123`)."""
MIN_TRACKING_DIGITS = 5
_HARD_SEPARATORS = re.compile(r"\s*[,;/\r\n]+\s*")

# Carrier names as clerks type them → the courier codes of the tracking-numbers package.
_CARRIER_CODES = {
    "ups": "ups",
    "unitedparcel": "ups",
    "fedex": "fedex",
    "federalexpress": "fedex",
    "usps": "usps",
    "postalservice": "usps",
    "uspostal": "usps",
    "dhl": "dhl",
}
# DHL's parcel networks number their parcels their own way, not as DHL Express does.
_NOT_CHECKED = ("dhlecommerce", "dhlglobalmail", "dhlparcel", "dhlpaket")


@functools.lru_cache(maxsize=1024)  # a file names a handful of carriers, a million times
def carrier_code(carrier: str | None) -> str | None:
    """`UPS Ground`, `fedex_2day`, `US Postal Service` → `ups`, `fedex`, `usps`; else None.

    None also for DHL eCommerce (`dhl_global_mail`): its numbers are not DHL Express's.
    """
    if not carrier:
        return None
    squashed = "".join(ch for ch in carrier.casefold() if ch.isalnum())
    if any(name in squashed for name in _NOT_CHECKED):
        return None
    for name, code in _CARRIER_CODES.items():
        if squashed.startswith(name) or name in squashed:
            return code
    return None


@functools.cache
def _definitions() -> dict[str, list[tracking_numbers.TrackingNumberDefinition]]:
    """The package's formats by courier code, loaded on first use (~30 ms).

    A file whose carriers are unknown and whose numbers are not UPS-like never needs them.
    """
    import tracking_numbers

    grouped: dict[str, list[tracking_numbers.TrackingNumberDefinition]] = {}
    for definition in tracking_numbers.DEFINITIONS:
        grouped.setdefault(definition.courier.code, []).append(definition)
    return grouped


def _valid_for(number: str, codes: tuple[str, ...]) -> bool:
    """Whether the number passes the format and check digit of any of these couriers."""
    for code in codes:
        for definition in _definitions().get(code, ()):
            try:
                found = definition.test(number)
            except ValueError:
                # tracking-numbers 0.1.8's UPS pattern lets a letter be the check digit and
                # then calls int() on it (`1Z999AA1012345678A`): not a valid number.
                continue
            if found is not None and found.valid:
                return True
    return False


@functools.lru_cache(maxsize=65_536)  # rows of one shipment repeat the same cell
def split_tracking_numbers(value: str) -> tuple[str, ...]:
    """The tracking numbers of one cell: `1Z…679, 1Z…683` → two; `ABC 123` → one, unsplit.

    A cell is split on commas, semicolons, slashes or line breaks, or else on spaces, only
    when every part is a plausible tracking number of its own (8+ letters and digits, 5+
    digits). A cell whose spaces only group one number (`9400 1000 0000 0000 0000 00`, or
    any cell that is a valid number once its spaces are removed) stays one number. Parts
    are returned as written, trimmed; an empty cell gives ().
    """
    text = value.strip()
    if not text:
        return ()
    parts = [part for part in _HARD_SEPARATORS.split(text) if part]
    if len(parts) > 1:
        plausible = all(_plausible(part.replace(" ", "")) for part in parts)
        return tuple(parts) if plausible else (text,)
    parts = text.split()
    if len(parts) == 1 or _valid_anywhere("".join(parts)):
        return (text,)
    return tuple(parts) if all(_plausible(part) for part in parts) else (text,)


def _plausible(part: str) -> bool:
    """8+ ASCII letters and digits, at least 5 of them digits."""
    return (
        len(part) >= MIN_TRACKING_CHARS
        and part.isascii()
        and part.isalnum()
        and sum(ch.isdigit() for ch in part) >= MIN_TRACKING_DIGITS
    )


def _valid_anywhere(number: str) -> bool:
    """Whether the number passes the format and check digit of any carrier."""
    return _valid_for(number, tuple(_definitions()))


@functools.lru_cache(maxsize=65_536)  # rows of one shipment repeat the same number
def tracking_warning(number: str, carrier: str | None) -> str | None:
    """A warning when a number does not fit the named carrier (or is a broken UPS `1Z…`).

    A cell holding several numbers (`split_tracking_numbers`) is checked number by number;
    the warning names only the numbers that fail. Only the named carrier's formats are
    tried: testing every format of every carrier for every row was most of the validation
    time at 100k rows.
    """
    numbers = split_tracking_numbers(number)
    if len(numbers) <= 1:
        return _warning(number, carrier)
    warnings = [w for part in numbers if (w := _warning(part, carrier)) is not None]
    return "; ".join(warnings) or None


def _warning(number: str, carrier: str | None) -> str | None:
    """tracking_warning for one number."""
    code = carrier_code(carrier)
    compact = number.replace(" ", "")
    if code is not None:
        # International postal numbers (S10, e.g. LZ123456789US) are carried by USPS too.
        codes = (code, "s10") if code == "usps" else (code,)
        if not _valid_for(compact, codes):
            return (
                f'Tracking Number "{number}" does not look like a valid {carrier} tracking '
                f"number (format or check digit); check it before the customer does"
            )
        return None
    if compact.upper().startswith("1Z") and not _valid_for(compact, ("ups",)):
        return (
            f'Tracking Number "{number}" looks like UPS but fails the UPS check digit; '
            f"check it before the customer does"
        )
    return None
