"""Open the DuckDB warehouse and keep its shape: ordered migrations and views.

The DDL itself lives only in ``warehouse/migrations/NNN_name.sql`` (applied once,
in order, recorded in ``schema_migrations``) and ``warehouse/views.sql`` (re-applied
on every open). DuckDB allows one writing process per file; a second writer gets a
``WarehouseLockedError`` with a clear message instead of a stack trace.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from monitor.exceptions import WarehouseError, WarehouseLockedError
from monitor.settings import WAREHOUSE_DIR

__all__ = ["connect", "migrate", "apply_views", "refresh_rollups", "MIGRATIONS_DIR", "VIEWS_FILE", "ROLLUPS_FILE"]

MIGRATIONS_DIR = WAREHOUSE_DIR / "migrations"
VIEWS_FILE = WAREHOUSE_DIR / "views.sql"
ROLLUPS_FILE = WAREHOUSE_DIR / "rollups.sql"
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def connect(
    path: str | Path = ":memory:", *, read_only: bool = False, memory_limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the warehouse at ``path``, migrated and with current views.

    ``memory_limit`` caps DuckDB's buffer pool (e.g. "256MB"); unset or "off", DuckDB
    takes up to 80% of RAM and keeps the blocks it read cached, so a long import grows
    with the file. "auto" is left to the caller (``fit_memory_limit``, after migrating).
    """
    target = str(path)
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        if read_only and not Path(target).exists():
            read_only = False  # nothing to protect yet: create it so queries have a schema
    try:
        con = duckdb.connect(target, read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseLockedError(
                f"The warehouse {target} is in use by another monitor process "
                "(DuckDB allows one writer per file). Wait for it to finish, or use another --db."
            ) from exc
        hint = (f"; if {target}.wal was left by another warehouse file, move it away (it holds that "
                "file's unsaved changes, not this one's)" if "WAL does not match" in str(exc) else "")
        raise WarehouseError(f"Cannot open the warehouse {target}: {str(exc).splitlines()[0]}{hint}") from exc
    # Week boundaries and date(...) must not depend on the machine's zone.
    con.execute("SET TimeZone = 'UTC'")
    if memory_limit and memory_limit not in ("auto", "off"):
        con.execute(f"SET memory_limit = '{_checked_size(memory_limit)}'")
    if not read_only:
        migrate(con)
        apply_views(con)
    return con


#: "auto" writer cap: this much for table blocks and query state ...
WRITER_MEMORY_FLOOR_MB = 64
#: ... plus this much per stored article, for the ART indexes of the primary keys and
#: the url and content-hash lookups, which DuckDB keeps wholly in memory once used and
#: never evicts: ~560 bytes an article, measured one index at a time on a 20k-article
#: copy, plus ~8 MB of fixed allocation. The two indexes that grew with every anchor and
#: every tag (5 KB and 2.2 KB an article) are gone (migrations 004, 005): the postings
#: and tags only pass through the capped cache. If the cap still proves short, the
#: session goes uncapped (IngestSession).
INDEX_HEADROOM_BYTES_PER_ARTICLE = 1024
#: Never above DuckDB's own default share of physical memory.
MAX_MEMORY_SHARE = 0.8


#: A capped writer checkpoints itself once the write-ahead log passes this (DuckDB's own
#: default threshold), instead of letting DuckDB do it inside whichever commit crosses
#: it: under the cap, checkpointing large values could not pin a block, and DuckDB
#: raised a FATAL error that invalidates the database mid-run (measured: 300 KB raw
#: pages saved 25 at a time under the 64 MB "auto" cap, before they moved out of DuckDB
#: to ``pagestore``; huge article texts still can). The writer's own checkpoint can
#: fall back: see IngestSession.checkpoint.
CHECKPOINT_WAL_BYTES = 16 * 2**20


def take_over_checkpoints(con: duckdb.DuckDBPyConnection) -> None:
    """Stop DuckDB checkpointing on its own; the caller checkpoints (CHECKPOINT_WAL_BYTES)."""
    con.execute("SET checkpoint_threshold = '1TB'")


def wal_bytes(db_path: Path | str) -> int:
    """Size of the warehouse's write-ahead log (0 when there is none)."""
    try:
        return os.path.getsize(f"{db_path}.wal")
    except OSError:
        return 0


def fit_memory_limit(con: duckdb.DuckDBPyConnection) -> int:
    """Set the writer's memory cap for the warehouse's indexes as they stand; the cap in MiB.

    Called when a writing session opens and after each saved batch, so the cap grows
    with the indexes (which must stay in memory) and nothing else: a long import caches
    no more than a short one.
    """
    articles = con.execute("SELECT count(*) FROM articles").fetchone()
    wanted = WRITER_MEMORY_FLOOR_MB + (articles[0] if articles else 0) * INDEX_HEADROOM_BYTES_PER_ARTICLE // 2**20
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    mib = int(min(wanted, physical * MAX_MEMORY_SHARE))
    con.execute(f"SET memory_limit = '{mib}MiB'")
    return mib


def _checked_size(value: str) -> str:
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)", value.strip(), re.IGNORECASE):
        raise WarehouseError(f"memory limit must look like 256MB or 1GB, got {value!r}")
    return value.strip()


def _migration_files(directory: Path) -> list[tuple[str, Path]]:
    found = []
    for p in sorted(directory.glob("*.sql")):
        if not _MIGRATION_NAME.match(p.name):
            raise WarehouseError(f"Migration file name must look like 001_name.sql: {p.name}")
        found.append((p.stem, p))
    return found


def migrate(con: duckdb.DuckDBPyConnection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the migrations not yet recorded, each in its own transaction; return their names."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ)"
    )
    done = {row[0] for row in con.execute("SELECT name FROM schema_migrations").fetchall()}
    applied = []
    for name, path in _migration_files(directory):
        if name in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(path.read_text(encoding="utf-8"))
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?)", [name, datetime.now(UTC)]
            )
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise WarehouseError(f"Migration {name} failed: {exc}") from exc
        applied.append(name)
    return applied


def apply_views(con: duckdb.DuckDBPyConnection, views_file: Path = VIEWS_FILE) -> None:
    """(Re)create every view from the one views file."""
    con.execute(views_file.read_text(encoding="utf-8"))


def refresh_rollups(con: duckdb.DuckDBPyConnection, rollups_file: Path = ROLLUPS_FILE) -> None:
    """Recompute the pre-aggregated trend tables from the live views, in one transaction.

    Every writing run calls this at its end; after changing articles by hand, call it
    (or run any writing command) before reading the trend views.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(rollups_file.read_text(encoding="utf-8"))
        con.execute("COMMIT")
    except duckdb.Error:
        con.execute("ROLLBACK")
        raise
