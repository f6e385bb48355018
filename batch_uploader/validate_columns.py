"""Validate a whole table column by column; rows it cannot vouch for go to `RowValidator`.

`RowValidator` explains any row exactly, at ~50 µs a row: a minute for a million. Here every
rule is checked once per column (Arrow compute) or once per distinct value (dates, costs),
and a row is accepted in bulk only when each of its cells is of a shape this module knows
for certain `RowValidator` accepts with the same value. Everything else, every refusal
included, is handed to `RowValidator`, so bulk and row-at-a-time checking cannot disagree on
a verdict or a message; they only differ in speed.
"""

from __future__ import annotations

import time as time_module
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from batch_uploader.columns import (
    Block,
    BoolArray,
    byte_lengths,
    edge_bytes,
    nulls_where,
    to_mask,
)
from batch_uploader.models import RowProblem, ShipmentLine
from batch_uploader.parsing import CellError, parse_bool, parse_datetime, parse_money
from batch_uploader.profiles import ColumnMap
from batch_uploader.reader import Table
from batch_uploader.tracking import carrier_code, tracking_warning
from batch_uploader.tracking_bulk import certainly_fine
from batch_uploader.validate import ITEM_ID_FIELDS, VOID_VALUES, RowValidator

# A filled cell is taken in bulk only if (after spaces and tabs are trimmed) it starts and ends
# with a printable ASCII character and does not start with Excel's text markers ' or =: then
# str.strip() would trim exactly the same and no marker needs cleaning. Indexed by byte value.
_PRINTABLE = np.zeros(256, np.bool_)
_PRINTABLE[ord("!") : ord("~") + 1] = True
_PLAIN_LAST = _PRINTABLE
_PLAIN_FIRST = _PRINTABLE.copy()
_PLAIN_FIRST[[ord("'"), ord("=")]] = False
_DIGIT = np.zeros(256, np.bool_)
_DIGIT[ord("0") : ord("9") + 1] = True
_DIGIT_OR_SIGN = _DIGIT.copy()
_DIGIT_OR_SIGN[[ord("+"), ord("-")]] = True
# Identifiers Excel has visibly damaged (see parsing.excel_damage); only for ASCII text.
_DAMAGED = r"^(?:[+-]?[0-9]+(?:[.,][0-9]+)?[eE][+-]?[0-9]+|[0-9]{15}0{2,})$"
_ROUNDED_MIN_LENGTH = 17
# parse_int's fast path: plain ASCII digits, at most 15 of them (Excel's precision).
_MAX_PLAIN_DIGITS = 15
_TEXT_FIELDS = ("carrier", "method", "tracking_url", "note")
_PARSED_FIELDS: dict[str, Callable[[str, str], Any]] = {
    "shipped_at": parse_datetime,
    "shipping_cost": parse_money,
    "suppressed": parse_bool,
}
# Shapes parse_datetime reads that Arrow can parse in bulk (US export, ISO date, Excel cell).
_DATETIME_SHAPES = ("%m/%d/%Y %I:%M %p", "%m/%d/%Y", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S")
_BULK_YEARS = (1971, 3000)
_PARSED_TYPES = {"shipped_at": pa.string(), "shipping_cost": pa.float64(), "suppressed": pa.bool_()}


@dataclass(frozen=True)
class CheckedTable:
    """One table's verdicts: the rows accepted in bulk, as columns, and the rest one by one.

    ``fields`` holds every field as an Arrow array over all rows of the table's block, null
    where the row left the field blank; only the rows marked in ``accepted`` are meaningful.
    ``source_id`` already carries --source-id for rows without one.
    """

    file_index: int
    block: Block
    validator: RowValidator
    accepted: BoolArray
    fields: dict[str, pa.Array]
    shipment_custom: tuple[tuple[str, pa.Array], ...]
    item_custom: tuple[tuple[str, pa.Array], ...]
    warnings: dict[int, str]
    """Tracking warnings of accepted rows, by position."""
    one_by_one: tuple[tuple[int, ShipmentLine | RowProblem], ...]
    """(position, verdict) of every row RowValidator checked."""

    def line(self, position: int) -> ShipmentLine:
        """The ShipmentLine of an accepted row, for a group that has to be explained."""
        verdict = _one_by_one(self.validator, self.block, position)
        if not isinstance(verdict, ShipmentLine):  # a broken promise of this module
            msg = f"row {verdict.ref.row_number} was accepted in bulk but refused alone: {verdict}"
            raise AssertionError(msg)
        return verdict


def check_table(
    table: Table, columns: ColumnMap, file_index: int, default_source_id: int | None
) -> CheckedTable:
    """Every row of `table` checked: in bulk where certain, else by RowValidator."""
    validator = RowValidator(columns, file_index, default_source_id)
    block = table.block
    rows = len(block)
    sure = np.ones(rows, dtype=np.bool_)

    def unsure_where(mask: BoolArray) -> None:
        sure[:] &= ~mask

    def plain(index: int) -> pa.Array:
        """One column's cell text as RowValidator reads it; unusual cells make rows unsure."""
        cells = block.columns[index]
        unusual = np.flatnonzero(_unplain(cells))
        if not len(unusual):
            return cells
        stripped, marked = _stripped(pc.take(cells, pa.array(unusual, type=pa.int64())))
        mask = np.zeros(rows, dtype=np.bool_)
        mask[unusual[marked]] = True
        unsure_where(mask)
        mask[unusual] = True
        return pc.replace_with_mask(cells, pa.array(mask), stripped)

    values: dict[str, pa.Array] = {}
    filled: dict[str, BoolArray] = {}
    for name, indexes in (columns.columns or {n: (i,) for n, i in columns.fields.items()}).items():
        value = plain(indexes[0])
        given = byte_lengths(value) > 0
        for index in indexes[1:]:  # the preferred column, else the next one filled in
            if given.all():
                break
            value = pc.if_else(pa.array(given), value, plain(index))
            given = byte_lengths(value) > 0
        values[name], filled[name] = value, given
    nowhere = np.zeros(rows, dtype=np.bool_)
    shipment_custom = tuple((name, plain(index)) for name, index in columns.shipment_custom)
    item_custom = tuple((name, plain(index)) for name, index in columns.item_custom)

    if "void" in values:
        void = values["void"]
        unsure_where(~to_mask(pc.string_is_ascii(void)))
        unsure_where(to_mask(pc.is_in(pc.ascii_lower(void), pa.array(sorted(VOID_VALUES)))))
    unsure_where(filled.get("fulfillment_request_id", nowhere))  # rare: explained row by row
    for name in ("tracking_number", "po_number", "quantity"):
        unsure_where(~filled.get(name, nowhere))
    for name in ("tracking_number", "po_number", "sku"):
        if name in values:
            unsure_where(_damaged_or_unsure(values[name]))
    identified = nowhere.copy()
    for name in ("sku", "purchase_order_item_id", "order_item_id"):
        identified |= filled.get(name, nowhere)
    unsure_where(~identified)
    fields: dict[str, pa.Array] = {}
    for name in ("source_id", "quantity", *ITEM_ID_FIELDS):
        if name in values:
            number, bad = _whole_numbers(values[name], filled[name])
            unsure_where(bad)
            fields[name] = number
    for name, parse in _PARSED_FIELDS.items():
        if name in values:
            parsed, bad = _parse_distinct(values[name], validator.labels[name], parse, name)
            unsure_where(bad)
            fields[name] = parsed
    for name in ("tracking_number", "po_number", "sku", *_TEXT_FIELDS):
        if name in values:
            fields[name] = nulls_where(values[name], ~filled[name])

    source = fields.get("source_id", pa.nulls(rows, pa.int64()))
    if default_source_id is not None:
        source = pc.fill_null(source, pa.scalar(default_source_id, pa.int64()))
    fields["source_id"] = source
    one_by_one = tuple(
        (p, _one_by_one(validator, block, p)) for p in np.flatnonzero(~sure).tolist()
    )

    def custom(spec: tuple[tuple[str, pa.Array], ...]) -> tuple[tuple[str, pa.Array], ...]:
        return tuple((name, nulls_where(array, byte_lengths(array) == 0)) for name, array in spec)

    return CheckedTable(
        file_index=file_index,
        block=block,
        validator=validator,
        accepted=sure,
        fields=fields,
        shipment_custom=custom(shipment_custom),
        item_custom=custom(item_custom),
        warnings=_warnings(fields, sure),
        one_by_one=one_by_one,
    )


def _one_by_one(validator: RowValidator, block: Block, position: int) -> ShipmentLine | RowProblem:
    """RowValidator's verdict on one row of the block."""
    row = block.row(position)
    return validator(row.row_number, row.cells)


def _stripped(cells: pa.Array) -> tuple[pa.Array, BoolArray]:
    """str.strip() of each cell (once per distinct value), and which start with ' or =.

    Those are the cells RowValidator hands to parsing.clean (Excel's text markers).
    """
    encoded = pc.dictionary_encode(cells)
    texts = [text.strip() for text in encoded.dictionary.to_pylist()]
    marked = np.array([text[:1] in ("'", "=") for text in texts] or [False], dtype=np.bool_)
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    return pc.take(pa.array(texts, pa.string()), encoded.indices), marked[indices]


def _unplain(cells: pa.Array) -> BoolArray:
    """Filled cells that do not start and end with printable ASCII, or start with ' or =.

    The others need no stripping and no cleaning: RowValidator takes them as they are.
    """
    first, last = edge_bytes(cells)
    unplain: BoolArray = (first != 0) & (~_PLAIN_FIRST[first] | ~_PLAIN_LAST[last])
    return unplain


def _damaged_or_unsure(value: pa.Array) -> BoolArray:
    """Cells RowValidator must look at: perhaps Excel-damaged identifiers, non-ASCII ones.

    Only cells that could match (a digit or sign first and a digit last, not all digits; or
    17+ digits ending in 00) go through the regular expression.
    """
    first, last = edge_bytes(value)
    lengths = byte_lengths(value)
    digits = to_mask(pc.ascii_is_decimal(value))
    scientific = _DIGIT_OR_SIGN[first] & _DIGIT[last] & ~digits
    rounded = digits & (lengths >= _ROUNDED_MIN_LENGTH) & (last == ord("0"))
    doubtful = ~to_mask(pc.string_is_ascii(value))
    maybe = np.flatnonzero(scientific | rounded)
    if len(maybe):
        subset = pc.take(value, pa.array(maybe, type=pa.int64()))
        doubtful[maybe] |= to_mask(pc.match_substring_regex(subset, _DAMAGED))
    return doubtful


def _whole_numbers(value: pa.Array, given: BoolArray) -> tuple[pa.Array, BoolArray]:
    """Plain whole numbers ≥ 1 as int64 (null when blank), and the filled cells that are not."""
    lengths = byte_lengths(value)
    plain = to_mask(pc.ascii_is_decimal(value)) & (lengths <= _MAX_PLAIN_DIGITS)
    number = pc.cast(nulls_where(value, ~plain), pa.int64())
    usable = plain & to_mask(pc.greater_equal(number, 1))
    return nulls_where_int(number, ~usable), given & ~usable


def nulls_where_int(numbers: pa.Array, mask: BoolArray) -> pa.Array:
    """The same numbers with the masked ones null."""
    if not mask.any():
        return numbers
    return pc.if_else(pa.array(mask), pa.scalar(None, numbers.type), numbers)


def _parse_distinct(
    value: pa.Array, label: str, parse: Callable[[str, str], Any], name: str
) -> tuple[pa.Array, BoolArray]:
    """Parse each distinct filled value once; refused values mark their rows unsure."""
    encoded = pc.dictionary_encode(value)
    texts = encoded.dictionary
    known: list[Any] = (
        _datetimes_in_bulk(texts).to_pylist() if name == "shipped_at" else [None] * len(texts)
    )
    parsed: list[Any] = []
    refused: list[bool] = []
    for text, done in zip(texts.to_pylist(), known, strict=True):
        if done is not None or not text:
            parsed.append(done)
            refused.append(False)
            continue
        try:
            parsed.append(parse(label, text))
            refused.append(False)
        except CellError:
            parsed.append(None)
            refused.append(True)
    indices = encoded.indices
    result = pc.take(pa.array(parsed, type=_PARSED_TYPES[name]), indices)
    bad = np.asarray(refused, dtype=np.bool_)[indices.to_numpy(zero_copy_only=False)]
    return result, bad


def _datetimes_in_bulk(texts: pa.Array) -> pa.Array:
    """`parse_datetime` of the values in a few exact shapes, computed by Arrow; null otherwise.

    Only when this machine's local time is UTC (servers, cron): a time without an offset is
    local time, and elsewhere converting it needs the zone's rules, which stay with Python.
    A value is taken only if formatting the parsed time gives back the very same text, so
    nothing Arrow would normalise (February 30th) or read loosely passes; years outside
    _BULK_YEARS are left to Python too.
    """
    result = pa.nulls(len(texts), pa.string())
    if time_module.timezone or time_module.altzone or time_module.daylight or not len(texts):
        return result
    for shape in _DATETIME_SHAPES:
        stamps = pc.strptime(texts, format=shape, unit="s", error_is_null=True)
        same = pc.equal(pc.strftime(stamps, format=shape), texts)
        years = pc.year(stamps)
        usable = pc.and_(
            same, pc.and_(pc.greater_equal(years, _BULK_YEARS[0]), pc.less(years, _BULK_YEARS[1]))
        )
        rfc3339 = pc.strftime(stamps, format="%Y-%m-%dT%H:%M:%SZ")
        result = pc.if_else(pc.fill_null(usable, False), rfc3339, result)
    return result


def _warnings(fields: dict[str, pa.Array], accepted: BoolArray) -> dict[int, str]:
    """Tracking-number warnings of the accepted rows: certified in bulk, the rest one by one."""
    tracking = fields.get("tracking_number")
    if tracking is None or not accepted.any():
        return {}
    carrier = fields.get("carrier", pa.nulls(len(tracking), pa.string()))
    encoded = pc.dictionary_encode(carrier, null_encoding="encode")
    names: list[str | None] = encoded.dictionary.to_pylist()
    codes = np.array([carrier_code(n) or "" for n in names] or [""], dtype=object)
    row_codes = codes[encoded.indices.to_numpy(zero_copy_only=False)]
    fine = np.zeros(len(tracking), dtype=np.bool_)
    for code in set(codes.tolist()):
        rows = np.flatnonzero(row_codes == code)
        if len(rows):
            subset = pc.take(tracking, pa.array(rows, type=pa.int64()))
            fine[rows] = certainly_fine(subset, code or None)
    warnings: dict[int, str] = {}
    doubtful = np.flatnonzero(~fine & accepted)
    if len(doubtful):
        take = pa.array(doubtful, type=pa.int64())
        numbers = pc.take(tracking, take).to_pylist()
        carriers = pc.take(carrier, take).to_pylist()
        for index, number, name in zip(doubtful.tolist(), numbers, carriers, strict=True):
            warning = tracking_warning(number, name)
            if warning:
                warnings[index] = warning
    return warnings
