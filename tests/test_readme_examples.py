"""The README's examples are true after `make demo`, whatever day it is (issue 29, items 8-10).

The demo runs once (on the session's Prefect test server); then every example query of the
README's "Example queries" section is run and its output compared line for line, and the
quick start's commands that name an article id or read the demo's warehouse are run too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.demo.corpus_server import DEMO_PORT, load_manifest
from monitor.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Demo:
    db: Path
    port_taken: bool


@pytest.fixture(scope="module")
def demo(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("demo")
    db = root / "demo.duckdb"
    capture = pytest.MonkeyPatch()
    import io
    import sys

    err = io.StringIO()
    capture.setattr(sys, "stderr", err)
    capture.setattr(sys, "stdout", io.StringIO())
    try:
        assert main(["demo", "--db", str(db), "--out", str(root / "out")]) == 0
    finally:
        capture.undo()
    yield Demo(db, port_taken=f"port {DEMO_PORT} is taken" in err.getvalue())


@dataclass(frozen=True)
class Example:
    question: str
    query: str
    expected: list[str]


def _examples() -> list[Example]:
    start = README.index("### Example queries")
    section = README[start:README.index("\n## ", start)]  # up to the next section
    found = []
    for part in section.split("\n**")[1:]:
        question = part.split("**", 1)[0]
        blocks = re.findall(r"```(\w*)\n(.*?)```", part, flags=re.S)
        sql = [body for lang, body in blocks if lang == "sql"]
        outputs = [body for lang, body in blocks if lang == ""]
        if sql:
            query = sql[0]
        else:
            [name] = re.findall(r"`(\w+\.sql)`", part)[:1]
            query = (PROJECT_ROOT / "warehouse" / "queries" / name).read_text(encoding="utf-8")
        found.append(Example(question, query, outputs[0].rstrip("\n").splitlines()))
    return found


EXAMPLES = _examples()


def test_the_readme_has_its_example_queries() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.question[:40] for e in EXAMPLES])
def test_each_readme_example_prints_what_the_readme_shows(
        example: Example, demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["sql", example.query, "--db", str(demo.db)]) == 0
    assert capsys.readouterr().out.splitlines() == example.expected


def test_the_article_ids_of_the_quick_start_are_the_demos(demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    if demo.port_taken:
        pytest.skip(f"another demo held port {DEMO_PORT}: this run's ids differ, as the demo said")
    quick_start = README[README.index("## Quick start"):README.index("## Commands")]
    ids = sorted(set(re.findall(r"\ba_[0-9a-f]{16}\b", quick_start)))
    assert ids
    for article_id in ids:
        assert main(["explain", article_id, "--db", str(demo.db)]) == 0
        assert main(["page", article_id, "--db", str(demo.db), "--out", str(demo.db.parent / "page.html")]) == 0
        assert (demo.db.parent / "page.html").read_bytes().startswith(b"<!DOCTYPE html>")
    capsys.readouterr()


def test_the_status_commands_on_the_demos_warehouse_show_its_runs_and_outlets(
        demo: Demo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("MONITOR_SOURCES", raising=False)
    capsys.readouterr()
    assert main(["runs", "--db", str(demo.db)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("2 runs: 2 ok, 0 failed, 0 unfinished")
    assert main(["sources", "--status", "--db", str(demo.db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    outlets = sorted(s.name for s in load_manifest().sources)
    assert [line.split(" | ")[0].strip() for line in lines[2:2 + len(outlets)]] == outlets
    assert lines[2 + len(outlets)] == f"({len(outlets)} rows)"
