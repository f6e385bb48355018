"""Tracking-number sanity checks that warn but never reject.

A number that fails its carrier's format or check digit is usually a typo, but carriers add
formats faster than any rule list; so it becomes a `Warnings` cell, not a refusal.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tracking_numbers

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


@functools.lru_cache(maxsize=1024)  # a file names a handful of carriers, a million times
def carrier_code(carrier: str | None) -> str | None:
    """`UPS Ground`, `fedex_2day`, `US Postal Service` → `ups`, `fedex`, `usps`; else None."""
    if not carrier:
        return None
    squashed = "".join(ch for ch in carrier.casefold() if ch.isalnum())
    for name, code in _CARRIER_CODES.items():
        if squashed.startswith(name) or name in squashed:
            return code
    return None


@functools.cache
def _definitions() -> dict[str, list[tracking_numbers.TrackingNumberDefinition]]:
    """The package's formats by courier code, loaded on first use.

    Most files' numbers are certified in bulk (tracking_bulk.py), so many runs never need
    the package's hundred compiled patterns (~30 ms to load).
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


@functools.lru_cache(maxsize=65_536)  # rows of one shipment repeat the same number
def tracking_warning(number: str, carrier: str | None) -> str | None:
    """A warning when the number does not fit the named carrier (or is a broken UPS `1Z…`).

    Only the named carrier's formats are tried: testing every format of every carrier
    for every row was most of the validation time at 100k rows.
    """
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
