"""One small exception hierarchy; the CLI maps each class to an exit code.

Messages are complete sentences a shipping clerk can act on: they name the file, sheet,
row, column and value, and say what would fix it. They never contain the API token.
"""

from __future__ import annotations


class UploaderError(Exception):
    """Base of every error the CLI turns into a one-line message."""

    exit_code = 2


class InputError(UploaderError):
    """An input file cannot be used at all: unreadable, empty, wrong shape (exit 2)."""


class NoRowsError(InputError):
    """A file has a header but no data rows (for `retry`: nothing left to do)."""


class ConfigError(UploaderError):
    """Bad options or environment: nothing was attempted (exit 2)."""


class AuthError(UploaderError):
    """The API refused the token (401): the run stopped, nothing further was sent (exit 3)."""

    exit_code = 3


class ReportError(UploaderError):
    """The results workbook could not be written; the journal still has every outcome."""


class NothingToDo(UploaderError):
    """Not a failure: e.g. `retry` of a workbook whose Failed sheet is empty (exit 0)."""

    exit_code = 0
