"""Run one command as a child process and measure it as a user would see it.

Wall time from spawn to exit; the child's own CPU seconds (user + system) and peak resident
memory from `os.wait4` (the kernel's rusage of exactly that process, imports and workbook
included); stdout whole; each stderr line with the second it arrived, so a benchmark can
tell whether a progress line came while the file was still loading.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from bench.common import BYTES_PER_KIB, BYTES_PER_MB


@dataclass(frozen=True)
class ChildRun:
    """What one child process did."""

    wall_s: float
    exit_code: int
    cpu_s: float
    """User + system CPU seconds of the child (all its threads)."""
    peak_rss_mb: float
    """ru_maxrss of the child: its largest resident set, in MB (10^6 bytes)."""
    stdout: str
    stderr_lines: tuple[tuple[float, str], ...]
    """(seconds after spawn, line) for every stderr line, in order."""
    timed_out: bool = False

    @property
    def stderr(self) -> str:
        """The whole stderr text."""
        return "\n".join(line for _, line in self.stderr_lines)

    @property
    def cpu_share(self) -> float:
        """CPU seconds per wall second: 1.0 is one core busy the whole time."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0


def run(command: Sequence[str], *, env: dict[str, str], timeout_s: float) -> ChildRun:
    """Run `command` to its end (killed after `timeout_s`) and measure it."""
    began = time.perf_counter()
    process = subprocess.Popen(
        list(command),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    assert process.stdout is not None
    assert process.stderr is not None
    out: list[str] = []
    err: list[tuple[float, str]] = []
    readers = [
        threading.Thread(target=_read_all, args=(process.stdout, out), daemon=True),
        threading.Thread(target=_read_lines, args=(process.stderr, err, began), daemon=True),
    ]
    for reader in readers:
        reader.start()
    expired = threading.Event()
    watchdog = threading.Timer(timeout_s, _kill, args=(process, expired))
    watchdog.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        watchdog.cancel()
    wall_s = time.perf_counter() - began
    process.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
    for reader in readers:
        reader.join()
    return ChildRun(
        wall_s=wall_s,
        exit_code=process.returncode,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss * BYTES_PER_KIB / BYTES_PER_MB,  # KiB on Linux
        stdout="".join(out),
        stderr_lines=tuple(err),
        timed_out=expired.is_set(),
    )


def _read_all(stream: IO[str], into: list[str]) -> None:
    into.append(stream.read())
    stream.close()


def _read_lines(stream: IO[str], into: list[tuple[float, str]], began: float) -> None:
    for line in stream:
        into.append((time.perf_counter() - began, line.rstrip("\n")))
    stream.close()


def _kill(process: subprocess.Popen[str], expired: threading.Event) -> None:
    expired.set()
    process.kill()
