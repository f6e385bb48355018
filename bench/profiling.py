"""cProfile summaries for `--profile`: where the time of a slow stage goes, by function."""

from __future__ import annotations

import io
import pstats
from pathlib import Path

from bench.common import OUT_DIR, REPO

PROFILES_DIR = OUT_DIR / "profiles"
TOP_FUNCTIONS = 20
"""Functions listed per profile (by own time)."""


def profile_path(name: str) -> Path:
    """Where the stats of profile `name` are written (open with `python -m pstats FILE`)."""
    return PROFILES_DIR / f"{name}.prof"


def summarize(stats_file: Path, top: int = TOP_FUNCTIONS) -> list[str]:
    """The `top` functions by own time, as `tottime cumtime calls file:line(function)`."""
    stats = pstats.Stats(str(stats_file), stream=io.StringIO())
    raw = stats.stats  # type: ignore[attr-defined]  # documented by pstats, not in the stubs
    total = sum(entry[2] for entry in raw.values()) or 1.0
    ranked = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:top]
    lines = [f"total {total:.2f} s profiled; top {top} by own time (tottime / cumtime / calls):"]
    for (filename, line, function), (_, calls, tottime, cumtime, _) in ranked:
        where = _short(filename)
        lines.append(
            f"  {tottime:7.2f} s {tottime / total:5.1%}  {cumtime:7.2f} s  {calls:>9}  "
            f"{where}:{line}({function})"
        )
    return lines


def _short(filename: str) -> str:
    """Paths inside the repository relative to it; site-packages from the package on."""
    path = Path(filename)
    if path.is_relative_to(REPO) and ".venv" not in path.parts:
        return str(path.relative_to(REPO))
    if "site-packages" in path.parts:
        index = path.parts.index("site-packages")
        return str(Path(*path.parts[index + 1 :]))
    return filename
