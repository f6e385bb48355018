"""tracking.py: tracking-number sanity checks that warn but never refuse."""

from __future__ import annotations

import pytest

from batch_uploader.tracking import carrier_code, tracking_warning

UPS_OK = "1Z999AA10123456784"
UPS_BAD = "1Z999AA10123456785"  # last digit is not the check digit
FEDEX_OK = "449044304137821"
USPS_OK = "9400111899223100012348"
USPS_BAD = "9400111899223100012345"
S10_OK = "EA123456785US"  # international postal (S10), carried by USPS
DHL_OK = "3318810025"


def mismatch(number: str, carrier: str) -> str:
    return (
        f'Tracking Number "{number}" does not look like a valid {carrier} tracking number '
        "(format or check digit); check it before the customer does"
    )


@pytest.mark.parametrize(
    ("carrier", "code"),
    [
        ("UPS", "ups"),
        ("UPS Ground", "ups"),
        ("ups_ground", "ups"),
        ("United Parcel Service", "ups"),
        ("FedEx", "fedex"),
        ("fedex_2day", "fedex"),
        ("Federal Express", "fedex"),
        ("USPS", "usps"),
        ("US Postal Service", "usps"),
        ("U.S. Postal Service", "usps"),
        ("DHL Express", "dhl"),
        ("OnTrac", None),
        ("Acme Freight", None),
        ("", None),
        (None, None),
    ],
)
def test_carrier_code_recognises_how_clerks_write_carriers(
    carrier: str | None, code: str | None
) -> None:
    """Common spellings of UPS, FedEx, USPS and DHL map to one code; others to None."""
    assert carrier_code(carrier) == code


@pytest.mark.parametrize(
    ("number", "carrier"),
    [
        (UPS_OK, "UPS"),
        ("1Z 999 AA1 01 2345 6784", "UPS Ground"),
        (FEDEX_OK, "FedEx"),
        (USPS_OK, "USPS"),
        (S10_OK, "USPS"),
        (DHL_OK, "DHL"),
        ("anything-at-all", "OnTrac"),
        ("anything-at-all", None),
        (USPS_BAD, None),
    ],
    ids=[
        "ups",
        "ups-with-spaces",
        "fedex",
        "usps",
        "usps-international",
        "dhl",
        "unknown-carrier",
        "no-carrier",
        "no-carrier-not-ups",
    ],
)
def test_no_warning_when_nothing_contradicts_the_number(number: str, carrier: str | None) -> None:
    """A number that fits its carrier, or that nothing can be checked against, is not flagged."""
    assert tracking_warning(number, carrier) is None


@pytest.mark.parametrize(
    ("number", "carrier"),
    [
        (UPS_BAD, "UPS"),
        (UPS_OK, "FedEx"),
        (FEDEX_OK, "UPS"),
        (USPS_BAD, "USPS"),
        (S10_OK, "UPS"),
        ("12345", "DHL Express"),
    ],
    ids=[
        "ups-check-digit",
        "ups-as-fedex",
        "fedex-as-ups",
        "usps-check-digit",
        "s10-as-ups",
        "short",
    ],
)
def test_warns_when_the_number_does_not_fit_the_named_carrier(number: str, carrier: str) -> None:
    """A wrong check digit or another carrier's format is warned about, naming the carrier."""
    assert tracking_warning(number, carrier) == mismatch(number, carrier)


@pytest.mark.parametrize("number", [UPS_BAD, UPS_BAD.lower()])
def test_warns_on_a_broken_ups_number_even_without_carrier(number: str) -> None:
    """A `1Z…` number failing the UPS check digit is flagged when no carrier is named."""
    assert tracking_warning(number, None) == (
        f'Tracking Number "{number}" looks like UPS but fails the UPS check digit; '
        "check it before the customer does"
    )


@pytest.mark.parametrize("carrier", ["UPS", None])
def test_a_letter_as_ups_check_digit_warns_instead_of_crashing(carrier: str | None) -> None:
    """`1Z…A` makes tracking-numbers call int() on a letter; it is a warning, not a crash."""
    number = "1Z999AA1012345678A"
    warning = tracking_warning(number, carrier)
    assert warning is not None
    assert number in warning
