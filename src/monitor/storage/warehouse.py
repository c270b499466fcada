"""Open the warehouse (a DuckLake, ``lake``) and keep its shape: ordered migrations and views.

Where the lake lives, its extensions and the writer lock are ``monitor.storage.lake``'s.
The DDL itself lives only in ``warehouse/migrations/NNN_name.sql`` (applied once, in
order, recorded in ``schema_migrations``) and ``warehouse/views.sql`` (re-applied when it
changed: in a lake every DDL statement is a new snapshot). DuckLake has no PRIMARY KEY,
UNIQUE, index or ON CONFLICT: the migrations declare none, and the one writer keeps ids,
URLs, hashes, feed state and tags unique itself (``store``, ``dedup_index``).

A writing connection holds the warehouse's writer lock: a second writer gets a
``WarehouseLockedError`` with a clear message. A read-only connection takes no lock and
never waits: it reads the snapshot committed when each query began (or the one named
by ``snapshot``).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from monitor.exceptions import WarehouseError, WarehouseLockedError
from monitor.settings import WAREHOUSE_DIR, Settings
from monitor.storage import lake, rollups
from monitor.storage.lake import Location

__all__ = ["connect", "open_warehouse", "warehouse_exists", "close", "migrate", "apply_views", "refresh_rollups", "current_snapshot", "one_snapshot", "snapshot_readers", "lift_memory_limit", "returning_memory", "location_of",
           "MIGRATIONS_DIR", "VIEWS_FILE", "ROLLUPS_FILE"]

MIGRATIONS_DIR = WAREHOUSE_DIR / "migrations"
VIEWS_FILE = WAREHOUSE_DIR / "views.sql"
ROLLUPS_FILE = WAREHOUSE_DIR / "rollups.sql"
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
#: Where a connection keeps its lake's pages folder (read by ``pagestore.pages_dir``).
PAGES_VARIABLE = "monitor_pages_dir"


def connect(
    path: str | Path | Location = ":memory:",
    *,
    read_only: bool = False,
    memory_limit: str | None = None,
    data_path: str | Path | None = None,
    snapshot: int | str | None = None,
    writer_wait: float = 0.0,
    report: Callable[[str], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the warehouse ``path`` names (``lake.locate``), migrated and
    with current views; its tables are the connection's default schema.

    A writer waits up to ``writer_wait`` seconds for another process's writer lock
    (saying so through ``report``), then raises ``WarehouseLockedError``.

    ``read_only``: no writer lock, no migration; a warehouse that does not exist yet is
    created first. ``snapshot`` (read-only only): a snapshot id, or a time ("2026-11-20",
    "2026-11-20 12:00"), to read the warehouse as it was then. ``memory_limit`` caps
    DuckDB's buffer pool (e.g. "256MB"); "auto" and "off" are left to the caller.
    """
    location = lake.locate(path, data_path)
    lake.remember_pandas_is_missing()
    if snapshot is not None and not read_only:
        raise WarehouseError("a snapshot can only be read: open it read-only")
    if location.kind == "memory":
        con = duckdb.connect(":memory:")
        _session_settings(con, memory_limit)
        migrate(con)
        apply_views(con)
        return con
    if location.kind == "duckdb":
        return _connect_file(location, read_only=read_only, memory_limit=memory_limit)
    if read_only and not lake.exists(location):
        close(connect(location))  # nothing to protect yet: create it so queries have a schema
    con = duckdb.connect(":memory:", config=lake.HOST_CONFIG)
    try:
        _session_settings(con, memory_limit)
        lake.load_extensions(con, ("ducklake", "postgres" if location.kind == "postgres" else "sqlite"))
        if not read_only:
            lake.hold_writer_lock(location, con, wait=writer_wait, report=report)
        assert location.root is not None and location.pages_path is not None
        location.root.mkdir(parents=True, exist_ok=True)
        if location.sqlite_path is not None:
            location.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            lake.exists(location)  # an old DuckDB file is refused here, with the way out
            if not read_only:
                lake.use_wal(location.sqlite_path)
        try:
            con.execute(lake.attach_sql(location, read_only=read_only, snapshot=snapshot))
        except duckdb.Error as exc:
            raise WarehouseError(f"Cannot open the warehouse {location.label}: {exc}") from exc
        con.execute(f"USE {lake.LAKE_ALIAS}")
        con.execute(f"SET VARIABLE {PAGES_VARIABLE} = ?", [str(location.pages_path)])
        if not read_only:
            _upgrade(con)
    except BaseException:
        close(con)
        raise
    return con


def _upgrade(con: duckdb.DuckDBPyConnection) -> None:
    """Migrate, apply the views, and after a migration refill the kept tables: a new one
    (the kept copy rows of 013) would read empty to every analyst until a run's end."""
    applied = migrate(con)
    apply_views(con)
    if applied and con.execute("SELECT 1 FROM articles LIMIT 1").fetchall():
        refresh_rollups(con)


def _connect_file(location: Location, *, read_only: bool, memory_limit: str | None) -> duckdb.DuckDBPyConnection:
    """A plain DuckDB file warehouse (``duckdb:PATH``), for the benchmarks' side-by-side."""
    path = Path(location.catalog)
    path.parent.mkdir(parents=True, exist_ok=True)
    if read_only and not path.exists():
        connect(location).close()
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseLockedError(
                f"The warehouse {location.label} is in use by another monitor process "
                "(a DuckDB file allows one writer, and no reader beside it). Wait for it to finish, or use another --db."
            ) from exc
        hint = (f"; if {path}.wal was left by another warehouse file, move it away (it holds that "
                "file's unsaved changes, not this one's)" if "WAL does not match" in str(exc) else "")
        raise WarehouseError(f"Cannot open the warehouse {location.label}: {str(exc).splitlines()[0]}{hint}") from exc
    _session_settings(con, memory_limit)
    assert location.pages_path is not None
    con.execute(f"SET VARIABLE {PAGES_VARIABLE} = ?", [str(location.pages_path)])
    if not read_only:
        _upgrade(con)
    return con


def open_warehouse(settings: Settings, **options: object) -> duckdb.DuckDBPyConnection:
    """``connect`` to the warehouse the settings name (--db, MONITOR_WAREHOUSE, MONITOR_DB)."""
    return connect(settings.warehouse_target, data_path=settings.data_path, **options)  # type: ignore[arg-type]


def warehouse_exists(settings: Settings) -> bool:
    """Whether the warehouse the settings name has been created."""
    return lake.exists(lake.locate(settings.warehouse_target, settings.data_path))


def close(con: duckdb.DuckDBPyConnection) -> None:
    """Close a warehouse connection and give up its writer lock at once."""
    try:
        con.close()
    finally:
        lake.release_writer_lock(con)


#: pandas_analyze_sample large enough for any batch the writer saves.
ANALYZE_EVERY_VALUE = 2**31 - 1


def _session_settings(con: duckdb.DuckDBPyConnection, memory_limit: str | None) -> None:
    # Week boundaries and date(...) must not depend on the machine's zone.
    con.execute("SET TimeZone = 'UTC'")
    # The writer's object arrays (text, lists, bytes: store._scannable) are typed from
    # every value, not a sample of 1,000: a sample of only NULLs in 2,000+ rows made
    # DuckDB 1.5.5 call pandas on the NumPy array and fail, though a later row had text.
    con.execute(f"SET pandas_analyze_sample = {ANALYZE_EVERY_VALUE}")
    if memory_limit and memory_limit not in ("auto", "off"):
        con.execute(f"SET memory_limit = '{_checked_size(memory_limit)}'")


def location_of(con: duckdb.DuckDBPyConnection) -> str | None:
    """The catalog the connection's lake is attached from (None for a warehouse in memory)."""
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = ?", [lake.LAKE_ALIAS]).fetchall()
    return str(rows[0][0]) if rows else None


def current_snapshot(con: duckdb.DuckDBPyConnection) -> int | None:
    """The id of the lake snapshot this connection reads (None in memory: no snapshots)."""
    if location_of(con) is None:
        return None
    row = con.execute(f"SELECT id FROM {lake.LAKE_ALIAS}.current_snapshot()").fetchall()
    return int(row[0][0]) if row else None


@contextmanager
def one_snapshot(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Every read inside the block sees one snapshot of the lake, the one ``current_snapshot``
    names there: a read transaction. Outside one, each statement reads the snapshot that is
    latest when it starts, so a report made of many queries while a run commits would mix
    two states of the warehouse and name neither. Nothing is written: it ends in a
    rollback. (On a lake a table read inside a transaction is also ~20-30% cheaper: the
    snapshot is looked up once.) Not for a connection already in a transaction: DuckDB
    refuses the BEGIN and aborts that transaction, so a report read inside another one's
    snapshot calls the unwrapped reader (``reports.events.read_events``).
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    finally:
        con.execute("ROLLBACK")



#: Times ``snapshot_readers`` begins its readers' transactions again when a run committed
#: between two of them (each try takes a millisecond or two; commits are seconds apart).
_SAME_SNAPSHOT_TRIES = 5


@contextmanager
def snapshot_readers(con: duckdb.DuckDBPyConnection, count: int) -> Iterator[list[duckdb.DuckDBPyConnection]]:
    """``count`` readers of ``con``'s warehouse, to run queries on at once from threads, all
    reading one snapshot: the same read transaction as ``one_snapshot``, on each reader.

    Each is a cursor (a connection of its own to the same DuckDB), with ``con``'s time zone
    and default catalog. Their transactions begin one after the other, so a run may commit
    between two: then they begin again, until all name one snapshot. While they are open
    DuckDB's worker threads are shared out among them (``threads`` is the database's, not
    a connection's): on a lake each query first reads the catalog in a dozen small
    statements that one thread does no slower, and two queries at once fill two cores
    better than one query on both (a digest at a million articles: 0.51 s read in turn,
    0.31 s on two readers of one thread each). ``con`` itself is left as it was.
    """
    cursors = [con.cursor() for _ in range(count)]
    zone, database, schema, threads = con.execute(
        "SELECT current_setting('TimeZone'), current_database(), current_schema(), current_setting('threads')").fetchone()  # type: ignore[misc]
    try:
        for cursor in cursors:
            cursor.execute("SET TimeZone = ?", [zone])
        con.execute(f"SET threads = {max(1, (os.cpu_count() or 1) // count)}")
        for _ in range(_SAME_SNAPSHOT_TRIES):
            snapshots = set()
            for cursor in cursors:
                cursor.execute("BEGIN TRANSACTION")
                # In the transaction: outside one, USE looks the lake up at a snapshot of its
                # own (~2 ms a reader on a lake, before any part of a digest can start).
                # The transaction's snapshot is the one the lake is first read at: here.
                cursor.execute(f'USE "{database}"."{schema}"')
                snapshots.add(current_snapshot(cursor))
            if len(snapshots) == 1:
                break
            for cursor in cursors:
                cursor.execute("ROLLBACK")
        else:
            raise WarehouseError(f"Runs committed while {count} readers began to read: try again.")
        yield cursors
    finally:
        for cursor in cursors:
            try:
                cursor.execute("ROLLBACK")
            except duckdb.Error:
                pass  # not in a transaction (it failed to begin)
            cursor.close()
        con.execute(f"SET threads = {threads}")

#: The "auto" writer cap: DuckDB's buffer pool for one batch's queries (the dedup join
#: streams the postings through it) and the Parquet files it writes. The lake keeps no
#: index in memory (there are none), so the cap no longer grows with the warehouse as
#: the DuckDB file's did (~1 KB an article for its ART indexes). A batch that still runs
#: out is saved again uncapped (IngestSession.save_documents).
WRITER_MEMORY_AUTO_MB = 256
#: Never above DuckDB's own default share of physical memory.
MAX_MEMORY_SHARE = 0.8


def fit_memory_limit(con: duckdb.DuckDBPyConnection) -> int:
    """Set the "auto" writer cap (WRITER_MEMORY_AUTO_MB, at most MAX_MEMORY_SHARE of RAM); the cap in MiB."""
    mib = int(min(WRITER_MEMORY_AUTO_MB, _physical_mib() * MAX_MEMORY_SHARE))
    con.execute(f"SET memory_limit = '{mib}MiB'")
    return mib


def lift_memory_limit(con: duckdb.DuckDBPyConnection) -> int:
    """Lift the writer's cap to DuckDB's own default (MAX_MEMORY_SHARE of RAM); the limit in MiB.

    Set explicitly: in DuckDB 1.5.5 ``RESET memory_limit`` reports the default but leaves
    the buffer manager at the old cap (tests/storage/test_warehouse.py shows it).
    """
    mib = int(_physical_mib() * MAX_MEMORY_SHARE)
    con.execute(f"SET memory_limit = '{mib}MiB'")
    return mib


#: While ``returning_memory`` is open: a free of more than this at once makes DuckDB's
#: allocator (jemalloc) give its unused pages back to the system.
RETURN_MEMORY_ABOVE = "1MiB"


@contextmanager
def returning_memory(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Within: memory a statement frees goes back to the system, not kept for the next one.

    DuckDB's allocator keeps freed pages for reuse (its default gives them back only after
    frees of 512 MiB at once). The writer's once-a-run statements over the whole warehouse
    (the check for stories without an event at its open, the kept tables' refresh at its
    end) each build hash tables of a few tens of MB over a million articles, and the kept
    pages stacked up: the writer's peak was 402-422 MB at a million stored against 304 at
    10k, and 344-350 MB with this (measured 2026-12-07). Only around those: giving pages
    back costs page faults when they are needed again, 0.9 s more over the batches of a
    1,000-page import (6%), where the kept pages are reused and add nothing to the peak.
    The setting is the database's; each monitor connection is its own database.
    """
    row = con.execute("SELECT current_setting('allocator_bulk_deallocation_flush_threshold')").fetchone()
    con.execute(f"SET allocator_bulk_deallocation_flush_threshold = '{RETURN_MEMORY_ABOVE}'")
    try:
        yield
    finally:
        if row is not None:
            with suppress(duckdb.Error):  # a connection that failed mid-statement: nothing to restore
                con.execute("SET allocator_bulk_deallocation_flush_threshold = ?", [row[0]])


def _physical_mib() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20


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
    """Apply the migrations not yet recorded, in order, in one transaction; return their names."""
    # No key: DuckLake has none; this function is the table's one writer.
    con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name VARCHAR, applied_at TIMESTAMPTZ)")
    done = {row[0] for row in con.execute("SELECT name FROM schema_migrations").fetchall()}
    pending = [(name, path) for name, path in _migration_files(directory) if name not in done]
    if not pending:
        return []
    # All pending migrations in one transaction: one lake snapshot (a new lake is one
    # snapshot, not seven), and a failing one leaves the schema as it was.
    con.execute("BEGIN TRANSACTION")
    try:
        for name, path in pending:
            try:
                con.execute(path.read_text(encoding="utf-8"))
            except duckdb.Error as exc:
                raise WarehouseError(f"Migration {name} failed: {exc}") from exc
            con.execute("INSERT INTO schema_migrations VALUES (?, ?)", [name, datetime.now(UTC)])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return [name for name, _ in pending]


def apply_views(con: duckdb.DuckDBPyConnection, views_file: Path = VIEWS_FILE) -> None:
    """(Re)create every view from the one views file, when it changed since it was last applied.

    In a lake each CREATE VIEW is a catalog change, a new snapshot: re-creating the same
    views at every writer's open would fill the snapshot list with nothing. The file's
    hash is recorded in ``schema_migrations`` (as ``views:<sha256>``).
    """
    text = views_file.read_text(encoding="utf-8")
    marker = "views:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    if con.execute("SELECT 1 FROM schema_migrations WHERE name = ?", [marker]).fetchall():
        return
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(text)
        con.execute("DELETE FROM schema_migrations WHERE name LIKE 'views:%'")
        con.execute("INSERT INTO schema_migrations VALUES (?, ?)", [marker, datetime.now(UTC)])
        con.execute("COMMIT")
    except duckdb.Error as exc:
        con.execute("ROLLBACK")
        raise WarehouseError(f"The views of {views_file.name} failed: {exc}") from exc


#: Below this many stored articles the rollup tables are recomputed whole instead of
#: following what changed. Following the changes is ~20 statements, each reading the
#: lake's catalog first (0.8-1.0 s at 11k articles, measured 2026-12-07), while a whole
#: recompute reads every article once (0.25 s at 11k, ~2 s of reads at a million): at a
#: small warehouse's end of run the whole recompute is the cheaper one. (The tests set
#: this to 0, so every refresh they run follows the changes: the path a large warehouse takes.)
WHOLE_REFRESH_BELOW = 50_000


def refresh_rollups(con: duckdb.DuckDBPyConnection, rollups_file: Path = ROLLUPS_FILE, *,
                    then: Callable[[], None] | None = None) -> None:
    """Bring the pre-aggregated trend tables up to date with the warehouse, in one transaction.

    Every writing run calls this at its end; after changing articles by hand, call it
    (or run any writing command) before reading the trend views. On a lake only what
    changed since the last refresh is recounted (``rollups``), nothing when nothing did;
    the tables are recomputed whole from the live views when that cannot be followed, or
    when a lake of fewer than ``WHOLE_REFRESH_BELOW`` articles changed. ``then`` runs in
    the same transaction, after the refresh (a run's end: its record commits with them).
    """
    now = current_snapshot(con)
    with returning_memory(con):
        con.execute("BEGIN TRANSACTION")
        try:
            if not rollups.refresh_changed(con, now, articles_below=WHOLE_REFRESH_BELOW):
                con.execute(rollups_file.read_text(encoding="utf-8"))
            rollups.record_snapshot(con, now)
            if then is not None:
                then()
            con.execute("COMMIT")
        except duckdb.Error:
            con.execute("ROLLBACK")
            raise
