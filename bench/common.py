"""What every benchmark shares: paths, sizes, progress lines, timing and the result records."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "bench" / "out"
WITHOUT_PANDAS = REPO / "bench" / "without_pandas"
"""A `pandas` that refuses to import: put first on PYTHONPATH for runs of our own tool."""
"""Generated inputs and run artefacts (git-ignored)."""
INPUTS_DIR = OUT_DIR / "inputs"
REPEATS = 3
"""Timed repetitions per measurement; the median is reported."""
API_LIMIT_PER_S = 2.0
"""Create Shipment requests per second per token that the API (and the sandbox) allows."""
ACCOUNT_TOKEN = "sandbox-account-token"  # noqa: S105 -- the sandbox seed's, never real
ACCOUNT_SOURCE_ID = 101
"""Source the account-token rows name (any PO is accepted with --auto-create-pos)."""
BYTES_PER_MB = 1_000_000
BYTES_PER_KIB = 1024

_STARTED = time.monotonic()


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark's input is; `--quick` shrinks them for a one-minute smoke run."""

    shipments: int
    """Shipments (one row each) of the send benchmark."""
    shipments_per_token: int
    """Shipments per source token of the several-tokens benchmark."""
    xlsx_rows: int
    csv_rows: int
    report_rows: int

    @classmethod
    def full(cls) -> Sizes:
        """The sizes the targets are stated for."""
        return cls(
            shipments=300,
            shipments_per_token=100,
            xlsx_rows=100_000,
            csv_rows=1_000_000,
            report_rows=100_000,
        )

    @classmethod
    def quick(cls) -> Sizes:
        """A smoke run: checks the suite works, its numbers are not the benchmark's."""
        return cls(
            shipments=20,
            shipments_per_token=20,
            xlsx_rows=10_000,
            csv_rows=10_000,
            report_rows=10_000,
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


def median_seconds(timings: list[float]) -> float:
    """The median of repeated timings (robust to one slow outlier)."""
    return statistics.median(timings)


@dataclass(frozen=True)
class Timing:
    """How long one call took: wall seconds and CPU seconds of this process."""

    seconds: float
    cpu_seconds: float


def timed(action: Callable[[], object]) -> Timing:
    """Time `action()` by the high-resolution wall clock and by this process's CPU clock."""
    began, began_cpu = time.perf_counter(), time.process_time()
    action()
    return Timing(time.perf_counter() - began, time.process_time() - began_cpu)


def cli_command() -> list[str]:
    """How to start batch-uploader from this interpreter's environment."""
    script = Path(sys.executable).with_name("batch-uploader")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "batch_uploader"]


def fmt_s(seconds: float) -> str:
    """Seconds as the tables show them."""
    return f"{seconds:.2f} s"


def fmt_ratio(ratio: float) -> str:
    """A ratio as the tables show it (e.g. 1.23 times)."""
    return f"{ratio:.2f}×"


def as_installed(environment: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for running batch-uploader as a user's install has it: no pandas.

    The benchmark's virtualenv holds pandas for the baselines; pyarrow would import it on its
    first conversion and charge our runs for an import users never make.
    """
    env = dict(os.environ if environment is None else environment)
    paths = [str(WITHOUT_PANDAS), *filter(None, [env.get("PYTHONPATH")])]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env
