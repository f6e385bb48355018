"""A regular CSV export read column by column with Arrow's multi-threaded parser.

A million rows parsed one record at a time by the csv module take seconds; Arrow reads them
in parallel blocks into string columns. Only a regular file qualifies (every irregularity is
left to the row-at-a-time reader in textfile.py, which handles or explains it), and only a
big one: the reader decides (importing Arrow costs more than reading a small file).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from batch_uploader.columns import Block, non_blank
from batch_uploader.textfile import EXCEL_CELL_CHARS, MAX_COLUMNS

BULK_BLOCK_BYTES = 4 * 1024 * 1024
"""Bytes per parallel parsing block."""


def read_block(
    path: Path, encoding: str, delimiter: str, *, skip: int, fields: int, width: int
) -> Block | None:
    """Every non-blank record after the first ``skip`` ones, read by Arrow's parallel parser.

    Only a regular file qualifies: every record has exactly ``fields`` fields, nothing is
    written beyond the first ``width`` columns and no cell is longer than an Excel cell. For
    anything else this returns None and the caller reads the file one record at a time, which
    handles (or explains) every irregularity. Cell text is exactly as the csv module reads it.
    """
    if fields > MAX_COLUMNS:
        return None
    names = [f"c{i}" for i in range(fields)]
    try:
        table = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(
                column_names=names,
                skip_rows=skip,
                encoding="utf8" if encoding in ("utf-8", "utf-8-sig") else encoding,
                block_size=BULK_BLOCK_BYTES,
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        # One array per column; a column over 2 GiB of text cannot be one: read row by row.
        columns = [table.column(i).combine_chunks() for i in range(fields)]
    except (pa.ArrowException, LookupError, UnicodeError, OSError):
        return None  # ragged rows, bad bytes, ...: the row-at-a-time reader says what is wrong
    longest = [pc.max(pc.utf8_length(c)).as_py() or 0 for c in columns]
    if max(longest, default=0) > EXCEL_CELL_CHARS:
        return None
    if any(longest[width:]):
        return None  # cells beyond the header: the row-at-a-time reader widens the table
    keep = non_blank(columns)
    row_numbers = np.arange(skip + 1, skip + 1 + len(keep), dtype=np.int64)
    block = Block(tuple(columns[:width]), row_numbers)
    return block if keep.all() else block.take(np.flatnonzero(keep))
