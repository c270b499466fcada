"""Upkeep of the lake (``monitor maintain``, the weekly ``maintain`` flow) and moving an old
DuckDB-file warehouse into it (``monitor migrate-warehouse``).

Every writing transaction of a lake leaves a snapshot and, for all but the smallest
batches (DuckLake keeps up to ``ducklake_default_data_inlining_row_limit`` rows in the
catalog itself), a Parquet file per table it touched: an hourly ingest writes some
hundreds of small files a week. Upkeep is DuckLake's own maintenance, in the order its
documentation gives: flush inlined rows, merge small files, expire snapshots older than
the retention, then delete the files no snapshot references any more.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from monitor.exceptions import WarehouseError, WarehouseLockedError
from monitor.settings import SNAPSHOT_RETENTION_DAYS
from monitor.storage.lake import LAKE_ALIAS
from monitor.storage.pagestore import pages_dir
from monitor.storage.store import NO_FETCH_TIME_SQL

__all__ = ["SNAPSHOT_RETENTION_DAYS", "MaintenanceReport", "maintain", "maintain_apart", "MigrationReport",
           "migrate_warehouse"]



@dataclass(frozen=True)
class MaintenanceReport:
    """What one upkeep pass did."""

    files_before: int
    files_after: int
    bytes_before: int
    bytes_after: int
    snapshots_before: int
    snapshots_after: int

    def lines(self) -> list[str]:
        """The report as the command prints it."""
        return [
            f"data files: {self.files_before} -> {self.files_after} "
            f"({self.bytes_before / 1e6:.1f} MB -> {self.bytes_after / 1e6:.1f} MB)",
            f"snapshots: {self.snapshots_before} -> {self.snapshots_after}",
        ]


def _data_files(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    row = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = ?", [LAKE_ALIAS]).fetchall()
    if not row:
        raise WarehouseError("upkeep is for a lake: a warehouse in memory has none")
    data_path = con.execute(f"SELECT value FROM ducklake_options('{LAKE_ALIAS}') WHERE option_name = 'data_path'"
                            ).fetchall()
    root = Path(str(data_path[0][0])) if data_path else None
    if root is None or not root.exists():
        return 0, 0
    files = [p for p in root.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def _snapshots(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute(f"SELECT count(*) FROM {LAKE_ALIAS}.snapshots()").fetchall()[0][0])


def maintain(con: duckdb.DuckDBPyConnection, *, retention_days: int = SNAPSHOT_RETENTION_DAYS) -> MaintenanceReport:
    """Flush inlined rows, merge small files, expire snapshots older than ``retention_days``
    and delete unreferenced files; ``con`` is a writing connection (it holds the lock)."""
    if retention_days < 0:
        raise WarehouseError(f"the snapshot retention is a number of days, 0 or more: {retention_days}")
    files_before, bytes_before = _data_files(con)
    snapshots_before = _snapshots(con)
    con.execute(f"CALL ducklake_flush_inlined_data('{LAKE_ALIAS}')").fetchall()
    con.execute(f"CALL ducklake_merge_adjacent_files('{LAKE_ALIAS}')").fetchall()
    # Deleted rows (retag's and reextract's replacements) are rewritten out of their files.
    con.execute(f"CALL ducklake_rewrite_data_files('{LAKE_ALIAS}')").fetchall()
    con.execute(f"CALL ducklake_expire_snapshots('{LAKE_ALIAS}', older_than => now() - to_days(?))",
                [retention_days]).fetchall()
    # Files of expired snapshots and of merged files: no snapshot kept reads them. A reader
    # still in a query on an expired snapshot may lose a file; the retention is days,
    # queries take seconds.
    con.execute(f"CALL ducklake_cleanup_old_files('{LAKE_ALIAS}', cleanup_all => true)").fetchall()
    # Files nothing in the catalog knows (a writer killed between writing a file and its
    # commit). Safe under the writer lock: no writer has uncommitted files now.
    con.execute(f"CALL ducklake_delete_orphaned_files('{LAKE_ALIAS}', cleanup_all => true)").fetchall()
    files_after, bytes_after = _data_files(con)
    return MaintenanceReport(files_before, files_after, bytes_before, bytes_after, snapshots_before,
                             _snapshots(con))


#: Exit status of the upkeep child when another run holds the writer lock.
_LOCKED_EXIT = 3


def maintain_apart(
    target: str, *, data_path: Path | None = None, retention_days: int = SNAPSHOT_RETENTION_DAYS
) -> MaintenanceReport:
    """``maintain`` the warehouse ``target`` names, in a child process of its own.

    Why apart: in a long test session, DuckLake 1.5.5's ``ducklake_flush_inlined_data``
    once aborted the whole process (SIGABRT, a native crash no Python code can catch; 60
    passes in a fresh process did not reproduce it). A crash there must not take the
    caller (a CLI command, a flow run, a test session) with it, and it cannot harm the
    lake: each of DuckLake's steps commits whole in the catalog, or not at all. Upkeep is
    idempotent, so a child killed by a signal is run once more before the error is said.
    """
    if retention_days < 0:
        raise WarehouseError(f"the snapshot retention is a number of days, 0 or more: {retention_days}")
    command = [sys.executable, "-m", "monitor.storage.upkeep", target, str(retention_days),
               *([str(data_path)] if data_path is not None else [])]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode < 0:  # killed by a signal: upkeep is idempotent, once more
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode == 0:
        return MaintenanceReport(**json.loads(proc.stdout.strip().splitlines()[-1]))
    said = (proc.stderr.strip().splitlines() or [""])[-1]
    if proc.returncode == _LOCKED_EXIT:
        raise WarehouseLockedError(said)
    if proc.returncode > 0:
        raise WarehouseError(said or f"upkeep failed (exit {proc.returncode})")
    raise WarehouseError(f"upkeep crashed twice (signal {-proc.returncode}, inside DuckDB): nothing was "
                         "lost, every step commits whole; run monitor maintain again later")


def _child(argv: list[str]) -> int:
    """``python -m monitor.storage.upkeep TARGET RETENTION_DAYS [DATA_PATH]``: one upkeep pass,
    its report as one JSON line; an error as one line on stderr."""
    from monitor.storage.warehouse import close, connect

    target, retention = argv[0], int(argv[1])
    try:
        con = connect(target, data_path=argv[2] if len(argv) > 2 else None)
        try:
            done = maintain(con, retention_days=retention)
        finally:
            close(con)
    except WarehouseLockedError as exc:
        print(str(exc), file=sys.stderr)
        return _LOCKED_EXIT
    except (WarehouseError, duckdb.Error, OSError) as exc:
        print(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, file=sys.stderr)
        return 1
    print(json.dumps(asdict(done)))
    return 0


# -- from a DuckDB file of the old format ---------------------------------------------------


@dataclass
class MigrationReport:
    """What ``migrate_warehouse`` moved: rows per table, and raw page packs."""

    rows: dict[str, int] = field(default_factory=dict)
    skipped_columns: dict[str, list[str]] = field(default_factory=dict)
    packs: int = 0

    def lines(self) -> list[str]:
        """The report as the command prints it."""
        out = [f"{table}: {n} rows" for table, n in self.rows.items()]
        out += [f"{table}: columns not in the lake, left behind: {', '.join(cols)}"
                for table, cols in self.skipped_columns.items()]
        out.append(f"raw page packs copied: {self.packs}")
        return out


#: Tables of the old file that are the warehouse's own bookkeeping, rebuilt by the lake.
_NOT_MOVED = ("schema_migrations",)


def migrate_warehouse(
    old: Path, target: duckdb.DuckDBPyConnection, *, report: Callable[[str], None] = lambda _m: None
) -> MigrationReport:
    """Copy every row of the old warehouse ``old`` into the (new, empty) lake ``target``, in
    one transaction (one snapshot): the rows stream inside DuckDB, never through Python.

    ``old`` is a DuckDB file (one this DuckDB can read), or the folder DuckDB's ``EXPORT
    DATABASE 'DIR' (FORMAT parquet)`` wrote from it: a file written by DuckDB 2.0 cannot be
    read by the 1.5 line DuckLake needs, and its export can. Its raw page packs
    (``OLD.pages/``) are copied into the lake's pages folder under the same names, so
    the ``pages`` rows still point at them.
    """
    stored = target.execute("SELECT count(*) FROM articles WHERE kind = 'article'").fetchall()[0][0]
    if stored:
        raise WarehouseError(f"the target warehouse already holds {stored} articles: migrate into a new one")
    sources = _old_tables(old, target)
    moved = MigrationReport()
    lake_tables = {r[0] for r in target.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [LAKE_ALIAS]).fetchall()}
    target.execute("BEGIN TRANSACTION")
    try:
        for table, relation in sources.items():
            if table in _NOT_MOVED:
                continue
            if table not in lake_tables:
                moved.skipped_columns[table] = ["(the whole table)"]
                continue
            old_cols = [r[0] for r in target.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
            new_cols = _columns(target, LAKE_ALIAS, table)
            common = [c for c in old_cols if c in new_cols]
            left = [c for c in old_cols if c not in new_cols]
            if left:
                moved.skipped_columns[table] = left
            cols = ", ".join(f'"{c}"' for c in common)
            select = f"SELECT {cols} FROM {relation}"
            if table == "article_tags" and "article_fetched_at" not in old_cols and "articles" in sources:
                # A warehouse from before migration 014: each tag gets its article's fetch
                # time, in fetch order (what the writer stores with a tag).
                picked = ", ".join(f't."{c}"' for c in common)
                select = (f"SELECT {picked}, coalesce(a.fetched_at, {NO_FETCH_TIME_SQL}) "
                          f"FROM {relation} t LEFT JOIN {sources['articles']} a ON a.id = t.article_id "
                          f"ORDER BY {len(common) + 1}")
                cols += ', "article_fetched_at"'
            # The lake's own setup rows (taxonomy, reference texts) give way to the old ones.
            target.execute(f"DELETE FROM {LAKE_ALIAS}.{table}")
            target.execute(f"INSERT INTO {LAKE_ALIAS}.{table} ({cols}) {select}")
            moved.rows[table] = int(target.execute(f"SELECT count(*) FROM {LAKE_ALIAS}.{table}").fetchall()[0][0])
            report(f"{table}: {moved.rows[table]} rows")
        target.execute("COMMIT")
    except BaseException:
        target.execute("ROLLBACK")
        raise
    finally:
        if not old.is_dir():
            target.execute("DETACH old_warehouse")
    moved.packs = _copy_packs(old, target)
    return moved


_COPY_LINE = re.compile(r"""^COPY\s+"?([A-Za-z0-9_]+)"?\s+FROM\s+'([^']+)'""", re.IGNORECASE)


def _old_tables(old: Path, target: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each table of the old warehouse, as something to SELECT from in ``target``."""
    if old.is_dir():
        load = old / "load.sql"
        if not load.exists():
            raise WarehouseError(f"{old} is a folder but not an EXPORT DATABASE folder (no load.sql)")
        found = {}
        for line in load.read_text(encoding="utf-8").splitlines():
            m = _COPY_LINE.match(line.strip())
            if m:
                path = Path(m.group(2))
                path = path if path.is_absolute() else old / path.name
                found[m.group(1)] = f"read_parquet('{_path_literal(path)}')"
        return found
    try:
        target.execute(f"ATTACH '{_path_literal(old)}' AS old_warehouse (READ_ONLY)")
    except duckdb.Error as exc:
        raise WarehouseError(
            f"cannot read {old} ({str(exc).splitlines()[0]}). A warehouse written by DuckDB 2.0 must be "
            "exported first, with DuckDB 2.0: python -c \"import duckdb; duckdb.connect('OLD.duckdb', "
            "read_only=True).execute(\\\"EXPORT DATABASE 'OLD.export' (FORMAT parquet)\\\")\"; then "
            "monitor migrate-warehouse OLD.export --db NEW") from exc
    rows = target.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'old_warehouse' "
                          "ORDER BY table_name").fetchall()
    return {str(name): f'old_warehouse.main."{name}"' for (name,) in rows}


def _columns(con: duckdb.DuckDBPyConnection, database: str, table: str) -> dict[str, str]:
    rows = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? "
                       "AND table_name = ? ORDER BY column_index", [database, table]).fetchall()
    return {str(name): str(typ) for name, typ in rows}


def _copy_packs(old: Path, target: duckdb.DuckDBPyConnection) -> int:
    packs_from = Path(f"{old}.pages") if old.is_file() else old / "pages"
    packs_to = pages_dir(target)
    if packs_to is None or not packs_from.is_dir():
        return 0
    packs_to.mkdir(parents=True, exist_ok=True)
    count = 0
    for pack in sorted(packs_from.glob("*.pack")):
        shutil.copy2(pack, packs_to / pack.name)
        count += 1
    return count


def _path_literal(path: Path) -> str:
    return str(path).replace("'", "''")


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
