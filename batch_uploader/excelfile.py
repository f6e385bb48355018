"""Excel workbooks (.xlsx, .xlsm) → records with the row numbers Excel shows, as text.

Guarantees:
- Nothing is inflated by the Excel parser before the archive passes the zip-bomb limits
  (``MAX_UNCOMPRESSED_BYTES`` in total, ``MAX_COMPRESSION_RATIO`` per large entry) and no XML
  part declares entities (``<!DOCTYPE``/``<!ENTITY``, which Excel never writes).
- Old .xls and encrypted workbooks (OLE2/CFB containers) are refused with what to do instead.
- Row numbers are Excel's: leading empty rows count; the first used column is reported so
  unnamed columns can be called by their real position.
- Every cell becomes the text a person sees (see ``cell_text``); text cells stay as stored.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from python_calamine import CalamineSheet, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from batch_uploader.errors import InputError

CFB_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
"""OLE2 compound file: old .xls, or an .xlsx encrypted with a password."""
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024
"""Most bytes all entries of a workbook may unpack to."""
MAX_COMPRESSION_RATIO = 200
"""Highest uncompressed/compressed ratio of one entry; real sheets stay under ~20."""
RATIO_CHECK_MIN_BYTES = 1024 * 1024
"""Entries smaller than this (uncompressed) cannot hurt, so their ratio is not judged."""
MAX_ZIP_ENTRIES = 10_000
"""Most entries a workbook archive may have (each XML part is scanned)."""
XML_SCAN_BYTES = 4 * 1024
"""Head of each XML part searched for entity declarations."""
XML_PROLOG_MAX_BYTES = 64 * 1024
"""Longest XML prolog accepted; a root element must start before this."""
CFB_SCAN_CHUNK_BYTES = 1024 * 1024
MAX_COLUMNS = 1000
SHEET_SCAN_CHUNK_BYTES = 1024 * 1024
# A sheet's bounding box may be at most this many times the cells it really holds (above a
# floor that every honest sheet of up to ~5M cells stays under whatever its shape).
MAX_EMPTY_AREA_FACTOR = 10
MIN_AREA_CHECKED = 5_000_000
_WORKSHEET_PART = re.compile(r"^xl/worksheets/[^/]+\.xml$", re.IGNORECASE)
# A cell reference with a two- or three-letter column (AA1 and beyond). No other attribute of
# a sheet part ends in `r="`, and the literal start lets the search skip ahead quickly.
_WIDE_CELL_COLUMN = re.compile(rb'r="([A-Z]{2,3})[0-9]')
_ROW_REF = re.compile(rb'<row [^>]*?\br="([0-9]{1,7})"')
_FORMULA = re.compile(rb"<f[\s>/]")
_FULL_CALC_ON_LOAD = re.compile(rb'fullCalcOnLoad="(?:1|true)"')
"""Most columns a worksheet's used range may span."""
EXCEL_SCIENTIFIC_FROM = 1e15
"""Excel keeps 15 significant digits; General format shows numbers this large as 9.4055E+21."""
EXCEL_SIGNIFICANT_DIGITS = 15
CELL_TEXT_CACHE_SIZE = 100_000
"""Distinct typed values remembered per type while a sheet is read."""
_US_PER_S = 1_000_000
_S_PER_DAY = 86_400

_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")

Record = tuple[int, list[str]]
CellValue = int | float | str | bool | dt.time | dt.date | dt.datetime | dt.timedelta


@dataclass(frozen=True, slots=True)
class SheetSource:
    """The chosen worksheet: its name, first used column (1-based) and non-blank records."""

    sheet: str
    first_column: int
    records: Iterator[Record]


def refuse_cfb(path: Path) -> NoReturn:
    """Raise the InputError for an OLE2/CFB file: encrypted .xlsx or old .xls."""
    if _contains(path, _ENCRYPTED_PACKAGE):
        msg = (
            f"{path.name}: the workbook is password-protected: remove the password in Excel "
            "(File > Info > Protect Workbook > Encrypt with Password, clear it) and save again."
        )
    else:
        msg = (
            f"{path.name}: old .xls or password-protected workbook: open it in Excel and save "
            "as .xlsx or CSV."
        )
    raise InputError(msg)


def open_sheet(path: Path, sheet: str | None) -> SheetSource:
    """Check the archive, open the workbook and pick ``sheet`` (default: first with data)."""
    _check_archive(path)
    try:
        with CalamineWorkbook.from_path(path) as workbook:
            return _pick_sheet(path, workbook, sheet)
    except InputError:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a panic inside calamine surfaces as a BaseException
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = (
            f"{path.name}: cannot be read as an Excel workbook ({detail}): open it in Excel "
            "and save it again as .xlsx, or export the sheet as CSV."
        )
        raise InputError(msg) from None


# --- safety checks before parsing ---------------------------------------------------------


def _check_archive(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            _check_sizes(path, infos)
            names = {info.filename for info in infos}
            _check_is_workbook(path, names)
            for info in infos:
                if info.filename.lower().endswith((".xml", ".rels", ".vml")):
                    _check_xml_part(path, archive, info)
            full_calc = _reads_true(archive, "xl/workbook.xml", _FULL_CALC_ON_LOAD)
            for info in infos:
                if _WORKSHEET_PART.match(info.filename):
                    _check_sheet_part(path, archive, info, full_calc)
    except InputError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        msg = (
            f"{path.name}: not a valid .xlsx workbook ({exc}): the file is damaged or is not "
            "really Excel; open it in Excel and save it as .xlsx, or export it as CSV."
        )
        raise InputError(msg) from None
    except (NotImplementedError, RuntimeError) as exc:
        msg = (
            f"{path.name}: the workbook archive uses a feature that cannot be read ({exc}): "
            "open it in Excel and save it again as .xlsx."
        )
        raise InputError(msg) from None


def _check_sizes(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    unsafe = (
        "looks like a zip bomb and was not opened: open it in Excel and save it again, "
        "or export the sheet as CSV."
    )
    if len(infos) > MAX_ZIP_ENTRIES:
        msg = f"{path.name}: the workbook has {len(infos):,} parts, which {unsafe}"
        raise InputError(msg)
    total = sum(info.file_size for info in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        mib = MAX_UNCOMPRESSED_BYTES // (1024 * 1024)
        msg = f"{path.name}: the workbook would unpack to more than {mib} MiB, which {unsafe}"
        raise InputError(msg)
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= RATIO_CHECK_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO:
            msg = (
                f"{path.name}: part {info.filename} is compressed {ratio:,.0f}:1 (more than "
                f"{MAX_COMPRESSION_RATIO}:1), which {unsafe}"
            )
            raise InputError(msg)


def _check_is_workbook(path: Path, names: set[str]) -> None:
    if "xl/workbook.xml" in names:
        return
    if "xl/workbook.bin" in names:
        what = "a binary workbook (.xlsb)"
    elif "mimetype" in names or "content.xml" in names:
        what = "an OpenDocument spreadsheet (.ods)"
    else:
        what = "a zip archive, not an Excel workbook"
    msg = f"{path.name}: {what}: open it in Excel and save it as .xlsx, or export it as CSV."
    raise InputError(msg)


def _check_xml_part(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Refuse a part whose prolog declares a DTD or entities; reads at most the prolog."""
    head = b""
    with archive.open(info) as part:
        while True:
            chunk = part.read(XML_SCAN_BYTES)
            head += chunk
            verdict = _prolog_verdict(_ascii_view(head))
            if verdict is True or (verdict is None and not chunk):
                return  # clean, or an empty/truncated part the parser will report
            if verdict is False or len(head) >= XML_PROLOG_MAX_BYTES:
                break
    msg = (
        f"{path.name}: refused as unsafe: the part {info.filename} declares XML entities or a "
        "DTD (<!DOCTYPE>/<!ENTITY>), which Excel never writes: open the file in Excel and save "
        "it again, or export the sheet as CSV."
    )
    raise InputError(msg)


def _reads_true(archive: zipfile.ZipFile, name: str, pattern: re.Pattern[bytes]) -> bool:
    """Whether a (small) part contains the pattern; False when the part is missing."""
    try:
        with archive.open(name) as part:
            return pattern.search(part.read(XML_PROLOG_MAX_BYTES)) is not None
    except KeyError:
        return False


def _check_sheet_part(
    path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, full_calc: bool
) -> None:
    """Refuse, before calamine allocates anything, what would blow up or lie.

    calamine builds a sheet's whole bounding box: one stray cell at ZZ1048576 in a 5 KB file
    asks for gigabytes (and a Rust abort). And a workbook written by a program with
    "calculate on load" holds formulas whose cached values (often 0) were never computed:
    reading them would send 0 as a tracking number.
    """
    cells = 0
    first_row = last_row = 0
    letters: set[bytes] = set()
    formulas = False
    tail = b""
    with archive.open(info) as part:
        while chunk := part.read(SHEET_SCAN_CHUNK_BYTES):
            data = tail + chunk
            cut = data.rfind(b"<")
            data, tail = (data[:cut], data[cut:]) if cut > 0 else (data, b"")
            # Work done in C per chunk: counting, a set of column letters, and the first
            # and last row number (OOXML keeps rows in ascending order).
            cells += data.count(b"<c ")
            if b"<c " in data:
                letters.add(b"Z")  # single-letter columns: count them as Z, the widest
            letters.update(_WIDE_CELL_COLUMN.findall(data))  # AA and beyond: rare, so cheap
            if not first_row and (found := _ROW_REF.search(data)):
                first_row = int(found.group(1))
            last = data.rfind(b"<row ")
            if last >= 0 and (found := _ROW_REF.match(data, last)):
                last_row = int(found.group(1))
            if full_calc and not formulas and _FORMULA.search(data):
                formulas = True
    sheet = f"{path.name} ({info.filename})"
    if formulas:
        msg = (
            f"{sheet}: the workbook holds formulas that were never calculated (it was written "
            "by a program, not saved by Excel), so their values cannot be trusted: open it in "
            "Excel and save it, or paste the columns as values."
        )
        raise InputError(msg)
    if not cells or not letters or not first_row:
        return
    width = max(_column_number(letter) for letter in letters)  # as if it started at A
    area = (last_row - first_row + 1) * width
    if width > MAX_COLUMNS or area > max(MAX_EMPTY_AREA_FACTOR * cells, MIN_AREA_CHECKED):
        msg = (
            f"{sheet}: the sheet's used area reaches row {last_row:,} and about column {width:,} "
            f"but holds only {cells:,} cells: delete the stray cells far below or to the right "
            "(Ctrl+End shows the last one) and save again."
        )
        raise InputError(msg)


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _ascii_view(head: bytes) -> str:
    """The markup of an XML head as text (UTF-16 parts are rare but legal)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[1:2] == b"\x00":
        encoding = "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-16-le"
        return head.decode(encoding, errors="replace")
    return head.decode("latin-1")


def _prolog_verdict(text: str) -> bool | None:
    """True: root element reached cleanly; False: a declaration (DTD); None: need more."""
    upper = text[:XML_SCAN_BYTES].upper()
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        return False
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n\ufeff":
            pos += 1
        if pos >= len(text):
            return None
        if text.startswith("<?", pos):
            end = text.find("?>", pos)
            if end < 0:
                return None
            pos = end + 2
        elif text.startswith("<!--", pos):
            end = text.find("-->", pos)
            if end < 0:
                return None
            pos = end + 3
        else:
            # A declaration (`<!DOCTYPE`) is unsafe; anything else is the root element, or
            # junk the parser will reject.
            return not text.startswith("<!", pos)


def _contains(path: Path, needle: bytes) -> bool:
    """Whether ``needle`` occurs in the file; streams in chunks."""
    tail = b""
    with path.open("rb") as fh:
        while chunk := fh.read(CFB_SCAN_CHUNK_BYTES):
            if needle in tail + chunk:
                return True
            tail = chunk[-(len(needle) - 1) :]
    return False


# --- sheets and cells ---------------------------------------------------------------------


def _pick_sheet(path: Path, workbook: CalamineWorkbook, wanted: str | None) -> SheetSource:
    names = list(workbook.sheet_names)
    listing = ", ".join(repr(n) for n in names)
    if wanted is not None:
        name = _match_sheet_name(names, wanted)
        if name is None:
            msg = (
                f"{path.name}: no sheet named {wanted!r} (sheets: {listing}): pass one of "
                "these names with --sheet."
            )
            raise InputError(msg)
        source = _sheet_source(path, workbook.get_sheet_by_name(name))
        if source is None:
            msg = (
                f"{path.name} [{name}]: the sheet is empty: choose the sheet with the shipments "
                f"with --sheet (sheets: {listing})."
            )
            raise InputError(msg)
        return source
    worksheets = [m for m in workbook.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
    # Visible sheets first: a hidden sheet with data is usually a lookup list, not the input.
    worksheets.sort(key=lambda m: m.visible != SheetVisibleEnum.Visible)
    for meta in worksheets:
        source = _sheet_source(path, workbook.get_sheet_by_name(meta.name))
        if source is not None:
            return source
    msg = (
        f"{path.name}: no worksheet has any data (sheets: {listing}): put the shipments on a "
        "sheet, with a header row above them, and save again."
    )
    raise InputError(msg)


def _match_sheet_name(names: list[str], wanted: str) -> str | None:
    if wanted in names:
        return wanted
    loose = [n for n in names if n.strip().casefold() == wanted.strip().casefold()]
    return loose[0] if len(loose) == 1 else None


def _sheet_source(path: Path, sheet: CalamineSheet) -> SheetSource | None:
    """The sheet's non-blank records, or None if it has none."""
    start = sheet.start
    if start is None:
        return None
    if sheet.width > MAX_COLUMNS:
        msg = (
            f"{path.name} [{sheet.name}]: the sheet's data spans {sheet.width:,} columns, more "
            f"than the {MAX_COLUMNS:,} allowed: delete the stray cells far to the right and "
            "save again."
        )
        raise InputError(msg)
    records = _records(sheet)
    first = next(records, None)
    if first is None:
        return None
    return SheetSource(sheet.name, start[1] + 1, _prepend(first, records))


def _prepend(first: Record, rest: Iterator[Record]) -> Iterator[Record]:
    yield first
    yield from rest


def _records(sheet: CalamineSheet) -> Iterator[Record]:
    # iter_rows() starts at the sheet's row 1 (leading empty rows come back empty) and at
    # the first used column, so enumerate() gives Excel's row numbers.
    text = _CellTexts()
    for row_number, values in enumerate(sheet.iter_rows(), start=1):
        cells = [v if type(v) is str else text(v) for v in values]
        first = cells[0] if cells else ""
        if (first and not first.isspace()) or any(c and not c.isspace() for c in cells):
            yield row_number, cells


class _CellTexts:
    """cell_text with a memory: quantities, costs and dates repeat down a sheet.

    One cache per type: 1, 1.0 and True are equal dict keys but read `1`, `1` and `TRUE`.
    """

    def __init__(self) -> None:
        self._by_type: dict[type, dict[CellValue, str]] = {}

    def __call__(self, value: CellValue) -> str:
        cache = self._by_type.setdefault(type(value), {})
        text = cache.get(value)
        if text is None:
            text = cell_text(value)
            if len(cache) < CELL_TEXT_CACHE_SIZE:
                cache[value] = text
        return text


def cell_text(value: CellValue) -> str:
    """The text a person sees in the cell (General format; dates in ISO order).

    Whole numbers lose their `.0`; other numbers show up to 15 significant digits (Excel's
    precision, so 0.1+0.2 shows `0.3`); numbers of 1e15 and more look as Excel shows them
    (`9.4055E+21`) so callers can spot tracking numbers Excel has already damaged.
    Booleans are `TRUE`/`FALSE`; date-times `YYYY-MM-DD HH:MM:SS`, dates `YYYY-MM-DD`, times
    `HH:MM:SS`, durations `H:MM:SS` (rounded to the second, as Excel displays them).
    calamine returns a date for any whole-day date/time value, so a date-time cell holding
    exactly midnight reads as `YYYY-MM-DD`.
    """
    render = _RENDERERS.get(type(value))
    if render is not None:
        return render(value)
    for kind, fallback in _RENDERERS.items():  # subclasses; calamine returns exact types
        if isinstance(value, kind):
            return fallback(value)
    return str(value)


def _float_text(value: float) -> str:
    if value.is_integer() and -EXCEL_SCIENTIFIC_FROM < value < EXCEL_SCIENTIFIC_FROM:
        return str(int(value))
    if not math.isfinite(value):
        return repr(value)
    if abs(value) >= EXCEL_SCIENTIFIC_FROM:
        mantissa, exponent = f"{value:.5E}".split("E")
        return f"{mantissa.rstrip('0').rstrip('.')}E{exponent}"
    return f"{value:.{EXCEL_SIGNIFICANT_DIGITS}g}".replace("e", "E")


def _int_text(value: int) -> str:
    return str(value) if abs(value) < EXCEL_SCIENTIFIC_FROM else _float_text(float(value))


def _bool_text(value: bool) -> str:
    return "TRUE" if value else "FALSE"


def _datetime_text(value: dt.datetime) -> str:
    if value.microsecond:
        try:
            value = value.replace(microsecond=0) + dt.timedelta(
                seconds=_round_seconds(value.microsecond)
            )
        except OverflowError:
            value = value.replace(microsecond=0)
    return value.isoformat(sep=" ")


def _date_text(value: dt.date) -> str:
    return value.isoformat()


def _time_text(value: dt.time) -> str:
    micros = ((value.hour * 60 + value.minute) * 60 + value.second) * _US_PER_S
    seconds = _round_seconds(micros + value.microsecond) % _S_PER_DAY
    return _clock_text(seconds, hour_digits=2)


def _duration_text(value: dt.timedelta) -> str:
    micros = value // dt.timedelta(microseconds=1)
    sign = "-" if micros < 0 else ""
    return sign + _clock_text(_round_seconds(abs(micros)))


# Exact types first (bool before int, datetime before date) for the isinstance fallback.
_RENDERERS: dict[type, Callable[[Any], str]] = {
    str: str,
    bool: _bool_text,
    int: _int_text,
    float: _float_text,
    dt.datetime: _datetime_text,
    dt.date: _date_text,
    dt.time: _time_text,
    dt.timedelta: _duration_text,
}


def _round_seconds(micros: int) -> int:
    """Whole seconds, half up, as Excel rounds a displayed time."""
    return (micros + _US_PER_S // 2) // _US_PER_S


def _clock_text(seconds: int, *, hour_digits: int = 1) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:0{hour_digits}d}:{minutes:02d}:{secs:02d}"
