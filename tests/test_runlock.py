"""runlock.py: one run per (API scope, token), across real processes."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from batch_uploader.errors import ConfigError
from batch_uploader.runlock import hold_run_lock, lock_path

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals")

SCOPE = "https://api.flxpoint.com"
FP_A, FP_B = "a" * 16, "b" * 16
WAIT_LINE = re.compile(
    r"waiting for run (?P<run>\S+) \(pid (?P<pid>\d+), started (?P<at>\d\d:\d\d)\) to finish; "
    r"Ctrl-C to stop"
)
STEP_S = 10.0  # generous bound for one step of a child process (start-up included)

# A run in miniature: takes the lock, says when it has it and when it lets go, and exits 130
# on Ctrl-C as the CLI does.
CHILD = r"""
import sys, time
from pathlib import Path
from batch_uploader.runlock import hold_run_lock

journal, scope, fingerprints, run_id, hold_s = sys.argv[1:6]
def on_wait(message):
    print("WAIT " + message, file=sys.stderr, flush=True)
try:
    with hold_run_lock(Path(journal), scope, fingerprints.split(","), run_id, on_wait=on_wait):
        print(f"HELD {time.time()}", flush=True)
        time.sleep(float(hold_s))
        print(f"RELEASED {time.time()}", flush=True)
except KeyboardInterrupt:
    print("INTERRUPTED", flush=True)
    sys.exit(130)
"""


class Child:
    """A child process holding or waiting for the lock; its output lines arrive in queues."""

    def __init__(
        self,
        journal: Path,
        run_id: str,
        *,
        fps: str = FP_A,
        scope: str = SCOPE,
        hold_s: float = 30.0,
    ) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(journal), scope, fps, run_id, str(hold_s)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=_pump, args=(stream, lines), daemon=True).start()

    def expect(self, lines: queue.Queue[str], prefix: str, timeout: float = STEP_S) -> str:
        """The next line of `lines`, which must start with `prefix`."""
        line = lines.get(timeout=timeout)
        assert line.startswith(prefix), line
        return line

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=STEP_S)


def _pump(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


@pytest.fixture
def children() -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for child in started:
        child.stop()


def test_second_run_waits_says_so_once_then_starts(journal: Path, children: list[Child]) -> None:
    """A second run with the same journal, scope and token waits, says so once, then runs."""
    first = Child(journal, "run-first", hold_s=1.5)
    children.append(first)
    first.expect(first.out, "HELD")
    second = Child(journal, "run-second", hold_s=0)
    children.append(second)
    waiting = second.expect(second.err, "WAIT ")
    match = WAIT_LINE.fullmatch(waiting.removeprefix("WAIT "))
    assert match is not None, waiting
    assert match["run"] == "run-first"
    assert int(match["pid"]) == first.proc.pid
    assert second.out.empty()  # not before the first one has finished

    released = float(first.expect(first.out, "RELEASED").split()[1])
    held = float(second.expect(second.out, "HELD").split()[1])
    assert held >= released
    assert second.proc.wait(timeout=STEP_S) == 0
    assert first.proc.wait(timeout=STEP_S) == 0
    assert second.err.empty()  # said once


def test_dead_holder_lock_is_taken_over_at_once(journal: Path, children: list[Child]) -> None:
    """kill -9 of the holder frees its lock: the waiting run starts within a moment."""
    holder = Child(journal, "run-killed")
    children.append(holder)
    holder.expect(holder.out, "HELD")
    waiter = Child(journal, "run-waiter", hold_s=0)
    children.append(waiter)
    waiter.expect(waiter.err, "WAIT ")

    killed_at = time.time()
    holder.proc.send_signal(signal.SIGKILL)
    held = float(waiter.expect(waiter.out, "HELD").split()[1])
    assert held - killed_at < 1.0
    assert waiter.proc.wait(timeout=STEP_S) == 0


def test_ctrl_c_while_waiting_leaves_without_the_lock(journal: Path, children: list[Child]) -> None:
    """SIGINT while waiting: the waiter exits 130, never held the lock, left the holder's note."""
    holder = Child(journal, "run-holder")
    children.append(holder)
    holder.expect(holder.out, "HELD")
    waiter = Child(journal, "run-interrupted", hold_s=0)
    children.append(waiter)
    waiter.expect(waiter.err, "WAIT ")

    waiter.proc.send_signal(signal.SIGINT)
    assert waiter.proc.wait(timeout=STEP_S) == 130
    waiter.expect(waiter.out, "INTERRUPTED", timeout=1)
    assert waiter.out.empty()  # no HELD line
    note = lock_path(journal, SCOPE, FP_A).read_text()
    assert '"run-holder"' in note
    assert "run-interrupted" not in note
    assert holder.proc.poll() is None  # the holder runs on, undisturbed


@pytest.mark.parametrize(
    ("scope", "fingerprint"),
    [(SCOPE, FP_B), ("https://sandbox.flxpoint.test", FP_A)],
    ids=["other-token", "other-base-url"],
)
def test_other_token_or_scope_does_not_wait(
    journal: Path, children: list[Child], scope: str, fingerprint: str
) -> None:
    """Another token, or the same token against another API, runs alongside without waiting."""
    holder = Child(journal, "run-holder")
    children.append(holder)
    holder.expect(holder.out, "HELD")
    said: list[str] = []
    began = time.monotonic()
    with hold_run_lock(journal, scope, [fingerprint], "run-other", on_wait=said.append):
        assert said == []
    assert time.monotonic() - began < 0.5


def test_waits_once_for_several_tokens(journal: Path, children: list[Child]) -> None:
    """With several tokens held elsewhere, the wait is announced once and all are taken."""
    holder = Child(journal, "run-both", fps=f"{FP_A},{FP_B}", hold_s=1.0)
    children.append(holder)
    holder.expect(holder.out, "HELD")
    said: list[str] = []
    with hold_run_lock(journal, SCOPE, [FP_B, FP_A, FP_B], "run-late", on_wait=said.append):
        held = time.time()
    released = float(holder.expect(holder.out, "RELEASED").split()[1])
    assert held >= released
    assert len(said) == 1
    assert WAIT_LINE.fullmatch(said[0]) is not None


def test_second_hold_in_one_process_waits_too(journal: Path) -> None:
    """Two runs in one process (the web page's threads) exclude each other as well."""
    said: list[str] = []
    gone = threading.Event()

    def second() -> None:
        with hold_run_lock(journal, SCOPE, [FP_A], "run-thread", on_wait=said.append):
            gone.set()

    with hold_run_lock(journal, SCOPE, [FP_A], "run-main", on_wait=said.append):
        thread = threading.Thread(target=second, daemon=True)
        thread.start()
        time.sleep(0.3)
        assert not gone.is_set()
    thread.join(timeout=STEP_S)
    assert gone.is_set()
    assert len(said) == 1
    assert said[0].startswith("waiting for run run-main (pid ")


def test_lock_file_is_beside_the_journal_and_names_no_token(journal: Path) -> None:
    """The lock file lives next to the journal; its name is a hash, its body the holder."""
    with hold_run_lock(journal, SCOPE + "/", [FP_A], "run-1", on_wait=print):
        path = lock_path(journal, SCOPE, FP_A)
        assert path.parent == journal.parent
        assert re.fullmatch(r"journal\.sqlite3\.lock-[0-9a-f]{16}", path.name)
        assert FP_A not in path.name
        assert '"run_id": "run-1"' in path.read_text()
        assert f'"pid": {os.getpid()}' in path.read_text()


def test_unusable_lock_place_is_a_config_error(tmp_path: Path) -> None:
    """A journal whose folder cannot hold a lock file is refused with a --journal hint."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    journal = blocker / "journal.sqlite3"
    with (
        pytest.raises(ConfigError, match=r"run lock .*--journal"),
        hold_run_lock(journal, SCOPE, [FP_A], "run-x", on_wait=print),
    ):
        pass
