"""Fuzzing the CLI with messy tables: no crash, no lost row, nothing invalid sent.

Hypothesis writes real files (utf-8, utf-8-sig, utf-16 or cp1252 with only characters the
encoding can hold; `,` `;` tab `|` delimiters; blank cells and rows; unicode; values up to
~10k characters; quotes, embedded line breaks, formula-looking text; extra and ragged
columns) and runs `batch-uploader upload` on each, in-process: with --dry-run (fast, no
network), and a few examples for real against a sandbox that accepts any PO.
A longer hunt: `FUZZ_EXAMPLES=4000 FUZZ_SANDBOX_EXAMPLES=100 pytest tests/test_fuzz.py
--timeout=0`.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from batch_uploader.cli import cli
from batch_uploader.parsing import clean
from batch_uploader.report import RESULT_COLUMNS
from batch_uploader.sandbox import Sandbox, SandboxOptions

ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252")
UNICODE_ENCODINGS = frozenset({"utf-8", "utf-8-sig", "utf-16"})
"""Encodings read back unambiguously; cp1252 text may legitimately be taken for UTF-8."""
DELIMITERS = (",", ";", "\t", "|")
REQUIRED = ("PO Number", "Source ID", "Tracking Number", "SKU", "Quantity")
OPTIONAL = ("Carrier", "Method", "Shipped At", "Shipping Cost", "Note", "Tracking URL")
HUGE_MAX = 10_000
DRY_RUN_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
SANDBOX_EXAMPLES = int(os.environ.get("FUZZ_SANDBOX_EXAMPLES", "10"))
SPECIALS = (
    '"', "'", ",", ";", "\t", "|", "\n", "\r\n", " ", "\u00a0", "=", "+", "-", "@",
    "=1+1", '=HYPERLINK("http://evil.example","x")', "é", "€", "😀", "\ufeff",
)  # fmt: skip
DRY_RUN_STATUSES = frozenset({"not sent", "invalid"})
SENT_STATUSES = frozenset({"created", "invalid", "failed"})


@dataclass(frozen=True)
class Table:
    """One generated input file, before it is written."""

    encoding: str
    delimiter: str
    line_end: str
    header: list[str]
    rows: list[list[str]]

    def non_blank_rows(self) -> dict[int, list[str]]:
        """Spreadsheet row number (header = 1) → cells, for rows with any visible text."""
        return {i + 2: r for i, r in enumerate(self.rows) if any(c.strip() for c in r)}

    def write(self, path: Path) -> Path:
        with path.open("w", encoding=self.encoding, newline="") as handle:
            writer = csv.writer(handle, delimiter=self.delimiter, lineterminator=self.line_end)
            writer.writerow(self.header)
            writer.writerows(self.rows)
        return path


def _encodable(encoding: str) -> Any:
    return lambda text: _can_encode(text, encoding)


def _can_encode(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def messy(encoding: str) -> st.SearchStrategy[str]:
    """Blank, whitespace, unicode, quotes, delimiters, line breaks, formulas, or ~10k chars."""
    codec = "cp1252" if encoding == "cp1252" else "utf-8"
    chars = st.characters(codec=codec, exclude_categories=("Cs", "Cc"))
    specials = st.sampled_from([s for s in SPECIALS if _can_encode(s, encoding)])
    pieces = st.lists(st.one_of(st.text(chars, max_size=12), specials), max_size=4).map("".join)
    huge = st.tuples(st.text(chars, min_size=1, max_size=6), st.integers(100, 2_000)).map(
        lambda unit_times: (unit_times[0] * unit_times[1])[:HUGE_MAX]
    )
    return st.one_of(
        st.just(""),
        st.sampled_from([" ", "\t", "  "]),
        pieces,
        huge,
    )


@st.composite
def tables(
    draw: st.DrawFn,
    *,
    max_rows: int = 8,
    pools: dict[str, list[str]] | None = None,
    pool_share: float = 0.6,
    optional_columns: tuple[str, ...] = OPTIONAL,
) -> Table:
    """A header with the required columns (shuffled among optional and extra ones), messy rows.

    A required column's cell comes from its pool of plausible values with ``pool_share``
    probability (so some rows are valid), else it is messy text like any other cell.
    """
    encoding = draw(st.sampled_from(ENCODINGS))
    text = messy(encoding)
    names = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=8)
    extra = draw(st.lists(names, max_size=3))
    optional = draw(st.lists(st.sampled_from(optional_columns), unique=True, max_size=3))
    header = draw(st.permutations([*REQUIRED, *optional, *extra]))
    values = pools or {
        "PO Number": ["TEST-1", "TEST-2", "FUZZ-A", " TEST-1 "],
        "Source ID": ["101", "102", "", "abc", "0", "104"],
        "Tracking Number": ["1ZFUZZ000001", "1ZFUZZ000002", " 1ZFUZZ000003 ", "9.4055E+21"],
        "SKU": ["SKU-1", "SKU-2", "'000123", ""],
        "Quantity": ["1", "2", "0", "-1", "x", "1.5", ""],
    }

    def cell(column: str) -> str:
        choices = values.get(column)
        if choices is not None and draw(st.floats(0, 1)) < pool_share:
            return draw(st.sampled_from(choices))
        return draw(text)

    rows = []
    for _ in range(draw(st.integers(1, max_rows))):
        if draw(st.integers(0, 9)) == 0:
            rows.append([draw(st.sampled_from(["", " ", "\t"]))] * len(header))  # a blank row
            continue
        ragged = draw(st.lists(text, max_size=2))  # cells past the header's last column
        rows.append([cell(column) for column in header] + ragged)
    delimiter = draw(st.sampled_from(DELIMITERS))
    line_end = draw(st.sampled_from(["\r\n", "\n"]))
    return Table(encoding, delimiter, line_end, header, rows)


def upload(path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[Any, Path]:
    """`batch-uploader upload PATH` in-process with a private journal and report dir."""
    reports = path.parent / "reports"
    argv = ["upload", str(path), "--journal", str(path.parent / "journal.sqlite3")]
    argv += ["--report-dir", str(reports), *args]
    environment = {"FLXPOINT_API_TOKEN": "", "FLXPOINT_BASE_URL": ""} | (env or {})
    result = CliRunner().invoke(cli, argv, env=environment, catch_exceptions=False)
    return result, reports


def results(reports: Path) -> tuple[list[Any], list[list[Any]]]:
    """The Results sheet's header and rows, values as Excel shows them."""
    (path,) = reports.glob("*-results.xlsx")
    with CalamineWorkbook.from_path(str(path)) as book:
        header, *rows = book.get_sheet_by_name("Results").to_python(skip_empty_area=False)
    assert tuple(header[-len(RESULT_COLUMNS) :]) == RESULT_COLUMNS
    return header, rows


def not_data_rows(reports: Path) -> int:
    """The Summary's count of rows that were not data (footers, totals: listed nowhere)."""
    (path,) = reports.glob("*-results.xlsx")
    with CalamineWorkbook.from_path(str(path)) as book:
        summary = book.get_sheet_by_name("Summary").to_python()
    return next(int(value) for label, value, *_ in summary if label == "Rows that are not data")


def check_exit(result: Any, table: Table) -> bool:
    """Exit 0/1/2 and no traceback; exit 2 only with one clear line for a file with no rows.

    Returns whether the run went on to write a workbook.
    """
    note(f"exit {result.exit_code}: {result.stderr.strip()[:300]}")
    assert result.exit_code in (0, 1, 2), result.stderr
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    event(f"exit {result.exit_code}")
    if result.exit_code == 2:
        assert len(result.stderr.strip().splitlines()) == 1
        assert not table.non_blank_rows(), "rows were given, yet nothing could be done"
        return False
    return True


def fuzz_settings(max_examples: int) -> settings:
    """Real files and a real CLI per example: no deadline; tmp_path is shared on purpose."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@fuzz_settings(max_examples=DRY_RUN_EXAMPLES)
@given(table=tables())
def test_dry_run_lists_every_row_once_whatever_the_file(tmp_path: Path, table: Table) -> None:
    """Any messy table: exit 0/1/2, no traceback, each non-blank row once, cells unchanged."""
    note(f"{table.encoding} {table.delimiter!r} {table.header}")
    path = table.write(Path(tempfile.mkdtemp(dir=tmp_path)) / "messy.csv")
    result, reports = upload(path, "--dry-run")
    if not check_exit(result, table):
        return
    header, rows = results(reports)
    n_orig = len(header) - len(RESULT_COLUMNS)
    listed = Counter(int(row[n_orig]) for row in rows)
    expected = table.non_blank_rows()
    # Every non-blank row is listed once, or counted in the Summary as not data (round 2).
    assert set(listed) <= set(expected), "only input rows are listed"
    assert max(listed.values(), default=1) == 1, "no row is listed twice"
    assert len(expected) - len(listed) == not_data_rows(reports), "no row silently dropped"
    statuses = [row[n_orig + 1] for row in rows]
    assert set(statuses) <= DRY_RUN_STATUSES
    assert result.exit_code == (1 if "invalid" in statuses else 0)
    if table.encoding in UNICODE_ENCODINGS:  # the original columns, unchanged
        for row in rows:
            cells = expected[int(row[n_orig])]
            assert row[:n_orig] == (cells + [""] * n_orig)[:n_orig]


SANDBOX_POOLS = {
    "PO Number": ["FUZZ-1", "FUZZ-2", " FUZZ-1 "],
    "Source ID": ["101", "102", "101", ""],  # no source: the API refuses (account token)
    "Tracking Number": ["1ZSENT000001", "1ZSENT000002", "'1ZSENT000003"],
    "SKU": ["SKU-1", "SKU-2"],
    "Quantity": ["1", "2", "1", "x"],
}


@fuzz_settings(max_examples=SANDBOX_EXAMPLES)
@given(
    table=tables(
        max_rows=5, pools=SANDBOX_POOLS, pool_share=0.9, optional_columns=("Carrier", "Note")
    )
)
def test_only_valid_groups_reach_the_api(tmp_path: Path, table: Table) -> None:
    """Against a real sandbox: each shipment it holds is exactly one `created` group's rows."""
    path = table.write(Path(tempfile.mkdtemp(dir=tmp_path)) / "messy.csv")
    with Sandbox(SandboxOptions(auto_create_pos=True)) as server:
        env = {"FLXPOINT_API_TOKEN": server.account_token, "FLXPOINT_BASE_URL": server.url}
        result, reports = upload(path, env=env)
        shipments = {s["id"]: s for s in server.shipments()}
        requests = server.stats().requests
    if not check_exit(result, table):
        assert requests == 0
        return
    header, rows = results(reports)
    n_orig = len(header) - len(RESULT_COLUMNS)
    assert Counter(int(row[n_orig]) for row in rows) == Counter(table.non_blank_rows().keys())
    statuses = [row[n_orig + 1] for row in rows]
    assert set(statuses) <= SENT_STATUSES
    tracking_at = header.index("Tracking Number")
    created: dict[int, list[str]] = {}
    for row in rows:
        if row[n_orig + 1] == "created":
            created.setdefault(int(row[n_orig + 2]), []).append(clean(row[tracking_at]))
        else:
            assert row[n_orig + 2] == "", "only created rows carry a Shipment ID"
    assert set(created) == set(shipments), "every shipment is a created group, and vice versa"
    for shipment_id, trackings in created.items():
        shipment = shipments[shipment_id]
        assert set(trackings) == {shipment["trackingNumber"]}
        assert len(shipment["shipmentItems"]) == len(trackings)
    event(f"{len(shipments)} shipments")
