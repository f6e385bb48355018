"""One small exception hierarchy; the CLI maps each class to an exit code.

Messages are complete sentences a shipping clerk can act on: they name the file, sheet,
row, column and value, and say what would fix it. They never contain the API token.
"""

from __future__ import annotations

# The exit codes of the contract, defined once; the CLI and the pipeline use them by name.
EXIT_OK = 0
EXIT_ROWS_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_AUTH = 3
EXIT_INTERRUPTED = 130


class UploaderError(Exception):
    """Base of every error the CLI turns into a one-line message."""

    exit_code = EXIT_BAD_INPUT


class InputError(UploaderError):
    """An input file cannot be used at all: unreadable, empty, wrong shape (exit 2)."""


class NoRowsError(InputError):
    """A file has a header but no data rows (for `retry`: nothing left to do)."""


class ConfigError(UploaderError):
    """Bad options or environment: nothing was attempted (exit 2)."""


class ReportError(UploaderError):
    """The results workbook could not be written; the journal still has every outcome."""


class NothingToDo(UploaderError):
    """Not a failure: e.g. `retry` of a workbook whose Failed sheet is empty (exit 0)."""

    exit_code = EXIT_OK
