"""Progress while sending: a rich bar on a terminal, periodic plain lines under cron.

Output goes to stderr so that stdout stays clean for the final summary or `--json`.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import TYPE_CHECKING

from batch_uploader.models import Outcome, ShipmentRequest, Status
from batch_uploader.run_hooks import Observer
from batch_uploader.sender import Attempt

if TYPE_CHECKING:
    from rich.progress import TaskID

PLAIN_INTERVAL_S = 15.0  # how often a non-terminal run says how far it got


class SendCounts:
    """Shipments done by status and requests per second: what every progress display shows."""

    def __init__(self) -> None:
        self.by_status: Counter[Status] = Counter()
        self.total = 0
        self._sent = 0
        self._first_sent = float("inf")
        self._last_sent = float("-inf")

    def add(self, outcome: Outcome) -> None:
        self.by_status[outcome.status] += 1

    def sent(self, attempt: Attempt) -> None:
        """Note when a request left (its reply may come before an earlier one's)."""
        left = attempt.at.timestamp() - attempt.elapsed_ms / 1000
        self._sent += 1
        self._first_sent = min(self._first_sent, left)
        self._last_sent = max(self._last_sent, left)

    @property
    def done(self) -> int:
        return sum(self.by_status.values())

    @property
    def rate(self) -> float:
        """Requests per second between the first and the latest to leave, as the API counts.

        Finished shipments per second since the start would read above the limit on a short
        run (11 shipments finish in ~5.3 s: "2.1/s") although no two requests left closer
        than 0.5 s.
        """
        span = self._last_sent - self._first_sent
        return (self._sent - 1) / span if self._sent > 1 and span > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        """At the current rate, how long the shipments not yet done will take."""
        return (self.total - self.done) / self.rate if self.rate else None

    def line(self) -> str:
        rate, left = self.rate, self.seconds_left
        remaining = f", about {left:.0f}s left" if left is not None else ""
        return (
            f"{self.done}/{self.total} shipments: {self.by_status[Status.CREATED]} created, "
            f"{self.by_status[Status.SKIPPED]} skipped, {self.by_status[Status.FAILED]} failed; "
            f"{rate:.2f} requests/s{remaining}"
        )


class PlainObserver(Observer):
    """Log lines on stderr every PLAIN_INTERVAL_S seconds: readable in a cron mail."""

    def __init__(self) -> None:
        self._counts = SendCounts()
        self._last = 0.0

    def loading(self, step: str, label: str, rows: int) -> None:
        print(f"{step} {label}: {rows:,} rows so far", file=sys.stderr, flush=True)

    def mapped(self, lines: list[str]) -> None:
        print("\n".join(lines), file=sys.stderr)

    def loaded(self, rows: int, requests: int, invalid: int) -> None:
        print(
            f"loaded {rows} rows: {requests} shipments to send, {invalid} rows invalid",
            file=sys.stderr,
        )

    def sending(self, total: int) -> None:
        self._counts = SendCounts()
        self._counts.total = total
        self._last = time.monotonic()

    def outcome(self, request: ShipmentRequest, outcome: Outcome) -> None:
        self._counts.add(outcome)
        now = time.monotonic()
        if now - self._last >= PLAIN_INTERVAL_S:
            self._last = now
            print(self._counts.line(), file=sys.stderr, flush=True)

    def attempt(self, attempt: Attempt) -> None:
        self._counts.sent(attempt)

    def finished(self) -> None:
        if self._counts.total:
            print(self._counts.line(), file=sys.stderr, flush=True)


class RichObserver(Observer):
    """A live progress bar with created/failed counts, rate and ETA."""

    def __init__(self) -> None:
        # Imported here: cron runs and --quiet never draw a bar, and rich costs ~50 ms to load.
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._console = Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]sending"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=self._console,
        )
        self._task: TaskID | None = None
        self._counts = SendCounts()

    def loading(self, step: str, label: str, rows: int) -> None:
        self._console.print(f"{step} {label}: {rows:,} rows so far", markup=False)

    def mapped(self, lines: list[str]) -> None:
        self._console.print("\n".join(lines), markup=False, highlight=False)

    def loaded(self, rows: int, requests: int, invalid: int) -> None:
        self._console.print(
            f"loaded {rows} rows: {requests} shipments to send, {invalid} rows invalid"
        )

    def sending(self, total: int) -> None:
        self._counts = SendCounts()
        self._counts.total = total
        self._progress.start()
        self._task = self._progress.add_task("send", total=total, counts="", rate="")

    def outcome(self, request: ShipmentRequest, outcome: Outcome) -> None:
        self._counts.add(outcome)
        if self._task is None:
            return
        by = self._counts.by_status
        self._progress.update(
            self._task,
            advance=1,
            counts=(
                f"[green]{by[Status.CREATED]} created[/] "
                f"[grey50]{by[Status.SKIPPED]} skipped[/] [red]{by[Status.FAILED]} failed[/]"
            ),
            rate=f"{self._counts.rate:.2f} requests/s",
        )

    def attempt(self, attempt: Attempt) -> None:
        self._counts.sent(attempt)

    def finished(self) -> None:
        self._progress.stop()


def make_observer(*, quiet: bool) -> Observer:
    """Rich on a terminal, plain lines otherwise, nothing with --quiet/--json."""
    if quiet:
        return Observer()
    if sys.stderr.isatty():
        return RichObserver()
    return PlainObserver()
