"""The analysts' SQL console (`monitor sql`): read the warehouse and nothing else.

A read-only open alone is not enough: DuckDB's read-only mode still writes files
(``COPY ... TO``, ``EXPORT DATABASE``), attaches other databases for writing, reads any
file on the machine (``read_text``), changes settings and loads or downloads extensions.
So the console's connection is also locked down with DuckDB's own settings, in this one
helper (a DuckLake warehouse will need its catalog and data path allowed here, and
nothing more):

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

__all__ = ["open_console", "checked_statement", "READ_STATEMENTS", "LOCKED_SETTINGS"]

#: Settings fixed when the console connects (DuckDB reads them before anything runs).
LOCKED_SETTINGS: dict[str, str | bool] = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
}
#: What the console runs: SELECT (with WITH, FROM-first, SHOW, DESCRIBE, SUMMARIZE),
#: EXPLAIN, PRAGMA and CALL (table_info, version: the setting ones are refused by the
#: locked configuration). Everything else, even what the settings would refuse anyway,
#: is refused by name.
READ_STATEMENTS = frozenset({"SELECT", "EXPLAIN", "PRAGMA", "CALL"})


def open_console(path: Path) -> duckdb.DuckDBPyConnection:
    """The warehouse at ``path`` read-only and locked down; a missing file is an error, not created."""
    if not path.is_file():
        raise WarehouseError(f"no warehouse at {path} (monitor sql creates nothing; run an ingest or import first)")
    try:
        con = duckdb.connect(str(path), read_only=True, config=dict(LOCKED_SETTINGS))
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open the warehouse {path} read-only: {exc}") from exc
    # Week boundaries and date(...) as every other command sees them; then nothing changes.
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET lock_configuration = true")
    return con


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
