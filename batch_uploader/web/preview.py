"""The preview shown as soon as files are chosen: format, Columns, counts, Invalid rows.

It is `pipeline.prepare` (read → map → validate → group, nothing sent) turned into JSON for
the page; nothing here decides whether a row is valid.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from batch_uploader import pipeline
from batch_uploader.column_choice import header_score
from batch_uploader.config import Config
from batch_uploader.errors import UploaderError
from batch_uploader.models import Status
from batch_uploader.profiles import (
    FIELD_LABELS,
    ColumnMap,
    available_profiles,
    save_user_profile,
)
from batch_uploader.reader import Table, read_table
from batch_uploader.report import input_labels

MAX_INVALID_SHOWN = 500
"""Invalid rows listed on the page; the workbook lists every one."""


def build_preview(config: Config) -> dict[str, Any]:
    """What the page shows before anything is sent; a refusal keeps the headers to remap."""
    try:
        prepared = pipeline.prepare(config)
    except UploaderError as exc:
        return _refused(config, str(exc))
    tables = prepared.tables
    maps: Sequence[ColumnMap] = prepared.column_maps
    labels = input_labels(tables)
    statuses = [r.status for r in prepared.results.values()]
    return {
        "error": None,
        "files": labels,
        "formats": [_format(label, cmap) for label, cmap in zip(labels, maps, strict=True)],
        "columns": _columns(tables, maps),
        "rows": sum(len(t.rows) for t in tables),
        "shipments": len(prepared.requests),
        "invalid": statuses.count(Status.INVALID),
        "invalid_rows": _invalid_rows(tables, labels, prepared),
    }


def save_profile(config: Config, name: str) -> Path:
    """`profiles new NAME --from FILE` with the mapping on the page (the first file's layout)."""
    prepared = pipeline.prepare(config)
    label = input_labels(prepared.tables)[0]
    return save_user_profile(name, label, prepared.column_maps[0])


def _format(label: str, cmap: ColumnMap) -> dict[str, Any]:
    return {
        "file": label,
        "format": cmap.format_name,
        "description": cmap.profile.description,
        "ignored": list(cmap.ignored),
    }


def _columns(tables: Sequence[Table], maps: Sequence[ColumnMap]) -> list[dict[str, Any]]:
    """One line per field: the header it reads (from the first file that has it), and choices.

    Mapped fields come first, so a clerk sees what will be sent without scrolling.
    """
    options = _union(t.header for t in tables)
    lines = []
    for field, label in FIELD_LABELS.items():
        found = next((m for m in maps if field in m.fields), None)
        lines.append(
            {
                "field": field,
                "label": label,
                "header": found.header[found.fields[field]] if found else None,
                "how": found.how.get(field, "") if found else "",
                "options": options,
            }
        )
    return sorted(lines, key=lambda line: line["header"] is None)


def _union(headers: Any) -> list[str]:
    seen: dict[str, None] = {}
    for header in headers:
        for name in header:
            if name:
                seen.setdefault(name, None)
    return list(seen)


def _invalid_rows(
    tables: Sequence[Table], labels: Sequence[str], prepared: pipeline.Prepared
) -> list[dict[str, Any]]:
    """Row number, column, value and reason of the first MAX_INVALID_SHOWN refused rows."""
    shown = sorted(prepared.results.items())[:MAX_INVALID_SHOWN]
    wanted = {(ref.file_index, ref.row_number) for ref, _ in shown}
    cells: dict[tuple[int, int], tuple[str, ...]] = {}
    for index, table in enumerate(tables):
        for row in table.rows:
            if (index, row.row_number) in wanted:
                cells[(index, row.row_number)] = row.cells
    lines = []
    for ref, result in shown:
        table = tables[ref.file_index]
        column, value = _named_column(
            table.header, cells.get((ref.file_index, ref.row_number)), result.error
        )
        lines.append(
            {
                "file": labels[ref.file_index],
                "row": ref.row_number,
                "status": result.status.value,
                "column": column,
                "value": value,
                "reason": result.error,
            }
        )
    return lines


def _named_column(
    header: Sequence[str], cells: Sequence[str] | None, reason: str
) -> tuple[str, str]:
    """The column a reason names first (reasons name columns by their header: `Qty "two" ...`).

    Only for display: the reason itself is the pipeline's, shown whole next to it.
    """
    best: tuple[int, int, int] | None = None  # (position, -length, column index)
    for index, name in enumerate(header):
        if not name:
            continue
        found = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", reason)
        if found and (best is None or (found.start(), -len(name)) < best[:2]):
            best = (found.start(), -len(name), index)
    if best is None:
        return "", ""
    index = best[2]
    value = cells[index] if cells is not None and index < len(cells) else ""
    return header[index], value


def _refused(config: Config, message: str) -> dict[str, Any]:
    """The run would stop (exit 2): say why, and still offer every header to map a field."""
    score = header_score(available_profiles())
    headers: list[tuple[str, ...]] = []
    for path in config.inputs:
        try:
            headers.append(read_table(path, sheet=config.sheet, header_score=score).header)
        except UploaderError:
            continue
    options = _union(headers)
    overrides = dict(getattr(config, "column_overrides", ()) or ())
    return {
        "error": message,
        "files": [p.name for p in config.inputs],
        "formats": [],
        "columns": [
            {"field": f, "label": label, "header": overrides.get(f), "options": options}
            for f, label in FIELD_LABELS.items()
        ]
        if options
        else [],
        "rows": 0,
        "shipments": 0,
        "invalid": 0,
        "invalid_rows": [],
    }
