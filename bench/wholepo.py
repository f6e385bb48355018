"""Benchmark 4 (issue 14): the look-up budget of whole-PO rows, and the rate it leaves.

A whole-PO row names a PO and a tracking number but no items, so the tool has to ask the
API which items the PO has before it can create the shipment. Those reads share the token's
2 requests/s with the creates; the budget is at most REQUESTS_PER_SHIPMENT_MAX requests per
shipment created, counted by the sandbox itself (POSTs + GETs it received).
"""

from __future__ import annotations

import shutil

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

TITLE = "Whole-PO rows: requests per shipment (issue 14)"
REQUESTS_PER_SHIPMENT_MAX = 1.02
MIN_RATE_SHARE = 0.98
"""Accepted requests (reads and creates: one limit) per second, as a share of 2/s."""
WORK_DIR = OUT_DIR / "wholepo"


def run(sizes: Sizes, server: SandboxProcess) -> Section:
    """Upload one row per seeded PO (PO Number, Source ID, Tracking Number) with one token."""
    section = Section("wholepo", TITLE)
    count = sizes.whole_pos
    shutil.rmtree(WORK_DIR, ignore_errors=True)
    csv_path = datagen.write_whole_po_csv(WORK_DIR / f"whole-po-{count}.csv", count)
    server.reset()
    log(f"wholepo: CLI upload of {count} whole-PO rows (≥ {(count - 1) / 2:.0f} s at 2/s)")
    env = {"FLXPOINT_API_TOKEN": ACCOUNT_TOKEN}
    result = upload(csv_path, server.url, WORK_DIR / "cli", env=env, requests=2 * count)
    stats = server.stats()
    posts = int(stats.get("requests", 0))
    reads = int(stats.get("reads", 0))
    created = int(stats.get("created", 0))
    limited = int(stats.get("rate_limited", 0))
    section.add(Metric("shipments created", f"{created} of {count} (exit code {result.exit_code})"))
    per_shipment = (posts + reads) / created if created else float("inf")
    section.add(
        Metric(
            "requests per shipment created",
            f"{per_shipment:.3f} ({posts} POSTs + {reads} reads = {posts + reads} for "
            f"{created} shipments)",
            f"≤ {REQUESTS_PER_SHIPMENT_MAX}",
            created > 0 and per_shipment <= REQUESTS_PER_SHIPMENT_MAX,
        )
    )
    times = [t for ts in stats.get("request_times", {}).values() for t in ts]
    pace = Pace.of(times)
    share = pace.rate_per_s / API_LIMIT_PER_S
    section.add(
        Metric(
            "rate of accepted requests / limit (2/s)",
            f"{share:.3f} ({pace.rate_per_s:.3f}/s over {pace.span_s:.1f} s, reads included)",
            f"≥ {MIN_RATE_SHARE}",
            share >= MIN_RATE_SHARE,
        )
    )
    if pace.span_s > 0 and created > 1:
        section.add(
            Metric(
                "shipments created per second",
                f"{(created - 1) / pace.span_s:.3f}/s over the same span",
            )
        )
    section.add(Metric("gaps between accepted requests", pace.gap_summary()))
    post_429 = int(stats.get("status_counts", {}).get("429", 0))
    read_429 = int(stats.get("read_status_counts", {}).get("429", 0))
    section.add(Metric("429 answers", f"{limited} ({post_429} to POSTs, {read_429} to reads)"))
    section.add(Metric("wall of the command", f"{result.wall_s:.1f} s"))
    if result.exit_code != 0 or created < count:
        section.notes.append(f"The CLI exited {result.exit_code}: `{result.stderr[-600:]}`")
    seeded = shown([str(server.seed)])
    command = upload_command(csv_path, SANDBOX_URL_SHOWN, WORK_DIR / "cli")
    section.notes += [
        f"Sandbox: as for the send benchmark (latency {LATENCY_RANGE_S[0]}–"
        f"{LATENCY_RANGE_S[1]} s, strict 0.5 s spacing, `--seed {seeded}`), reset first. The "
        f"seed holds {count} purchase orders `{datagen.whole_po_number(1)}`… of source "
        f"{datagen.ACCOUNT_SOURCE_ID} with 1–{datagen.MAX_ITEMS_PER_SHIPMENT} items each.",
        f"Input: {count} rows, one per PO, columns `{','.join(datagen.WHOLE_PO_HEADER)}` only "
        "(UPS numbers with valid check digits); the account token. "
        f"Command: `{shown(command)}`.",
        "Requests are counted by the sandbox (`/_sandbox/stats`: `requests` = POST /shipments "
        "received, `reads` = GETs of the API received, 429s included). Rate = (N − 1) / "
        "(last − first) over the arrivals of every accepted request of the token. One run.",
    ]
    return section
