"""The shape the design card asks for: small modules, short functions, stages in one order."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "batch_uploader"
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60
DECLARATIVE = {("cli.py", "_send_options")}  # a list of click options, one per line
# The stages, in the order data flows; a module may import its own stage or earlier ones.
STAGES = [
    {"textfile", "excelfile", "excel_guards", "reader"},
    {"header_words", "headers", "profiles", "column_choice", "nondata"},
    {"parsing", "dates", "carriers", "tracking", "validate", "table_rules"},
    {"grouping"},
    {"payload"},
    {"pacing", "journal", "replies", "lookups", "flxpoint_checks", "asking", "lanes", "sender"},
    {"report"},
]
STAGE_OF = {name: index for index, names in enumerate(STAGES) for name in names}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "sandbox" not in p.parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_450_lines(path: Path) -> None:
    """One job per module: a module that grows past 450 lines holds two."""
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_MODULE_LINES


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_function_is_over_60_lines(path: Path) -> None:
    """A function that needs more than 60 lines does more than one thing."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    long = [
        f"{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (path.name, node.name) not in DECLARATIVE
        and (node.end_lineno or node.lineno) - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


@pytest.mark.parametrize("module", sorted(STAGE_OF))
def test_no_stage_imports_a_later_one(module: str) -> None:
    """reader → profiles → validate → grouping → payload → sender → report, one way only."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    imported = {
        node.module.split(".")[1]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module
        and node.module.startswith("batch_uploader.")
    }
    later = sorted(m for m in imported if STAGE_OF.get(m, -1) > STAGE_OF[module])
    assert later == [], f"{module} imports later stages: {later}"
