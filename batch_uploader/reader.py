"""Turn a CSV/TSV/XLSX file into a header and text rows with their spreadsheet row numbers.

Guarantees:
- Every cell is text: typed Excel cells become what a person sees, text keeps its leading
  zeros, and text-file cells are exactly as written (header cells are stripped).
- ``SourceRow.row_number`` is the row number a spreadsheet shows (1-based, the header and blank
  rows count); blank and whitespace-only rows are never returned.
- Every row has exactly ``len(Table.header)`` cells: no non-empty cell is dropped.
- A file that cannot be used raises ``InputError`` with one line that starts with the file
  name, says what is wrong and what to do; never a traceback for bad input.
"""

from __future__ import annotations

import itertools
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from batch_uploader import excel_guards, excelfile, textfile
from batch_uploader.errors import InputError, NoRowsError
from batch_uploader.excel_facts import EXCEL_CELL_CHARS
from batch_uploader.models import SourceRow

__all__ = ["SourceRow", "Table", "read_table"]

HeaderScore = Callable[[Sequence[str]], float]
"""How much a row looks like our header (0 = not at all); given by the caller."""
Progress = Callable[[str, int], None]
"""Told (file label, rows read so far) every PROGRESS_EVERY_ROWS rows of a big file."""
PROGRESS_EVERY_ROWS = 100_000

HEADER_SCAN_ROWS = 20
"""Non-blank rows at the top searched for the header row."""
EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xltx", ".xltm"})
OLD_EXCEL_SUFFIXES = frozenset({".xls", ".xlt"})


@dataclass(frozen=True)
class Table:
    """A file's header and data rows, plus how it was read (for messages and reports)."""

    path: Path
    sheet: str | None
    header: tuple[str, ...]
    header_row: int
    rows: Sequence[SourceRow]
    encoding: str | None
    delimiter: str | None

    @property
    def label(self) -> str:
        """``orders.csv`` or ``orders.xlsx [Sheet1]``, for messages."""
        return self.path.name if self.sheet is None else f"{self.path.name} [{self.sheet}]"


def read_table(
    path: Path,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    header_score: HeaderScore | None = None,
    progress: Progress | None = None,
) -> Table:
    """Read ``path`` (CSV/TSV/text or .xlsx/.xlsm, decided by content) into a Table.

    ``sheet`` picks a worksheet by name (default: the first visible one with data; ignored
    for text files); ``encoding`` overrides text-encoding detection (ignored for workbooks);
    ``header_score`` picks the header among the first HEADER_SCAN_ROWS non-blank rows: the
    first row with the highest score > 0, else the first non-blank row. Rows above the
    header are not data.
    ``progress`` hears how far a big file got, so a million rows do not look like a hang.
    Raises InputError for any file that cannot be used.
    """
    return _read(path, sheet, encoding, header_score, progress)


def _read(
    path: Path,
    sheet: str | None,
    encoding: str | None,
    header_score: HeaderScore | None,
    progress: Progress | None,
) -> Table:
    head = _read_head(path)
    suffix = path.suffix.lower()
    if head.startswith(excel_guards.CFB_MAGIC):
        excel_guards.refuse_cfb(path)
    if head.startswith(excel_guards.ZIP_MAGICS):
        source = excelfile.open_sheet(path, sheet)
        label = f"{path.name} [{source.sheet}]"
        header_row, header, rows = _assemble(
            label, "sheet", source.records, header_score, source.first_column, progress
        )
        return Table(path, source.sheet, header, header_row, rows, None, None)
    if suffix in EXCEL_SUFFIXES:
        _refuse_fake_workbook(path, head)
    if suffix in OLD_EXCEL_SUFFIXES:
        msg = (
            f"{path.name}: old .xls or password-protected workbook: open it in Excel and save "
            "as .xlsx or CSV."
        )
        raise InputError(msg)
    text = textfile.open_text(path, head, encoding=encoding, header_score=header_score)
    header_row, header, rows = _assemble(path.name, "file", text.records, header_score, 1, progress)
    return Table(path, None, header, header_row, rows, text.encoding, text.delimiter)


def _read_head(path: Path) -> bytes:
    """The first bytes of a readable, non-empty regular file."""
    name = path.name or str(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            msg = f"{name}: is a folder, not a file: pass the CSV or .xlsx file inside it."
            raise InputError(msg)
        if not stat.S_ISREG(info.st_mode):
            msg = f"{name}: is not a regular file: save the data to a CSV or .xlsx file."
            raise InputError(msg)
        with path.open("rb") as fh:
            head = fh.read(textfile.SAMPLE_BYTES)
    except (FileNotFoundError, NotADirectoryError):
        msg = f"{name}: file not found ({path.absolute()}): check the path and spelling."
        raise InputError(msg) from None
    except PermissionError:
        msg = (
            f"{name}: cannot be read (permission denied): check the file's permissions, "
            "or copy it to a folder you can read."
        )
        raise InputError(msg) from None
    except OSError as exc:
        msg = f"{name}: cannot be read ({exc.strerror}): check the file and try again."
        raise InputError(msg) from None
    if not head:
        msg = (
            f"{name}: the file is empty: export the shipments again, with a header row "
            "and at least one row of data."
        )
        raise InputError(msg)
    return head


SHARE_DISTINCT_MAX = 1_000
SHARE_CHECK_EVERY = 1_000
"""How often (in rows) columns with too many distinct values stop being shared."""


class SharedValues:
    """One string object per repeated value of a column, kept until the workbook is written.

    A 100,000-row export repeats its carrier, service, dates and quantities on every row; each
    copy costs ~56 bytes, ~50 MB at that size, and that room lets the results workbook use
    xlsxwriter's faster in-memory mode (report.STREAM_FROM_ROWS). A column stops sharing once
    it has SHARE_DISTINCT_MAX distinct values (tracking and order numbers never repeat).
    """

    def __init__(self) -> None:
        self._seen: list[dict[str, str] | None] = []
        self._calls = 0

    def __call__(self, cells: list[str]) -> tuple[str, ...]:
        seen = self._seen
        if len(seen) < len(cells):
            seen.extend({} for _ in range(len(cells) - len(seen)))
        self._calls += 1
        if self._calls % SHARE_CHECK_EVERY == 0:
            self._seen = seen = [
                None if values is None or len(values) > SHARE_DISTINCT_MAX else values
                for values in seen
            ]
        pairs = zip(seen, cells, strict=False)  # `seen` may be wider than a short row
        return tuple([v if d is None else d.setdefault(v, v) for d, v in pairs])


def _refuse_fake_workbook(path: Path, head: bytes) -> None:
    looks_like_text = b"\x00" not in head[:4096]
    hint = (
        " (it looks like a text file: if it is a CSV export, rename it to .csv)"
        if looks_like_text
        else ""
    )
    msg = (
        f"{path.name}: not a valid .xlsx workbook{hint}: the file is damaged or is not really "
        "Excel; open it in Excel and save it as .xlsx, or export it as CSV."
    )
    raise InputError(msg)


def _assemble(
    label: str,
    noun: str,
    records: Iterator[tuple[int, list[str]]],
    header_score: HeaderScore | None,
    first_column: int,
    progress: Progress | None = None,
) -> tuple[int, tuple[str, ...], Sequence[SourceRow]]:
    """Pick the header row, then widen, pad and freeze the data rows below it."""
    top = list(itertools.islice(records, HEADER_SCAN_ROWS))
    if not top:
        msg = (
            f"{label}: the {noun} has no rows (only blank lines): export the shipments again, "
            "with a header row and at least one row of data."
        )
        raise InputError(msg)
    index = _header_index([cells for _, cells in top], header_score)
    header_row, header_cells = top[index]
    width = _used_width(header_cells)
    rows: list[SourceRow] = []
    widened = False
    shared = SharedValues()
    for row_number, cells in itertools.chain(top[index + 1 :], records):
        count = len(cells)
        if count > width:
            used = _used_width(cells)
            if used > width:
                width, widened = used, True
            count = min(count, width)
            cells = cells[:width]
        if count < width:
            cells = cells + [""] * (width - count)
        if sum(map(len, cells)) > EXCEL_CELL_CHARS:  # cheap test first: this runs per row
            _refuse_long_cell(label, row_number, cells, header_cells)
        rows.append(SourceRow(row_number, shared(cells)))
        if progress is not None and len(rows) % PROGRESS_EVERY_ROWS == 0:
            progress(label, len(rows))
    if not rows:
        msg = (
            f"{label}: the {noun} has a header (row {header_row}) but no rows below it: add "
            "the shipments under the header row and save again."
        )
        raise NoRowsError(msg)
    if widened:
        # A later row was wider than earlier ones: pad those so every row has `width` cells.
        pad = ("",) * width
        rows = [
            r if len(r.cells) == width else SourceRow(r.row_number, (r.cells + pad)[:width])
            for r in rows
        ]
    header = _header_names(header_cells, width, first_column)
    return header_row, header, tuple(rows)


def _refuse_long_cell(
    label: str, row_number: int, cells: Sequence[str], header: Sequence[str]
) -> None:
    """A cell longer than Excel holds would be cut in the workbook and in `retry`: refuse it."""
    for index, cell in enumerate(cells):
        if len(cell) > EXCEL_CELL_CHARS:
            column = _clean(header[index]) if index < len(header) else f"column {index + 1}"
            msg = (
                f"{label}: row {row_number}, column {column!r} holds {len(cell):,} characters, "
                f"more than the {EXCEL_CELL_CHARS:,} an Excel cell can: shorten it and save again."
            )
            raise InputError(msg)


def _header_index(candidates: list[list[str]], header_score: HeaderScore | None) -> int:
    """The first row with the highest score > 0, else the first row."""
    if header_score is None:
        return 0
    best_index, best_score = 0, 0.0
    for index, cells in enumerate(candidates):
        score = header_score(tuple(_clean(c) for c in cells))
        if score > best_score:
            best_index, best_score = index, score
    return best_index


def _used_width(cells: Sequence[str]) -> int:
    """Number of cells up to and including the last non-empty one."""
    width = len(cells)
    while width and not cells[width - 1]:
        width -= 1
    return width


def _clean(cell: str) -> str:
    # A stray byte-order mark (file saved twice, or decoded with a forced encoding) is not
    # part of a header name even though str.strip() keeps it.
    return cell.strip().strip("\ufeff").strip()


def _header_names(cells: Iterable[str], width: int, first_column: int) -> tuple[str, ...]:
    """Stripped names; blanks become ``Column N``; repeats get `` (2)``, `` (3)``.

    N is the column's number in the sheet (column C is 3). The first occurrence of a name
    keeps it; a suffix is never one that another header already uses.
    """
    names = [_clean(c) for c in itertools.islice(cells, width)]
    names += [""] * (width - len(names))
    names = [name or f"Column {first_column + i}" for i, name in enumerate(names)]
    taken = set(names)
    seen: set[str] = set()
    unique: list[str] = []
    for name in names:
        if name in seen:
            suffix = 2
            while f"{name} ({suffix})" in taken:
                suffix += 1
            name = f"{name} ({suffix})"
            taken.add(name)
        seen.add(name)
        unique.append(name)
    return tuple(unique)
