"""tracking_bulk.py: numbers certified in bulk are ones tracking_warning would not flag."""

from __future__ import annotations

import random
import string
import sys
from collections.abc import Callable, Iterable

import numpy as np
import pyarrow as pa
import pytest

from batch_uploader.tracking import carrier_code, tracking_warning
from batch_uploader.tracking_bulk import certainly_fine

# The known numbers of test_tracking.py.
UPS_OK = "1Z999AA10123456784"
UPS_BAD = "1Z999AA10123456785"
FEDEX_OK = "449044304137821"
USPS_OK = "9400111899223100012348"
USPS_BAD = "9400111899223100012345"
S10_OK = "EA123456785US"
DHL_OK = "3318810025"

CARRIERS = {"usps": "USPS", "fedex": "FedEx", "ups": "UPS", None: None}
DIGITS = string.digits
ALNUM = string.digits + string.ascii_uppercase
UPS_SERVICES = "01 02 03 04 12 13 15 22 32 33 41 42 44 66 67 68 72 78 90 A0 A1 A2 A8 A9 AA YW"
# Characters a near-miss may carry: lowercase, look-alike digits, other whitespace, marks.
ODD_CHARS = "aAzZ-_./ \t\u00a0\u2007١１߀०ßıİǅ\u0301"

Body = Callable[[random.Random], str]


def _digits(count: int) -> Body:
    return lambda rng: "".join(rng.choices(DIGITS, k=count))


def _led(leads: Iterable[str], count: int) -> Body:
    """Digit bodies `count` long that start with one of `leads` or (often) anything."""
    options = [*leads, ""]

    def body(rng: random.Random) -> str:
        lead = rng.choice(options)
        return lead + "".join(rng.choices(DIGITS, k=count - len(lead)))

    return body


def _ups_1z(rng: random.Random) -> str:
    service = rng.choice([*UPS_SERVICES.split(), "".join(rng.choices(ALNUM, k=2))])
    return "1Z" + "".join(rng.choices(ALNUM, k=6)) + service + "".join(rng.choices(ALNUM, k=7))


APP_IDS = ["91", "92", "93", "94", "95"]
# Bodies (all but the check character) of the shapes each code certifies.
SHAPES: dict[str | None, list[Body]] = {
    "usps": [
        _led(["03", "71", "73", "77", "81", *APP_IDS, "90", "96"], 19),
        _led(APP_IDS, 21),
        _led(APP_IDS, 23),
        _led(APP_IDS, 25),
    ],
    "fedex": [
        _digits(11),
        _digits(14),
        _led(["00", "01", "02", "04", "03"], 17),
        _led(["92", "91"], 19),
        _led(["9292", "92", "96", "9692"], 21),
    ],
    "ups": [_ups_1z, _led(["80"], 17)],
}
SHAPES[None] = [body for bodies in SHAPES.values() for body in bodies]


def _numbers(rng: random.Random, code: str | None, bodies: int) -> list[str]:
    """Numbers of `code`'s certified shapes: every check digit (and a letter) after each body."""
    numbers = []
    for shape in SHAPES[code]:
        for _ in range(bodies):
            body = shape(rng)
            numbers += [body + check for check in DIGITS + rng.choice(string.ascii_uppercase)]
    return numbers


def _near_misses(rng: random.Random, numbers: list[str]) -> list[str]:
    """Numbers one edit away from `numbers`: shorter, longer, an odd character, spaces, case."""
    misses = ["", " ", "1", "1Z", "1z", "1 Z", " 1Z", "z", "\t", "١", "80", "92", "96", "9" * 20]
    misses += ["1z" + number[2:] for number in numbers if number.startswith("1Z")]
    for number in numbers:
        at = rng.randrange(len(number) + 1)
        edit = rng.randrange(9)
        if edit == 0:
            misses.append(number[:at] + number[at + 1 :])
        elif edit == 1:
            misses.append(number[:at] + rng.choice(DIGITS) + number[at:])
        elif edit == 2:
            misses.append(number[:at] + rng.choice(ODD_CHARS) + number[at + 1 :])
        elif edit == 3:
            misses.append(number[:at] + " " + number[at:])
        elif edit == 4:
            misses.append(rng.choice([" ", "  ", "\t", "\n", "\u00a0"]) + number)
        elif edit == 5:
            misses.append(number + rng.choice([" ", "\t", "\r\n", "0", "\u00a0"]))
        elif edit == 6:
            misses.append(number.lower())
        elif edit == 7:  # one letter's case flipped: `1z…`, `1Z999aA…`
            letters = [i for i, ch in enumerate(number) if ch.isalpha()] or [at]
            flip = rng.choice(letters)
            misses.append(number[:flip] + number[flip : flip + 1].swapcase() + number[flip + 1 :])
        else:
            misses.append(number[:at] + rng.choice(ODD_CHARS) + number[at:])
    return misses


def _library_fine(number: str, carrier: str | None) -> bool:
    try:
        return tracking_warning(number, carrier) is None
    except ValueError:  # the package raises on a UPS `1Z` number ending in a letter
        return False


def _certified(numbers: list[str], code: str | None) -> list[bool]:
    flags = certainly_fine(pa.array(numbers, pa.string()), code)
    assert flags.dtype == np.bool_
    assert flags.shape == (len(numbers),)
    return [bool(flag) for flag in flags]


def _wrongly_certified(numbers: list[str], code: str | None) -> list[str]:
    carrier = CARRIERS[code]
    certified = _certified(numbers, code)
    return [
        n for n, ok in zip(numbers, certified, strict=True) if ok and tracking_warning(n, carrier)
    ]


@pytest.mark.parametrize("code", ["usps", "fedex", "ups", None])
def test_every_certified_number_is_one_tracking_warning_would_not_flag(code: str | None) -> None:
    """Soundness against the real package, on every carrier's shapes, broken or near-miss."""
    rng = random.Random(1234)
    numbers = _numbers(rng, None, bodies=40)  # other carriers' numbers too
    numbers += _near_misses(rng, numbers)
    assert carrier_code(CARRIERS[code]) == code
    assert _wrongly_certified(numbers, code) == []


@pytest.mark.parametrize("code", ["usps", "fedex", "ups", None])
def test_every_number_of_a_bulk_shape_the_package_accepts_is_certified(code: str | None) -> None:
    """Completeness on the bulk shapes: nothing the package accepts there goes the slow way."""
    rng = random.Random(1234)
    numbers = _numbers(rng, code, bodies=60)
    carrier = CARRIERS[code]
    accepted = [n for n in numbers if _library_fine(n, carrier)]
    assert len(accepted) >= 10 * len(SHAPES[code])  # the generator does reach valid numbers
    missed = [n for n, ok in zip(accepted, _certified(accepted, code), strict=True) if not ok]
    assert missed == []


@pytest.mark.parametrize("code", ["usps", "fedex", "ups"])
def test_each_bulk_shape_certifies_valid_numbers_and_rejects_a_wrong_check_digit(
    code: str,
) -> None:
    """Every shape has valid numbers certified and numbers with a wrong check digit refused."""
    rng = random.Random(1234)
    carrier = CARRIERS[code]
    for shape in SHAPES[code]:
        numbers = [shape(rng) + check for _ in range(40) for check in DIGITS]
        certified = _certified(numbers, code)
        accepted = [_library_fine(n, carrier) for n in numbers]
        assert certified == accepted
        assert any(certified)
        if not numbers[0].startswith("80"):  # UPS Mail Innovations has no check digit
            assert not all(certified)


def test_every_ups_service_type_is_judged_as_the_package_judges_it() -> None:
    """All 1296 two-character UPS service types, each with every check digit, match the package."""
    numbers = [f"1Z999AA1{a}{b}0123456{check}" for a in ALNUM for b in ALNUM for check in DIGITS]
    accepted = [_library_fine(n, "UPS") for n in numbers]
    assert _certified(numbers, "ups") == accepted
    assert sum(accepted) == len(UPS_SERVICES.split())


@pytest.mark.parametrize("code", ["usps", "fedex", "ups", None])
def test_spaces_are_removed_first_as_tracking_warning_does(code: str | None) -> None:
    """A valid number with spaces anywhere is certified; a broken one with spaces is not."""
    rng = random.Random(1234)
    carrier = CARRIERS[code]
    numbers = []
    for number in _numbers(rng, code, bodies=10):
        cut = sorted(rng.sample(range(len(number) + 1), 3))
        numbers.append(" ".join([number[: cut[0]], number[cut[0] : cut[2]], number[cut[2] :]]))
    certified = _certified(numbers, code)
    assert certified == [_library_fine(n, carrier) for n in numbers]
    assert any(certified)


def test_no_code_certifies_whatever_does_not_start_with_1z() -> None:
    """Without a carrier only `1Z…` is checked: other text is certified, a broken `1Z`/`1z` not."""
    numbers = ["anything-at-all", USPS_BAD, "", "z", "1", "Z1", "\t1Z999", "1Y999", "１Z99"]
    numbers += [UPS_OK, "1Z 999 AA1 01 2345 6784", UPS_BAD, UPS_OK.lower(), "1z", " 1 Z x"]
    assert _certified(numbers, None) == [True] * 11 + [False] * 4
    assert _wrongly_certified(numbers, None) == []


def test_only_1_and_z_upper_case_to_what_tracking_warning_calls_ups() -> None:
    """No other code point upper-cases to text starting `1` or `Z` (the no-carrier rule's basis)."""
    starts_1 = []
    starts_z = []
    for point in range(sys.maxunicode + 1):
        upper = chr(point).upper()
        if upper[:1] == "1":
            starts_1.append(chr(point))
        elif upper[:1] == "Z":
            starts_z.append(chr(point))
    assert (starts_1, sorted(starts_z)) == (["1"], ["Z", "z"])


@pytest.mark.parametrize(
    ("number", "code", "fine"),
    [
        (UPS_OK, "ups", True),
        ("1Z 999 AA1 01 2345 6784", "ups", True),
        (UPS_BAD, "ups", False),
        ("1z999AA10123456784", "ups", False),
        (UPS_OK, "fedex", False),
        (UPS_OK, None, True),
        (UPS_BAD, None, False),
        (FEDEX_OK, "fedex", True),
        (FEDEX_OK, "ups", False),
        (USPS_OK, "usps", True),
        (USPS_BAD, "usps", False),
        (USPS_BAD, None, True),
        (S10_OK, "usps", False),
        (DHL_OK, "dhl", False),
        ("1Z999AA1012345678A", "ups", False),
    ],
    ids=[
        "ups",
        "ups-with-spaces",
        "ups-check-digit",
        "ups-lowercase-z",
        "ups-as-fedex",
        "ups-no-carrier",
        "ups-broken-no-carrier",
        "fedex",
        "fedex-as-ups",
        "usps",
        "usps-check-digit",
        "usps-broken-no-carrier",
        "s10-left-to-tracking-warning",
        "dhl-left-to-tracking-warning",
        "ups-letter-check-digit",
    ],
)
def test_known_numbers(number: str, code: str | None, fine: bool) -> None:
    """The numbers of test_tracking.py are certified exactly when they are valid bulk shapes."""
    assert _certified([number], code) == [fine]


@pytest.mark.parametrize("code", ["dhl", "ontrac", ""])
def test_codes_without_bulk_rules_certify_nothing(code: str) -> None:
    """DHL and unknown codes are left to tracking_warning: nothing is certified."""
    assert _certified([DHL_OK, USPS_OK, UPS_OK, FEDEX_OK, ""], code) == [False] * 5


@pytest.mark.parametrize("code", ["usps", "fedex", "ups", None])
def test_nulls_are_not_certified_and_an_empty_array_gives_an_empty_result(
    code: str | None,
) -> None:
    """Null entries are False (never certified); an empty array gives an empty bool array."""
    present = [USPS_OK, FEDEX_OK, UPS_OK, "x"]
    usps, fedex, ups, x = _certified(present, code)
    numbers = pa.array([None, USPS_OK, None, FEDEX_OK, UPS_OK, "x", None], pa.string())
    flags = certainly_fine(numbers, code).tolist()
    assert flags == [False, usps, False, fedex, ups, x, False]
    assert any(flags)
    assert certainly_fine(pa.array([None, None], pa.string()), code).tolist() == [False, False]
    for kind in (pa.string(), pa.large_string()):
        empty = certainly_fine(pa.array([], kind), code)
        assert empty.dtype == np.bool_
        assert empty.shape == (0,)


def test_large_strings_slices_and_uniform_columns_give_the_same_answers() -> None:
    """large_string, a sliced array and an all-one-length column agree with a plain array."""
    rng = random.Random(1234)
    numbers = _numbers(rng, "usps", bodies=20)
    twenty = [n for n in numbers if len(n) == 20 and n.isdigit()]
    expected = [_library_fine(n, "USPS") for n in twenty]
    assert _certified(twenty, "usps") == expected  # every row 20 long: the zero-copy view
    for kind in (pa.string(), pa.large_string()):
        padded = pa.array(["x", *twenty, "yy"], kind).slice(1, len(twenty))
        assert certainly_fine(padded, "usps").tolist() == expected
        spaced = pa.array(["x y", *twenty, "y y"], kind).slice(1, len(twenty))
        assert certainly_fine(spaced, "usps").tolist() == expected


def test_non_string_arrays_are_refused() -> None:
    """A column that is not string or large_string is a caller's mistake: TypeError."""
    with pytest.raises(TypeError, match="string array"):
        certainly_fine(pa.array([1, 2]), "usps")
