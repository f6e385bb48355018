"""Reading the small TOML files users write by hand (profiles, --tokens)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from batch_uploader.errors import ConfigError


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The file's table; a missing, undecodable or malformed file is a ConfigError naming it.

    `what` names the file in the message (`profile x.toml`, `--tokens t.toml`). A UTF-8
    byte-order mark is allowed: Notepad writes one.
    """
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        msg = f"{what}: cannot be read as TOML: {exc}"
        raise ConfigError(msg) from exc
