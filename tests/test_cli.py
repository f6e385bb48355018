"""The command line itself: help text everywhere, options refused cleanly, small commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import openpyxl
import pytest

from batch_uploader.cli import cli
from tests.conftest import EXAMPLE, REPO


def _commands(group: click.Group = cli) -> list[click.Command]:
    """Every command, subcommands of groups (`profiles new`) included."""
    found: list[click.Command] = []
    for command in group.commands.values():
        found.append(command)
        if isinstance(command, click.Group):
            found += _commands(command)
    return found


@pytest.mark.parametrize("command", _commands(), ids=lambda c: c.name)
def test_every_command_and_option_has_help_text(command: click.Command) -> None:
    """A command or option without help text is a defect users meet first."""
    assert command.help, f"{command.name} has no help"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{command.name} {param.opts} has no help"


def test_contract_commands_exist() -> None:
    """The commands of the contract (round 1 and round 2) are there."""
    wanted = {"upload", "retry", "template", "profiles", "sandbox", "report", "serve", "new"}
    assert {c.name for c in _commands()} >= wanted


def test_contract_options_exist_on_upload_and_retry() -> None:
    """Every option the contract lists for upload/retry is accepted."""
    wanted = {
        "--token",
        "--base-url",
        "--source-id",
        "--profile",
        "--sheet",
        "--rate",
        "--dry-run",
        "--report-dir",
        "--allow-duplicate-tracking",
        "--sandbox",
        "--json",
        "--map",
        "--date-order",
        "--offline",
        "--packages",
        "--ca-bundle",
        "--encoding",
        "--journal",
        "--max-attempts",
        "--tokens",
        "--quiet",
    }
    assert isinstance(cli, click.Group)
    for name in ("upload", "retry"):
        opts = {o for p in cli.commands[name].params for o in getattr(p, "opts", [])}
        assert wanted <= opts, wanted - opts


def test_python_dash_m_behaves_the_same() -> None:
    """`python -m batch_uploader --help` lists the same commands."""
    out = subprocess.run(
        [sys.executable, "-m", "batch_uploader", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout
    for name in ("upload", "retry", "template", "profiles", "sandbox"):
        assert name in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "3"], "--rate 3 is not allowed"),
        (["--base-url", "http://api.example.com"], "plain http:// is only allowed"),
        ([], "no API token"),
    ],
)
def test_bad_options_exit_2_with_one_line(cli_run, args: list[str], message: str) -> None:
    """Bad options: exit 2, one line on stderr, no traceback."""
    run = cli_run("upload", str(EXAMPLE), *args)
    assert run.code == 2
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_missing_file_exits_2_naming_it(cli_run, tmp_path: Path) -> None:
    """A file that does not exist: exit 2 and its name in the message."""
    run = cli_run("upload", str(tmp_path / "nope.csv"), "--dry-run")
    assert run.code == 2
    assert "nope.csv" in run.stderr


def test_required_column_missing_names_only_that_field(cli_run, tmp_path: Path) -> None:
    """No Tracking Number column: exit 2, one line naming it alone and how to map it."""
    path = tmp_path / "cols.csv"
    path.write_text("PO Number,SKU,Quantity,Trackng Nmbr\nTEST-1,SKU-1,1,1Z\n", encoding="utf-8")
    run = cli_run("upload", str(path), "--dry-run")
    assert run.code == 2
    assert run.stderr.count("\n") == 1
    assert 'required column missing: Tracking Number (did you mean "Trackng Nmbr"?)' in run.stderr
    assert "SKU" not in run.stderr
    assert "profile" not in run.stderr


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_template_writes_a_blank_template(cli_run, tmp_path: Path, fmt: str) -> None:
    """`template` writes the blank template; its header is the canonical columns."""
    target = tmp_path / f"blank.{fmt}"
    run = cli_run("template", "-o", str(target), "--format", fmt)
    assert run.code == 0
    if fmt == "csv":
        header = target.read_text(encoding="utf-8").splitlines()[0].split(",")
    else:
        book = openpyxl.load_workbook(target)
        assert book.sheetnames == ["Shipments", "Instructions"]
        header = [c.value for c in book["Shipments"][1]]
    assert header[:4] == ["PO Number", "Source ID", "Fulfillment Request ID", "Tracking Number"]
    assert "Quantity" in header
    assert "SKU" in header


def test_profiles_lists_every_bundled_profile(cli_run) -> None:
    """`profiles` names each profile and the columns it expects."""
    run = cli_run("profiles")
    assert run.code == 0
    for name in (
        "canonical",
        "shipstation",
        "shopify-matrixify",
        "amazon-ship-confirm",
        "supplier-tracking",
    ):
        assert f"{name}:" in run.stdout
    assert "Shipment - Tracking Number" in run.stdout


def test_dry_run_of_the_example_needs_no_token_and_exits_0(cli_run) -> None:
    """A dry run of a clean file: every row `not sent`, exit 0 (nothing is wrong with it)."""
    run = cli_run("upload", str(EXAMPLE), "--dry-run")
    assert run.code == 0, run.stderr
    assert {r["Status"] for r in run.workbook().table("Results")} == {"not sent"}


def test_uploading_a_results_workbook_points_to_retry(cli_run, tmp_path: Path) -> None:
    """`upload RESULTS.xlsx` by mistake: exit 2 and the retry command to use instead."""
    first = cli_run("upload", str(EXAMPLE), "--dry-run")
    book = first.workbook().path
    run = cli_run("upload", str(book), "--dry-run")
    assert run.code == 2
    assert f"batch-uploader retry {book.name}" in run.stderr
