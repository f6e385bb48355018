"""Certify the plainly valid tracking numbers of a whole column at once.

`tracking.tracking_warning` costs about 7 µs a number: the tracking-numbers package tries
regexes and check digits one number at a time. Most numbers of a carrier export have one of a
few all-digit (or `1Z…`) shapes, so those shapes are checked here for a whole Arrow column
with numpy. A number certified here is one `tracking_warning` would not flag. Everything else
(other shapes, DHL, broken numbers) is still sent to `tracking_warning`, which stays the only
judge of whether to warn and what to say.

The rules copy what tracking-numbers 0.1.8 does (its definitions are in `_generated.py`).
tests/test_tracking_bulk.py compares them with the installed package on thousands of numbers,
so a package upgrade that changes a format fails there instead of certifying numbers the
package would flag.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from batch_uploader.columns import to_mask

BoolArray = npt.NDArray[np.bool_]
_Bytes = npt.NDArray[np.uint8]
_Ints = npt.NDArray[np.int64]

_SPACE = ord(" ")
_ZERO = ord("0")
_BLOCK_ROWS = 1 << 14  # rows checked at a time (see _by_blocks)


def _mod10(evens: int, odds: int, count: int, skip: int = 0) -> tuple[int, ...]:
    """The package's Mod10 weights: serial-number index 0, 2, 4… by `evens`, 1, 3… by `odds`.

    `skip` leading digits of the number are not part of the serial number (weight 0).
    """
    return (0,) * skip + tuple(evens if i % 2 == 0 else odds for i in range(count))


def _prepended(digits: str, evens: int, odds: int) -> int:
    """The weighted sum of digits the package's `prepend_if` puts before the serial number.

    They are an even count, so the serial number's own digits keep their weights.
    """
    return sum(int(d) * w for d, w in zip(digits, _mod10(evens, odds, len(digits)), strict=True))


@dataclass(frozen=True)
class _Lane:
    """All-ASCII-digit numbers of one length that one definition of the package accepts.

    `weights` has one weight per digit before the check digit (0: not in the serial number);
    `bias` is the weighted sum of digits the package prepends; `pairs` requires the two digits
    starting at a position to read as one of the allowed numbers (00-99), the way the
    package's service-type checks and regex prefixes do.
    """

    product: str  # the package's product name, for readers
    length: int
    weights: tuple[int, ...]
    bias: int = 0
    check: Literal["mod10", "mod11", "none"] = "mod10"
    pairs: tuple[tuple[int, frozenset[int]], ...] = ()


_ALL_PAIRS = frozenset(range(100))
# USPS 91's optional application identifier 9[1-5]; without it the parser prepends "91".
_APP_ID = frozenset(range(91, 96))
_NO_APP_ID = _ALL_PAIRS - _APP_ID
_USPS_91_BIAS = _prepended("91", evens=3, odds=1)
# FedEx SmartPost: the serial number gets "92" prepended unless it starts with 92.
_SMARTPOST = frozenset({92})
_NOT_SMARTPOST = _ALL_PAIRS - _SMARTPOST
_SMARTPOST_BIAS = _prepended("92", evens=3, odds=1)

_USPS_LANES = (
    # 2-digit service type (one of five), 17 digits, check digit.
    _Lane("USPS 20", 20, _mod10(3, 1, 19), pairs=((0, frozenset({3, 71, 73, 77, 81})),)),
    # [9[1-5]] SCNC(2) service(2) shipper(8) package(7 or 11) check: 20, 22, 24 or 26 digits.
    _Lane("USPS 91", 20, _mod10(3, 1, 19), pairs=((0, _APP_ID),)),
    _Lane("USPS 91", 20, _mod10(3, 1, 19), _USPS_91_BIAS, pairs=((0, _NO_APP_ID),)),
    _Lane("USPS 91", 22, _mod10(3, 1, 21), pairs=((0, _APP_ID),)),
    _Lane("USPS 91", 24, _mod10(3, 1, 23), pairs=((0, _APP_ID),)),
    _Lane("USPS 91", 24, _mod10(3, 1, 23), _USPS_91_BIAS, pairs=((0, _NO_APP_ID),)),
    _Lane("USPS 91", 26, _mod10(3, 1, 25), pairs=((0, _APP_ID),)),
)

_FEDEX_LANES = (
    _Lane("FedEx Express (12)", 12, (3, 1, 7) * 3 + (3, 1), check="mod11"),
    _Lane("FedEx Ground", 15, _mod10(1, 3, 14)),
    # Container type 00/01/02/04, then a 15-digit serial number and the check digit.
    _Lane(
        "FedEx Ground (SSCC-18)",
        18,
        _mod10(3, 1, 15, skip=2),
        pairs=((0, frozenset({0, 1, 2, 4})),),
    ),
    # [92] service(3) shipper(9) package(7) check; the optional 92 is not in the serial number.
    _Lane("FedEx SmartPost", 20, _mod10(3, 1, 19), pairs=((0, _SMARTPOST),)),
    _Lane("FedEx SmartPost", 20, _mod10(3, 1, 19), _SMARTPOST_BIAS, pairs=((0, _NOT_SMARTPOST),)),
    _Lane(
        "FedEx SmartPost",
        22,
        _mod10(3, 1, 19, skip=2),
        pairs=((0, _SMARTPOST), (2, _SMARTPOST)),
    ),
    _Lane(
        "FedEx SmartPost",
        22,
        _mod10(3, 1, 19, skip=2),
        _SMARTPOST_BIAS,
        pairs=((0, _SMARTPOST), (2, _NOT_SMARTPOST)),
    ),
    # 96, SCNC(2), service(3), then a 14-digit serial number and the check digit.
    _Lane("FedEx Ground 96 (22)", 22, _mod10(1, 3, 14, skip=7), pairs=((0, frozenset({96})),)),
)

_UPS_LANES = (
    # 80 and 16 digits, no check digit at all.
    _Lane(
        "UPS Mail Innovations - Sequence Number",
        18,
        (0,) * 17,
        check="none",
        pairs=((0, frozenset({80})),),
    ),
)

_LANES: dict[str, tuple[_Lane, ...]] = {
    "usps": _USPS_LANES,
    "fedex": _FEDEX_LANES,
    "ups": _UPS_LANES,
}


@dataclass(frozen=True)
class _Test:
    """One lane, compiled: features are rows of the plan's matrix."""

    weighted: int  # the feature summing the serial number's weighted digits
    bias: int
    check: Literal["mod10", "mod11", "none"]
    pairs: tuple[tuple[int, BoolArray], ...]  # (feature reading two digits, allowed 00-99)


@dataclass(frozen=True)
class _Plan:
    """The lanes of one length, compiled so that one matrix product gives every sum they use.

    Each row of `matrix` weights the digits of a number: a lane's serial-number weights, the
    10, 1 that read two digits as one number, and the lone 1 that picks the check digit.
    """

    length: int
    matrix: npt.NDArray[np.float32]
    check_digit: int
    tests: tuple[_Test, ...]


def _plan(length: int, lanes: Sequence[_Lane]) -> _Plan:
    """The lanes of one length, compiled."""
    features: dict[tuple[int, ...], int] = {}

    def feature(weights: tuple[int, ...]) -> int:
        padded = weights + (0,) * (length - len(weights))
        return features.setdefault(padded, len(features))

    check_digit = feature((0,) * (length - 1) + (1,))
    tests = []
    for lane in lanes:
        pairs = []
        for position, allowed in lane.pairs:
            table = np.zeros(100, dtype=np.bool_)
            table[sorted(allowed)] = True
            pairs.append((feature((0,) * position + (10, 1)), table))
        tests.append(_Test(feature(lane.weights), lane.bias, lane.check, tuple(pairs)))
    return _Plan(length, np.array(list(features), dtype=np.float32), check_digit, tuple(tests))


def _compile(lanes: Sequence[_Lane]) -> tuple[_Plan, ...]:
    """One plan per length of `lanes`."""
    lengths = sorted({lane.length for lane in lanes})
    return tuple(_plan(n, [lane for lane in lanes if lane.length == n]) for n in lengths)


_PLANS = {code: _compile(lanes) for code, lanes in _LANES.items()}

# UPS `1Z` + 15 serial characters [0-9A-Z] + check digit. The serial characters count as their
# digit, letters as (ord - 3) % 10; anything else as 255, which no valid sum can reach.
_UPS_LENGTH = 18
_UPS_VALUES = bytes(
    c - _ZERO if chr(c) in "0123456789" else (c - 3) % 10 if chr(c).isupper() else 255
    for c in range(128)
) + bytes([255] * 128)
_UPS_WEIGHTS = _mod10(1, 2, 15)
_UPS_MATRIX = np.array([_UPS_WEIGHTS, (1,) * len(_UPS_WEIGHTS)], dtype=np.float32)
_UPS_SERVICE_TYPES = (
    *("01", "02", "03", "04", "12", "13", "15", "22", "32", "33", "41", "42", "44"),
    *("66", "67", "68", "72", "78", "90", "A0", "A1", "A2", "A8", "A9", "AA", "YW"),
)
_UPS_SERVICE_TABLE = np.zeros(1 << 16, dtype=np.bool_)
for _service in _UPS_SERVICE_TYPES:
    _UPS_SERVICE_TABLE[ord(_service[0]) << 8 | ord(_service[1])] = True


@dataclass(frozen=True)
class _Column:
    """A string column as numpy views of its Arrow buffers; null rows have length -1."""

    array: Any  # pa.Array of string or large_string
    data: _Bytes
    starts: _Ints
    lengths: _Ints

    @staticmethod
    def of(numbers: Any) -> _Column:
        """The column with every " " removed, as `tracking_warning` removes it first."""
        kind = numbers.type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            raise TypeError(f"tracking numbers must be a string array, not {kind}")
        column = _Column._from_buffers(numbers)
        if column.has_space():
            column = _Column._from_buffers(pc.replace_substring(numbers, " ", ""))
        return column

    @staticmethod
    def _from_buffers(array: Any) -> _Column:
        count = len(array)
        _, offsets_buffer, data_buffer = array.buffers()
        if count == 0:
            empty = np.zeros(0, dtype=np.int64)
            return _Column(array, np.zeros(0, dtype=np.uint8), empty, empty)
        width = np.int64 if pa.types.is_large_string(array.type) else np.int32
        window = slice(array.offset, array.offset + count + 1)
        offsets = np.frombuffer(offsets_buffer, dtype=width)[window].astype(np.int64)
        data = (
            np.zeros(0, dtype=np.uint8)
            if data_buffer is None
            else np.frombuffer(data_buffer, dtype=np.uint8)
        )
        lengths = np.diff(offsets)
        if array.null_count:
            lengths[~to_mask(array.is_valid())] = -1
        return _Column(array, data, offsets[:-1], lengths)

    def __len__(self) -> int:
        return len(self.lengths)

    def has_space(self) -> bool:
        """Whether any byte of the column's strings is a space."""
        if not len(self):
            return False
        end = int(self.starts[-1] + max(int(self.lengths[-1]), 0))
        return bool(np.any(self.data[int(self.starts[0]) : end] == _SPACE))

    def rows_of(self, length: int) -> tuple[_Ints, _Bytes]:
        """The indexes of the rows `length` bytes long, and their bytes (a view if it can)."""
        rows = np.flatnonzero(self.lengths == length)
        if not len(rows):
            return rows, np.zeros((0, length), dtype=np.uint8)
        if len(rows) == len(self):  # every row is `length` long: they lie back to back
            first = int(self.starts[0])
            return rows, self.data[first : first + len(rows) * length].reshape(-1, length)
        windows = np.lib.stride_tricks.sliding_window_view(self.data, length)
        return rows, windows[self.starts[rows]]


def _by_blocks(column: _Column, length: int, test: Callable[[_Bytes], BoolArray]) -> BoolArray:
    """`test` applied to the rows `length` bytes long, a block of rows at a time; others False.

    Blocks keep the float copy of the bytes in the CPU cache and the matrix products small
    (OpenBLAS threads on a busy 2-core machine made a whole-column product erratic).
    """
    fine = np.zeros(len(column), dtype=np.bool_)
    rows, chars = column.rows_of(length)
    for start in range(0, len(rows), _BLOCK_ROWS):
        block = slice(start, start + _BLOCK_ROWS)
        fine[rows[block]] = test(chars[block])
    return fine


def _digit_lanes(column: _Column, plans: Sequence[_Plan]) -> BoolArray:
    """Rows that pass at least one lane of `plans` (the package accepts them for the courier)."""
    fine = np.zeros(len(column), dtype=np.bool_)
    for plan in plans:
        fine |= _by_blocks(column, plan.length, functools.partial(_passes, plan=plan))
    return fine


def _passes(chars: _Bytes, plan: _Plan) -> BoolArray:
    """For rows `plan.length` bytes long: whether each is ASCII digits passing a lane."""
    digits = chars - np.uint8(_ZERO)  # anything but 0-9 wraps to 10-255
    all_digits = None
    if len(digits) and digits.max() > 9:  # (a product, as reducing rows of ~20 bytes is slow)
        all_digits = (digits > 9).astype(np.float32) @ np.ones(plan.length, np.float32) == 0
    # One row per feature, each contiguous for the arithmetic below; exact (sums < 2**24).
    sums = (plan.matrix @ digits.astype(np.float32).T).astype(np.int32)
    check_digit = sums[plan.check_digit]
    residues: dict[int, npt.NDArray[np.int32]] = {}  # (weighted sum + check digit) % 10
    fine = np.zeros(len(digits), dtype=np.bool_)
    for test in plan.tests:
        if test.check == "mod10":  # check digit == -(sum + bias) % 10
            if test.weighted not in residues:
                residues[test.weighted] = (sums[test.weighted] + check_digit) % 10
            passes = residues[test.weighted] == (-test.bias) % 10
        elif test.check == "mod11":  # check digit == (sum + bias) % 11 % 10
            passes = (sums[test.weighted] + test.bias) % 11 % 10 == check_digit
        else:
            passes = np.ones(len(digits), dtype=np.bool_)
        for pair, allowed in test.pairs:  # out of range: not digits, refused below anyway
            passes &= np.take(allowed, sums[pair], mode="clip")
        fine |= passes
    if all_digits is not None:
        fine &= all_digits
    return fine


def _ups_1z(column: _Column) -> BoolArray:
    """Rows `1Z` + 15 of [0-9A-Z] + a check digit that the package's UPS definition accepts."""
    return _by_blocks(column, _UPS_LENGTH, _ups_passes)


def _ups_passes(chars: _Bytes) -> BoolArray:
    """For rows 18 bytes long: whether each is a `1Z` number the package's UPS accepts."""
    check_digit = chars[:, -1].astype(np.int32) - _ZERO
    shaped: BoolArray = (
        (chars[:, 0] == ord("1"))
        & (chars[:, 1] == ord("Z"))
        & (check_digit >= 0)
        & (check_digit <= 9)
        & _UPS_SERVICE_TABLE[chars[:, 8].astype(np.int32) << 8 | chars[:, 9]]
    )
    serial = chars[:, 2:-1].tobytes().translate(_UPS_VALUES)  # faster than numpy indexing
    values = np.frombuffer(serial, dtype=np.uint8).reshape(len(chars), -1).astype(np.float32)
    sums: npt.NDArray[np.int32] = (_UPS_MATRIX @ values.T).astype(np.int32)
    valid_chars: BoolArray = sums[1] <= 9 * len(_UPS_WEIGHTS)  # every serial character in [0-9A-Z]
    check_passes: BoolArray = (sums[0] + check_digit) % 10 == 0
    return shaped & valid_chars & check_passes


def _cannot_be_ups(column: _Column) -> BoolArray:
    """Non-null rows that do not start with `1Z`/`1z`: `tracking_warning(n, None)` ignores them.

    Only `1` upper-cases to a string starting with `1`, and only `z`/`Z` to one starting with
    `Z` (the tests check every code point), so a look at the first two bytes is enough.
    """
    may_be_ups = np.zeros(len(column), dtype=np.bool_)
    rows = np.flatnonzero(column.lengths >= 2)
    first = column.data[column.starts[rows]]
    second = column.data[column.starts[rows] + 1]
    may_be_ups[rows] = (first == ord("1")) & ((second == ord("Z")) | (second == ord("z")))
    return (column.lengths >= 0) & ~may_be_ups


def certainly_fine(numbers: pa.Array, code: str | None) -> BoolArray:
    """Per row: True only if `tracking_warning(number, carrier)` is certainly None.

    `carrier` is any carrier text whose `carrier_code` is `code`. False is not a verdict, only
    "not certified here" (nulls, unusual shapes, DHL and unknown codes): ask
    `tracking_warning`. Certified: USPS 20/22/24/26 digits, FedEx 12/15/18/20/22 digits, UPS
    `1Z…` and Mail Innovations `80…`, each with a passing check digit and service type; with
    no code, anything that does not start with `1Z`/`1z` and UPS-valid `1Z…`. Spaces are
    removed first, as `tracking_warning` does.
    """
    column = _Column.of(numbers)
    if code is None:
        return _cannot_be_ups(column) | _ups_1z(column)
    fine = _digit_lanes(column, _PLANS.get(code, ()))
    if code == "ups":
        fine |= _ups_1z(column)
    return fine
