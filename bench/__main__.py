"""`python -m bench [--only dryrun,send,scale,wholepo] [--quick] [--profile] [--output FILE]`.

Runs the selected benchmarks one after another (never two at once: they would measure each
other), prints progress on stderr, and writes the results as Markdown. A full run of every
benchmark writes BENCHMARKS.md; `--quick` or `--only` runs write to bench/out/ unless
`--output` says otherwise, so a smoke run never overwrites the published numbers.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import datagen, dryrun, machine, markdown, scale, send, wholepo
from bench.common import OUT_DIR, REPO, Metric, Section, Sizes, log
from bench.sandbox_proc import SandboxProcess

BENCHMARKS = ("dryrun", "send", "scale", "wholepo")
"""In the order BENCHMARKS.md lists them."""
AGAINST_SANDBOX = ("send", "scale", "wholepo")
TITLES = {
    "dryrun": dryrun.TITLE,
    "send": send.TITLE,
    "scale": scale.TITLE,
    "wholepo": wholepo.TITLE,
}
SEED_PATH = OUT_DIR / "sandbox-seed.json"
"""The generated sandbox world: many sources with their tokens, whole POs with items."""
FULL_OUTPUT = REPO / "BENCHMARKS.md"
QUICK_OUTPUT = OUT_DIR / "BENCHMARKS-quick.md"
PARTIAL_OUTPUT = OUT_DIR / "BENCHMARKS-partial.md"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and write the report; 0 unless the suite itself broke."""
    args = _parse(argv)
    selected: list[str] = args.only
    sizes = Sizes.quick() if args.quick else Sizes.full()
    machine_lines = machine.describe()  # the date and commit at the start
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    log(f"benchmarks: {', '.join(selected)}{' (quick)' if args.quick else ''}")
    sections: dict[str, Section] = {}

    def attempt(key: str, action: Callable[[], Section]) -> None:
        sections[key] = _guarded(key, action)

    if "dryrun" in selected:
        attempt("dryrun", lambda: dryrun.run(sizes, profile=args.profile))
    if any(key in selected for key in AGAINST_SANDBOX):
        _run_against_sandbox(selected, sizes, attempt)

    ordered = [sections[key] for key in BENCHMARKS if key in sections]
    described = [*machine_lines, ("Commit at end", machine.commit())]
    output: Path = args.output or _default_output(selected, args.quick)
    command = _command(argv if argv is not None else sys.argv[1:])
    text = markdown.render(ordered, described, command, args.quick)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    missed = [m for s in ordered for m in s.failures]
    log(f"wrote {output}; {len(missed)} target(s) missed")
    return 0


def _run_against_sandbox(
    selected: list[str], sizes: Sizes, attempt: Callable[[str, Callable[[], Section]], None]
) -> None:
    """The sending benchmarks share one sandbox process (generated seed), reset between runs."""
    seed = datagen.write_seed(SEED_PATH, sizes.scale_sources, sizes.whole_pos)
    single_rate: list[float] = []
    with SandboxProcess(seed) as server:
        log(f"sandbox listening on {server.url}")
        if "send" in selected:

            def send_section() -> Section:
                result = send.run(sizes, server)
                single_rate.append(result.rate_per_s)
                return result.section

            attempt("send", send_section)
        if "scale" in selected:
            attempt("scale", lambda: scale.run(sizes, server, next(iter(single_rate), None)))
        if "wholepo" in selected:
            attempt("wholepo", lambda: wholepo.run(sizes, server))


def _guarded(key: str, action: Callable[[], Section]) -> Section:
    """Run one benchmark; if it breaks, say so in its section and go on with the others.

    The machine's load average before and after goes into the notes: other work on the
    same cores slows every timing, and a reader should be able to see that it happened.
    """
    load_before = os.getloadavg()[0]
    commit_before = machine.commit()
    try:
        section = action()
    except Exception as exc:  # a broken benchmark must not lose the others' results
        traceback.print_exc(file=sys.stderr)
        section = Section(key, TITLES[key], available=False)
        section.add(Metric("error", f"{type(exc).__name__}: {exc}"))
        section.notes.append("The benchmark itself failed; see the traceback on stderr.")
    section.reproduce = f".venv/bin/python -m bench --only {key}"
    load_after = os.getloadavg()[0]
    commit_after = machine.commit()
    section.notes.append(
        f"Machine load average (1 min) before / after: {load_before:.2f} / {load_after:.2f} "
        f"on {os.cpu_count()} cores (the suite itself adds about 1)."
    )
    if commit_after == commit_before:
        section.notes.append(f"Code measured: `{commit_before}`.")
    else:
        section.notes.append(
            f"**The code changed while this benchmark ran** (`{commit_before}` → "
            f"`{commit_after}`): its runs may have measured different versions; run it again."
        )
    return section


def _default_output(selected: list[str], quick: bool) -> Path:
    if quick:
        return QUICK_OUTPUT
    if set(selected) != set(BENCHMARKS):
        return PARTIAL_OUTPUT
    return FULL_OUTPUT


def _command(argv: list[str]) -> str:
    shown = shlex.join(argv)
    if not argv:
        return "make bench   # = .venv/bin/python -m bench"
    return f".venv/bin/python -m bench {shown}"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmarks of batch-uploader; writes BENCHMARKS.md."
    )
    parser.add_argument(
        "--only",
        type=_benchmark_list,
        default=list(BENCHMARKS),
        metavar="LIST",
        help=f"Comma-separated benchmarks to run, from {','.join(BENCHMARKS)} (default: all).",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="Small sizes (20 shipments, 20k rows): check the suite works in a few minutes.",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="Also cProfile one extra dry run of the large CSV; print the hot spots.",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=(
            "Markdown file to write (default: BENCHMARKS.md for a full run of everything, "
            "else bench/out/BENCHMARKS-quick.md or -partial.md)."
        ),
    )
    return parser.parse_args(argv)


def _benchmark_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown or not names:
        msg = f"unknown benchmark {', '.join(unknown) or '(none)'}; choose from {BENCHMARKS}"
        raise argparse.ArgumentTypeError(msg)
    return names


if __name__ == "__main__":
    sys.exit(main())
