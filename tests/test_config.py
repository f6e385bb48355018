"""config.py: every option of a run, validated once before anything is read or sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batch_uploader.config import (
    DEFAULT_BASE_URL,
    JOURNAL_ENV,
    Config,
    default_journal_path,
)
from batch_uploader.errors import ConfigError

INPUTS = (Path("shipments.csv"),)
TOKEN = "tok_live_5f8c1e9a7b3d4c2e"
NO_TOKEN = (
    "no API token: set the FLXPOINT_API_TOKEN environment variable (recommended) or pass "
    "--token; or try --sandbox or --dry-run"
)


def refused(**options: Any) -> str:
    """The ConfigError message for these options."""
    with pytest.raises(ConfigError) as caught:
        Config(**({"inputs": INPUTS, "token": TOKEN} | options))
    return str(caught.value)


def test_defaults_are_the_contracts() -> None:
    """Without options: the production API, 2 requests per second, reports in ./reports."""
    config = Config(INPUTS, token=TOKEN)
    assert (config.base_url, config.rate, config.report_dir, config.dry_run) == (
        "https://api.flxpoint.com",
        2.0,
        Path("reports"),
        False,
    )
    assert DEFAULT_BASE_URL == "https://api.flxpoint.com"


@pytest.mark.parametrize("rate", [2.0, 2, 1.5, 0.25])
def test_rate_up_to_two_is_accepted(rate: float) -> None:
    """Any rate above 0 and at most 2 requests per second is allowed."""
    assert Config(INPUTS, token=TOKEN, rate=rate).rate == rate


@pytest.mark.parametrize(("rate", "shown"), [(2.5, "2.5"), (3, "3"), (2.0001, "2.0001")])
def test_rate_above_two_is_refused(rate: float, shown: str) -> None:
    """The API allows 2 requests per second per token; more is refused before anything runs."""
    assert refused(rate=rate) == (
        f"--rate {shown} is not allowed: the API allows at most 2 requests per second per token"
    )


@pytest.mark.parametrize(("rate", "shown"), [(0, "0"), (-1, "-1"), (float("nan"), "nan")])
def test_rate_of_zero_or_less_is_refused(rate: float, shown: str) -> None:
    """A rate that would never send (or is not a number) is refused too."""
    assert refused(rate=rate) == (
        f"--rate {shown} is not allowed: the API allows at most 2 requests per second per token"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://api.flxpoint.com",
        "http://example.com:8765",
        "http://10.0.0.5:8080",
        "http://192.168.1.20",
        "http://localhost.example.com",
        "http://127.0.0.1.nip.io",
        "HTTP://api.flxpoint.com",
    ],
)
def test_plain_http_is_refused_beyond_this_machine(url: str) -> None:
    """The token never crosses a network in clear text: http:// only for loopback."""
    assert refused(base_url=url) == (
        f"--base-url {url!r}: plain http:// is only allowed for this machine "
        "(127.0.0.1, localhost, ::1); use https://"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8765",
        "http://127.0.0.2:8765",
        "http://localhost:8765",
        "http://LOCALHOST:8765/",
        "http://[::1]:8765",
    ],
)
def test_plain_http_is_allowed_for_loopback(url: str) -> None:
    """The local sandbox is reachable over plain http on 127.0.0.1, localhost and [::1]."""
    assert Config(INPUTS, token=TOKEN, base_url=url).base_url == url


@pytest.mark.parametrize(
    "url",
    ["https://api.flxpoint.com", "https://staging.example.com:8443/v1", "https://10.0.0.5"],
)
def test_https_is_allowed_anywhere(url: str) -> None:
    """https:// may point at any host."""
    assert Config(INPUTS, token=TOKEN, base_url=url).base_url == url


@pytest.mark.parametrize("url", ["api.flxpoint.com", "ftp://api.flxpoint.com", "https://", ""])
def test_base_url_must_be_an_http_url(url: str) -> None:
    """A base URL without http(s) scheme and host is refused with an example."""
    assert refused(base_url=url) == (
        f"--base-url {url!r} is not an http(s) URL, e.g. https://api.flxpoint.com"
    )


def test_sandbox_does_not_check_the_base_url() -> None:
    """With --sandbox the base URL is not used, so it is not validated."""
    config = Config(INPUTS, sandbox=True, base_url="http://api.flxpoint.com")
    assert config.sandbox


@pytest.mark.parametrize("token", [None, ""])
def test_missing_token_is_refused(token: str | None) -> None:
    """Without a token there is nothing to send with: say how to provide one."""
    assert refused(token=token) == NO_TOKEN


@pytest.mark.parametrize("options", [{"sandbox": True}, {"dry_run": True}])
def test_sandbox_and_dry_run_need_no_token(options: dict[str, bool]) -> None:
    """--sandbox brings its own token and --dry-run sends nothing."""
    assert Config(INPUTS, **options).token is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"inputs": ()}, "no input file given"),
        ({"source_id": 0}, "--source-id must be a positive whole number"),
        ({"source_id": -7}, "--source-id must be a positive whole number"),
        ({"max_attempts": 0}, "--max-attempts must be 1 or more"),
    ],
)
def test_other_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    """No inputs, a non-positive --source-id or --max-attempts below 1 are refused."""
    assert refused(**options) == message


def test_repr_never_contains_the_token() -> None:
    """Printing or logging a Config does not reveal the token."""
    config = Config(INPUTS, token=TOKEN, base_url="http://127.0.0.1:8765")
    assert config.token == TOKEN
    for text in (repr(config), str(config), f"{config}", f"{config!r}"):
        assert "base_url='http://127.0.0.1:8765'" in text
        assert TOKEN not in text


@pytest.mark.parametrize(
    "options",
    [{"rate": 5}, {"base_url": "http://example.com"}, {"source_id": 0}, {"inputs": ()}],
)
def test_error_messages_never_contain_the_token(options: dict[str, Any]) -> None:
    """A refused configuration's message does not echo the token."""
    assert TOKEN not in refused(**options)


def test_journal_path_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """BATCH_UPLOADER_JOURNAL overrides where the journal lives, for Config too."""
    path = tmp_path / "my-journal.sqlite3"
    monkeypatch.setenv(JOURNAL_ENV, str(path))
    assert default_journal_path() == path
    assert Config(INPUTS, token=TOKEN).journal_path == path


def test_default_journal_path_is_per_user(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the override the journal is a per-user file named journal.sqlite3."""
    monkeypatch.delenv(JOURNAL_ENV, raising=False)
    path = default_journal_path()
    assert (path.name, path.parent.name) == ("journal.sqlite3", "batch-uploader")
