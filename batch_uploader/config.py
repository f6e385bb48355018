"""Config: every option of a run, validated once before anything is read or sent."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from batch_uploader.errors import ConfigError
from batch_uploader.pacing import MAX_RATE_PER_S
from batch_uploader.sender import DEFAULT_MAX_ATTEMPTS
from batch_uploader.tomlfile import read_toml

DEFAULT_BASE_URL = "https://api.flxpoint.com"
TOKEN_ENV = "FLXPOINT_API_TOKEN"  # noqa: S105 -- the variable's name, not a secret
BASE_URL_ENV = "FLXPOINT_BASE_URL"
JOURNAL_ENV = "BATCH_UPLOADER_JOURNAL"
DEFAULT_REPORT_DIR = Path("reports")


def default_journal_path() -> Path:
    """The per-user journal (e.g. ~/.local/share/batch-uploader/journal.sqlite3)."""
    override = os.environ.get(JOURNAL_ENV)
    if override:
        return Path(override)
    from platformdirs import user_data_path  # only when no journal path is given (~20 ms)

    return user_data_path("batch-uploader", appauthor=False) / "journal.sqlite3"


@dataclass(frozen=True)
class Config:
    """A validated run configuration. The token is excluded from repr, so it never prints."""

    inputs: tuple[Path, ...]
    token: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL
    source_id: int | None = None
    profile: str | None = None
    sheet: str | None = None
    encoding: str | None = None
    rate: float = MAX_RATE_PER_S
    dry_run: bool = False
    report_dir: Path = DEFAULT_REPORT_DIR
    allow_duplicate_tracking: bool = False
    sandbox: bool = False
    journal_path: Path = field(default_factory=default_journal_path)
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    include_unknown: bool = False
    retry_of: Path | None = None  # `retry RESULTS.xlsx`: read its Failed sheet
    # --tokens FILE: source ID → that source's token; each gets its own 2 req/s limiter.
    source_tokens: dict[int, str] = field(default_factory=dict, repr=False)
    # --map FIELD=HEADER, repeatable: one field to one header for this run.
    column_overrides: tuple[tuple[str, str], ...] = ()
    date_order: Literal["auto", "mdy", "dmy"] = "auto"
    # Whole-PO rows of one PO with several untied tracking numbers: refuse, or ship on the first.
    packages: Literal["refuse", "first"] = "refuse"
    # --offline: a dry run that does not ask Flxpoint (read-only GETs) even with a token.
    offline: bool = False
    ca_bundle: Path | None = None  # --ca-bundle: extra CA for TLS-inspecting proxies

    @property
    def asks_flxpoint(self) -> bool:
        """Whether this run may read from Flxpoint (whole-PO rows, the checked dry run)."""
        can_ask = bool(self.token or self.sandbox or self.source_tokens)
        return not (self.dry_run and (self.offline or not can_ask))

    def __post_init__(self) -> None:
        if not self.inputs:
            msg = "no input file given"
            raise ConfigError(msg)
        if not 0 < self.rate <= MAX_RATE_PER_S:
            msg = (
                f"--rate {self.rate:g} is not allowed: the API allows at most "
                f"{MAX_RATE_PER_S:g} requests per second per token"
            )
            raise ConfigError(msg)
        if self.max_attempts < 1:
            msg = "--max-attempts must be 1 or more"
            raise ConfigError(msg)
        if self.source_id is not None and self.source_id < 1:
            msg = "--source-id must be a positive whole number"
            raise ConfigError(msg)
        if not self.sandbox:
            check_base_url(self.base_url)
        if self.token:
            check_token(self.token, f"--token / {TOKEN_ENV}")
        if not (self.sandbox or self.dry_run or self.token or self.source_tokens):
            msg = (
                f"no API token: set the {TOKEN_ENV} environment variable (recommended) or pass "
                f"--token; or try --sandbox or --dry-run"
            )
            raise ConfigError(msg)


def check_token(token: str, where: str) -> None:
    """Refuse a token that cannot be a header value, without ever echoing it.

    A pasted no-break space or a trailing newline from `$(cat token-file)` would otherwise
    fail deep in the HTTP stack, whose messages and debug logs quote the header in full.
    """
    if not token or any(not "\x21" <= ch <= "\x7e" for ch in token):
        msg = (
            f"the API token in {where} contains spaces, line breaks or characters outside "
            f"plain ASCII (often from copy-paste); set it again exactly as Flxpoint shows it"
        )
        raise ConfigError(msg)


def check_base_url(url: str) -> None:
    """https anywhere; plain http only to this machine, so the token never crosses a wire bare."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        msg = f"--base-url {url!r} is not an http(s) URL, e.g. {DEFAULT_BASE_URL}"
        raise ConfigError(msg)
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        msg = (
            f"--base-url {url!r}: plain http:// is only allowed for this machine "
            f"(127.0.0.1, localhost, ::1); use https://"
        )
        raise ConfigError(msg)


def is_loopback(host: str) -> bool:
    """127.0.0.1, ::1 or localhost: reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_tokens_file(path: Path) -> dict[int, str]:
    """`--tokens FILE`: a TOML `[tokens]` table of source ID → environment variable name.

    The file names variables, never tokens, so it can be kept with the job's other settings.
    """
    data = read_toml(path, f"--tokens {path}")
    table = data.get("tokens")
    if not isinstance(table, dict) or not table:
        msg = f'--tokens {path}: needs a [tokens] table, e.g. "101" = "FLXPOINT_TOKEN_101"'
        raise ConfigError(msg)
    tokens: dict[int, str] = {}
    for source, variable in table.items():
        if not str(source).isdigit() or int(source) < 1:
            msg = f"--tokens {path}: {source!r} is not a source ID (a positive whole number)"
            raise ConfigError(msg)
        if not isinstance(variable, str) or not variable:
            msg = f"--tokens {path}: source {source} must name an environment variable"
            raise ConfigError(msg)
        token = os.environ.get(variable, "")
        if not token:
            msg = (
                f"--tokens {path}: environment variable {variable} (token of source {source}) "
                f"is not set"
            )
            raise ConfigError(msg)
        check_token(token, f"environment variable {variable} (source {source})")
        tokens[int(source)] = token
    return tokens


def parse_map_options(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """`--map FIELD=HEADER` values → pairs; the field names are checked with the header."""
    pairs = []
    for value in values:
        field, sep, header = value.partition("=")
        if not sep or not field.strip() or not header.strip():
            msg = f'--map {value!r}: write it as FIELD=HEADER, e.g. --map sku="Item SKU"'
            raise ConfigError(msg)
        pairs.append((field.strip(), header.strip()))
    return tuple(pairs)
