"""Where the bundled templates live, in a checkout and in an installed wheel."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def templates_dir() -> Path:
    """`batch_uploader/templates` in a wheel, else the checkout's top-level `templates/`."""
    packaged = _PACKAGE_DIR / "templates"
    if packaged.is_dir():
        return packaged
    return _PACKAGE_DIR.parent / "templates"


CONFIG_DIR_ENV = "BATCH_UPLOADER_CONFIG_DIR"
"""A folder that replaces the per-user configuration folder (tests, portable installs)."""
APP_NAME = "batch-uploader"


def user_config_dir() -> Path:
    """`$BATCH_UPLOADER_CONFIG_DIR`, else the per-user folder (`~/.config/batch-uploader`).

    Users' own carrier table and profiles live here.
    """
    configured = os.environ.get(CONFIG_DIR_ENV)
    if configured:
        return Path(configured)
    from platformdirs import user_config_path  # only when a user file is looked for (~20 ms)

    return user_config_path(APP_NAME, appauthor=False)
