"""What every benchmark shares: paths, sizes, progress lines and the result records."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "bench" / "out"
"""Generated inputs and run artefacts (git-ignored)."""
INPUTS_DIR = OUT_DIR / "inputs"
REPEATS = 3
"""Timed repetitions per measurement; the median is reported."""
API_LIMIT_PER_S = 2.0
"""Create Shipment requests per second per token that the API (and the sandbox) allows."""
ACCOUNT_TOKEN = "sandbox-account-token"  # noqa: S105 -- the sandbox seed's, never real
ACCOUNT_SOURCE_ID = 101
"""Source the account-token rows name; the generated seed's first source."""
BYTES_PER_MB = 1_000_000
BYTES_PER_KIB = 1024

_STARTED = time.monotonic()


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark's input is; `--quick` shrinks them for a short smoke run."""

    daily_rows: int
    """Rows of the daily export (.csv and .xlsx) of the dry-run benchmark."""
    large_rows: int
    """Rows of the large export (.csv and .xlsx)."""
    huge_rows: int
    """Rows of the huge export (.csv only)."""
    shipments: int
    """Shipments (one row each) of the send benchmark."""
    scale_sources: int
    """Source tokens driven at once by the scale benchmark."""
    scale_per_source: int
    """Shipments per source of the scale benchmark."""
    whole_pos: int
    """Whole-PO rows (no items) of the look-up budget benchmark."""

    @classmethod
    def full(cls) -> Sizes:
        """The sizes the targets are stated for."""
        return cls(
            daily_rows=5_000,
            large_rows=100_000,
            huge_rows=1_000_000,
            shipments=300,
            scale_sources=50,
            scale_per_source=20,
            whole_pos=300,
        )

    @classmethod
    def quick(cls) -> Sizes:
        """A smoke run: checks the suite works, its numbers are not the benchmark's."""
        return cls(
            daily_rows=500,
            large_rows=5_000,
            huge_rows=20_000,
            shipments=20,
            scale_sources=5,
            scale_per_source=4,
            whole_pos=20,
        )


@dataclass(frozen=True)
class Metric:
    """One line of a benchmark's table: a measured value, and its target if it has one."""

    name: str
    value: str
    target: str = ""
    passed: bool | None = None
    """None: informational (no target)."""

    @property
    def verdict(self) -> str:
        """`pass`, `FAIL` or blank, as the table shows it."""
        if self.passed is None:
            return ""
        return "pass" if self.passed else "**FAIL**"


@dataclass
class Section:
    """One benchmark's outcome: its table and the notes on how it was measured."""

    key: str
    title: str
    metrics: list[Metric] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    available: bool = True
    """False when the feature measured does not exist (yet); the notes say why."""
    reproduce: str = ""
    """The command that runs this benchmark alone."""

    def add(self, metric: Metric) -> None:
        """Append a line to the table and echo it as progress."""
        self.metrics.append(metric)
        mark = f" [{metric.verdict.strip('*')}]" if metric.verdict else ""
        target = f" (target {metric.target})" if metric.target else ""
        log(f"  {metric.name}: {metric.value}{target}{mark}")

    @property
    def failures(self) -> list[Metric]:
        """The metrics that missed their target."""
        return [m for m in self.metrics if m.passed is False]


def log(message: str) -> None:
    """A progress line on stderr, stamped with the seconds since the suite started."""
    print(f"[bench {time.monotonic() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def cli_command() -> list[str]:
    """How to start batch-uploader from this interpreter's environment."""
    script = Path(sys.executable).with_name("batch-uploader")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "batch_uploader"]


def fmt_s(seconds: float) -> str:
    """Seconds as the tables show them."""
    return f"{seconds:.2f} s"


def shown(command: list[str]) -> str:
    """A command line as BENCHMARKS.md shows it: `batch-uploader`, paths relative to the repo."""
    parts = ["batch-uploader" if part == str(cli_command()[0]) else part for part in command]
    root = f"{REPO}/"
    return " ".join(part.replace(root, "") for part in parts)
