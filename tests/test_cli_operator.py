"""The first hour of an operator (issue 29): every message true, every failure explained.

Each test runs the command as an operator would, in-process or as a real process when
what matters is the terminal (pipes, signals, exit codes), and asserts whole lines.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import EXIT_BROKEN_PIPE, build_parser, main
from monitor.settings import PROJECT_ROOT
from monitor.storage.warehouse import connect


def _monitor(*args: str, **kwargs: object) -> subprocess.Popen[str]:
    """`monitor ARGS` as a real process, from the checkout, with its output piped."""
    return subprocess.Popen([sys.executable, "-m", "monitor.cli", *args], cwd=PROJECT_ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)  # type: ignore[call-overload]


# --------------------------------------------------------------------------- item 5: pipes


@pytest.fixture(scope="module")
def small_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("wh") / "w.duckdb"
    connect(db).close()
    return db


@pytest.mark.parametrize("args", [
    ["sources"],
    ["sources", "--status", "--db", "{db}"],
    ["sql", "SELECT range AS n FROM range(5000)", "--db", "{db}"],
    ["sql", "SELECT range AS n FROM range(5000)", "--db", "{db}", "--format", "csv"],
], ids=["sources", "sources-status", "sql-table", "sql-csv"])
def test_a_reader_that_stops_reading_ends_the_command_quietly(args: list[str], small_warehouse: Path) -> None:
    # `monitor sources | head -2`: head exits after two lines and closes the pipe.
    proc = _monitor(*[a.replace("{db}", str(small_warehouse)) for a in args])
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the command writes a byte
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == EXIT_BROKEN_PIPE
    assert err == ""


# --------------------------------------------------------------------------- item 13: small things


def test_a_float_cell_is_printed_to_a_thousandth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "w.duckdb"
    connect(db).close()
    assert main(["sql", "SELECT 12.345678901234567::DOUBLE AS elapsed_ms, 2.0::DOUBLE AS ratio", "--db", str(db)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "elapsed_ms | ratio",
        "-----------+------",
        "12.346     | 2.0",
        "(1 row)",
    ]


def test_retag_help_says_what_it_does() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    description = sub.choices["retag"].description
    assert description and "without fetching" in description


def test_one_source_is_one_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sources = tmp_path / "s.yaml"
    sources.write_text("sources:\n  - {name: wire, url: 'https://wire.example/feed.xml'}\n", encoding="utf-8")
    assert main(["sources", "--sources", str(sources)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"{sources}: 1 source, valid"
