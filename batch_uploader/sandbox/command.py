"""`batch-uploader sandbox`: serve the local fake of the Flxpoint API until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import click

from batch_uploader.errors import EXIT_BAD_INPUT, UploaderError


def fail(message: str, code: int) -> None:
    """One line on stderr and the exit code, as every command of the CLI does."""
    click.echo(f"batch-uploader: error: {message}", err=True)
    raise SystemExit(code)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to listen on (0 picks a free one).",
)
@click.option(
    "--latency",
    default="0",
    metavar="S|MIN-MAX",
    show_default=True,
    help="Reply delay in seconds, fixed or uniformly random, e.g. 0.3-1.2.",
)
@click.option(
    "--fail-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of requests answered 500 before creating anything.",
)
@click.option(
    "--lost-reply-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of requests created, then answered 500 (the shipment exists).",
)
@click.option(
    "--drop-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of requests created, then the connection dropped with no reply.",
)
@click.option(
    "--limiter",
    type=click.Choice(["spacing", "sliding", "off"]),
    default="spacing",
    show_default=True,
    help="2 req/s per token as strict 0.5 s spacing or a sliding second.",
)
@click.option(
    "--seed",
    "seed_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Purchase orders and tokens (JSON); default: templates/sandbox-seed.json.",
)
@click.option("--auto-create-pos", is_flag=True, help="Accept any PO (for benchmarks and fuzzing).")
@click.option("--random-seed", type=int, help="Make fault injection repeatable.")
def sandbox(
    host: str,
    port: int,
    latency: str,
    fail_rate: float,
    lost_reply_rate: float,
    drop_rate: float,
    limiter: str,
    seed_path: Path | None,
    auto_create_pos: bool,
    random_seed: int | None,
) -> None:
    """Serve the local sandbox API (POST /shipments and the read endpoints) until Ctrl-C."""
    from batch_uploader.sandbox import SandboxOptions, serve_forever

    try:
        low, _, high = latency.partition("-")
        latency_s = (float(low), float(high or low))
    except ValueError:
        fail(
            f"--latency {latency!r}: give seconds like 0.5 or a range like 0.3-1.2", EXIT_BAD_INPUT
        )
    options = SandboxOptions(
        seed_path=seed_path,
        limiter=limiter,  # type: ignore[arg-type]
        latency_s=latency_s,
        fail_before_rate=fail_rate,
        lost_reply_rate=lost_reply_rate,
        drop_connection_rate=drop_rate,
        auto_create_pos=auto_create_pos,
        random_seed=random_seed,
    )

    def ready(url: str) -> None:
        click.echo(f"sandbox API listening on {url}  (Ctrl-C to stop)", err=True)

    try:
        serve_forever(options, host, port, ready)
    except OSError as exc:
        fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}", EXIT_BAD_INPUT)
    except UploaderError as exc:
        fail(str(exc), exc.exit_code)
