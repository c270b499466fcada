"""Helpers several test modules share: reading a warehouse as an analyst does, another run
committing to it, a folder of demo-corpus pages to import, and an operator's environment
for the `monitor` commands a test starts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from monitor.settings import PROJECT_ROOT
from monitor.storage.warehouse import close, connect


def reader(db: object) -> duckdb.DuckDBPyConnection:
    """The warehouse read as an analyst's session does (read-only, no lock). Opening a lake's
    catalog with duckdb.connect instead would try to download the sqlite extension."""
    return connect(str(db), read_only=True)


@contextmanager
def opened(db: object, **options: object) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse ``db`` for the block (``connect``'s options: read_only, snapshot...), closed
    after it, writer lock included: another run, as far as a reader in this process can tell."""
    con = connect(str(db), **options)  # type: ignore[arg-type]
    try:
        yield con
    finally:
        close(con)


def corpus_pages(folder: Path, n: int) -> Path:
    """``n`` article pages of the demo corpus in ``folder``, each retitled so that none is
    stored twice by URL."""
    folder.mkdir()
    corpus = sorted((PROJECT_ROOT / "src/monitor/demo/corpus").glob("*/2026/*/*.html"))
    for i in range(n):
        html = corpus[i % len(corpus)].read_text(encoding="utf-8")
        (folder / f"p{i:04d}.html").write_text(html.replace("</h1>", f" {i}</h1>", 1), encoding="utf-8")
    return folder


def add_tag(con: duckdb.DuckDBPyConnection, article_id: str, concept_id: str, score: float | None = 1.0,
            evidence: str | None = None, version: str | None = None) -> None:
    """A tag row as the writer stores it: with its article's fetch time (migration 014; an
    article without one, or not stored, gets the writer's 1970-01-01)."""
    from monitor.storage.store import NO_FETCH_TIME

    con.execute("INSERT INTO article_tags SELECT ?, ?, ?, ?, ?, "
                "coalesce((SELECT max(fetched_at) FROM articles WHERE id = ?), ?)",
                [article_id, concept_id, score, evidence, version, article_id, NO_FETCH_TIME])


def operator_env(prefect_home: Path, **settings: str) -> dict[str, str]:
    """An operator's shell: no Prefect server configured, a Prefect home of their own, and
    no MONITOR_* but ``settings``: nothing of this test process's Prefect or warehouse."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MONITOR_"))}
    env.update(PREFECT_HOME=str(prefect_home), **settings)
    return env
