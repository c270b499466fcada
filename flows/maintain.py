"""Prefect flow: the lake's weekly upkeep (glue only; logic in monitor.storage.upkeep)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from prefect import flow, get_run_logger

from monitor.settings import load_settings
from monitor.storage.upkeep import maintain_apart

__all__ = ["maintain"]


# A run writing when upkeep starts holds the writer lock: upkeep fails with a clear
# message and Prefect tries again a little later (a quarter-hourly ingest takes minutes).
@flow(name="maintain", retries=3, retry_delay_seconds=300)
def maintain(db_path: str | None = None, retention_days: int | None = None) -> dict[str, int]:
    """Merge small files, expire snapshots older than the retention, delete unreferenced files."""
    settings = load_settings(db_path=Path(db_path) if db_path else None)
    done = maintain_apart(settings.warehouse_target, data_path=settings.data_path,
                          retention_days=settings.snapshot_retention_days if retention_days is None else retention_days)
    for line in done.lines():
        get_run_logger().info(line)
    return asdict(done)
