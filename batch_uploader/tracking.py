"""Tracking-number sanity checks that warn but never reject.

A number that fails its carrier's format or check digit is usually a typo, but carriers add
formats faster than any rule list; so it becomes a `Warnings` cell, not a refusal.
"""

from __future__ import annotations

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


def carrier_code(carrier: str | None) -> str | None:
    """`UPS Ground`, `fedex_2day`, `US Postal Service` → `ups`, `fedex`, `usps`; else None."""
    if not carrier:
        return None
    squashed = "".join(ch for ch in carrier.casefold() if ch.isalnum())
    for name, code in _CARRIER_CODES.items():
        if squashed.startswith(name) or name in squashed:
            return code
    return None


def tracking_warning(number: str, carrier: str | None) -> str | None:
    """A warning when the number does not fit the named carrier (or is a broken UPS `1Z…`)."""
    code = carrier_code(carrier)
    found = tracking_numbers.get_tracking_number(number.replace(" ", ""))
    found_code = found.courier.code if found is not None else None
    # International postal numbers (S10, e.g. LZ123456789US) are carried by USPS too.
    accepted = {code, "s10"} if code == "usps" else {code}
    if code is not None and found_code not in accepted:
        return (
            f'Tracking Number "{number}" does not look like a valid {carrier} tracking number '
            f"(format or check digit); check it before the customer does"
        )
    if code is None and found is None and number.upper().startswith("1Z"):
        return (
            f'Tracking Number "{number}" looks like UPS but fails the UPS check digit; '
            f"check it before the customer does"
        )
    return None
