"""What the numbers were measured on: CPU, cores, memory, Python, libraries, commit, date."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench.common import REPO

CPUINFO = Path("/proc/cpuinfo")
MEMINFO = Path("/proc/meminfo")
KIB_PER_GIB = 1024 * 1024
LIBRARIES = ("batch-uploader", "httpx", "httpcore", "python-calamine", "xlsxwriter")
GIT_TIMEOUT_S = 10.0
PACKAGE = REPO / "batch_uploader"
SOURCE_HASH_HEX_CHARS = 12


def describe() -> list[tuple[str, str]]:
    """(label, value) lines for the top of BENCHMARKS.md."""
    return [
        ("Date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("CPU", _cpu_model()),
        ("Cores", str(os.cpu_count() or "?")),
        ("RAM", _memory()),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("Libraries", ", ".join(f"{name} {_version(name)}" for name in LIBRARIES)),
        ("Commit at start", commit()),
    ]


def _cpu_model() -> str:
    try:
        for line in CPUINFO.read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in MEMINFO.read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / KIB_PER_GIB:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def commit() -> str:
    """The code measured: `git describe --always --dirty` and a hash of the package sources.

    A dirty tree means uncommitted changes were measured; the source hash tells two dirty
    states apart, so a change in the middle of a benchmark is noticed.
    """
    return f"{_describe()} (sources {_sources_hash()})"


def _sources_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(str(path.relative_to(PACKAGE)).encode())
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"<unreadable>")
    return f"sha256:{digest.hexdigest()[:SOURCE_HASH_HEX_CHARS]}"


def _describe() -> str:
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() or "unknown"
