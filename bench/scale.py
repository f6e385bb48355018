"""Benchmark 3: one CLI process driving many source tokens at once (`upload --tokens FILE`).

The limit is per token, so k sources with k tokens may go k times as fast; the question is
whether one process keeps every token's queue on its limit without burning more than a core.
"""

from __future__ import annotations

import shutil
import statistics

from bench import datagen
from bench.common import (
    ACCOUNT_TOKEN,
    API_LIMIT_PER_S,
    OUT_DIR,
    Metric,
    Section,
    Sizes,
    log,
    shown,
)
from bench.sandbox_proc import LATENCY_RANGE_S, SANDBOX_URL_SHOWN, Pace, SandboxProcess
from bench.upload import upload, upload_command

TITLE = "Many tokens at once (scale)"
TOKEN_ENV_PREFIX = "BENCH_FLXPOINT_TOKEN_"  # noqa: S105 -- variable names, not secrets
MIN_RATE_SHARE = 0.95
"""The aggregate rate must reach this share of sources x the per-token limit."""
MAX_429_SHARE = 0.01
MAX_CPU_CORES = 1.0
"""User + system CPU seconds of the CLI process per wall second."""
TOKENS_OPTION = "--tokens"
WORK_DIR = OUT_DIR / "scale"


def run(sizes: Sizes, server: SandboxProcess, single_rate_per_s: float | None) -> Section:
    """Upload sources x N shipments, rows ordered by source, each source with its own token."""
    section = Section("scale", TITLE)
    sources = datagen.source_ids(sizes.scale_sources)
    count = sizes.scale_per_source * len(sources)
    rows = sorted(datagen.send_rows(count, sources), key=lambda row: row.source_id)
    shutil.rmtree(WORK_DIR, ignore_errors=True)
    csv_path = datagen.write_send_csv(WORK_DIR / f"scale-{count}.csv", rows)
    tokens_file = WORK_DIR / "tokens.toml"
    lines = ["[tokens]", *(f'"{sid}" = "{TOKEN_ENV_PREFIX}{sid}"' for sid in sources)]
    tokens_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {f"{TOKEN_ENV_PREFIX}{sid}": datagen.source_token(sid) for sid in sources}
    env["FLXPOINT_API_TOKEN"] = ACCOUNT_TOKEN  # as a user's shell would have it

    server.reset()
    server_cpu_before = server.cpu_seconds()
    log(f"scale: CLI upload of {len(sources)} sources × {sizes.scale_per_source} shipments")
    extra = (TOKENS_OPTION, str(tokens_file))
    result = upload(csv_path, server.url, WORK_DIR / "cli", env=env, requests=count, extra=extra)
    server_cpu_s = server.cpu_seconds() - server_cpu_before
    stats = server.stats()
    by_token: dict[str, list[float]] = stats.get("request_times", {})
    rate_per_s = aggregate_rate(by_token)
    target_rate = len(sources) * API_LIMIT_PER_S
    share = rate_per_s / target_rate
    limited = int(stats.get("rate_limited", 0))
    section.add(
        Metric(
            "shipments created",
            f"{stats.get('created', 0)} of {count} (exit code {result.exit_code}), "
            f"{len(by_token)} tokens seen by the server",
        )
    )
    section.add(
        Metric(
            f"aggregate rate / ({len(sources)} × 2/s)",
            f"{rate_per_s:.1f}/s = {share:.3f}",
            f"≥ {MIN_RATE_SHARE}",
            share >= MIN_RATE_SHARE,
        )
    )
    rates = sorted(Pace.of(times).rate_per_s for times in by_token.values())
    if rates:
        section.add(
            Metric(
                "per-token rates (min / median / max)",
                f"{rates[0]:.3f} / {statistics.median(rates):.3f} / {rates[-1]:.3f} per s",
            )
        )
        section.add(Metric("when each token started", _starts(by_token)))
    if single_rate_per_s:
        section.add(
            Metric(
                "aggregate / single-token rate (send benchmark)",
                f"{rate_per_s / single_rate_per_s:.1f}× (single token: {single_rate_per_s:.3f}/s;"
                f" ideal {len(sources)}×)",
            )
        )
    section.add(
        Metric(
            "429 answers",
            f"{limited} of {stats.get('requests', 0)} ({limited / count:.1%})",
            f"≤ {MAX_429_SHARE:.0%}",
            limited / count <= MAX_429_SHARE,
        )
    )
    cores = result.cpu_s / result.wall_s if result.wall_s > 0 else 0.0
    section.add(
        Metric(
            "CPU of the CLI process (user + sys / wall)",
            f"{cores:.2f} cores ({result.cpu_s:.1f} s CPU in {result.wall_s:.1f} s wall)",
            f"≤ {MAX_CPU_CORES:g} core",
            cores <= MAX_CPU_CORES,
        )
    )
    section.add(Metric("peak memory of the CLI process", f"{result.peak_rss_mb:.0f} MB"))
    section.add(
        Metric(
            "CPU of the sandbox process (same 2 cores)",
            f"{server_cpu_s:.1f} s ({server_cpu_s / result.wall_s:.2f} cores)",
        )
    )
    if result.exit_code != 0:
        section.notes.append(f"The CLI exited {result.exit_code}: `{result.stderr[-500:]}`")
    command = upload_command(csv_path, SANDBOX_URL_SHOWN, WORK_DIR / "cli", extra)
    section.notes += [
        f"Sandbox: `batch-uploader sandbox --latency {LATENCY_RANGE_S[0]}-{LATENCY_RANGE_S[1]} "
        f"--limiter spacing --auto-create-pos --seed {shown([str(server.seed)])}` in its own "
        f"process, seeded with {len(sources)} sources (ids {sources[0]}–{sources[-1]}, token "
        f"`{datagen.SOURCE_TOKEN_PREFIX}<id>` each), reset first. Strict: two accepted "
        "requests of one token closer than 0.5 s get a 429.",
        f"Input: {count} one-row shipments, {sizes.scale_per_source} per source, rows ordered "
        f"by source; `{TOKENS_OPTION} tokens.toml` maps each source ID to an environment "
        f"variable holding its token. Command: `{shown(command)}`.",
        "Aggregate rate = (N − k) / (last − first) over the accepted arrivals of all k tokens, "
        "the whole sending time (each token's n requests span n − 1 gaps). CPU = the CLI "
        "child's rusage (user + system) over its wall time, start-up and workbook included. "
        "The sandbox shares the machine's 2 cores with the CLI: its own CPU is shown too. "
        "One run.",
    ]
    return section


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


def _starts(by_token: dict[str, list[float]]) -> str:
    """First arrival of each token, relative to the first of all: do tokens wait their turn?"""
    firsts = sorted(min(times) for times in by_token.values() if times)
    lasts = sorted(max(times) for times in by_token.values() if times)
    origin = firsts[0]
    return (
        f"first requests within {firsts[-1] - origin:.2f} s of each other; last requests "
        f"between +{lasts[0] - origin:.1f} s and +{lasts[-1] - origin:.1f} s"
    )
