"""reader: CSV/TSV/XLSX → header + text rows with the row numbers a spreadsheet shows."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
import time
import tracemalloc
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batch_uploader import excel_guards, excelfile, textfile
from batch_uploader.errors import InputError
from batch_uploader.excelfile import cell_text
from batch_uploader.reader import HeaderScore, SourceRow, Table, read_table

FIXTURES = Path(__file__).parent / "fixtures"
FAST_S = 1.0
"""A refusal must come back within this many seconds."""

Rows = list[tuple[int, tuple[str, ...]]]


def rows_of(table: Table) -> Rows:
    return [(row.row_number, row.cells) for row in table.rows]


def known_header(cells: Sequence[str]) -> float:
    """A scorer like the profiles' one: how many cells name a column we know."""
    known = {"ponumber", "trackingnumber", "carrier", "orderid", "quantity", "shipdate"}
    return sum(re.sub(r"[^a-z0-9]", "", c.lower()) in known for c in cells)


def amazon_header(cells: Sequence[str]) -> float:
    """Knows only Amazon's machine names (order-id, tracking-number, ...)."""
    return sum(c in {"order-id", "tracking-number", "carrier-code"} for c in cells)


def refused(path: Path, *, sheet: str | None = None, encoding: str | None = None) -> str:
    """Read ``path`` expecting a refusal; return its message after checking it was fast."""
    start = time.perf_counter()
    with pytest.raises(InputError) as caught:
        read_table(path, sheet=sheet, encoding=encoding)
    assert time.perf_counter() - start < FAST_S
    message = str(caught.value)
    assert message.startswith(f"{path.name}")
    assert "\n" not in message
    return message


# --- text files ---------------------------------------------------------------------------

SHIPSTATION = (
    ("Order Number", "Ship To Name", "Tracking Number", "Carrier", "Ship Date", "SKU", "Quantity"),
    [
        (2, ("PO-1001", "José Núñez", "1Z999AA10123456784", "UPS", "2024-03-01", "000123", "2")),
        (
            3,
            (
                "PO-1002",
                "Zoë Ødegaard",
                "9400111899223197428490",
                "USPS",
                "2024-03-01",
                "000124",
                "1",
            ),
        ),
    ],
)


@pytest.mark.parametrize(
    ("name", "encoding", "delimiter", "header", "rows"),
    [
        ("utf8.csv", "utf-8", ",", *SHIPSTATION),
        ("utf8-bom.csv", "utf-8-sig", ",", *SHIPSTATION),
        (
            "utf16-unicode-text.txt",
            "utf-16",
            "\t",
            ("PO Number", "Tracking Number", "Carrier", "Note"),
            [
                (2, ("PO-2001", "1Z999AA10123456784", "UPS", "Fragile – handle with care")),
                (3, ("PO-2002", "00123", "FedEx", 'said "hi"')),
            ],
        ),
        (
            "windows-1252.csv",
            "cp1252",
            ",",
            ("PO Number", "Ship To Name", "City", "Note"),
            [
                (2, ("PO-3001", "Café Müller", "Köln", "“rush” order – 10€ surcharge")),
                (3, ("PO-3002", "François Lefèvre", "Zürich", "Grüße")),
            ],
        ),
        (
            "semicolon.csv",
            "utf-8",
            ";",
            ("PO Number", "Tracking Number", "Shipping Cost"),
            [
                (2, ("PO-4001", "1Z999AA10123456784", "12,50")),
                (3, ("PO-4002", "1Z999AA10123456785", "7,00")),
            ],
        ),
        (
            "tab.tsv",
            "utf-8",
            "\t",
            ("PO Number", "Tracking Number", "Qty"),
            [
                (2, ("PO-5001", "1Z999AA10123456784", "1")),
                (3, ("PO-5002", "1Z999AA10123456785", "3")),
            ],
        ),
        (
            "pipe.txt",
            "utf-8",
            "|",
            ("PO Number", "Tracking Number", "Carrier"),
            [
                (2, ("PO-6001", "1Z999AA10123456784", "UPS")),
                (3, ("PO-6002", "1Z999AA10123456785", "UPS")),
            ],
        ),
        (
            "multiline-quoted.csv",
            "utf-8",
            ",",
            ("PO Number", "Tracking Number", "Note"),
            [
                (2, ("PO-7001", "1Z999AA10123456784", "Leave at back door.\r\nRing twice.")),
                (3, ("PO-7002", "1Z999AA10123456785", "Line one\nLine two\nLine three")),
                (4, ("PO-7003", "1Z999AA10123456786", "plain")),
            ],
        ),
        (
            "blank-rows.csv",
            "utf-8",
            ",",
            ("PO Number", "Tracking Number", "Qty"),
            [
                (2, ("PO-8001", "1Z999AA10123456784", "1")),
                (7, ("PO-8002", " 1Z999AA10123456785 ", "2")),
            ],
        ),
    ],
)
def test_text_fixture(
    name: str, encoding: str, delimiter: str, header: tuple[str, ...], rows: Rows
) -> None:
    """Each real-shaped text export reads with its encoding, delimiter, cells and row numbers."""
    table = read_table(FIXTURES / name)
    assert (table.encoding, table.delimiter, table.sheet) == (encoding, delimiter, None)
    assert table.header == header
    assert table.header_row == 1
    assert rows_of(table) == rows
    assert table.label == name


def test_header_quirks_are_named_and_ragged_rows_fit() -> None:
    """Blank header cells become `Column N`, repeats get ` (2)`, short rows pad, long rows widen."""
    table = read_table(FIXTURES / "ragged.csv")
    assert table.header == (
        "PO Number",
        "Tracking Number",
        "Column 3",
        "SKU",
        "SKU (2)",
        "Column 6",
        "Column 7",
    )
    assert rows_of(table) == [
        (2, ("PO-1", "T-1", "x", "A", "B", "", "")),
        (3, ("PO-2", "T-2", "", "", "", "", "")),
        (4, ("PO-3", "T-3", "", "C", "D", "", "extra")),
    ]


def test_duplicate_suffix_never_collides_with_an_existing_name(tmp_path: Path) -> None:
    """`A, A, A (2)` becomes `A, A (3), A (2)`: no two columns share a name."""
    path = tmp_path / "dupes.csv"
    path.write_text("A,A,A (2)\n1,2,3\n", encoding="utf-8")
    assert read_table(path).header == ("A", "A (3)", "A (2)")


@pytest.mark.parametrize(
    ("name", "score", "header_row", "first_data"),
    [
        ("amazon-template.txt", None, 1, 2),
        ("amazon-template.txt", amazon_header, 3, 4),
        ("amazon-template.txt", known_header, 2, 3),  # rows 2 and 3 tie: the first wins
        ("amazon-template.txt", lambda cells: 0.0, 1, 2),
        ("title-line.csv", None, 1, 3),
        ("title-line.csv", known_header, 3, 4),
    ],
)
def test_header_row_choice(
    name: str, score: HeaderScore | None, header_row: int, first_data: int
) -> None:
    """The header is the first best-scoring row (score > 0), else the first non-blank row."""
    table = read_table(FIXTURES / name, header_score=score)
    assert table.header_row == header_row
    assert table.rows[0].row_number == first_data


def test_amazon_rows_keep_their_text() -> None:
    """Rows below Amazon's machine header keep order ids and leading zeros exactly."""
    table = read_table(FIXTURES / "amazon-template.txt", header_score=amazon_header)
    assert table.header == (
        "order-id",
        "order-item-id",
        "quantity",
        "ship-date",
        "carrier-code",
        "tracking-number",
    )
    first = ("111-1234567-1234567", "12345678901234", "1", "2024-03-01", "UPS")
    second = ("111-1234567-7654321", "00012345678901", "2", "2024-03-02", "USPS")
    assert rows_of(table) == [
        (4, (*first, "1Z999AA10123456784")),
        (5, (*second, "9400111899223197428490")),
    ]


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-16-be", "utf-16"),  # BOM written by the codec below
        ("utf-32", "utf-32"),
    ],
)
def test_unicode_with_bom(tmp_path: Path, encoding: str, expected: str) -> None:
    """UTF-16 BE and UTF-32 files with a BOM are recognised by it."""
    path = tmp_path / "unicode.txt"
    bom = codecs.BOM_UTF16_BE if encoding == "utf-16-be" else b""
    path.write_bytes(bom + "PO Number\tNote\r\nPO-1\tCafé\r\n".encode(encoding))
    table = read_table(path)
    assert table.encoding == expected
    assert rows_of(table) == [(2, ("PO-1", "Café"))]


def test_utf16_without_bom(tmp_path: Path) -> None:
    """UTF-16 LE without a BOM is told from binary by its NUL pattern."""
    path = tmp_path / "nobom.txt"
    path.write_bytes("PO Number\tNote\r\nPO-1\tMüller\r\n".encode("utf-16-le"))
    table = read_table(path)
    assert table.encoding == "utf-16-le"
    assert rows_of(table) == [(2, ("PO-1", "Müller"))]


def test_cyrillic_legacy_encoding_is_not_forced_to_cp1252(tmp_path: Path) -> None:
    """Windows-1251 text is detected as such, not decoded as Windows-1252 mojibake."""
    path = tmp_path / "ru.csv"
    text = "Номер заказа,Получатель,Город\r\nPO-1,Иван Петров,Москва\r\nPO-2,Ольга,Казань\r\n"
    path.write_bytes(text.encode("cp1251"))
    table = read_table(path)
    assert table.encoding == "cp1251"
    assert table.rows[0].cells == ("PO-1", "Иван Петров", "Москва")


def test_late_non_utf8_byte_is_found(tmp_path: Path) -> None:
    """A Windows-1252 byte far down a mostly-ASCII file still switches the encoding."""
    path = tmp_path / "late.csv"
    body = "".join(f"PO-{i},1Z{i:016d}\r\n" for i in range(20_000))
    path.write_bytes(("PO Number,Tracking Number\r\n" + body + "PO-X,Müller\r\n").encode("cp1252"))
    table = read_table(path)
    assert table.encoding == "cp1252"
    assert table.rows[-1] == SourceRow(20_002, ("PO-X", "Müller"))


@pytest.mark.parametrize("override", ["cp1252", "windows-1252", "latin-1"])
def test_encoding_override(override: str) -> None:
    """`encoding=` is used as given (normalised to Python's codec name)."""
    table = read_table(FIXTURES / "windows-1252.csv", encoding=override)
    assert table.encoding == codecs.lookup(override).name
    assert table.rows[1].cells[1] == "François Lefèvre"


def test_override_with_utf8_bom_drops_the_bom() -> None:
    """`encoding='utf-8'` on a file with a BOM does not put the BOM in the first header."""
    table = read_table(FIXTURES / "utf8-bom.csv", encoding="utf-8")
    assert table.encoding == "utf-8-sig"
    assert table.header[0] == "Order Number"


def test_failing_override_names_the_byte() -> None:
    """An override that cannot decode says which encoding failed at which byte."""
    message = refused(FIXTURES / "windows-1252.csv", encoding="utf-8")
    offset = (FIXTURES / "windows-1252.csv").read_bytes().index(b"\xe9")
    assert f"cannot be read as utf-8: byte 0xE9 at offset {offset}" in message
    assert "--encoding" in message


def test_bad_byte_offset_is_exact_across_read_chunks(tmp_path: Path) -> None:
    """The reported offset is the file offset, even past a character split between chunks."""
    path = tmp_path / "big.csv"
    split_char = textfile.CHUNK_BYTES - 1  # `é` straddles the first chunk boundary
    bad = split_char + 2 + 1000
    path.write_bytes(b"N\n" + b"a" * (split_char - 2) + "é".encode() + b"b" * 1000 + b"\xff\n")
    assert f"byte 0xFF at offset {bad} is not valid utf-8" in refused(path, encoding="utf-8")


def test_bad_byte_offset_counts_the_bom(tmp_path: Path) -> None:
    """In a file with a UTF-8 BOM, the offset still counts from the file's first byte."""
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"PO Number\nPO-\xff\n")
    assert "byte 0xFF at offset 16 is not valid utf-8-sig" in refused(path)


def test_unknown_encoding_name() -> None:
    """An unknown codec name is refused with examples of valid ones."""
    message = refused(FIXTURES / "utf8.csv", encoding="klingon")
    assert "unknown encoding 'klingon'" in message
    assert "cp1252" in message


@pytest.mark.parametrize(
    ("content", "delimiter"),
    [
        ("PO Number\rPO-1\rPO-2\r", ","),  # classic Mac line endings, one column
        ("PO Number,Tracking\rPO-1,T1\rPO-2,T2\r", ","),
        ("PO Number,Tracking\r\nPO-1,T1\r\nPO-2,T2", ","),  # no final line break
    ],
)
def test_line_endings(tmp_path: Path, content: str, delimiter: str) -> None:
    """CR-only, CRLF and a missing final newline all give the same rows and numbers."""
    path = tmp_path / "endings.csv"
    path.write_bytes(content.encode())
    table = read_table(path)
    assert table.delimiter == delimiter
    assert [r.row_number for r in table.rows] == [2, 3]
    assert table.rows[1].cells[0] == "PO-2"


def test_header_cells_are_stripped_but_data_cells_are_not(tmp_path: Path) -> None:
    """Header names lose surrounding spaces (and a stray BOM); data cells keep them."""
    path = tmp_path / "spaces.csv"
    path.write_text(" PO Number ,\ufeffTracking \n  PO-1 , T1\t\n", encoding="utf-8")
    table = read_table(path)
    assert table.header == ("PO Number", "Tracking")
    assert table.rows[0].cells == ("  PO-1 ", " T1\t")


def test_wide_but_empty_trailing_columns_are_dropped(tmp_path: Path) -> None:
    """Trailing delimiters (empty columns beyond the header) add no columns."""
    path = tmp_path / "trailing.csv"
    path.write_text("PO Number,Tracking" + "," * 1500 + "\nPO-1,T1" + "," * 1500 + "\n")
    table = read_table(path)
    assert table.header == ("PO Number", "Tracking")
    assert table.rows[0].cells == ("PO-1", "T1")


@pytest.mark.parametrize("hint", ["sep=;", "SEP=;"])
def test_excel_sep_hint_line(tmp_path: Path, hint: str) -> None:
    """Excel's `sep=;` first line sets the delimiter and is not taken as the header."""
    path = tmp_path / "hinted.csv"
    path.write_text(f"{hint}\r\nPO Number;Note\r\nPO-1;a,b,c,d\r\n")
    table = read_table(path)
    assert (table.delimiter, table.header, table.header_row) == (";", ("PO Number", "Note"), 2)
    assert rows_of(table) == [(3, ("PO-1", "a,b,c,d"))]


def test_delimiter_choice_uses_the_header_score(tmp_path: Path) -> None:
    """When sniffing and counting disagree, the delimiter that yields our header wins."""
    path = tmp_path / "notes.csv"
    notes = "; ".join(["a", "b", "c", "d", "e", "f", "g"])
    path.write_text(f"PO Number,Tracking Number\nPO-1,{notes}\nPO-2,{notes}\n")
    table = read_table(path, header_score=known_header)
    assert table.delimiter == ","
    assert table.rows[0].cells == ("PO-1", notes)


# --- Excel --------------------------------------------------------------------------------


def test_typed_cells_read_as_seen_in_excel() -> None:
    """Numbers, dates, booleans and text cells become the text a person sees."""
    table = read_table(FIXTURES / "typed-cells.xlsx")
    assert (table.sheet, table.encoding, table.delimiter) == ("Shipments", None, None)
    assert table.label == "typed-cells.xlsx [Shipments]"
    assert table.header == (
        "PO Number",
        "Quantity",
        "Shipping Cost",
        "Tracking Number",
        "Ship Date",
        "Shipped At",
        "SKU",
        "Note",
        "Suppressed",
        "Cutoff",
    )
    assert rows_of(table) == [
        (
            2,
            (
                "12345",
                "2",
                "12.5",
                "9.4055E+21",
                "2024-03-01",
                "2024-03-01 14:30:05",
                "000123",
                "=SUM(B2:B3)",
                "FALSE",
                "17:45:00",
            ),
        ),
        (3, ("PO-2", "-3", "0.3", "1Z999AA10123456784", "", "", "", "", "TRUE", "")),
    ]


def test_data_starting_at_c3_keeps_excel_row_numbers() -> None:
    """Leading empty rows and columns: row numbers and `Column N` match what Excel shows."""
    table = read_table(FIXTURES / "offset-c3.xlsx")
    assert table.header_row == 3
    assert table.header == ("PO Number", "Tracking Number", "Column 5", "Carrier")
    assert rows_of(table) == [
        (4, ("PO-1", "1Z999AA10123456784", "", "UPS")),
        (6, ("PO-2", "1Z999AA10123456785", "gift", "UPS")),
    ]


@pytest.mark.parametrize(
    ("sheet", "expected_sheet", "po"),
    [
        (None, "Shipments", "PO-1"),  # the first sheet is empty
        ("Archive", "Archive", "PO-OLD"),
        ("archive", "Archive", "PO-OLD"),  # a unique case-insensitive match is accepted
    ],
)
def test_sheet_choice(sheet: str | None, expected_sheet: str, po: str) -> None:
    """Default: the first sheet with data; `sheet=` picks one by name."""
    table = read_table(FIXTURES / "two-sheets.xlsx", sheet=sheet)
    assert table.sheet == expected_sheet
    assert rows_of(table) == [(2, (po, table.rows[0].cells[1]))]


def test_unknown_sheet_lists_the_sheets() -> None:
    """An unknown sheet name is refused with the names to choose from."""
    message = refused(FIXTURES / "two-sheets.xlsx", sheet="Orders")
    assert "no sheet named 'Orders' (sheets: 'Notes', 'Shipments', 'Archive')" in message
    assert "--sheet" in message


def test_chosen_empty_sheet_is_refused() -> None:
    """Asking for an empty sheet says so, naming the sheet."""
    message = refused(FIXTURES / "two-sheets.xlsx", sheet="Notes")
    assert message.startswith("two-sheets.xlsx [Notes]: the sheet is empty")


def test_sheet_with_header_only(tmp_path: Path) -> None:
    """A sheet with a header and nothing below says so, naming file and sheet."""
    path = tmp_path / "header.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("Orders").write_row(1, 0, ["PO Number", "Tracking Number"])
    book.close()
    message = refused(path)
    assert message.startswith("header.xlsx [Orders]: the sheet has a header (row 2) but no rows")


def test_xlsm_reads_like_xlsx() -> None:
    """A macro-enabled workbook is read the same way."""
    table = read_table(FIXTURES / "macro.xlsm")
    assert rows_of(table) == [(2, ("PO-1", "1Z999AA10123456784"))]


def test_workbook_named_csv_is_read_as_excel(tmp_path: Path) -> None:
    """The content decides: an .xlsx saved with a .csv name is still read as a workbook."""
    path = tmp_path / "export.csv"
    path.write_bytes((FIXTURES / "macro.xlsm").read_bytes())
    assert read_table(path).sheet == "Sheet1"


def test_hidden_sheet_is_not_the_default(tmp_path: Path) -> None:
    """A hidden first sheet (a lookup list) is passed over for the visible one."""
    path = tmp_path / "hidden.xlsx"
    book = xlsxwriter.Workbook(str(path))
    lookup = book.add_worksheet("Lookup")
    lookup.write_row(0, 0, ["Code", "Carrier"])
    lookup.write_row(1, 0, ["U", "UPS"])
    lookup.hide()
    data = book.add_worksheet("Data")
    data.write_row(0, 0, ["PO Number"])
    data.write_row(1, 0, ["PO-1"])
    data.activate()
    book.close()
    assert read_table(path).sheet == "Data"


def test_whitespace_only_excel_rows_are_skipped(tmp_path: Path) -> None:
    """Rows holding only spaces are blank, but they keep their place in the numbering."""
    path = tmp_path / "spaces.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["PO Number", "Note"])
    sheet.write_row(1, 0, ["   ", " "])
    sheet.write_row(2, 0, ["PO-1", "  keep my spaces  "])
    book.close()
    assert rows_of(read_table(path)) == [(3, ("PO-1", "  keep my spaces  "))]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (12345.0, "12345"),
        (-3.0, "-3"),
        (0.0, "0"),
        (12.5, "12.5"),
        (0.1 + 0.2, "0.3"),
        (1234567890123.25, "1234567890123.25"),
        (999999999999999.0, "999999999999999"),
        (1e15, "1E+15"),
        (9.4055e21, "9.4055E+21"),
        (123456789012345678.0, "1.23457E+17"),
        (-9.4055e21, "-9.4055E+21"),
        (1e-7, "1E-07"),
        (42, "42"),
        (10**16, "1E+16"),
        (True, "TRUE"),
        (False, "FALSE"),
        ("  000123 ", "  000123 "),
        (dt.date(2024, 3, 1), "2024-03-01"),
        (dt.datetime(2024, 3, 1, 14, 30, 5), "2024-03-01 14:30:05"),
        (dt.datetime(2024, 3, 1, 14, 29, 59, 999000), "2024-03-01 14:30:00"),
        (dt.datetime(2024, 12, 31, 23, 59, 59, 600000), "2025-01-01 00:00:00"),
        (dt.time(7, 5, 0), "07:05:00"),
        (dt.time(23, 59, 59, 700000), "00:00:00"),
        (dt.timedelta(hours=36), "36:00:00"),
        (dt.timedelta(minutes=-90), "-1:30:00"),
    ],
)
def test_cell_text(value: excelfile.CellValue, text: str) -> None:
    """Each calamine value type renders as Excel's General format shows it."""
    assert cell_text(value) == text


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("empty.csv", "empty.csv: the file is empty"),
        ("header-only.csv", "has a header (row 1) but no rows below it"),
        ("fake.xlsx", "not a valid .xlsx workbook (it looks like a text file"),
        ("old.xls", "old .xls or password-protected workbook: open it in Excel and save as .xlsx"),
        ("encrypted.xlsx", "password-protected: remove the password"),
        ("zip-bomb.xlsx", "xl/worksheets/sheet1.xml is compressed"),
        ("entity.xlsx", "xl/sharedStrings.xml declares XML entities"),
        ("binary.csv", "not a CSV or Excel file"),
    ],
)
def test_refused_fixture(name: str, expected: str) -> None:
    """Each unusable fixture is refused quickly with one line that says what to do."""
    assert expected in refused(FIXTURES / name)


def test_missing_file(tmp_path: Path) -> None:
    """A path that does not exist is named, with where it was looked for."""
    message = refused(tmp_path / "nope.csv")
    assert message.startswith("nope.csv: file not found (")
    assert str(tmp_path) in message


def test_directory(tmp_path: Path) -> None:
    """A folder is refused as a folder."""
    (tmp_path / "exports").mkdir()
    assert "is a folder, not a file" in refused(tmp_path / "exports")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A permission error becomes a message about permissions (works even as root)."""
    path = tmp_path / "locked.csv"
    path.write_text("PO Number\nPO-1\n")
    real_open = Path.open

    def deny(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)
    assert "cannot be read (permission denied)" in refused(path)


def test_only_blank_lines(tmp_path: Path) -> None:
    """A file of blank lines has no rows at all."""
    path = tmp_path / "blank.csv"
    path.write_text("\n  \n,,,\n\n")
    assert "has no rows (only blank lines)" in refused(path)


def test_xls_extension_is_refused_even_when_not_cfb(tmp_path: Path) -> None:
    """An .xls that is not a workbook (e.g. an HTML export) gets the .xls advice."""
    path = tmp_path / "report.xls"
    path.write_text("<html><table><tr><td>PO</td></tr></table></html>")
    assert "old .xls or password-protected workbook" in refused(path)


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    """A zip of CSVs renamed to .xlsx is told apart from a workbook."""
    path = tmp_path / "bundle.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("orders.csv", "PO Number\nPO-1\n")
    assert "a zip archive, not an Excel workbook" in refused(path)


def test_damaged_workbook(tmp_path: Path) -> None:
    """A workbook calamine cannot parse becomes a one-line InputError, not a traceback."""
    path = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook><sheets>")
    assert "cannot be read as an Excel workbook" in refused(path)


def test_truncated_zip(tmp_path: Path) -> None:
    """A workbook cut short in transfer is refused as damaged."""
    path = tmp_path / "cut.xlsx"
    path.write_bytes((FIXTURES / "typed-cells.xlsx").read_bytes()[:2000])
    assert "not a valid .xlsx workbook" in refused(path)


def test_total_unpacked_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A workbook that would unpack past MAX_UNCOMPRESSED_BYTES is never opened."""
    monkeypatch.setattr(excel_guards, "MAX_COMPRESSION_RATIO", 10_000)
    monkeypatch.setattr(excel_guards, "MAX_UNCOMPRESSED_BYTES", 1024 * 1024)
    assert "would unpack to more than 1 MiB" in refused(FIXTURES / "zip-bomb.xlsx")


def test_doctype_hidden_after_a_long_comment(tmp_path: Path) -> None:
    """A DOCTYPE pushed past the first KB by a comment is still found (the prolog is parsed)."""
    source = zipfile.ZipFile(FIXTURES / "macro.xlsm")
    path = tmp_path / "padded.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                padding = b"<!--" + b"x" * 20_000 + b"-->"
                data = data.replace(b"?>", b"?>" + padding + b"<!DOCTYPE w []>", 1)
            target.writestr(info.filename, data)
    assert "declares XML entities" in refused(path)


def test_too_many_columns_in_a_sheet(tmp_path: Path) -> None:
    """A stray cell far to the right (column 2000) is refused, not read as 2000 columns."""
    path = tmp_path / "wide.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["PO Number"])
    sheet.write_row(1, 0, ["PO-1"])
    sheet.write_string(5, 1999, "oops")
    book.close()
    assert "about column 2,000 but holds only 3 cells" in refused(path)


def test_too_many_columns_in_text(tmp_path: Path) -> None:
    """A record with more than 1,000 used columns is refused, naming its row."""
    path = tmp_path / "wide.csv"
    path.write_text("PO Number\nPO-1\n" + ",".join(["x"] * 1001) + "\n")
    assert "row 3 has 1,001 columns, more than the 1,000 allowed" in refused(path)


def test_huge_single_line_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    """A 64 MiB line is refused after reading about a MiB of it: fast, little memory."""
    path = tmp_path / "oneline.csv"
    with path.open("wb") as fh:
        fh.write(b"PO Number,Note\nPO-1,")
        chunk = b"x" * (1024 * 1024)
        for _ in range(64):
            fh.write(chunk)
    tracemalloc.start()
    try:
        message = refused(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "line 2 is longer than 1 MiB" in message
    assert peak < 16 * 1024 * 1024


def test_unclosed_quote_stops_at_the_field_limit(tmp_path: Path) -> None:
    """A quote that swallows many short lines is stopped at 1 MiB and its row is named."""
    path = tmp_path / "quote.csv"
    lines = "".join(f"PO-{i},note {i}\n" for i in range(100_000))
    path.write_text('PO Number,Note\nPO-0,"oops\n' + lines)
    message = refused(path)
    assert 'row 2 has a field longer than 1 MiB (an unclosed quote " usually causes this)' in (
        message
    )


def test_undetectable_encoding_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """When no guess decodes the file, the message names the byte and suggests --encoding."""
    monkeypatch.setattr(textfile, "_legacy_guesses", lambda sample: [])
    path = tmp_path / "mystery.csv"
    path.write_bytes(b"PO Number,Name\nPO-1,M\xfcller\n")
    message = refused(path)
    assert "byte 0xFC at offset 21 is not UTF-8" in message
    assert "--encoding" in message


# --- properties ---------------------------------------------------------------------------

CELL_TEXT = st.text(alphabet="ab 0Z\"',\n\té–", max_size=8)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.lists(st.lists(CELL_TEXT, min_size=3, max_size=3), min_size=1, max_size=12))
def test_csv_round_trip(tmp_path: Path, data: list[list[str]]) -> None:
    """Whatever csv.writer writes comes back cell for cell, numbered by record."""
    path = tmp_path / "roundtrip.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["PO Number", "Tracking Number", "Carrier"])
        writer.writerows(data)
    expected = [
        (index + 2, tuple(cells))
        for index, cells in enumerate(data)
        if any(c.strip() for c in cells)
    ]
    if not expected:
        with pytest.raises(InputError):
            read_table(path, header_score=known_header)
        return
    table = read_table(path, header_score=known_header)
    assert table.header == ("PO Number", "Tracking Number", "Carrier")
    assert rows_of(table) == expected


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.lists(st.lists(CELL_TEXT, min_size=2, max_size=2), min_size=1, max_size=6),
    top=st.integers(min_value=0, max_value=4),
    left=st.integers(min_value=0, max_value=3),
)
def test_xlsx_round_trip(tmp_path: Path, data: list[list[str]], top: int, left: int) -> None:
    """Text cells written anywhere on a sheet come back exactly, with Excel's row numbers."""
    path = tmp_path / "roundtrip.xlsx"
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    sheet = book.add_worksheet()
    sheet.write_row(top, left, ["PO Number", "Tracking Number"])
    for index, cells in enumerate(data):
        for column, cell in enumerate(cells):
            if cell:
                sheet.write_string(top + 1 + index, left + column, cell)
    book.close()
    expected = [
        (top + 2 + index, tuple(cells))
        for index, cells in enumerate(data)
        if any(c.strip() for c in cells)
    ]
    if not expected:
        with pytest.raises(InputError):
            read_table(path)
        return
    table = read_table(path)
    assert table.header_row == top + 1
    assert rows_of(table) == expected


def test_a_repeated_value_is_kept_once_and_unique_columns_stay_as_read(tmp_path: Path) -> None:
    """A big export repeats its carrier on every row: the rows share one string for it.

    That is the room a 100,000-row dry run needs for the faster in-memory workbook; the
    values themselves, repeated or not, are exactly what the file holds.
    """
    from batch_uploader.reader import SHARE_DISTINCT_MAX

    count = SHARE_DISTINCT_MAX * 3
    path = tmp_path / "big.csv"
    lines = ["PO Number,Tracking Number,Carrier"]
    lines += [f"PO-{n},1Z{n:016d},{'UPS' if n % 2 else 'FedEx'}" for n in range(count)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    rows = read_table(path).rows

    assert [row.cells for row in rows[:2]] == [
        ("PO-0", "1Z0000000000000000", "FedEx"),
        ("PO-1", "1Z0000000000000001", "UPS"),
    ]
    assert {id(row.cells[2]) for row in rows} == {id(rows[0].cells[2]), id(rows[1].cells[2])}
    assert len({row.cells[1] for row in rows}) == count  # every tracking number, as read
