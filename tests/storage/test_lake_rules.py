"""What a DuckLake has not, nobody writes: checked from the source, so a branch written for
the DuckDB file fails here with the reason instead of at a user's first run.

DuckLake has no PRIMARY KEY, UNIQUE, index, sequence, ON CONFLICT, INSERT OR REPLACE, or
RETURNING on INSERT (FACTS.md; `not supported in DuckLake`). Uniqueness is the one
writer's job (monitor.storage.store says how).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from monitor.settings import PROJECT_ROOT

MIGRATIONS = sorted((PROJECT_ROOT / "warehouse" / "migrations").glob("*.sql"))
SQL_FILES = [*MIGRATIONS, PROJECT_ROOT / "warehouse" / "views.sql", PROJECT_ROOT / "warehouse" / "rollups.sql"]
CODE = sorted([*(PROJECT_ROOT / "src" / "monitor").rglob("*.py"), *(PROJECT_ROOT / "flows").glob("*.py")])

#: DDL a lake refuses.
_DDL = re.compile(r"\b(PRIMARY\s+KEY|UNIQUE|CREATE\s+(UNIQUE\s+)?INDEX|CREATE\s+SEQUENCE|nextval)\b", re.IGNORECASE)
#: Statements a lake refuses, as they appear in SQL strings.
_DML = re.compile(r"\b(ON\s+CONFLICT|INSERT\s+OR\s+(REPLACE|IGNORE)|RETURNING\s+\w)", re.IGNORECASE)


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """The lines of a file that are not comments (SQL ``--`` or Python ``#``) nor docstring prose."""
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith(("--", "#")):
            continue
        out.append((number, line.split("--", 1)[0] if path.suffix == ".sql" else line))
    return out


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: p.name)
def test_no_migration_or_view_declares_what_a_lake_has_not(path: Path) -> None:
    found = [f"{path.name}:{n}: {line.strip()}" for n, line in _code_lines(path) if _DDL.search(line)]
    assert found == [], "DuckLake has no keys, indexes or sequences: the writer keeps uniqueness (store.py)"


def _sql_strings(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module that are not docstrings: where its SQL is."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_no_code_uses_a_statement_a_lake_refuses(path: Path) -> None:
    found = [f"{path.name}:{n}: {' '.join(text.split())[:120]}" for n, text in _sql_strings(path) if _DML.search(text)]
    assert found == [], ("DuckLake has no ON CONFLICT, INSERT OR REPLACE or INSERT ... RETURNING: check what is "
                         "stored first, or MERGE (store.merge_columns)")
