"""Benchmark 4: three source tokens at once (`upload --tokens FILE`), vs the one-token rate.

The limit is per token, so three sources with three tokens may go three times as fast.
The option may not exist yet: `upload --help` is checked at run time, and the section says
"not available" when it is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from bench import datagen
from bench.common import (
    ACCOUNT_TOKEN,
    API_LIMIT_PER_S,
    OUT_DIR,
    Metric,
    Section,
    Sizes,
    cli_command,
    log,
)
from bench.sandbox_proc import LATENCY_RANGE_S, Pace, SandboxProcess
from bench.upload import upload

TITLE = "Several tokens"
SOURCE_IDS = (101, 102, 103)
"""Sources of the sandbox seed, each with its own token `sandbox-source-<id>`."""
TOKEN_ENV_PREFIX = "BENCH_FLXPOINT_TOKEN_"  # noqa: S105 -- variable names, not secrets
MIN_RATE_SHARE = 0.98
"""The aggregate rate must reach this share of len(SOURCE_IDS) x the per-token limit."""
MIN_SPEEDUP = 2.9
"""The issue's measure: k tokens reach ~k x the single-token rate (here: at least 2.9x)."""
MAX_429_SHARE = 0.01
TOKENS_OPTION = "--tokens"
HELP_TIMEOUT_S = 60.0
WORK_DIR = OUT_DIR / "tokens"


def available() -> bool:
    """Whether this build's `upload` has a --tokens option."""
    done = subprocess.run(
        [*cli_command(), "upload", "--help"],
        capture_output=True,
        text=True,
        timeout=HELP_TIMEOUT_S,
        check=False,
    )
    return TOKENS_OPTION in done.stdout


def run(sizes: Sizes, server: SandboxProcess | None, single_rate_per_s: float | None) -> Section:
    """Upload len(SOURCE_IDS) x N shipments, each source with its own token."""
    section = Section("tokens", TITLE)
    if not available() or server is None:
        section.available = False
        section.add(Metric("aggregate rate", "not available"))
        section.notes.append(
            f"`batch-uploader upload --help` shows no `{TOKENS_OPTION}` option in this build, "
            "so there is nothing to measure yet; the benchmark runs once it exists."
        )
        log("tokens: upload has no --tokens option: not available")
        return section
    per_token = sizes.shipments_per_token
    count = per_token * len(SOURCE_IDS)
    rows = datagen.send_rows(count, SOURCE_IDS)
    shutil.rmtree(WORK_DIR, ignore_errors=True)
    csv_path = datagen.write_send_csv(WORK_DIR / f"tokens-{count}.csv", rows)
    tokens_file = WORK_DIR / "tokens.toml"
    lines = ["[tokens]", *(f'"{sid}" = "{TOKEN_ENV_PREFIX}{sid}"' for sid in SOURCE_IDS)]
    tokens_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {f"{TOKEN_ENV_PREFIX}{sid}": f"sandbox-source-{sid}" for sid in SOURCE_IDS}
    env["FLXPOINT_API_TOKEN"] = ACCOUNT_TOKEN  # as a user's shell would have it

    server.reset()
    log(f"tokens: CLI upload of {len(SOURCE_IDS)}×{per_token} shipments with --tokens")
    result = upload(
        csv_path,
        server.url,
        WORK_DIR / "cli",
        env=env,
        requests=count,
        extra=(TOKENS_OPTION, str(tokens_file)),
    )
    stats = server.stats()
    _report(section, count, result.wall_s, result.exit_code, stats, single_rate_per_s)
    if result.exit_code != 0:
        section.notes.append(f"The CLI exited {result.exit_code}: {result.stderr[-500:]}")
    section.notes += [
        f"Same sandbox as the send benchmark (latency {LATENCY_RANGE_S[0]}–{LATENCY_RANGE_S[1]} "
        "s, strict 0.5 s spacing per token), reset first.",
        f"Input: {count} one-row shipments, sources {', '.join(map(str, SOURCE_IDS))} in turn; "
        f"`{TOKENS_OPTION} tokens.toml` maps each source ID to an environment variable holding "
        "`sandbox-source-<id>`.",
        "Aggregate rate = (N − k) / (last − first) over the accepted arrivals of all k tokens "
        "(each token's n requests span n − 1 gaps, so N − 1 would count k − 1 gaps that are "
        "not there and overstate the rate); per-token rates are (n − 1) / (last − first) per "
        "token fingerprint.",
    ]
    return section


def _report(
    section: Section,
    count: int,
    wall_s: float,
    exit_code: int,
    stats: dict[str, Any],
    single_rate_per_s: float | None,
) -> None:
    by_token: dict[str, list[float]] = stats.get("request_times", {})
    rate_per_s = aggregate_rate(by_token)
    target_rate = len(SOURCE_IDS) * API_LIMIT_PER_S
    share = rate_per_s / target_rate
    limited = int(stats.get("rate_limited", 0))
    section.add(
        Metric(
            "shipments created",
            f"{stats.get('created', 0)} of {count} (exit code {exit_code}), "
            f"{len(by_token)} tokens seen by the server",
        )
    )
    section.add(
        Metric(
            f"aggregate rate / ({len(SOURCE_IDS)} × 2/s)",
            f"{rate_per_s:.3f}/s = {share:.3f}",
            f"≥ {MIN_RATE_SHARE}",
            share >= MIN_RATE_SHARE,
        )
    )
    if single_rate_per_s:
        speedup = rate_per_s / single_rate_per_s
        section.add(
            Metric(
                "aggregate / single-token rate",
                f"{speedup:.2f}× (single token: {single_rate_per_s:.3f}/s)",
                f"≥ {MIN_SPEEDUP}× (~{len(SOURCE_IDS)}×)",
                speedup >= MIN_SPEEDUP,
            )
        )
    rates = ", ".join(f"{Pace.of(times).rate_per_s:.3f}/s" for times in by_token.values())
    section.add(Metric("per-token rates", rates or "none"))
    section.add(
        Metric(
            "429 answers",
            f"{limited} ({limited / count:.1%})",
            f"≤ {MAX_429_SHARE:.0%}",
            limited / count <= MAX_429_SHARE,
        )
    )
    section.add(Metric("wall of the command", f"{wall_s:.1f} s"))


def aggregate_rate(by_token: dict[str, list[float]]) -> float:
    """(N - k) / (last - first) over the accepted arrivals of k tokens, in requests per second.

    k tokens working in parallel, n requests each, cover n - 1 gaps apiece in the same span;
    counting N - 1 would credit k - 1 gaps that no token waited for.
    """
    everything = [t for times in by_token.values() for t in times]
    if len(everything) < 2:
        return 0.0
    span_s = max(everything) - min(everything)
    return (len(everything) - len(by_token)) / span_s if span_s > 0 else 0.0
