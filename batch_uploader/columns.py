"""A table's data rows held column by column, the shape bulk validation works on.

A million rows as a million tuples of Python strings cost seconds to build and gigabytes to
hold; as Arrow string columns they cost a fraction of a second and a few bytes a cell. The
loader keeps rows this way; `RowsView` still hands out `SourceRow`s to the stages that want
one row at a time (the results workbook, a row that needs a full explanation).
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import TypeVar, overload

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from batch_uploader.models import SourceRow

T = TypeVar("T")
ITER_CHUNK_ROWS = 65_536
"""Rows turned into Python tuples at a time while iterating (bounds the memory of a pass)."""

# Characters for which str.isspace() is true: a cell made only of them is blank, as the
# row-at-a-time reader decides (Unicode's White_Space differs on \x1c-\x1f).
_PY_SPACE = (
    r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0"
    r"\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
)
_BLANK_CELL = f"^[{_PY_SPACE}]*$"

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Block:
    """Data rows as equal-length string columns (no nulls) plus each row's spreadsheet number."""

    columns: tuple[pa.Array, ...]
    row_numbers: IntArray

    def __len__(self) -> int:
        return len(self.row_numbers)

    @property
    def width(self) -> int:
        return len(self.columns)

    def take(self, indexes: IntArray) -> Block:
        """The rows at `indexes`, in that order."""
        positions = pa.array(indexes, type=pa.int64())
        return Block(tuple(pc.take(c, positions) for c in self.columns), self.row_numbers[indexes])

    def row(self, index: int) -> SourceRow:
        """One row as a SourceRow (for the stages that explain a row)."""
        cells = tuple(str(c[index].as_py()) for c in self.columns)
        return SourceRow(int(self.row_numbers[index]), cells)

    def iter_rows(self) -> Iterator[SourceRow]:
        """Every row in order, built a chunk at a time."""
        for start in range(0, len(self), ITER_CHUNK_ROWS):
            stop = min(start + ITER_CHUNK_ROWS, len(self))
            numbers = self.row_numbers[start:stop].tolist()
            cells = [c.slice(start, stop - start).to_pylist() for c in self.columns]
            for number, row in zip(numbers, zip(*cells, strict=True), strict=True):
                yield SourceRow(number, row)


def block_from_rows(rows: Sequence[SourceRow], width: int) -> Block:
    """The column form of rows that were read one at a time (each has `width` cells)."""
    numbers = np.fromiter((r.row_number for r in rows), dtype=np.int64, count=len(rows))
    if not rows:
        return Block(tuple(pa.array([], pa.string()) for _ in range(width)), numbers)
    cells = [r.cells for r in rows]
    columns = (pa.array(list(map(itemgetter(i), cells)), pa.string()) for i in range(width))
    return Block(tuple(columns), numbers)


def non_blank(columns: Sequence[pa.Array]) -> BoolArray:
    """Rows with at least one cell that is not empty or whitespace (str.isspace) only.

    Most rows are decided by their first column; later columns are only looked at for the
    rows still undecided, so a typical file costs about one pass over one column.
    """
    length = len(columns[0]) if columns else 0
    keep = np.zeros(length, dtype=np.bool_)
    undecided = np.arange(length, dtype=np.int64)
    for column in columns:
        if not len(undecided):
            break
        cells = column if len(undecided) == length else pc.take(column, pa.array(undecided))
        blank = to_mask(pc.match_substring_regex(cells, _BLANK_CELL))
        keep[undecided[~blank]] = True
        undecided = undecided[blank]
    return keep


class BuiltOnDemand(Sequence[T]):
    """A read-only sequence whose items are made when asked for (`_make(index)`)."""

    __slots__ = ()

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @abc.abstractmethod
    def _make(self, index: int) -> T:
        """The item at `index`, 0 <= index < len(self)."""

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...

    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        if isinstance(index, slice):
            return [self._make(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._make(index)


class RowsView(BuiltOnDemand[SourceRow]):
    """A read-only sequence of SourceRow over a Block, built on demand."""

    __slots__ = ("_block",)

    def __init__(self, block: Block) -> None:
        self._block = block

    @property
    def block(self) -> Block:
        """The columns behind the rows."""
        return self._block

    def __len__(self) -> int:
        return len(self._block)

    def _make(self, index: int) -> SourceRow:
        return self._block.row(index)

    def __iter__(self) -> Iterator[SourceRow]:
        return self._block.iter_rows()


def to_mask(flags: pa.Array) -> BoolArray:
    """An Arrow boolean array (or chunked array) as a numpy mask, null as False."""
    mask: BoolArray = np.asarray(
        pc.fill_null(flags, False).to_numpy(zero_copy_only=False), dtype=np.bool_
    )
    return mask


def byte_lengths(strings: pa.Array) -> IntArray:
    """Each string's length in UTF-8 bytes (0 for empty or null)."""
    lengths: IntArray = np.asarray(
        pc.fill_null(pc.binary_length(strings), 0).to_numpy(zero_copy_only=False), np.int64
    )
    return lengths


def edge_bytes(strings: pa.Array) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """The first and the last UTF-8 byte of each string (0 for an empty one).

    Read straight from Arrow's offsets and data buffers: a million strings in milliseconds,
    where a regular expression per string costs a fifth of a second.
    """
    strings = strings.cast(pa.string())
    count = len(strings)
    if count == 0:
        empty = np.zeros(0, np.uint8)
        return empty, empty
    _, offsets_buffer, data_buffer = strings.buffers()
    offsets = np.frombuffer(offsets_buffer, np.int32, count + 1, strings.offset * 4)
    data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.zeros(0)
    if not len(data):
        zeros = np.zeros(count, np.uint8)
        return zeros, zeros
    starts, ends = offsets[:-1], offsets[1:]
    empty = starts == ends
    first = np.where(empty, 0, data[np.minimum(starts, len(data) - 1)]).astype(np.uint8)
    last = np.where(empty, 0, data[np.maximum(ends - 1, 0)]).astype(np.uint8)
    return first, last


def nulls_where(strings: pa.Array, mask: BoolArray) -> pa.Array:
    """The same strings with the masked ones null (shares the text buffers: no copy)."""
    if not mask.any():
        return strings
    strings = strings.cast(pa.string())
    valid = ~mask
    if strings.null_count:
        valid &= ~to_mask(strings.is_null())
    bits = np.concatenate([np.zeros(strings.offset, np.bool_), valid])
    bitmap = pa.py_buffer(np.packbits(bits, bitorder="little").tobytes())
    _, offsets, data = strings.buffers()
    return pa.Array.from_buffers(
        pa.string(), len(strings), [bitmap, offsets, data], offset=strings.offset
    )
