"""One run per token: an OS file lock per (API scope, token) next to the journal.

Guarantees:
- while a process holds the lock for a (scope, token), no other process that asks for it gets
  it: a second run waits, says so once, and starts when the first one ends;
- the lock is the operating system's (``flock`` on POSIX, ``msvcrt.locking`` on Windows), so a
  process that dies in any way (kill -9, a crash, a power cut) releases it at once;
- while waiting nothing is taken, and Ctrl-C (KeyboardInterrupt) leaves at once.

Lock files stay behind on purpose: deleting one while another process waits on it would let
two runs lock two different files of the same name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

from batch_uploader.errors import ConfigError

POLL_S = 0.05  # how often a waiting run tries again: a freed lock is taken within this
INFO_READ_TRIES = 20  # a holder writes its details right after locking: wait ≤ 1 s for them
_INFO_LIMIT_BYTES = 4096
# Windows locks are mandatory byte ranges: lock one byte far past the details, so a waiting
# run can still read them.
_WIN_LOCK_OFFSET = 1 << 20


def lock_path(journal_path: Path, scope: str, fingerprint: str) -> Path:
    """The lock file of one (API scope, token fingerprint), beside the journal."""
    digest = hashlib.sha256(f"{scope.rstrip('/')}|{fingerprint}".encode()).hexdigest()[:16]
    return journal_path.with_name(f"{journal_path.name}.lock-{digest}")


@contextlib.contextmanager
def hold_run_lock(
    journal_path: Path,
    scope: str,
    fingerprints: Sequence[str],
    run_id: str,
    *,
    on_wait: Callable[[str], None],
) -> Iterator[None]:
    """Hold the run lock of every token in `fingerprints` for `scope` until the block ends.

    Locks are taken in sorted order (two runs sharing several tokens cannot deadlock). If one
    is held by another live process, `on_wait` is called once with
    ``waiting for run RUN_ID (pid N, started 17:02) to finish; Ctrl-C to stop`` and this waits
    until it is free. KeyboardInterrupt while waiting propagates with nothing held.
    """
    started = datetime.now().astimezone()
    said = False

    def waiting(message: str) -> None:
        nonlocal said
        if not said:
            said = True
            on_wait(message)

    with contextlib.ExitStack() as stack:
        for fingerprint in sorted(set(fingerprints)):
            path = lock_path(journal_path, scope, fingerprint)
            fd = _open(path)
            stack.callback(os.close, fd)
            try:
                _acquire(fd, waiting)
            except OSError as exc:  # e.g. a network drive without locks
                msg = (
                    f"run lock {path}: cannot be locked ({exc.strerror or exc}); "
                    f"keep the journal on a local disk (--journal)"
                )
                raise ConfigError(msg) from exc
            stack.callback(_release, fd)
            _write_info(fd, run_id, started)
        yield


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
    except OSError as exc:
        msg = (
            f"run lock {path}: cannot be opened ({exc.strerror or exc}); "
            f"choose another journal with --journal"
        )
        raise ConfigError(msg) from exc


def _acquire(fd: int, waiting: Callable[[str], None]) -> None:
    """Take the lock, polling while another process holds it; tell `waiting` who that is."""
    if _try_lock(fd):
        return
    tries = 0
    while (info := _read_info(fd)) is None and tries < INFO_READ_TRIES:
        tries += 1
        time.sleep(POLL_S)  # the holder has locked but not yet written who it is
        if _try_lock(fd):
            return
    waiting(_wait_message(info))
    while not _try_lock(fd):
        time.sleep(POLL_S)  # KeyboardInterrupt lands here: nothing is held yet


def _wait_message(info: dict[str, object] | None) -> str:
    if info is None:
        return "waiting for another run with this token to finish; Ctrl-C to stop"
    run_id, pid, started = info.get("run_id", "?"), info.get("pid", "?"), info.get("started")
    return (
        f"waiting for run {run_id} (pid {pid}, started {_when(started)}) to finish; Ctrl-C to stop"
    )


def _when(started: object) -> str:
    """17:02 today, else 2024-05-01 17:02, in this computer's time zone."""
    try:
        moment = datetime.fromisoformat(str(started)).astimezone()
    except ValueError:
        return "at an unknown time"
    if moment.date() == datetime.now().astimezone().date():
        return moment.strftime("%H:%M")
    return moment.strftime("%Y-%m-%d %H:%M")


def _write_info(fd: int, run_id: str, started: datetime) -> None:
    """Record who holds the lock, for the message of a run that waits on it."""
    info = {"run_id": run_id, "pid": os.getpid(), "started": started.isoformat()}
    data = json.dumps(info).encode()
    with contextlib.suppress(OSError):  # the details are for a message only; the lock holds
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, data)
        os.ftruncate(fd, len(data))


def _read_info(fd: int) -> dict[str, object] | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = os.read(fd, _INFO_LIMIT_BYTES)
        info = json.loads(data.decode())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _release(fd: int) -> None:
        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _release(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
