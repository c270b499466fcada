"""The tests our documents cite exist: docs/hostile-cases.md names, for every hostile case,
the test that proves it, and a renamed or deleted test must not leave the claim standing."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted([ROOT / "README.md", ROOT / "benchmarks" / "README.md", *(ROOT / "docs").glob("*.md")])
#: `test_file.py::test_name`, or `::test_name` for the file cited last on the same line.
#: The file may carry its folder under tests/ (`tests/fetching/test_fetch.py::...`).
_CITATION = re.compile(r"`(?:(?:tests/)?((?:\w+/)?test_\w+\.py))?::(test_\w+)`")


def _citations(document: Path) -> list[tuple[str, str]]:
    found = []
    for line in document.read_text(encoding="utf-8").splitlines():
        last_file = None
        for m in _CITATION.finditer(line):
            last_file = m.group(1) or last_file
            if last_file is None:
                raise AssertionError(f"{document.name}: `::{m.group(2)}` cites no file: {line[:120]}")
            found.append((last_file, m.group(2)))
    return found


def _test_names(test_file: str) -> set[str]:
    tree = ast.parse((ROOT / "tests" / test_file).read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_the_hostile_cases_document_cites_tests() -> None:
    # The check below is only worth something if the citations are found at all.
    assert len(_citations(ROOT / "docs" / "hostile-cases.md")) >= 30


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_test_a_document_cites_exists(document: Path) -> None:
    missing = [f"{f}::{name}" for f, name in _citations(document)
               if not (ROOT / "tests" / f).exists() or name not in _test_names(f)]
    assert missing == [], f"{document.relative_to(ROOT)} cites tests that do not exist"
