"""The shape of the code that no linter checks (GUIDE §2): modules readable in one sitting,
functions that fit a screen. import-linter (the boundaries), ruff C901 (complexity) and mypy
--strict run beside the tests in scripts/test."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60
# Migrations are history: written once, never edited, read only by Alembic.
CHECKED = [
    p
    for package in ("monitor", "storage")
    for p in sorted((REPO / package).rglob("*.py"))
    if "migrations" not in p.parts
]


def _functions(path: Path) -> list[tuple[str, int, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.name, node.lineno, node.end_lineno or node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def test_no_module_is_longer_than_450_lines() -> None:
    """Every module of monitor/ and storage/ has at most 450 lines."""
    long = {
        str(p.relative_to(REPO)): n
        for p in CHECKED
        if (n := p.read_text(encoding="utf-8").count("\n")) > MAX_MODULE_LINES
    }
    assert CHECKED and not long, f"split these modules: {long}"


def test_no_function_is_longer_than_60_lines() -> None:
    """Every function and method of monitor/ and storage/ has at most 60 lines, from its def
    line to its last, docstring included."""
    long = [
        f"{p.relative_to(REPO)}:{start} {name} ({end - start + 1} lines)"
        for p in CHECKED
        for name, start, end in _functions(p)
        if end - start + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, "split these functions:\n" + "\n".join(long)
