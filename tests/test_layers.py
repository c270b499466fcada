"""The folders are the pipeline: no stage imports a later one (issue 24).

Read from the source with ``ast``, so an import inside a function counts as much as one
at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "monitor"

#: What each part of the library may import, in the order data moves. The top-level
#: ``exceptions``, ``models`` and ``settings`` are the foundation every part may use.
FOUNDATION = {"exceptions", "models", "settings", "__init__"}
ALLOWED: dict[str, set[str]] = {
    "foundation": {"foundation"},
    "fetching": {"foundation", "fetching"},
    "reading": {"foundation", "fetching", "reading"},
    "judging": {"foundation", "fetching", "reading", "judging"},
    "storage": {"foundation", "fetching", "reading", "judging", "storage"},
    "pipeline": {"foundation", "fetching", "reading", "judging", "storage"},
    "runs": {"foundation", "fetching", "reading", "judging", "storage", "pipeline", "runs"},
    "reports": {"foundation", "fetching", "reading", "judging", "storage", "reports"},
    "demo": {"foundation", "fetching", "reading", "judging", "storage", "pipeline", "runs", "reports", "demo"},
    "cli": {"foundation", "fetching", "reading", "judging", "storage", "pipeline", "runs", "reports", "demo", "cli"},
}


def part_of(dotted: str) -> str:
    """The part of the library a ``monitor...`` module belongs to."""
    parts = dotted.split(".")[1:]
    if not parts or parts[0] in FOUNDATION:
        return "foundation"
    return parts[0]


def imported_modules(path: Path, module: str) -> set[str]:
    """Every ``monitor`` module the file imports (``from monitor import x`` names x)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "monitor"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "monitor":
                found |= {f"monitor.{a.name}" for a in node.names}
            elif node.module.startswith("monitor."):
                found.add(node.module)
    return found


def violations(root: Path) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        module = "monitor." + ".".join(path.relative_to(root).with_suffix("").parts)
        mine = part_of(module)
        for target in sorted(imported_modules(path, module)):
            theirs = part_of(target)
            if theirs not in ALLOWED[mine]:
                out.append(f"{module} ({mine}) imports {target} ({theirs})")
    return out


def test_every_module_belongs_to_a_known_part() -> None:
    parts = {part_of("monitor." + ".".join(p.relative_to(SRC).with_suffix("").parts)) for p in SRC.rglob("*.py")}
    assert parts <= set(ALLOWED), parts - set(ALLOWED)


def test_no_stage_imports_a_later_one() -> None:
    assert violations(SRC) == []


def test_the_check_catches_a_stage_reaching_forward(tmp_path: Path) -> None:
    (tmp_path / "judging").mkdir()
    (tmp_path / "judging" / "dedup.py").write_text("from monitor.storage.store import insert_columns\n")
    (tmp_path / "reading").mkdir()
    (tmp_path / "reading" / "feeds.py").write_text("def f():\n    from monitor import pipeline\n")
    assert violations(tmp_path) == [
        "monitor.judging.dedup (judging) imports monitor.storage.store (storage)",
        "monitor.reading.feeds (reading) imports monitor.pipeline (pipeline)",
    ]


@pytest.mark.parametrize("part", sorted(set(ALLOWED) - {"foundation", "pipeline", "cli"}))
def test_each_stage_says_what_it_owns_and_may_import(part: str) -> None:
    doc = ast.get_docstring(ast.parse((SRC / part / "__init__.py").read_text(encoding="utf-8")))
    assert doc and "May import" in doc
