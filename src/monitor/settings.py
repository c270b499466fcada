"""One settings object: defaults as named constants, overridden by the environment.

Configuration flows one way: these defaults -> environment -> CLI flags / flow
parameters -> explicit function arguments. Library functions never read the
environment themselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from monitor.exceptions import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
#: The repository root when running from a checkout (``pip install -e .``); the
#: warehouse migrations live in ``<root>/warehouse`` (one owner for the schema).
PROJECT_ROOT = PACKAGE_DIR.parent.parent

#: The embedded warehouse: a DuckLake whose catalog is this SQLite file, its data (Parquet
#: tables, raw pages) in ``monitor.ducklake.data/`` beside it (monitor.storage.lake).
DEFAULT_DB = PROJECT_ROOT / "warehouse" / "monitor.ducklake"
DEFAULT_SOURCES = DATA_DIR / "sources.yaml"
DEFAULT_TAXONOMY = DATA_DIR / "taxonomy.yaml"
SEEDS_DIR = DATA_DIR / "seeds"
WAREHOUSE_DIR = PROJECT_ROOT / "warehouse"

#: Identify ourselves honestly; site owners can reach us from the URL.
USER_AGENT = "monitor/0.1 (+https://github.com/monitor-balkans/monitor; news monitoring for research)"
#: Seconds to connect / to wait between bytes. Slow state-media servers answer in ~5 s.
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 20.0
#: Wall-clock cap for one request, so a server trickling a byte a second cannot hold a worker.
TOTAL_TIMEOUT = 60.0
#: Largest body we accept after decompression. Real article pages are < 2 MB; feeds < 5 MB.
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
#: Transient failures (429, 5xx, resets) are retried this many times with backoff.
MAX_RETRIES = 2
BACKOFF_SECONDS = 1.0
#: Never sleep longer than this for a Retry-After header; beyond it we give up for this run.
MAX_RETRY_AFTER = 120.0
#: Minimum spacing between two requests to the same host (politeness).
PER_HOST_DELAY = 1.0
#: A feed with more items than this is truncated (and the truncation recorded).
MAX_ITEMS_PER_FEED = 500
#: Raw page bytes one source may make a run fetch: 1 MB a page for a full feed
#: (MAX_ITEMS_PER_FEED), where real pages average 170 KB (Zyte's 181, at most 1.4 MB). A
#: feed of 200 links to one 5 MB page fetched 1 GB; each batch of pages gets its share
#: (ingest.page_budget), and what is left is fetched by the next runs.
MAX_SOURCE_BYTES_PER_RUN = 500 * 10**6
#: Fan-out of fetch/extract tasks in the ingest flow.
MAX_WORKERS = 4
#: Pages handed to one fetch-and-extract task in the ingest flow: coarse enough that
#: Prefect's per-task cost (~17 ms on threads, far more on processes or Dask, where
#: each task run is shipped and reported from another process) is noise, small enough
#: that a big feed spreads over the workers. MONITOR_PAGES_PER_TASK changes it.
PAGES_PER_TASK = 25
#: `monitor import` without --workers: an import of this many files or more is judged
#: in one worker process a usable core, at most AUTO_MAX_WORKERS; fewer stay in the
#: writer's process. Starting workers costs ~0.5 s (forkserver, pipeline imports), and
#: 200 files take ~1.6 s on one core, ~0.9 s on two.
AUTO_WORKERS_MIN_FILES = 200
AUTO_MAX_WORKERS = 4
#: Articles saved per warehouse transaction (import, retag, reextract). On a lake every
#: statement that reads a table asks the catalog for its files (~4 SQLite queries) and
#: decodes Parquet, 2-10 ms where a DuckDB file takes under 1, and a batch makes ~35 of
#: them; every commit also leaves a Parquet file per table it wrote. 400 instead of 200
#: halves both: measured on 1,000 pages into 10k stored, the writer's SQL took 1.77 s on
#: the lake and 1.03 s on a file against 2.53 and 1.16 s with 200. A 10k-page import (2
#: workers): 91.6 pages/s against 77.6, peak RSS 566 MB against 537 (the batch's documents;
#: the dedup check still takes 200 texts at a time, dedup_index.CHECK_CHUNK, or it was 636).
#: 800 since 2026-12-08, for the same reasons: each statement's scans read a Parquet file
#: per earlier commit of the run, so a batch's fixed cost grows as the run goes on. On an
#: import of 2,000 generated pages (one worker) the process took 4.81 ms of CPU a page
#: against 5.13 with 400 (median of 3 rounds side by side), 2 workers 3.20 ms of wall a
#: page against 3.44; peak RSS 339 MB against 325. Which texts are copies of which does not
#: change; what does is what a batch decides in memory and a later one from the warehouse:
#: a story re-rooted by an earlier-published copy in a later batch keeps its event row, and
#: quotation links are screened on anchors for stored texts (see the 2026-12-08 commit).
#: A run stopped halfway redoes at most one batch.
SAVE_BATCH = 800
#: DuckDB memory cap of a writing run (ingest, import): "auto", "off" (DuckDB's default,
#: 80% of RAM) or a size such as "512MB". Without a cap DuckDB caches every block a long
#: import reads; "auto" is a fixed cap (warehouse.WRITER_MEMORY_AUTO_MB): the lake keeps
#: no index in memory, so nothing in the writer grows with the warehouse.
WRITER_MEMORY_LIMIT = "auto"
#: Days of lake snapshots `monitor maintain` keeps, so `--as-of` can reproduce last
#: month's digest (a digest names the snapshot it read; a monthly review reads back four
#: weeks). MONITOR_SNAPSHOT_RETENTION changes it; 0 keeps only the current snapshot.
SNAPSHOT_RETENTION_DAYS = 30


def _env_hosts(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(h.strip() for h in value.split(",") if h.strip())


def _positive_int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigError(f"{name} must be a whole number above 0, got {value!r}")
    return number


def _seconds(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number < float("inf"):
        raise ConfigError(f"{name} must be a number of seconds, 0 or more, got {value!r}")
    return number


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know, resolved once."""

    db_path: Path = DEFAULT_DB
    #: MONITOR_WAREHOUSE: a DuckLake catalog (a SQLite path, or ``postgres:...`` /
    #: ``postgresql://...``) used instead of ``db_path``; an explicit --db wins over it.
    warehouse: str | None = None
    #: MONITOR_DATA_PATH: the lake's data path (tables/, pages/); default: beside a
    #: SQLite catalog (``<catalog>.data/``). A PostgreSQL catalog needs one.
    data_path: Path | None = None
    sources_path: Path = DEFAULT_SOURCES
    taxonomy_path: Path = DEFAULT_TAXONOMY
    seeds_dir: Path = SEEDS_DIR
    user_agent: str = USER_AGENT
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT
    total_timeout: float = TOTAL_TIMEOUT
    max_body_bytes: int = MAX_BODY_BYTES
    max_redirects: int = MAX_REDIRECTS
    max_retries: int = MAX_RETRIES
    backoff_seconds: float = BACKOFF_SECONDS
    max_retry_after: float = MAX_RETRY_AFTER
    per_host_delay: float = PER_HOST_DELAY
    max_items_per_feed: int = MAX_ITEMS_PER_FEED
    max_source_bytes_per_run: int = MAX_SOURCE_BYTES_PER_RUN
    max_workers: int = MAX_WORKERS
    save_batch: int = SAVE_BATCH
    pages_per_task: int = PAGES_PER_TASK
    writer_memory_limit: str = WRITER_MEMORY_LIMIT
    #: MONITOR_WRITER_WAIT: seconds a writing run waits for another one (or a digest's
    #: rollup refresh) to let go of the warehouse before it gives up. 0 (a command typed
    #: by hand): refused at once, with who holds it. The scheduled ingest waits (prefect.yaml).
    writer_wait: float = 0.0
    snapshot_retention_days: int = SNAPSHOT_RETENTION_DAYS
    respect_robots: bool = True
    #: Poll a source only once its ``poll_minutes`` have passed since its last successful
    #: poll. Off for a run started by hand (it polls everything); on for the scheduled
    #: deployment, which runs more often than any source wants (prefect.yaml).
    respect_poll_minutes: bool = False
    #: Hosts or CIDRs the fetcher may reach even though they are private/loopback.
    allow_private_hosts: tuple[str, ...] = ()

    @property
    def warehouse_target(self) -> str:
        """What names the warehouse for ``storage.warehouse.connect``: MONITOR_WAREHOUSE, else the path."""
        return self.warehouse or str(self.db_path)

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


def load_settings(environ: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Defaults, then ``MONITOR_*`` environment variables, then explicit overrides."""
    env = dict(os.environ if environ is None else environ)
    s = Settings()
    if env.get("MONITOR_DB"):
        s = s.with_(db_path=Path(env["MONITOR_DB"]))
    if env.get("MONITOR_WAREHOUSE"):
        s = s.with_(warehouse=env["MONITOR_WAREHOUSE"])
    if env.get("MONITOR_DATA_PATH"):
        s = s.with_(data_path=Path(env["MONITOR_DATA_PATH"]))
    if env.get("MONITOR_SOURCES"):
        s = s.with_(sources_path=Path(env["MONITOR_SOURCES"]))
    if env.get("MONITOR_TAXONOMY"):
        s = s.with_(taxonomy_path=Path(env["MONITOR_TAXONOMY"]))
    if env.get("MONITOR_WRITER_MEMORY"):
        s = s.with_(writer_memory_limit=env["MONITOR_WRITER_MEMORY"])
    if env.get("MONITOR_PAGES_PER_TASK"):
        s = s.with_(pages_per_task=_positive_int("MONITOR_PAGES_PER_TASK", env["MONITOR_PAGES_PER_TASK"]))
    if env.get("MONITOR_SNAPSHOT_RETENTION"):
        value = env["MONITOR_SNAPSHOT_RETENTION"]
        if not value.strip().isdigit():
            raise ConfigError(f"MONITOR_SNAPSHOT_RETENTION is a number of days (0 or more), got {value!r}")
        s = s.with_(snapshot_retention_days=int(value))
    if env.get("MONITOR_WRITER_WAIT"):
        s = s.with_(writer_wait=_seconds("MONITOR_WRITER_WAIT", env["MONITOR_WRITER_WAIT"]))
    if env.get("MONITOR_PER_HOST_DELAY"):
        s = s.with_(per_host_delay=_seconds("MONITOR_PER_HOST_DELAY", env["MONITOR_PER_HOST_DELAY"]))
    s = s.with_(allow_private_hosts=_env_hosts(env.get("MONITOR_ALLOW_PRIVATE_HOSTS")))
    if overrides.get("db_path") is not None:
        s = replace(s, warehouse=None)  # an explicit --db names the warehouse, whatever the environment says
    return s.with_(**overrides)
