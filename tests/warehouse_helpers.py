"""Helpers several test modules share: reading a warehouse as an analyst does, and a folder
of demo-corpus pages to import."""

from __future__ import annotations

from pathlib import Path

import duckdb

from monitor.settings import PROJECT_ROOT
from monitor.storage.warehouse import connect


def reader(db: object) -> duckdb.DuckDBPyConnection:
    """The warehouse read as an analyst's session does (read-only, no lock). Opening a lake's
    catalog with duckdb.connect instead would try to download the sqlite extension."""
    return connect(str(db), read_only=True)


def corpus_pages(folder: Path, n: int) -> Path:
    """``n`` article pages of the demo corpus in ``folder``, each retitled so that none is
    stored twice by URL."""
    folder.mkdir()
    corpus = sorted((PROJECT_ROOT / "src/monitor/demo/corpus").glob("*/2026/*/*.html"))
    for i in range(n):
        html = corpus[i % len(corpus)].read_text(encoding="utf-8")
        (folder / f"p{i:04d}.html").write_text(html.replace("</h1>", f" {i}</h1>", 1), encoding="utf-8")
    return folder
