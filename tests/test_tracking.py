"""tracking.py: tracking-number sanity checks that warn but never refuse."""

from __future__ import annotations

import pytest
import tracking_numbers

from batch_uploader.tracking import carrier_code, split_tracking_numbers, tracking_warning

UPS_OK = "1Z999AA10123456784"
UPS_BAD = "1Z999AA10123456785"  # last digit is not the check digit
FEDEX_OK = "449044304137821"
USPS_OK = "9400111899223100012348"
USPS_BAD = "9400111899223100012345"
S10_OK = "EA123456785US"  # international postal (S10), carried by USPS
DHL_OK = "3318810025"
UPS_PAIR = ("1Z8VY0536847895679", "1Z8VY0536846272683")  # two real-shaped, valid UPS numbers


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
        ("dhl_express_worldwide", "dhl"),
        ("DHL eCommerce", None),
        ("dhl_global_mail", None),
        ("DHL Paket", None),
        ("OnTrac", None),
        ("Acme Freight", None),
        ("", None),
        (None, None),
    ],
)
def test_carrier_code_recognises_how_clerks_write_carriers(
    carrier: str | None, code: str | None
) -> None:
    """Common spellings of UPS, FedEx, USPS and DHL Express map to one code; others to None."""
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
        ("GM2951173225174494", "DHL eCommerce"),
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
        "dhl-ecommerce",
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


@pytest.mark.parametrize("number", [*UPS_PAIR, UPS_OK, USPS_OK])
def test_the_numbers_used_here_really_are_valid(number: str) -> None:
    """The tracking-numbers package itself accepts the numbers these tests call valid."""
    found = tracking_numbers.get_tracking_number(number)
    assert found is not None
    assert found.valid


@pytest.mark.parametrize(
    ("cell", "numbers"),
    [
        ("1Z8VY0536847895679, 1Z8VY0536846272683", UPS_PAIR),
        ("1Z8VY0536847895679,1Z8VY0536846272683", UPS_PAIR),
        ("1Z8VY0536847895679; 1Z8VY0536846272683;", UPS_PAIR),
        ("1Z8VY0536847895679 / 1Z8VY0536846272683", UPS_PAIR),
        ("1Z8VY0536847895679\n1Z8VY0536846272683", UPS_PAIR),
        ("1Z8VY0536847895679\r\n1Z8VY0536846272683", UPS_PAIR),
        ("1Z8VY0536847895679 1Z8VY0536846272683", UPS_PAIR),
        ("1Z8VY0536847895679   1Z8VY0536846272683  ", UPS_PAIR),
        (
            "9400 1118 9922 3100 0123 48, 1Z8VY0536846272683",
            ("9400 1118 9922 3100 0123 48", "1Z8VY0536846272683"),
        ),
        ("ABC12345, XYZ98765, 123456789", ("ABC12345", "XYZ98765", "123456789")),
    ],
)
def test_a_cell_with_several_plausible_numbers_is_split(
    cell: str, numbers: tuple[str, ...]
) -> None:
    """Commas, semicolons, slashes, line breaks or spaces between real numbers split a cell."""
    assert split_tracking_numbers(cell) == numbers


@pytest.mark.parametrize(
    "cell",
    [
        "ABC 123",
        "9400 1000 0000 0000 0000 00",  # USPS printed in groups
        "9400 1118 9922 3100 0123 48",
        "94001118 99223100 012348",  # groups of 8: still valid as one USPS number
        "1Z 999 AA1 01 2345 6784",
        UPS_OK,
        "PO 12345678",
        "1Z8VY0536847895679, n/a",
        "12345678/1",
        "ORDER-12345678, ORDER-87654321",  # hyphens: not letters and digits only
        "ABCDEFGH, 1Z8VY0536846272683",  # no digits in the first part
    ],
)
def test_a_cell_that_is_not_several_numbers_stays_one(cell: str) -> None:
    """Unless every part is a plausible number of its own, the cell is one value."""
    assert split_tracking_numbers(cell) == (cell.strip(),)


@pytest.mark.parametrize("cell", ["", "   ", "\n"])
def test_an_empty_cell_has_no_numbers(cell: str) -> None:
    """Nothing in the cell, no numbers."""
    assert split_tracking_numbers(cell) == ()


@pytest.mark.parametrize("carrier", ["UPS", "ups_ground", None])
@pytest.mark.parametrize(
    "cell",
    [
        "1Z8VY0536847895679, 1Z8VY0536846272683",
        "1Z8VY0536847895679 1Z8VY0536846272683",
        "1Z8VY0536847895679\n1Z8VY0536846272683",
    ],
)
def test_two_valid_numbers_in_one_cell_are_not_called_invalid(
    cell: str, carrier: str | None
) -> None:
    """Each number of a cell is checked on its own: two valid numbers give no warning."""
    assert tracking_warning(cell, carrier) is None


def test_only_the_failing_number_of_a_cell_is_named() -> None:
    """A cell with one valid and one broken number warns about the broken one only."""
    bad = "1Z8VY0536846272684"
    assert tracking_warning(f"{UPS_PAIR[0]}, {bad}", "UPS") == mismatch(bad, "UPS")
    assert tracking_warning(f"{UPS_PAIR[0]}, {bad}", None) == (
        f'Tracking Number "{bad}" looks like UPS but fails the UPS check digit; '
        "check it before the customer does"
    )


def test_each_failing_number_of_a_cell_is_named() -> None:
    """Two broken numbers: one warning each, joined."""
    first, second = "1Z8VY0536847895670", "1Z8VY0536846272684"
    assert tracking_warning(f"{first} / {second}", "UPS") == (
        f"{mismatch(first, 'UPS')}; {mismatch(second, 'UPS')}"
    )


def test_a_cell_that_is_not_split_is_checked_as_written() -> None:
    """A cell kept whole is checked (and named) as the user wrote it."""
    assert tracking_warning("ABC 123", "UPS") == mismatch("ABC 123", "UPS")
