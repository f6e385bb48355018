"""Shared test fixtures: a real sandbox API on 127.0.0.1 and the CLI run in-process."""

from __future__ import annotations

import contextlib
import csv
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from click.testing import CliRunner, Result

from batch_uploader.cli import cli
from batch_uploader.paths import CONFIG_DIR_ENV
from batch_uploader.sandbox import Sandbox, SandboxOptions

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "templates" / "example-shipments.csv"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CANONICAL_HEADER = [
    "PO Number",
    "Source ID",
    "Fulfillment Request ID",
    "Tracking Number",
    "Carrier",
    "Method",
    "Shipped At",
    "Shipping Cost",
    "Note",
    "SKU",
    "Quantity",
]


@pytest.fixture(autouse=True)
def private_config_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test sees an empty per-user config folder: no user profiles or carriers leak in."""
    folder = tmp_path_factory.mktemp("config")
    monkeypatch.setenv(CONFIG_DIR_ENV, str(folder))
    return folder


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh sandbox API with the bundled seed, strict 0.5 s spacing."""
    with Sandbox(SandboxOptions()) as server:
        yield server


@dataclass
class Workbook:
    """A results workbook read back with openpyxl, cell types included."""

    path: Path
    sheets: dict[str, list[list[Any]]]
    book: Any

    def table(self, sheet: str) -> list[dict[str, Any]]:
        """The sheet's rows as dicts keyed by its header."""
        header, *rows = self.sheets[sheet]
        return [dict(zip(header, row, strict=True)) for row in rows]

    def summary(self) -> dict[str, Any]:
        return {row[0]: row[1] for row in self.sheets["Summary"]}


def read_workbook(path: Path) -> Workbook:
    book = openpyxl.load_workbook(path)
    sheets = {
        ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in book.worksheets
    }
    return Workbook(path, sheets, book)


@dataclass
class Run:
    """One CLI invocation: its result, and the workbook it wrote (if any)."""

    result: Result
    report_dir: Path

    @property
    def code(self) -> int:
        return self.result.exit_code

    @property
    def stdout(self) -> str:
        return self.result.stdout

    @property
    def stderr(self) -> str:
        return self.result.stderr

    def workbook(self) -> Workbook:
        books = sorted(self.report_dir.glob("*-results.xlsx"), key=lambda p: p.stat().st_mtime)
        assert books, f"no workbook in {self.report_dir}: {self.stdout} {self.stderr}"
        return read_workbook(books[-1])


@pytest.fixture
def cli_run(tmp_path: Path) -> Any:
    """Run `batch-uploader ARGS` in-process with a private journal and report dir."""
    journal = tmp_path / "journal.sqlite3"

    def invoke(
        *args: str, env: dict[str, str] | None = None, report_dir: Path | None = None
    ) -> Run:
        reports = report_dir or tmp_path / "reports"
        argv = list(args)
        if argv and argv[0] in ("upload", "retry"):
            argv += ["--journal", str(journal), "--report-dir", str(reports)]
        environment = {"FLXPOINT_API_TOKEN": "", "FLXPOINT_BASE_URL": ""} | (env or {})
        result = CliRunner().invoke(cli, argv, env=environment, catch_exceptions=False)
        return Run(result, reports)

    return invoke


def write_csv(
    path: Path, rows: Sequence[Sequence[str]], header: Sequence[str] = CANONICAL_HEADER
) -> Path:
    """A UTF-8 CSV with the given header and rows."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def sandbox_env(server: Sandbox) -> dict[str, str]:
    """Point the CLI at a running sandbox with its account token."""
    return {"FLXPOINT_API_TOKEN": server.account_token, "FLXPOINT_BASE_URL": server.url}


@dataclass
class SandboxProcess:
    """`batch-uploader sandbox` in its own process: no shared GIL, so its clock is honest."""

    url: str
    process: subprocess.Popen[str]

    def stats(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/_sandbox/stats", timeout=10).json())

    def shipments(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.url}/_sandbox/shipments", timeout=10).json())


@contextlib.contextmanager
def sandbox_process(*args: str) -> Iterator[SandboxProcess]:
    """Start the sandbox command on a free port; stop it afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "batch_uploader", "sandbox", "--port", "0", *args],
        cwd=REPO,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"(http://\S+)", line)
        assert match, f"sandbox did not start: {line!r}"
        yield SandboxProcess(match.group(1), process)
    finally:
        process.terminate()
        process.wait(timeout=10)
