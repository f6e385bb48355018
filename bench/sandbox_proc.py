"""The sandbox API as a separate process, and what its admin endpoints tell us.

A separate process keeps the server's handler threads off the uploader's GIL, as a real API
would be. Its stderr goes to a file (it prints only the listening line and real bugs), so a
full pipe can never stall it.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from bench.common import OUT_DIR, cli_command

LATENCY = "0.3-1.2"
"""Reply delay of every accepted request, uniformly random, in seconds."""
LATENCY_RANGE_S = (0.3, 1.2)
SANDBOX_URL_SHOWN = "http://127.0.0.1:PORT"
"""The sandbox's address as BENCHMARKS.md shows commands (the port is picked at start)."""
RANDOM_SEED = 1
"""Makes the sandbox's latency sequence repeatable from run to run."""
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
POLL_S = 0.05
ADMIN_TIMEOUT_S = 30.0
UTIME_FIELD = 11
STIME_FIELD = 12
"""Of /proc/PID/stat, counted from the state field (proc(5): fields 14 and 15)."""
_LISTENING = re.compile(r"listening on (http://\S+)")


@dataclass(frozen=True)
class Pace:
    """How a run's accepted requests were spaced, from the server's arrival times."""

    accepted: int
    span_s: float
    """First to last accepted arrival."""
    gaps_s: list[float]

    @classmethod
    def of(cls, times: list[float]) -> Pace:
        """Pace of one sorted (or unsorted) list of monotonic arrival times."""
        ordered = sorted(times)
        span = ordered[-1] - ordered[0] if len(ordered) > 1 else 0.0
        gaps = [b - a for a, b in itertools.pairwise(ordered)]
        return cls(len(ordered), span, gaps)

    @property
    def rate_per_s(self) -> float:
        """(N - 1) / (last - first): requests per second over the sending phase."""
        return (self.accepted - 1) / self.span_s if self.span_s > 0 else 0.0

    def gap_summary(self) -> str:
        """Min / median / p99 / max gap between consecutive accepted arrivals."""
        if not self.gaps_s:
            return "n/a"
        ordered = sorted(self.gaps_s)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        return (
            f"min {ordered[0] * 1000:.0f} ms, median {statistics.median(ordered) * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"
        )


class SandboxProcess:
    """`batch-uploader sandbox` on a free loopback port, strict spacing, auto-created POs.

    `seed` is the world it starts from (the generated bench seed: many sources, whole POs).
    """

    def __init__(self, seed: Path, log_path: Path = OUT_DIR / "sandbox.log") -> None:
        self.seed = seed
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def __enter__(self) -> SandboxProcess:
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            *cli_command(),
            "sandbox",
            "--port",
            "0",
            "--latency",
            LATENCY,
            "--limiter",
            "spacing",
            "--auto-create-pos",
            "--random-seed",
            str(RANDOM_SEED),
            "--seed",
            str(self.seed),
        ]
        with self._log_path.open("wb") as log_file:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log_file
            )
        self.url = self._wait_for_url()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        process = self._process
        if process is None:
            return
        process.send_signal(signal.SIGINT)  # serve_forever closes its socket on Ctrl-C
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self._process = None

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        assert self._process is not None
        while time.monotonic() < deadline:
            text = self._log_path.read_text(encoding="utf-8", errors="replace")
            found = _LISTENING.search(text)
            if found:
                return found.group(1)
            if self._process.poll() is not None:
                msg = f"the sandbox exited ({self._process.returncode}): {text.strip()}"
                raise RuntimeError(msg)
            time.sleep(POLL_S)
        msg = f"the sandbox did not say where it listens within {START_TIMEOUT_S:g} s"
        raise RuntimeError(msg)

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the sandbox process has used so far (Linux /proc)."""
        if self._process is None:
            return 0.0
        try:
            text = Path(f"/proc/{self._process.pid}/stat").read_text(encoding="ascii")
        except OSError:
            return 0.0
        fields = text.rsplit(")", 1)[1].split()  # after "pid (name)": state is field 0
        return (int(fields[UTIME_FIELD]) + int(fields[STIME_FIELD])) / os.sysconf("SC_CLK_TCK")

    def reset(self) -> None:
        """Forget shipments, counters and the rate limiter's history."""
        httpx.post(f"{self.url}/_sandbox/reset", timeout=ADMIN_TIMEOUT_S).raise_for_status()

    def stats(self) -> dict[str, Any]:
        """The sandbox's counters (requests, created, rate_limited, request_times, ...)."""
        reply = httpx.get(f"{self.url}/_sandbox/stats", timeout=ADMIN_TIMEOUT_S)
        reply.raise_for_status()
        stats: dict[str, Any] = reply.json()
        return stats
