"""Prefect flow: extract stored articles again from their kept raw pages (glue only; logic in
monitor.reextract). Run by hand after trafilatura or the cleaning rules change."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from prefect import flow, get_run_logger

from monitor.pipeline import make_judge
from monitor.reextract import reextract_articles
from monitor.settings import load_settings
from monitor.warehouse import connect

__all__ = ["reextract"]


@flow(name="reextract")
def reextract(db_path: str | None = None, force: bool = False) -> dict[str, object]:
    """Re-extract every article whose extractor version differs (every article with a kept page with force)."""
    settings = load_settings(db_path=Path(db_path) if db_path else None)
    judge = make_judge(settings.taxonomy_path)
    logger = get_run_logger()
    con = connect(settings.db_path)
    try:
        stats = reextract_articles(con, judge, force=force, report=logger.info)
    finally:
        con.close()
    return asdict(stats)
