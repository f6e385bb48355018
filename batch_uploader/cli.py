"""The command line: options → Config → pipeline.run(); our exceptions → exit codes.

Nothing here decides how shipments are validated or sent; it only parses, calls, and prints.
A failure is one line on stderr (a traceback only with --verbose), never the token.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from batch_uploader import __version__
from batch_uploader.config import (
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_REPORT_DIR,
    TOKEN_ENV,
    Config,
    default_journal_path,
    load_tokens_file,
    parse_map_options,
)
from batch_uploader.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    NothingToDo,
    UploaderError,
)
from batch_uploader.pacing import MAX_RATE_PER_S
from batch_uploader.paths import templates_dir
from batch_uploader.pipeline import RunResult, prepare, run
from batch_uploader.profiles import (
    FIELD_LABELS,
    available_profiles,
    save_user_profile,
    user_profiles_dir,
)
from batch_uploader.progress import make_observer
from batch_uploader.sandbox.command import sandbox as sandbox_command
from batch_uploader.sender import DEFAULT_MAX_ATTEMPTS
from batch_uploader.web.command import serve as serve_command

F = TypeVar("F", bound=Callable[..., Any])


def _send_options(command: F) -> F:
    """The options shared by `upload` and `retry`, as the contract lists them."""
    options = [
        click.option(
            "--token",
            envvar=TOKEN_ENV,
            show_envvar=True,
            help=(
                f"API token. Prefer the {TOKEN_ENV} environment variable: a command line is "
                "visible to other users. Never printed, logged or written to a report."
            ),
        ),
        click.option(
            "--base-url",
            envvar=BASE_URL_ENV,
            show_envvar=True,
            default=DEFAULT_BASE_URL,
            show_default=True,
            help="API base URL. Plain http:// only for loopback hosts.",
        ),
        click.option(
            "--source-id",
            type=click.IntRange(min=1),
            help=("sourceId for rows that name a PO number but no source (account tokens)."),
        ),
        click.option(
            "--profile",
            metavar="NAME|FILE",
            help=(
                "Column-mapping profile (see `batch-uploader profiles`); default: detected "
                "from the header row."
            ),
        ),
        click.option(
            "--sheet",
            metavar="NAME",
            help=("Worksheet of an .xlsx to read; default: the first with data."),
        ),
        click.option(
            "--encoding",
            metavar="NAME",
            help=("Text encoding of CSV files (e.g. cp1252, utf-16); default: detected."),
        ),
        click.option(
            "--rate",
            type=float,
            default=MAX_RATE_PER_S,
            show_default=True,
            help=f"Max requests per second per token; never above {MAX_RATE_PER_S:g}.",
        ),
        click.option(
            "--dry-run",
            is_flag=True,
            help=("Load, validate, group and write the report; send nothing."),
        ),
        click.option(
            "--report-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=DEFAULT_REPORT_DIR,
            show_default=True,
            help="Where reports go.",
        ),
        click.option(
            "--allow-duplicate-tracking",
            is_flag=True,
            help=(
                "Send allowDuplicateTrackingNumbers: true (then an unanswered request is not "
                "re-sent automatically: see README)."
            ),
        ),
        click.option(
            "--sandbox",
            is_flag=True,
            help=("Start the built-in sandbox API on loopback and upload to it (no token needed)."),
        ),
        click.option(
            "--journal",
            type=click.Path(dir_okay=False, path_type=Path),
            help=(
                "SQLite journal that makes re-runs exactly-once; default: "
                f"{default_journal_path()}."
            ),
        ),
        click.option(
            "--tokens",
            "tokens_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help=(
                "TOML [tokens] table of source ID → environment variable holding that "
                "source's token; each source is sent with its own token and 2 req/s limit."
            ),
        ),
        click.option(
            "--max-attempts",
            type=click.IntRange(min=1),
            default=DEFAULT_MAX_ATTEMPTS,
            show_default=True,
            help="Tries per shipment on timeouts and 5xx before reporting it failed.",
        ),
        click.option(
            "--map",
            "column_map",
            multiple=True,
            metavar="FIELD=HEADER",
            help=(
                "Map one field to one header for this run (repeatable), e.g. --map "
                'sku="Item SKU"; fields as `batch-uploader profiles` lists them.'
            ),
        ),
        click.option(
            "--date-order",
            type=click.Choice(["auto", "mdy", "dmy"]),
            default="auto",
            show_default=True,
            help=(
                "Day/month order of dates like 03/04/2026; auto decides per column from its "
                "values, then the format, else month first."
            ),
        ),
        click.option(
            "--packages",
            type=click.Choice(["refuse", "first"]),
            default="refuse",
            show_default=True,
            help=(
                "Rows without items for one PO with several untied tracking numbers: refuse "
                "them, or ship every remaining item on the first number."
            ),
        ),
        click.option(
            "--offline",
            is_flag=True,
            help="With --dry-run: do not ask Flxpoint (read-only) whether the rows would pass.",
        ),
        click.option(
            "--ca-bundle",
            type=click.Path(dir_okay=False, path_type=Path),
            help=(
                "Extra CA certificate(s) to trust, for proxies that inspect TLS (also "
                "SSL_CERT_FILE); HTTPS_PROXY/NO_PROXY are honoured."
            ),
        ),
        click.option(
            "--json",
            "json_output",
            is_flag=True,
            help=("Print one JSON summary object on stdout (and nothing else there)."),
        ),
        click.option("--quiet", "-q", is_flag=True, help="No progress output; errors only."),
        click.option("--verbose", "-v", is_flag=True, help="Show a traceback on internal errors."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="batch-uploader")
def cli() -> None:
    """Upload shipment tracking from carrier export files to Flxpoint, exactly once."""


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@_send_options
def upload(paths: tuple[Path, ...], **options: Any) -> None:
    """Load, validate, group, send and report one or more CSV/Excel files."""
    _run_command(paths, retry_of=None, include_unknown=False, **options)


@cli.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option(
    "--include-unknown",
    is_flag=True,
    help=(
        "Also re-send shipments whose earlier outcome is unknown (only matters with "
        "--allow-duplicate-tracking; check Flxpoint first)."
    ),
)
@_send_options
def retry(results: Path, include_unknown: bool, **options: Any) -> None:
    """Re-send the rows of a results workbook's Failed sheet (as corrected there)."""
    _run_command((results,), retry_of=results, include_unknown=include_unknown, **options)


@cli.command()
@click.argument("run_id")
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The journal the run used; default: the per-user journal.",
)
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the workbook; default: where the run wrote its own.",
)
def report(run_id: str, journal: Path | None, report_dir: Path | None) -> None:
    """Rebuild a run's results workbook from the journal (RUN_ID is in the run's output)."""
    from batch_uploader.rebuild import rebuild_workbook

    try:
        path = rebuild_workbook(journal or default_journal_path(), run_id, report_dir)
    except UploaderError as exc:
        _fail(str(exc), exc.exit_code)
    click.echo(f"results workbook: {path}")


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help=("Where to write it; default: shipments-template.xlsx (or .csv) here."),
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["xlsx", "csv"]),
    default="xlsx",
    show_default=True,
    help="Excel (with an Instructions sheet) or CSV.",
)
def template(output: Path | None, fmt: str) -> None:
    """Write a blank input template."""
    source = templates_dir() / f"shipments-template.{fmt}"
    target = output or Path(f"shipments-template.{fmt}")
    try:
        shutil.copyfile(source, target)
    except OSError as exc:
        _fail(f"cannot write {target}: {exc.strerror or exc}", EXIT_BAD_INPUT)
    click.echo(f"wrote {target}")


@cli.group(invoke_without_command=True)
@click.pass_context
def profiles(ctx: click.Context) -> None:
    """List column-mapping profiles and the columns each expects."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        found = available_profiles()
    except UploaderError as exc:
        _fail(str(exc), exc.exit_code)
    for profile in found:
        where = (
            f" [{profile.path}]"
            if profile.path and profile.path.parent == user_profiles_dir()
            else ""
        )
        click.echo(f"{profile.name}: {profile.description}{where}")
        if profile.source:
            click.echo(f"    source: {profile.source}")
        for field, names in profile.aliases.items():
            click.echo(f"    {field:<24} {' | '.join(names)}")
        click.echo("")
    click.echo("Fields (for --map FIELD=HEADER): " + ", ".join(FIELD_LABELS))
    click.echo("Any profile also reads `Custom: NAME` and `Item Custom: NAME` columns.")
    click.echo("Save your own: batch-uploader profiles new NAME --from FILE [--map FIELD=HEADER].")


@profiles.command("new")
@click.argument("name")
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(path_type=Path),
    help="An export file whose header row the profile is made from.",
)
@click.option(
    "--map",
    "column_map",
    multiple=True,
    metavar="FIELD=HEADER",
    help="Map one field to one header of the file (repeatable).",
)
@click.option("--sheet", metavar="NAME", help="Worksheet of an .xlsx to read.")
def profiles_new(name: str, source: Path, column_map: tuple[str, ...], sheet: str | None) -> None:
    """Save a profile for FILE's header, so the next run of that export is detected by itself."""
    try:
        config = Config(
            inputs=(source,),
            sheet=sheet,
            dry_run=True,
            column_overrides=parse_map_options(column_map),
        )
        prepared = prepare(config)
        reading = prepared.readings[0]
        path = save_user_profile(name, source.name, reading.columns)
    except UploaderError as exc:
        _fail(str(exc), exc.exit_code)
    for line in reading.lines()[1:]:
        click.echo(line)
    click.echo(f"wrote profile {name}: {path}")


cli.add_command(sandbox_command)
cli.add_command(serve_command)


def _run_command(
    paths: tuple[Path, ...],
    *,
    json_output: bool,
    quiet: bool,
    verbose: bool,
    **options: Any,
) -> None:
    try:
        config = _config(paths, **options)
        result = run(config, make_observer(quiet=quiet or json_output))
    except NothingToDo as exc:
        click.echo(json.dumps({"exit_code": 0, "message": str(exc)}) if json_output else str(exc))
        sys.exit(EXIT_OK)
    except UploaderError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail(
            "interrupted; whatever was sent is recorded in the journal: run the same command "
            "again to finish (nothing is sent twice)",
            EXIT_INTERRUPTED,
        )
    except Exception as exc:  # a bug of ours: say so plainly, traceback only when asked
        if verbose:
            traceback.print_exc()
        _fail(
            f"internal error ({type(exc).__name__}: {exc}); run again with --verbose",
            EXIT_BAD_INPUT,
        )
    _print_result(result, json_output=json_output)
    if result.message:
        click.echo(f"batch-uploader: error: {result.message}", err=True)
    sys.exit(result.exit_code)


def _config(
    paths: tuple[Path, ...],
    *,
    token: str | None,
    journal: Path | None,
    tokens_file: Path | None,
    column_map: tuple[str, ...],
    **options: Any,
) -> Config:
    """The options as a validated Config (click has checked each option's type and choices)."""
    return Config(
        inputs=paths,
        token=token or None,
        journal_path=journal or default_journal_path(),
        source_tokens=load_tokens_file(tokens_file) if tokens_file else {},
        column_overrides=parse_map_options(column_map),
        **options,
    )


def _print_result(result: RunResult, *, json_output: bool) -> None:
    summary = result.summary
    if json_output:
        click.echo(json.dumps(result.as_json()))
        return
    counts = ", ".join(f"{n} {s.value}" for s, n in sorted(summary.rows.items()) if n)
    click.echo(
        f"{summary.total_rows} rows: {counts or 'none'}; {summary.requests_sent} requests sent "
        f"(run {summary.run_id})"
    )
    click.echo(f"results workbook: {result.workbook}")


def _fail(message: str, code: int) -> None:
    """One line on stderr, even when a header cell or a file name holds a line break."""
    one_line = message.replace("\r", "\\r").replace("\n", "\\n")
    click.echo(f"batch-uploader: error: {one_line}", err=True)
    sys.exit(code)


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM outside the sending phase behaves like Ctrl-C: exit 130, never a half state."""
    raise KeyboardInterrupt


def main() -> None:
    """Console-script entry point."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        cli.main(prog_name="batch-uploader", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("batch-uploader: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
