"""Uploaded files: a private temporary directory per choice of files, removed afterwards.

A file name from the browser never becomes a path: each file is stored under a name built
here (its position, then the name's letters, digits, `-`, `_` and `.` only), inside a
directory made by `tempfile.mkdtemp()` (mode 0700).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

ACCEPTED_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm")
"""What the file picker offers; the reader decides what it can really read."""
MAX_NAME_CHARS = 80
COPY_CHUNK_BYTES = 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(browser_name: str, index: int) -> str:
    """A file name of our own making that keeps what a clerk recognises of the original.

    `../../etc/passwd` → `passwd`, `C:\\Exports\\Orders (1).csv` → `Orders_1.csv`; empty or
    dot-only names become `file-N`. Two files of one upload never share a name.
    """
    base = re.split(r"[\\/]", browser_name)[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    base = _UNSAFE.sub("_", base).strip("._")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem.strip("._-")[: MAX_NAME_CHARS - len(suffix) - 1] or f"file-{index + 1}"
    return f"{stem}.{suffix.lower()}" if suffix else stem


@dataclass
class Upload:
    """One choice of files and the column mapping chosen for them on the page."""

    directory: Path
    files: list[Path] = field(default_factory=list)
    overrides: dict[str, str] = field(default_factory=dict)
    """field → header chosen in the Columns table (`--map FIELD=HEADER` of the CLI)."""
    preview: dict[str, Any] | None = None
    """The last preview, for these overrides (a page reload does not read the files again)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _gone: bool = False
    _users: int = 0  # running checks and sends that read these files
    _discard_asked: bool = False

    @classmethod
    def create(cls) -> Upload:
        """A new, empty upload in its own private directory."""
        return cls(Path(tempfile.mkdtemp(prefix="batch-uploader-web-")))

    def add(self, browser_name: str, content: BinaryIO) -> Path:
        """Store one file under a name of our making; returns its path."""
        name = safe_name(browser_name, len(self.files))
        taken = {p.name for p in self.files}
        if name in taken:
            stem, dot, suffix = name.rpartition(".")
            stem, suffix = (stem, f".{suffix}") if dot else (name, "")
            counter = 2
            while f"{stem}-{counter}{suffix}" in taken:
                counter += 1
            name = f"{stem}-{counter}{suffix}"
        path = self.directory / name
        if path.resolve().parent != self.directory.resolve():  # cannot happen; belt and braces
            msg = f"refused file name {browser_name!r}"
            raise ValueError(msg)
        with path.open("xb") as out:
            shutil.copyfileobj(content, out, COPY_CHUNK_BYTES)
        self.files.append(path)
        return path

    def hold(self) -> None:
        """A run reads these files: `discard` waits until it calls `release`."""
        with self._lock:
            self._users += 1

    def release(self) -> None:
        """The run is over; remove the files now if that was asked meanwhile."""
        with self._lock:
            self._users -= 1
            pending = self._discard_asked and self._users == 0
        if pending:
            self.discard()

    def discard(self) -> None:
        """Remove the directory and everything in it, once no run reads it (idempotent)."""
        with self._lock:
            if self._gone:
                return
            if self._users:
                self._discard_asked = True
                return
            self._gone = True
        shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def gone(self) -> bool:
        """The files were removed (after sending, or a newer choice of files)."""
        return self._gone
