"""Prefect flow: re-tag stored articles after a taxonomy change (glue only; logic in monitor.runs.retag)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from prefect import flow

from monitor.runs.retag import retag_articles
from monitor.settings import load_settings
from monitor.judging.tagging import compile_matcher
from monitor.judging.taxonomy import load_taxonomy
from monitor.storage.warehouse import close, open_warehouse

__all__ = ["retag"]


@flow(name="retag")
def retag(db_path: str | None = None, force: bool = False) -> dict[str, object]:
    """Re-tag every stored article whose taxonomy version differs (all of them with force)."""
    settings = load_settings(db_path=Path(db_path) if db_path else None)
    taxonomy = load_taxonomy(settings.taxonomy_path)
    matcher = compile_matcher(taxonomy)
    con = open_warehouse(settings)
    try:
        stats = retag_articles(con, taxonomy, matcher, force=force)
    finally:
        close(con)
    return asdict(stats)
