"""BENCHMARKS.md: the machine, the command, one table per benchmark, notes on method."""

from __future__ import annotations

from collections.abc import Sequence

from bench.common import Section


def render(
    sections: Sequence[Section], machine: Sequence[tuple[str, str]], command: str, quick: bool
) -> str:
    """The whole document."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `python -m bench` (`make bench`); do not edit by hand. Benchmarks report, "
        "they never fail a build.",
        "",
        "Timings come from a small shared machine (the cores below, often busy with other "
        "work): wall times are noisy by a few per cent or more. Each section gives the load "
        "average before and after it, and CPU seconds next to wall seconds where they differ.",
        "",
    ]
    if quick:
        lines += [
            "> **Quick smoke run (`--quick`)**: small sizes, so the numbers only show that the "
            "suite works; the targets are stated for the full sizes.",
            "",
        ]
    lines += ["## Machine", ""]
    lines += [f"- **{label}**: {value}" for label, value in machine]
    lines += ["", "## Reproduce", "", "```sh", command, "```", ""]
    lines += _overview(sections)
    for section in sections:
        lines += _section(section)
    return "\n".join(lines).rstrip() + "\n"


def _overview(sections: Sequence[Section]) -> list[str]:
    targeted = [(s, m) for s in sections for m in s.metrics if m.passed is not None]
    if not targeted:
        return []
    missed = [m for _, m in targeted if m.passed is False]
    lines = ["## Summary", ""]
    lines.append(f"{len(targeted) - len(missed)} of {len(targeted)} targets met.")
    lines += [
        "",
        "| Benchmark | Measure | Target | Measured | Result | Reproduce |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {_cell(s.title)} | {_cell(m.name)} | {_cell(m.target)} | {_cell(m.value)} | "
        f"{m.verdict} | `{_cell(s.reproduce)}` |"
        for s, m in targeted
    ]
    lines.append("")
    return lines


def _section(section: Section) -> list[str]:
    lines = [f"## {section.title}", ""]
    if section.reproduce:
        lines += [f"Reproduce: `{section.reproduce}`", ""]
    if not section.available:
        lines += ["**Not available** in this build.", ""]
    lines += ["| Measure | Value | Target | Result |", "|---|---|---|---|"]
    lines += [
        f"| {_cell(m.name)} | {_cell(m.value)} | {_cell(m.target)} | {m.verdict} |"
        for m in section.metrics
    ]
    if section.notes:
        lines += ["", "Method:", ""]
        lines += [f"- {note}" for note in section.notes]
    lines.append("")
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
