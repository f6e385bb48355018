"""Benchmark 2: send rate against the sandbox's strict 2/s limit, vs a naive sequential sender.

The rate is what the server saw: (N - 1) / (last - first) over the arrival times of the
requests it accepted. The overhead is what the whole CLI command costs beyond the (N - 1)/2
seconds the limit makes unavoidable: start-up, reading, the last reply, the workbook, exit.
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench import datagen
from bench.common import (
    ACCOUNT_TOKEN,
    API_LIMIT_PER_S,
    OUT_DIR,
    REPEATS,
    Metric,
    Section,
    Sizes,
    fmt_s,
    log,
    shown,
)
from bench.sandbox_proc import LATENCY_RANGE_S, SANDBOX_URL_SHOWN, Pace, SandboxProcess
from bench.upload import UploadRun, upload, upload_command

TITLE = "Send rate (one token)"
MIN_RATE_SHARE = 0.98
"""Shipments per second must reach this share of the API limit."""
MAX_429_SHARE = 0.01
"""At most this share of shipments may be answered 429."""
MAX_OVERHEAD_S = 3.0
"""Wall time of the whole command beyond (N − 1) / limit."""
NAIVE_SLEEP_S = 0.5
"""What the hand-written baseline sleeps between two requests."""
NAIVE_TIMEOUT_S = 60.0
NAIVE_MAX_SHIPMENTS = 100
"""The naive sender sends the first this many rows only: its rate (one request per reply +
0.5 s) does not depend on N, and 300 rows would cost the suite six minutes."""
PROGRESS_EVERY = 50
"""The naive sender logs a progress line every this many requests."""
WORK_DIR = OUT_DIR / "send"
LOG_STATUS_FIELD = 3
"""The CLI log's tab-separated fields: time, PO, tracking number, HTTP status, attempt, ms."""


@dataclass(frozen=True)
class SendResult:
    """The section, and the single-token rate the several-tokens benchmark compares with."""

    section: Section
    rate_per_s: float


def run(sizes: Sizes, server: SandboxProcess) -> SendResult:
    """Upload N one-row shipments with the CLI, then the same rows with the naive sender."""
    section = Section("send", TITLE)
    count = sizes.shipments
    rows = datagen.send_rows(count)
    shutil.rmtree(WORK_DIR, ignore_errors=True)
    csv_path = datagen.write_send_csv(WORK_DIR / f"send-{count}.csv", rows)
    floor_s = (count - 1) / API_LIMIT_PER_S

    runs: list[_CliRun] = []
    for attempt in range(1, REPEATS + 1):
        server.reset()
        log(
            f"send: CLI upload {attempt}/{REPEATS} of {count} shipments "
            f"(≥ {floor_s:.0f} s at {API_LIMIT_PER_S:g}/s)"
        )
        upload_run = upload(
            csv_path,
            server.url,
            WORK_DIR / f"cli-{attempt}",
            env={"FLXPOINT_API_TOKEN": ACCOUNT_TOKEN},
            requests=count,
        )
        stats = server.stats()
        runs.append(_CliRun(upload_run, stats, _pace(stats)))
        log(
            f"  run {attempt}: overhead {upload_run.wall_s - floor_s:.2f} s, "
            f"rate {runs[-1].pace.rate_per_s / API_LIMIT_PER_S:.3f} of the limit, "
            f"{stats.get('rate_limited', 0)} × 429"
        )
    pace = sorted(runs, key=lambda r: r.pace.rate_per_s)[len(runs) // 2].pace  # median rate
    _report_cli(section, count, runs)
    for failed in (r for r in runs if r.upload.exit_code != 0):
        section.notes.append(
            f"A CLI run exited {failed.upload.exit_code}: {failed.upload.stderr[-500:]}"
        )

    server.reset()
    naive_rows = rows[:NAIVE_MAX_SHIPMENTS]
    naive_count = len(naive_rows)
    log(f"send: naive sequential sender, first {naive_count} rows (~{naive_count * 1.25:.0f} s)")
    naive_wall_s, statuses = _naive_send(server.url, naive_rows)
    naive_stats = server.stats()
    naive_pace = _pace(naive_stats)
    _report_naive(section, naive_count, naive_wall_s, statuses, naive_stats, naive_pace, pace)
    section.notes += [
        f"Sandbox: `batch-uploader sandbox --latency {LATENCY_RANGE_S[0]}-{LATENCY_RANGE_S[1]} "
        f"--limiter spacing --auto-create-pos --seed {shown([str(server.seed)])}` in its own "
        "process (strict: two accepted requests of one token are never closer than 0.5 s; a "
        "closer one gets 429); reset before every run. The generated seed names the sources "
        "and tokens; the send benchmark's POs are made up on the fly (--auto-create-pos).",
        f"Input: {count} rows, one shipment each (`{','.join(datagen.SEND_HEADER)}`), source "
        f"{rows[0].source_id}, the account token.",
        f"Ours: `{shown(upload_command(csv_path, SANDBOX_URL_SHOWN, WORK_DIR / 'cli-N'))}` (fresh "
        f"journal), timed from spawn to exit, {REPEATS} runs, medians "
        "reported (each run's value in brackets). Rate = (N − 1) / (last − first) over the "
        "server's arrival times of accepted requests. Overhead = wall of the whole command − "
        "(N − 1) / 2 s. The sandbox draws its latencies from one fixed-seed sequence for the "
        "whole benchmark (each run meets the next part of it), so a benchmark run repeats.",
        "Naive: `httpx.Client`, one POST at a time, `time.sleep(0.5)` between, same JSON "
        f"bodies, in the bench process; the first {naive_count} rows only (its rate does not "
        "depend on N).",
    ]
    return SendResult(section, pace.rate_per_s)


def _pace(stats: dict[str, Any]) -> Pace:
    times: list[float] = [t for ts in stats.get("request_times", {}).values() for t in ts]
    return Pace.of(times)


@dataclass(frozen=True)
class _CliRun:
    upload: UploadRun
    stats: dict[str, Any]
    pace: Pace


def _report_cli(section: Section, count: int, runs: list[_CliRun]) -> None:
    """Medians over the CLI runs (and each run's value, so the spread shows)."""
    floor_s = (count - 1) / API_LIMIT_PER_S
    shares = [r.pace.rate_per_s / API_LIMIT_PER_S for r in runs]
    overheads = [r.upload.wall_s - floor_s for r in runs]
    limited = sum(int(r.stats.get("rate_limited", 0)) for r in runs)
    sent = count * len(runs)
    middle = sorted(runs, key=lambda r: r.upload.wall_s)[len(runs) // 2]

    def each(values: list[float], digits: int) -> str:
        return ", ".join(f"{v:.{digits}f}" for v in values)

    created = ", ".join(str(r.stats.get("created", 0)) for r in runs)
    codes = ", ".join(str(r.upload.exit_code) for r in runs)
    section.add(Metric("ours: shipments created", f"{created} of {count} (exit codes {codes})"))
    share = statistics.median(shares)
    section.add(
        Metric(
            "ours: rate / limit (2/s), median",
            f"{share:.3f} (runs: {each(shares, 3)}; {middle.pace.rate_per_s:.3f}/s)",
            f"≥ {MIN_RATE_SHARE}",
            share >= MIN_RATE_SHARE,
        )
    )
    section.add(
        Metric(
            "ours: 429 answers, all runs",
            f"{limited} of {sent} ({limited / sent:.1%})",
            f"≤ {MAX_429_SHARE:.0%}",
            limited / sent <= MAX_429_SHARE,
        )
    )
    overhead_s = statistics.median(overheads)
    section.add(
        Metric(
            "ours: end-to-end overhead, median",
            f"{overhead_s:.2f} s (runs: {each(overheads, 2)} s; "
            f"median wall {middle.upload.wall_s:.1f} s)",
            f"≤ {MAX_OVERHEAD_S:g} s",
            overhead_s <= MAX_OVERHEAD_S,
        )
    )
    section.add(
        Metric("ours: gaps between accepted requests (median run)", middle.pace.gap_summary())
    )
    for number, limited_run in enumerate(runs, start=1):
        log_file = limited_run.upload.summary.get("log")
        if limited_run.stats.get("rate_limited") and log_file:
            when = _when_429(Path(log_file))
            section.add(Metric(f"ours: when the 429s came (run {number}, CLI log)", when))
    summary = middle.upload.summary
    if summary:
        run_s = float(summary.get("seconds", 0.0))
        sending_s = float(summary.get("seconds_sending", 0.0))
        section.add(
            Metric(
                "ours: where the overhead goes (median run)",
                f"start-up + workbook + exit {fmt_s(middle.upload.wall_s - run_s)}; "
                f"read/validate/journal {fmt_s(run_s - sending_s)}; sending beyond (N−1)/2 "
                f"{fmt_s(sending_s - floor_s)} "
                f"(pacing above 0.5 s: {fmt_s(middle.pace.span_s - floor_s)})",
            )
        )


def _when_429(log_path: Path) -> str:
    """First and last 429 in seconds after the first request, from the CLI's per-request log.

    Clustered 429s mean one rejection led to more; spread ones mean steady jitter.
    """
    times: list[tuple[datetime, str]] = []
    try:
        lines = log_path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        return f"log unreadable ({exc.strerror})"
    for line in lines:
        fields = line.split("\t")
        if len(fields) < LOG_STATUS_FIELD + 1:
            continue
        try:
            times.append((datetime.fromisoformat(fields[0]), fields[LOG_STATUS_FIELD]))
        except ValueError:
            continue
    limited = [at for at, status in times if status == "429"]
    if not times or not limited:
        return "no 429 in the log"
    first = min(at for at, _ in times)
    return (
        f"{len(limited)} in the log; first at +{(limited[0] - first).total_seconds():.1f} s, "
        f"last at +{(limited[-1] - first).total_seconds():.1f} s of the run"
    )


def _report_naive(
    section: Section,
    count: int,
    wall_s: float,
    statuses: Counter[int],
    stats: dict[str, Any],
    pace: Pace,
    ours: Pace,
) -> None:
    share = pace.rate_per_s / API_LIMIT_PER_S
    limited = int(stats.get("rate_limited", 0))
    answers = ", ".join(f"{n}× {code}" for code, n in sorted(statuses.items()))
    section.add(Metric("naive: shipments created", f"{stats.get('created', 0)} of {count}"))
    rate = f"{pace.rate_per_s:.3f}/s ({share:.3f} of limit)"
    section.add(Metric("naive: shipments/s (server-side)", rate))
    section.add(Metric("naive: 429 answers / answers", f"{limited}; {answers}"))
    section.add(Metric("naive: wall", fmt_s(wall_s)))
    if pace.rate_per_s > 0:
        section.add(Metric("ours vs naive (rate)", f"{ours.rate_per_s / pace.rate_per_s:.2f}×"))


def _naive_send(base_url: str, rows: list[datagen.SendRow]) -> tuple[float, Counter[int]]:
    """The sender users write by hand: one POST at a time, sleep 0.5 s between."""
    statuses: Counter[int] = Counter()
    began = time.perf_counter()
    with httpx.Client(
        base_url=base_url, headers={"X-API-TOKEN": ACCOUNT_TOKEN}, timeout=NAIVE_TIMEOUT_S
    ) as client:
        for index, row in enumerate(rows):
            if index:
                time.sleep(NAIVE_SLEEP_S)
            reply = client.post("/shipments", json=naive_body(row))
            statuses[reply.status_code] += 1
            if (index + 1) % PROGRESS_EVERY == 0:
                log(f"  naive: {index + 1}/{len(rows)} sent")
    return time.perf_counter() - began, statuses


def naive_body(row: datagen.SendRow) -> dict[str, Any]:
    """The Create Shipment body a user builds by hand from one row."""
    return {
        "purchaseOrderNumber": row.po_number,
        "sourceId": row.source_id,
        "shipment": {
            "trackingNumber": row.tracking_number,
            "carrier": row.carrier,
            "shipmentItems": [{"sku": row.sku, "quantity": row.quantity}],
        },
    }
