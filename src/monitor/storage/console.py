"""The analysts' SQL console (`monitor sql`): read the warehouse and nothing else.

A read-only open alone is not enough: DuckDB's read-only mode still writes files
(``COPY ... TO``, ``EXPORT DATABASE``), attaches other databases for writing, reads any
file on the machine (``read_text``), changes settings and loads or downloads extensions.
So the console's connection is also locked down with DuckDB's own settings, in this one
helper (on a lake, its Parquet tables' folder is the one path allowed):

- ``enable_external_access = false``: no file is read or written but the warehouse
  itself (COPY, EXPORT, ATTACH, read_csv, glob, INSTALL, CREATE SECRET are refused);
- ``autoload/autoinstall_known_extensions = false``, no community or unsigned
  extensions: nothing is fetched or loaded;
- ``lock_configuration = true`` last: no SET, RESET or setting PRAGMA can undo the above.

On top of that, a query is split into its statements before anything runs: one
statement at a time (a ``COPY`` cannot hide before a ``SELECT`` whose result is all one
sees), and only statement types that read (``READ_STATEMENTS``). The settings are the
guard; the statement check gives the clear message.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from monitor.exceptions import QueryRefusedError, WarehouseError
from monitor.storage import lake

__all__ = ["open_console", "checked_statement", "READ_STATEMENTS", "LOCKED_SETTINGS"]

#: Settings fixed when the console connects (DuckDB reads them before anything runs).
LOCKED_SETTINGS: dict[str, str | bool] = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
}
#: On a lake, what can be set before its extensions are loaded from the wheels' files
#: (unsigned: lake.HOST_CONFIG says why) and its catalog attached; the rest (external
#: access, then the lock) follows in ``_lock``.
_LAKE_LOCKED_FIRST: dict[str, str | bool | int | float | list[str]] = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
}
#: What the console runs: SELECT (with WITH, FROM-first, SHOW, DESCRIBE, SUMMARIZE),
#: EXPLAIN, PRAGMA and CALL (table_info, version: the setting ones are refused by the
#: locked configuration). Everything else, even what the settings would refuse anyway,
#: is refused by name.
READ_STATEMENTS = frozenset({"SELECT", "EXPLAIN", "PRAGMA", "CALL"})


def open_console(
    target: str | Path, *, data_path: str | Path | None = None, snapshot: int | str | None = None
) -> duckdb.DuckDBPyConnection:
    """The warehouse ``target`` names (``lake.locate``) read-only and locked down, at
    ``snapshot`` if given; a missing warehouse is an error, never created.

    On a lake the connection first LOADs its extensions and ATTACHes the catalog
    read-only, then allows exactly one folder, the lake's Parquet tables (DuckLake reads
    them through DuckDB's file system, which ``enable_external_access = false`` closes
    otherwise), and locks. The raw pages, the writer lock and everything else stay out
    of reach. Within that folder DuckDB itself would let a ``COPY ... TO`` write: the
    statement check refuses every COPY before anything runs (tested with a COPY aimed at
    a Parquet file of the lake).
    """
    location = lake.locate(target, data_path)
    if location.kind == "memory" or not lake.exists(location):
        raise WarehouseError(f"no warehouse at {location.label} "
                             "(monitor sql creates nothing; run an ingest or import first)")
    if location.kind == "duckdb":
        return _open_file(Path(location.catalog))
    con = duckdb.connect(":memory:", config={**lake.HOST_CONFIG, **_LAKE_LOCKED_FIRST})
    try:
        lake.load_extensions(con, ("ducklake", "postgres" if location.kind == "postgres" else "sqlite"))
        assert location.tables_path is not None
        con.execute("SET allowed_directories = ?", [[str(location.tables_path) + "/"]])
        try:
            con.execute(lake.attach_sql(location, read_only=True, snapshot=snapshot))
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot open the warehouse {location.label} read-only: {exc}") from exc
        con.execute(f"USE {lake.LAKE_ALIAS}")
        _lock(con)
    except BaseException:
        con.close()
        raise
    return con


def _open_file(path: Path) -> duckdb.DuckDBPyConnection:
    """A plain DuckDB file (``duckdb:PATH``, the benchmarks' comparison), read-only and locked."""
    if not path.is_file():
        raise WarehouseError(f"no warehouse at {path} (monitor sql creates nothing; run an ingest or import first)")
    try:
        con = duckdb.connect(str(path), read_only=True, config=dict(LOCKED_SETTINGS))
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open the warehouse {path} read-only: {exc}") from exc
    _lock(con)
    return con


def _lock(con: duckdb.DuckDBPyConnection) -> None:
    # Week boundaries and date(...) as every other command sees them; then nothing changes.
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def checked_statement(query: str) -> str:
    """The one reading statement of ``query``; QueryRefusedError for several, none, or a writing one."""
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise QueryRefusedError(str(exc), reason="bad_sql") from exc
    if not statements:
        raise QueryRefusedError("no SQL statement given")
    if len(statements) > 1:
        raise QueryRefusedError(
            f"one statement at a time: got {len(statements)} separated by ';' "
            "(only the last result would show, and the others would run unseen)")
    kind = statements[0].type.name
    if kind not in READ_STATEMENTS:
        raise QueryRefusedError(
            f"monitor sql is read-only: {kind} statements are refused "
            f"(it runs {', '.join(sorted(READ_STATEMENTS))}: queries, not changes)")
    return query
