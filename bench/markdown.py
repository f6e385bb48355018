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
    missed = [(s, m) for s, m in targeted if m.passed is False]
    lines = ["## Summary", ""]
    lines.append(f"{len(targeted) - len(missed)} of {len(targeted)} targets met.")
    if missed:
        lines.append("")
        lines += [
            f"- missed: {s.title} — {m.name}: {m.value} (target {m.target})" for s, m in missed
        ]
    lines.append("")
    return lines


def _section(section: Section) -> list[str]:
    lines = [f"## {section.title}", ""]
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
