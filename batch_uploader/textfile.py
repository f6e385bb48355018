"""Text exports (CSV, TSV, Excel "Unicode Text") → records with their spreadsheet row numbers.

Guarantees:
- The encoding is a BOM if there is one, else strict UTF-8 if the whole file decodes, else a
  detected legacy encoding (Windows-1252 unless the text is clearly another script) that decodes
  the whole file. A caller's ``encoding`` wins; if it fails, the error names the byte offset.
- Memory and time are bounded: a streaming scan (one chunk in memory) refuses any line over
  ``MAX_RECORD_CHARS`` before parsing starts, csv's field limit stops a quoted field that runs
  on over many lines, and a record with more than ``MAX_COLUMNS`` used columns is refused.
- Row numbers count records (a quoted field with newlines is one row), blank rows included,
  exactly as a spreadsheet opening the file numbers them. Cell text is kept as written.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from batch_uploader.errors import InputError
from batch_uploader.excel_facts import MAX_COLUMNS

SAMPLE_BYTES = 64 * 1024
"""Head of the file used for binary detection and delimiter sniffing."""
DETECT_WINDOW_BYTES = 32 * 1024
"""Bytes around the first non-UTF-8 byte that are shown to the encoding detector."""
MAX_RECORD_CHARS = 1024 * 1024
"""Longest line or field (characters) accepted; anything longer is not a shipment row."""
CHUNK_BYTES = MAX_RECORD_CHARS
"""Read size of the decoding scan; never above MAX_RECORD_CHARS (see ``_scan``)."""
SNIFF_CHARS = 16 * 1024
"""Characters of the head given to csv.Sniffer (it is quadratic-ish on long samples)."""
SNIFF_ROWS = 20
"""Non-blank records looked at to choose a delimiter (the same window the header scan uses)."""
CP1252_MAX_MESS = 0.2
"""charset-normalizer mess ratio below which Windows-1252 text is taken as plausible."""
MAX_CONTROL_RATIO = 0.01
"""Share of C0 control characters (not tab/CR/LF) above which a 'text' file is binary."""
UTF16_NUL_SHARE = 0.3
"""Share of NUL bytes in one byte lane that marks BOM-less UTF-16 (ASCII-heavy text)."""
DELIMITERS = ",;\t|"
"""Candidate delimiters, in order of preference when the evidence is tied."""

_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 LE starts with the UTF-16 LE BOM, so the longer marks are tried first.
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_LIMIT_TEXT = f"{MAX_RECORD_CHARS // (1024 * 1024)} MiB"
# C0 controls other than tab, line breaks, form feed and \x1a (a DOS end-of-file mark).
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x19\x1b-\x1f]")
_SEP_HINT = re.compile(r"sep=([,;\t|])(?:\r\n|\n|\r)", re.IGNORECASE)

Record = tuple[int, list[str]]
"""A non-blank record: its 1-based row number and its cells."""


@dataclass(frozen=True, slots=True)
class TextSource:
    """A text file ready to be read: how it is encoded and split, and its non-blank records."""

    encoding: str
    delimiter: str
    records: Iterator[Record]


def open_text(
    path: Path,
    head: bytes,
    *,
    encoding: str | None,
    header_score: Callable[[Sequence[str]], float] | None,
) -> TextSource:
    """Detect encoding and delimiter of ``path`` (whose first bytes are ``head``).

    Raises InputError for binary data, undecodable text, or an ``encoding`` that fails.
    The records are read lazily; the returned iterator owns the open file until exhausted.
    """
    used, scan = _choose_encoding(path, head, encoding)
    text = codecs.getincrementaldecoder(used)(errors="replace").decode(head, final=False)
    _refuse_binary_text(path, text)
    if scan.long_line is not None:
        msg = (
            f"{path.name}: line {scan.long_line} is longer than {_LIMIT_TEXT} (this is not a "
            "shipment row): check that the file really is a CSV export, or delete that line."
        )
        raise InputError(msg)
    hint = _SEP_HINT.match(text)
    if hint is not None:
        # Excel's `sep=;` first line names the delimiter; it is not data (but is row 1).
        return TextSource(used, hint[1], _records(path, used, hint[1], skip_row=1))
    delimiter = _sniff_delimiter(text[:SNIFF_CHARS], header_score)
    return TextSource(used, delimiter, _records(path, used, delimiter))


# --- encoding -----------------------------------------------------------------------------


def _choose_encoding(path: Path, head: bytes, override: str | None) -> tuple[str, _Scan]:
    """The encoding to use, and the scan of the whole file with it."""
    if override is not None:
        return _checked_override(path, head, override)
    for bom, name in _BOMS:
        if head.startswith(bom):
            why = f"it starts with a {name.upper().removesuffix('-SIG')} byte-order mark"
            return name, _require_decodes(path, name, why=why)
    if b"\x00" in head:
        utf16 = _bomless_utf16(head)
        if utf16 is None:
            msg = (
                f"{path.name}: not a CSV or Excel file (it contains binary data): "
                "export the shipments as CSV or .xlsx and try again."
            )
            raise InputError(msg)
        why = "it looks like UTF-16 text without a byte-order mark"
        return utf16, _require_decodes(path, utf16, why=why)
    scan = _scan(path, "utf-8")
    if scan.bad is None:
        return "utf-8", scan
    offset, byte = scan.bad
    for name in _legacy_guesses(_detection_sample(path, head, offset)):
        guess = _scan(path, name)
        if guess.bad is None:
            return name, guess
    msg = (
        f"{path.name}: the text encoding could not be detected (byte 0x{byte:02X} at offset "
        f"{offset} is not UTF-8): save the file as 'CSV UTF-8' in Excel, or pass the encoding "
        "with --encoding (for example --encoding cp1252)."
    )
    raise InputError(msg)


def _checked_override(path: Path, head: bytes, override: str) -> tuple[str, _Scan]:
    try:
        name = codecs.lookup(override).name
    except LookupError:
        msg = (
            f"{path.name}: unknown encoding {override!r}: pass a name such as utf-8, cp1252, "
            "utf-16 or latin-1 with --encoding."
        )
        raise InputError(msg) from None
    if name == "utf-8" and head.startswith(codecs.BOM_UTF8):
        name = "utf-8-sig"  # same text; keeps the BOM out of the first header cell
    scan = _scan(path, name)
    if scan.bad is not None:
        offset, byte = scan.bad
        msg = (
            f"{path.name}: cannot be read as {override}: byte 0x{byte:02X} at offset {offset} "
            f"is not valid {override}: try another --encoding (cp1252 for Windows exports, "
            "utf-16 for Excel 'Unicode Text'), or leave --encoding out to detect it."
        )
        raise InputError(msg)
    return name, scan


def _require_decodes(path: Path, name: str, *, why: str) -> _Scan:
    scan = _scan(path, name)
    if scan.bad is not None:
        offset, byte = scan.bad
        msg = (
            f"{path.name}: {why}, but byte 0x{byte:02X} at offset {offset} is not valid "
            f"{name}: save the file again, or pass the right encoding with --encoding."
        )
        raise InputError(msg)
    return scan


@dataclass(frozen=True, slots=True)
class _Scan:
    """What one streaming pass over the file with an encoding found."""

    bad: tuple[int, int] | None = None
    """(offset, byte) of the first byte the encoding cannot decode."""
    long_line: int | None = None
    """1-based number of the first line longer than MAX_RECORD_CHARS (the scan stops there)."""


def _scan(path: Path, name: str) -> _Scan:
    """Decode the whole file in chunks, checking every byte decodes and no line is too long.

    Memory stays at one chunk: a 100 MB single line is detected after its first MiB.
    """
    consumed = 0
    if name == "utf-8-sig":
        # Its decoder reports error positions after the BOM it drops; skip the BOM ourselves.
        name, consumed = "utf-8", len(codecs.BOM_UTF8)
    decoder = codecs.getincrementaldecoder(name)(errors="strict")
    run = 0  # characters since the last line break
    line = 1
    with path.open("rb") as fh:
        fh.seek(consumed)
        while True:
            chunk = fh.read(CHUNK_BYTES)
            pending = decoder.getstate()[0]
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                data = pending + chunk
                return _Scan(bad=(consumed - len(pending) + exc.start, data[exc.start]))
            last_break = max(text.rfind("\n"), text.rfind("\r"))
            if last_break < 0:
                run += len(text)
            else:
                breaks = [i for i in (text.find("\n"), text.find("\r")) if i >= 0]
                if run + min(breaks) > MAX_RECORD_CHARS:
                    return _Scan(long_line=line)
                # Lines inside one chunk are shorter than the chunk, which is within the limit.
                line += text.count("\n") or text.count("\r")
                run = len(text) - last_break - 1
            if run > MAX_RECORD_CHARS:
                return _Scan(long_line=line)
            if not chunk:
                return _Scan()
            consumed += len(chunk)


def _bomless_utf16(head: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when NULs sit in one byte lane (ASCII as UTF-16), else None."""
    even = head[0::2]
    odd = head[1::2]
    if not odd:
        return None
    even_share = even.count(0) / len(even)
    odd_share = odd.count(0) / len(odd)
    if odd_share >= UTF16_NUL_SHARE and even_share < UTF16_NUL_SHARE / 10:
        return "utf-16-le"
    if even_share >= UTF16_NUL_SHARE and odd_share < UTF16_NUL_SHARE / 10:
        return "utf-16-be"
    return None


def _detection_sample(path: Path, head: bytes, first_bad: int) -> bytes:
    """The start of the file plus a window at the first non-UTF-8 byte (bounded size)."""
    if first_bad < 2 * DETECT_WINDOW_BYTES:
        return head[: 2 * DETECT_WINDOW_BYTES]
    with path.open("rb") as fh:
        fh.seek(max(0, first_bad - 1024))
        window = fh.read(DETECT_WINDOW_BYTES)
    return head[:DETECT_WINDOW_BYTES] + b"\n" + window


def _legacy_guesses(sample: bytes) -> list[str]:
    """Encodings to try, most likely first.

    Excel's "CSV (Windows)" is Windows-1252 for Western users; charset-normalizer alone often
    names a look-alike (cp1250, cp1006) on short samples, which turns `ñ` into `ń`. So
    Windows-1252 wins whenever its decoding reads as plausible text, and the detector's guess
    is used for other scripts (Cyrillic, Greek, CJK), where cp1252 yields an obvious mess.
    """
    # Imported here: only files that are not UTF-8 need a detector (~30 ms to load).
    from charset_normalizer import from_bytes
    from charset_normalizer.md import mess_ratio

    guesses: list[str] = []
    try:
        as_cp1252: str | None = sample.decode("cp1252")
    except UnicodeDecodeError:
        as_cp1252 = None
    if as_cp1252 is not None and mess_ratio(as_cp1252, CP1252_MAX_MESS) < CP1252_MAX_MESS:
        guesses.append("cp1252")
    best = from_bytes(sample).best()
    if best is not None:
        guesses.append(codecs.lookup(best.encoding).name)
    guesses.append("cp1252")
    return list(dict.fromkeys(guesses))


def _refuse_binary_text(path: Path, text: str) -> None:
    if not text:
        return
    if len(_CONTROL_CHARS.findall(text)) / len(text) > MAX_CONTROL_RATIO:
        msg = (
            f"{path.name}: not a CSV or Excel file (it contains binary data): "
            "export the shipments as CSV or .xlsx and try again."
        )
        raise InputError(msg)


# --- delimiter ----------------------------------------------------------------------------


def _sniff_delimiter(sample: str, header_score: Callable[[Sequence[str]], float] | None) -> str:
    """The delimiter among DELIMITERS.

    Preference: csv.Sniffer's answer, then the delimiter counted most in the header candidate
    line. With a ``header_score``, the delimiter under which some leading row looks most like
    our header wins, the preference breaking ties (a note full of `;` in a comma file can fool
    both the Sniffer and the count, never the header).
    """
    cut = max(sample.rfind("\n"), sample.rfind("\r"))
    if cut > 0:
        sample = sample[: cut + 1]
    preferred: list[str] = []
    # The Sniffer gives up (csv.Error) on single-column files and irregular samples.
    with contextlib.suppress(csv.Error):
        preferred.append(csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter)
    preferred += [_counted_delimiter(sample), *DELIMITERS]
    preferred = list(dict.fromkeys(preferred))
    if header_score is None:
        return preferred[0]

    def evidence(delimiter: str) -> tuple[float, int]:
        rows = _sample_rows(sample, delimiter)
        best = max((header_score(row) for row in rows), default=0.0)
        return best, -preferred.index(delimiter)

    return max(preferred, key=evidence)


def _counted_delimiter(sample: str) -> str:
    """The delimiter that occurs most in the header candidate line.

    The header candidate is the first of the leading non-blank lines with the most
    delimiters (a title or `TemplateType=` line above the header has fewer).
    """
    lines = [line for line in sample.splitlines() if line.strip()][:SNIFF_ROWS]
    best_line: dict[str, int] = dict.fromkeys(DELIMITERS, 0)
    for line in lines:
        counts = {d: line.count(d) for d in DELIMITERS}
        if max(counts.values()) > max(best_line.values()):
            best_line = counts
    top = max(best_line.values())
    if top == 0:
        return ","
    return next(d for d in DELIMITERS if best_line[d] == top)


def _sample_rows(sample: str, delimiter: str) -> list[tuple[str, ...]]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    rows: list[tuple[str, ...]] = []
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                rows.append(tuple(c.strip() for c in cells))
                if len(rows) == SNIFF_ROWS:
                    break
    except csv.Error:
        pass  # a sample cut inside a quoted field; the rows so far are evidence enough
    return rows


# --- records ------------------------------------------------------------------------------


def _records(path: Path, encoding: str, delimiter: str, skip_row: int = 0) -> Iterator[Record]:
    """Yield (row number, cells) for every non-blank record of the file, except ``skip_row``.

    Lines are known to be within MAX_RECORD_CHARS (see ``_scan``); a field that grows past it
    over several lines (an unclosed quote) stops at csv's field limit.
    """
    row_number = 0
    # The default field limit (128 Ki chars) is below our record limit; restored on close.
    saved_limit = csv.field_size_limit(MAX_RECORD_CHARS)
    try:
        with (
            path.open("rb") as raw,
            io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="") as stream,
        ):
            reader = csv.reader(stream, delimiter=delimiter)
            last_line = 0
            for row_number, cells in enumerate(reader, start=1):
                line = reader.line_num
                if line - last_line > 1:
                    # Only a record spanning lines can end a cell with a stray carriage return.
                    cells = [c.removesuffix("\r") for c in cells]
                last_line = line
                if len(cells) > MAX_COLUMNS:
                    cells = _trim_columns(path, row_number, cells)
                first = cells[0] if cells else ""
                if (not first or first.isspace()) and all(not c or c.isspace() for c in cells):
                    continue
                if row_number != skip_row:
                    yield row_number, cells
    except csv.Error as exc:
        if "field limit" in str(exc):
            msg = (
                f"{path.name}: row {row_number + 1} has a field longer than {_LIMIT_TEXT} "
                '(an unclosed quote " usually causes this): fix the quotes in that row, or '
                "export the file again."
            )
        else:
            msg = (
                f"{path.name}: row {row_number + 1} cannot be read as CSV ({exc}): fix that "
                "row in a text editor, or export the file again."
            )
        raise InputError(msg) from None
    except UnicodeDecodeError as exc:
        msg = (
            f"{path.name}: row {row_number + 1} cannot be decoded as {encoding} ({exc.reason}): "
            "pass the right encoding with --encoding, or save the file as 'CSV UTF-8'."
        )
        raise InputError(msg) from None
    finally:
        csv.field_size_limit(saved_limit)


def _trim_columns(path: Path, row_number: int, cells: list[str]) -> list[str]:
    """Drop trailing empty cells; refuse when more than MAX_COLUMNS remain."""
    width = len(cells)
    while width and not cells[width - 1]:
        width -= 1
    if width > MAX_COLUMNS:
        msg = (
            f"{path.name}: row {row_number} has {width:,} columns, more than the "
            f"{MAX_COLUMNS:,} allowed: check the delimiter, or delete the extra columns."
        )
        raise InputError(msg)
    return cells[:width]
