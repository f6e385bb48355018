"""columns.py + csv_block.read_block: the column form of a table holds exactly the rows read.

The bulk CSV reader (Arrow) is a faster road to the rows the csv module reads; these tests
compare the two on the checked-in fixtures and on random files full of quotes, line breaks
and odd whitespace, and check the buffer-level helpers against plain Python.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from batch_uploader import csv_block, reader
from batch_uploader.columns import (
    RowsView,
    block_from_rows,
    byte_lengths,
    edge_bytes,
    non_blank,
    nulls_where,
)
from batch_uploader.errors import InputError
from batch_uploader.models import SourceRow
from batch_uploader.profiles import bundled_profiles, header_score

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEXT_SUFFIXES = {".csv", ".tsv", ".txt"}
ATOMS = ("a", "PO-1", "x y", " ", "\t", '"', "\n", "\r\n", "\r", ",", ";", "\x1c", "\xa0",
         "é", "=", "'", "", "\u2003", "  z ")  # fmt: skip


def read_both(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[tuple[object, ...], tuple[object, ...], bool]:
    """(bulk result, row-at-a-time result, whether the bulk reader was used)."""
    score = header_score(bundled_profiles())
    results = []
    used = False
    for bulk in (True, False):
        if bulk:
            monkeypatch.setattr(reader, "ARROW_MIN_BYTES", 0)  # Arrow for any size
        else:
            monkeypatch.setattr(csv_block, "read_block", lambda *a, **k: None)
        try:
            table = reader.read_table(path, header_score=score)
            rows = [(r.row_number, r.cells) for r in table.rows]
            results.append((table.header, table.header_row, rows))
            if bulk:
                used = isinstance(table.rows, RowsView)
        except InputError as exc:
            results.append(("refused", str(exc)))
        monkeypatch.undo()
    return results[0], results[1], used


@pytest.mark.parametrize(
    "path",
    sorted(p for p in FIXTURES.rglob("*") if p.suffix.lower() in TEXT_SUFFIXES),
    ids=lambda p: p.name,
)
def test_fixtures_read_the_same_in_bulk(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every checked-in text export reads to the same header, row numbers and cells."""
    bulk, rows, _ = read_both(path, monkeypatch)
    assert bulk == rows


@pytest.mark.parametrize("seed", range(6))
def test_random_files_read_the_same_in_bulk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Random CSVs (quotes, embedded breaks, CR/LF/CRLF, blank and ragged rows) read the same."""
    rnd = random.Random(seed)
    used = 0
    for case in range(150):
        width = rnd.randint(1, 5)
        names = ["PO Number", "Tracking Number", "SKU", "Quantity", "Carrier", ""][:width]
        lines = [",".join(names)]
        for _ in range(rnd.randint(0, 8)):
            cells = []
            for _ in range(rnd.choice([width] * 20 + [width + 1, width - 1])):
                cell = "".join(rnd.choice(ATOMS) for _ in range(rnd.randint(0, 3)))
                if rnd.random() < 0.3:
                    cell = '"' + cell.replace('"', '""') + '"'
                cells.append(cell)
            lines.append(",".join(cells))
        newline = rnd.choice(["\n", "\r\n", "\r"])
        text = newline.join(lines) + rnd.choice(["", "\n", "\n\n", "\r\n"])
        path = tmp_path / f"case-{case}.csv"
        path.write_text(text, encoding="utf-8", newline="")
        bulk, rows, was_bulk = read_both(path, monkeypatch)
        assert bulk == rows, repr(text)
        used += was_bulk
    assert used >= 10  # regular files really took the bulk road


def test_a_big_clean_export_is_read_in_bulk(tmp_path: Path) -> None:
    """A rectangular CSV of 1 MiB or more is read by Arrow; blank rows are dropped."""
    path = tmp_path / "clean.csv"
    body = "".join(f"PO-{n},1\n" for n in range(3, 200_000))
    path.write_text(f"PO Number,Quantity\nPO-1,1\n,\n\n{body}", encoding="utf-8")
    assert path.stat().st_size >= reader.ARROW_MIN_BYTES
    table = reader.read_table(path)
    assert isinstance(table.rows, RowsView)
    assert len(table.rows) == 1 + len(range(3, 200_000))
    assert [(r.row_number, r.cells) for r in table.rows[:2]] == [
        (2, ("PO-1", "1")),
        (5, ("PO-3", "1")),
    ]


def test_a_small_export_is_read_row_by_row(tmp_path: Path) -> None:
    """Under ARROW_MIN_BYTES the csv module reads the file (importing Arrow would cost more)."""
    path = tmp_path / "small.csv"
    path.write_text("PO Number,Quantity\nPO-1,1\n,\n\nPO-2,2\n", encoding="utf-8")
    table = reader.read_table(path)
    assert not isinstance(table.rows, RowsView)
    assert [(r.row_number, r.cells) for r in table.rows] == [(2, ("PO-1", "1")), (5, ("PO-2", "2"))]


def test_a_cell_beyond_the_header_falls_back_and_widens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Data past the last named column: the row-at-a-time reader widens the table."""
    monkeypatch.setattr(reader, "ARROW_MIN_BYTES", 0)  # Arrow would read it, were it regular
    path = tmp_path / "wide.csv"
    path.write_text("PO Number,Quantity,\nPO-1,1,extra\n", encoding="utf-8")
    table = reader.read_table(path)
    assert not isinstance(table.rows, RowsView)
    assert table.header == ("PO Number", "Quantity", "Column 3")


def test_edge_bytes_and_lengths_match_python() -> None:
    """First/last UTF-8 byte and byte length, also for a sliced array (non-zero offset)."""
    values = ["", "a", "ab", "é", " x ", "PO-1", "\u2003"]
    array = pa.array(["skip", *values]).slice(1)
    first, last = edge_bytes(array)
    encoded = [v.encode() for v in values]
    assert first.tolist() == [e[0] if e else 0 for e in encoded]
    assert last.tolist() == [e[-1] if e else 0 for e in encoded]
    assert byte_lengths(array).tolist() == [len(e) for e in encoded]


def test_nulls_where_keeps_the_rest() -> None:
    """Masked strings become null, the others keep their text (also with an offset)."""
    array = pa.array(["skip", "a", "", "c"]).slice(1)
    result = nulls_where(array, np.array([False, True, False]))
    assert result.to_pylist() == ["a", None, "c"]


def test_non_blank_is_str_isspace() -> None:
    """A row is blank when every cell is empty or whitespace as str.isspace() defines it."""
    odd = ["\x1c", "\x85", "\xa0", "\u2003", "\u3000", "\u200b", "\x00", " \t\r\n"]
    column = pa.array([*odd, "x"])
    expected = [*(not (c == "" or c.isspace()) for c in odd), True]
    assert non_blank([column]).tolist() == expected


def test_rows_view_round_trips() -> None:
    """block_from_rows then RowsView gives back the same SourceRows, by index and in order."""
    rows = [SourceRow(n, (f"a{n}", "", "é")) for n in (2, 3, 7)]
    view = RowsView(block_from_rows(rows, 3))
    assert list(view) == rows
    assert view[-1] == rows[-1]
    assert view[0:2] == rows[:2]
    with pytest.raises(IndexError):
        view[3]
