"""A workbook is checked before the Excel parser opens it.

Guarantees: nothing is inflated before the archive passes the zip-bomb limits
(``MAX_UNCOMPRESSED_BYTES`` in total, ``MAX_COMPRESSION_RATIO`` per large entry), no XML part
declares entities (``<!DOCTYPE``/``<!ENTITY``, which Excel never writes), a sheet spans at
most ``MAX_COLUMNS`` columns and no vast empty area, and old .xls or encrypted workbooks
(OLE2/CFB containers) are refused with what to do instead.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import NoReturn

from batch_uploader.errors import InputError
from batch_uploader.excel_facts import MAX_COLUMNS

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
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


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


def check_archive(path: Path) -> None:
    """Refuse a workbook that could hurt the parser: zip bombs, entities, far-away cells."""
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
