"""The weekly digest flow: build one week's digest, write it to a file, publish it as an artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State

from monitor.reports.digest import DEFAULT_DIGEST_DIR, Digest, build_digest, render_markdown, save_digest
from monitor.exceptions import WarehouseLockedError
from monitor.settings import load_settings
from monitor.storage.warehouse import close, open_warehouse, refresh_rollups

__all__ = ["digest"]


def _warehouse_locked(task: Any, task_run: Any, state: State[Any]) -> bool:
    """Retry only while another process holds the writer lock; a bad week will not get better."""
    return isinstance(state.result(raise_on_failure=False), WarehouseLockedError)


# A reader takes no lock and never waits for ingest (the lake's snapshots); the retry is
# for the one writing step, the rollup refresh, which is skipped while a run writes.
@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=120, retry_condition_fn=_warehouse_locked)
def build(db_path: str | None, week: str | None) -> Digest:
    """Read the week from the warehouse (read-only: ingest may be writing); no path: the
    settings' warehouse (MONITOR_WAREHOUSE, MONITOR_DB)."""
    settings = load_settings(db_path=Path(db_path) if db_path else None)
    try:
        writer = open_warehouse(settings)
    except WarehouseLockedError:
        pass  # a run is writing, and refreshes the rollups when it ends
    else:
        try:
            refresh_rollups(writer)
        finally:
            close(writer)
    con = open_warehouse(settings, read_only=True)
    try:
        return build_digest(con, week)
    finally:
        close(con)


@task(cache_policy=NO_CACHE)
def publish(d: Digest, fmt: str, out_dir: str) -> str:
    """Write the digest file and the Prefect markdown artifact; return the file path."""
    path = save_digest(d, fmt, Path(out_dir))
    create_markdown_artifact(
        key="weekly-digest",
        markdown=render_markdown(d),
        description=f"Weekly digest {d.week}: {d.stories} stories ({path})",
    )
    return str(path)


@flow(name="digest", log_prints=True)
def digest(
    week: str | None = None,
    db_path: str | None = None,
    out_dir: str | None = None,
    fmt: str = "md",
) -> str:
    """Build the digest of ``week`` (default: the last complete week) and publish it."""
    target = Path(out_dir) if out_dir else DEFAULT_DIGEST_DIR
    target.mkdir(parents=True, exist_ok=True)
    d = build(db_path, week)
    path = publish(d, fmt, str(target))
    print(f"Digest {d.week}: {d.stories} stories -> {path}")
    return path


if __name__ == "__main__":
    digest()
