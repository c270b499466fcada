"""The scheduled ingest flow: feeds -> new pages -> judged documents -> one writer.

Only wiring lives here: which library function runs as a task, with which retries,
and in which order. Fetching and extraction fan out over the task runner; every
save happens in this flow's process through one ``IngestSession``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from monitor.runs.ingest import FeedOutcome, IngestSession, PagesOutcome, fetch_feed, fetch_pages
from monitor.runs.lifeline import sigterm_stays_ours
from monitor.settings import MAX_WORKERS, load_settings

# Network hiccups inside a task are already retried by the Fetcher (with backoff and
# Retry-After); a task-level retry covers a crashed worker, once.
fetch_feed_task = task(name="fetch-feed", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)(fetch_feed)
fetch_pages_task = task(name="fetch-pages", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)(fetch_pages)


@flow(name="ingest", task_runner=ThreadPoolTaskRunner(max_workers=MAX_WORKERS), log_prints=True)  # type: ignore[arg-type]
def ingest(
    sources_path: str | None = None,
    db_path: str | None = None,
    allow_private_hosts: list[str] | None = None,
    per_host_delay: float | None = None,
    pages_per_task: int | None = None,
    respect_poll_minutes: bool = False,
    writer_wait: float | None = None,
) -> dict[str, Any]:
    """Poll every due source once and store its new articles.

    A source is due unless it is backing off after failures, or, with
    ``respect_poll_minutes`` (the scheduled deployment sets it), its ``poll_minutes``
    have not passed since its last successful poll.

    Fan-out width is the task runner's (``ingest.with_options(task_runner=...)``;
    ``monitor ingest --workers N`` does that); ``pages_per_task`` overrides the setting
    (process and Dask runners want coarser tasks); ``allow_private_hosts`` and
    ``per_host_delay`` exist for the loopback demo and tests. ``writer_wait``: seconds to
    wait while another run (or a digest's rollup refresh) writes the warehouse, before
    failing (default MONITOR_WRITER_WAIT, else 0; the scheduled deployment waits).
    """
    logger = get_run_logger()
    settings = load_settings(
        sources_path=Path(sources_path) if sources_path else None,
        db_path=Path(db_path) if db_path else None,
        per_host_delay=per_host_delay,
        pages_per_task=pages_per_task,
        respect_poll_minutes=respect_poll_minutes,
        writer_wait=writer_wait,
    )
    if allow_private_hosts:
        settings = settings.with_(allow_private_hosts=tuple(allow_private_hosts))
    # `monitor ingest` stops on SIGTERM within seconds and records the run as stopped;
    # Prefect's engine took the signal over for the flow (lifeline.sigterm_stays_ours).
    with sigterm_stays_ours(), IngestSession.open(settings, report=logger.info) as session:
        feeds = [fetch_feed_task.submit(settings, s, st) for s, st in session.due_sources()]
        pages: dict[PrefectFuture[PagesOutcome], str] = {}
        for feed_done in as_completed(feeds):
            outcome: FeedOutcome = feed_done.result()
            for batch in session.new_entries(outcome):
                pages[fetch_pages_task.submit(settings, outcome.source.name, batch)] = outcome.source.name
        for done in as_completed(list(pages)):
            result = done.result(raise_on_failure=False)
            if isinstance(result, PagesOutcome):
                session.save_pages(result)
            else:
                session.abandon(pages[done], repr(result))
        return session.summary()
