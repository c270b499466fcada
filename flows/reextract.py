"""Prefect flow: extract stored articles again from their kept raw pages (glue only; logic in
monitor.runs.reextract). Run by hand after trafilatura or the cleaning rules change."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from prefect import flow, get_run_logger

from monitor.runs.reextract import reextract_warehouse
from monitor.settings import load_settings

__all__ = ["reextract"]


@flow(name="reextract")
def reextract(db_path: str | None = None, force: bool = False) -> dict[str, object]:
    """Re-extract every article whose extractor version differs (every article with a kept page with force)."""
    settings = load_settings(db_path=Path(db_path) if db_path else None)
    return asdict(reextract_warehouse(settings, force=force, report=get_run_logger().info))
