"""Where the warehouse lives: a DuckLake catalog, its data path, and the one writer's lock.

The warehouse is a DuckLake (DuckDB's lakehouse format): a catalog database that
records tables, snapshots and which Parquet files hold which rows, and a data path
that holds those files. A connection is an in-memory DuckDB that ATTACHes the lake as
``lake`` and ``USE``s it, so every query names tables as before.

Where a warehouse is named (``locate``):
  * a path (``--db PATH``, ``MONITOR_DB``, the default ``warehouse/monitor.ducklake``):
    a local lake. The catalog is a SQLite file at PATH (whatever its name, so
    ``warehouse/monitor.duckdb`` works too) and the data path is the folder
    ``PATH.data/`` beside it, unless ``MONITOR_DATA_PATH`` names another.
  * ``MONITOR_WAREHOUSE``: a SQLite path as above, or a PostgreSQL catalog
    (``postgres:dbname=monitor host=db user=monitor`` or a ``postgresql://`` URI),
    which needs ``MONITOR_DATA_PATH``: a folder every machine that reads or writes
    mounts (NFS, SMB...).
  * ``:memory:``: a plain in-memory DuckDB with the same schema, for tests; nothing is kept.
  * ``duckdb:PATH``: a plain DuckDB file with the same schema, the warehouse format before
    the lake (one process at a time, readers included): kept so the benchmarks can set
    the two side by side on the same code. Not for production use.

Under the data path: ``tables/`` is DuckLake's DATA_PATH (Parquet files; DuckLake's
maintenance may delete any file there that no snapshot references, so nothing else
goes there), ``pages/`` holds the raw pages (``pagestore`` packs), and ``writer.lock``
serialises writers. Readers take no lock: each reads the last snapshot committed when
its query began, while a writer commits new ones. A SQLite catalog is kept in WAL mode
(``use_wal``) so that a reader never holds up a writer's commit, however long its query.

Extensions: the ``ducklake``, ``sqlite`` and ``postgres`` extensions come from their
PyPI wheels (``duckdb-extension-*``, pinned with duckdb 1.5.5) and are LOADed from the
file, never INSTALLed (that needs DuckDB's extension server). DuckDB derives an
extension's entry point from its file name, and the sqlite and postgres wheels name
theirs ``sqlite.duckdb_extension`` / ``postgres.duckdb_extension`` while the entry points
are ``sqlite_scanner_*`` / ``postgres_scanner_*``: ``extension_file`` links them under the
name DuckDB expects (FACTS.md, "file-name trap").
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import sqlite3
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from monitor.exceptions import WarehouseError, WarehouseLockedError

__all__ = [
    "LAKE_ALIAS",
    "HOST_CONFIG",
    "Location",
    "locate",
    "exists",
    "extension_file",
    "load_extensions",
    "remember_pandas_is_missing",
    "attach_sql",
    "hold_writer_lock",
    "release_writer_lock",
    "claim_numbers",
    "is_old_duckdb_file",
]

#: The name the lake is attached under in every connection (and in the README's examples).
LAKE_ALIAS = "lake"
#: DuckDB settings of the in-memory database every connection attaches the lake from.
#: allow_unsigned_extensions: DuckDB re-hashes an extension file to check its signature
#: at every LOAD, 0.4-0.5 s for each of these 35-40 MB files (measured here), which made
#: every command and every test open a second slower. The files are those of the wheels
#: pip installed, pinned and hash-checked against the registry. autoinstall is off: an
#: extension that is not loaded is an error here, never a download.
HOST_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "allow_unsigned_extensions": True, "autoinstall_known_extensions": False}
#: Suffix of the data folder beside a local catalog file.
DATA_SUFFIX = ".data"
#: Entry-point names of the extensions whose wheel file is named otherwise (the trap above).
_ENTRY_NAMES = {"sqlite": "sqlite_scanner", "postgres": "postgres_scanner", "ducklake": "ducklake"}
_SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Location:
    """A warehouse's catalog and data path, resolved."""

    #: "memory", "sqlite", "postgres" or "duckdb" (a plain file, for comparison)
    kind: str
    #: what follows ``ducklake:`` in the ATTACH string ("sqlite:/abs/path", "postgres:...")
    catalog: str
    #: the data path: tables/, pages/ and writer.lock under it (None in memory)
    root: Path | None
    #: how messages name it (never a password)
    label: str

    @property
    def tables_path(self) -> Path | None:
        return None if self.root is None else self.root / "tables"

    @property
    def pages_path(self) -> Path | None:
        return None if self.root is None else self.root / "pages"

    @property
    def lock_path(self) -> Path | None:
        return None if self.root is None else self.root / "writer.lock"

    @property
    def sqlite_path(self) -> Path | None:
        return Path(self.catalog.removeprefix("sqlite:")) if self.kind == "sqlite" else None


def locate(target: str | Path | Location, data_path: str | Path | None = None) -> Location:
    """Resolve a warehouse name (path, ``:memory:``, ``postgres:...``) and a data path."""
    if isinstance(target, Location):
        return target
    text = str(target)
    if text == ":memory:":
        return Location("memory", "", None, ":memory:")
    if text.startswith("duckdb:"):
        path = Path(text.removeprefix("duckdb:")).resolve()
        return Location("duckdb", str(path), Path(f"{path}{DATA_SUFFIX}"), text)
    if text.startswith(("postgres:", "postgresql://", "postgres://")):
        if data_path is None:
            raise WarehouseError("a PostgreSQL catalog needs a data path: set MONITOR_DATA_PATH to a folder "
                                 "every machine that reads or writes the warehouse can reach")
        catalog = text if text.startswith("postgres:") and not text.startswith("postgres://") else f"postgres:{text}"
        return Location("postgres", catalog, Path(data_path).resolve(), _redacted(text))
    path = Path(text.removeprefix("sqlite:")).resolve()
    root = Path(data_path).resolve() if data_path is not None else Path(f"{path}{DATA_SUFFIX}")
    return Location("sqlite", f"sqlite:{path}", root, str(text))


def _redacted(conninfo: str) -> str:
    """A PostgreSQL connection string without its password, for messages."""
    parts = [p if not p.startswith("password=") else "password=***" for p in conninfo.split()]
    out = " ".join(parts)
    if "://" in out and "@" in out:  # postgresql://user:secret@host/db
        scheme, rest = out.split("://", 1)
        creds, host = rest.split("@", 1)
        out = f"{scheme}://{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else out
    return out


def is_old_duckdb_file(path: Path) -> bool:
    """Whether ``path`` is a DuckDB database file (the warehouse format before the lake)."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    return len(head) >= 12 and head[8:12] == b"DUCK"


def exists(location: Location) -> bool:
    """Whether the lake has been created (its catalog holds a DuckLake)."""
    if location.kind == "memory":
        return False
    if location.kind == "duckdb":
        return Path(location.catalog).exists()
    if location.kind == "sqlite":
        path = location.sqlite_path
        assert path is not None
        if not path.exists() or path.stat().st_size == 0:
            return False
        if path.is_dir():
            raise WarehouseError(f"no warehouse at {location.label}: it is a folder (--db names the catalog file)")
        if is_old_duckdb_file(path):
            raise WarehouseError(
                f"{location.label} is a DuckDB warehouse of the old, single-file format. Move it into a lake "
                f"with: monitor migrate-warehouse {location.label} --db NEW_PATH (every row is copied), "
                "then use --db NEW_PATH.")
        with open(path, "rb") as f:
            if f.read(16) != _SQLITE_MAGIC:
                raise WarehouseError(f"{location.label} is neither a warehouse catalog (SQLite) nor an old "
                                     "DuckDB warehouse: pass another --db")
        try:
            return _sqlite_has_lake(path)
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorcode", None) == _SQLITE_READONLY_DIRECTORY:
                raise WarehouseError(
                    f"Cannot read the warehouse catalog {location.label}: it is in SQLite's WAL mode (so that "
                    f"readers never hold up a run's commit), and a reader needs SQLite's shared-memory file "
                    f"{path.name}-shm beside it, which this user may not create in {path.parent}. Share the "
                    "folder and the catalog with the analysts' group, group-writable (SQLite gives -shm and -wal "
                    "the catalog's permissions): docs/deployments.md, 'Analysts on the writer's machine'.") from exc
            damaged = " (the catalog file is damaged or cut short; restore it from a copy)" if isinstance(
                exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError) else ""
            raise WarehouseError(f"Cannot read the warehouse catalog {location.label}: {exc}{damaged}") from exc
    return _postgres_has_lake(location)


#: SQLite's answers to a read-only open of a file whose last write was cut short (a writer
#: killed mid-commit leaves a hot rollback journal, or a WAL to recover): only a connection
#: that may write can put the file back as it was before that write.
_SQLITE_READONLY_RECOVERY_CODES = frozenset({264, 776})  # SQLITE_READONLY_RECOVERY, _ROLLBACK
#: SQLite's answer to a reader of a WAL-mode file who may not create its -shm in the folder.
_SQLITE_READONLY_DIRECTORY = 1544


def _sqlite_has_lake(path: Path) -> bool:
    """Probe the catalog read-only; roll back a write cut short first, as SQLite itself would.

    A run killed with -9 during a catalog commit leaves ``catalog-journal`` behind. SQLite
    rolls such a journal back on the next open that may write, under its own locks (it is
    only "hot" when no live process holds the write lock, so a running writer is never
    touched). Our probe opens read-only, which SQLite refuses with SQLITE_READONLY_ROLLBACK:
    so we open once read-write to let it recover, then probe again.
    """
    probe = "SELECT 1 FROM sqlite_master WHERE name = 'ducklake_metadata'"
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return db.execute(probe).fetchone() is not None
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorcode", None) not in _SQLITE_READONLY_RECOVERY_CODES:
            raise
        if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
            raise WarehouseError(
                f"The warehouse catalog {path} holds a write that was cut short (a run was killed "
                "mid-commit) and this user cannot write to it, so it cannot be rolled back here. "
                "Open it once as a user who can write (any monitor command, e.g. monitor runs), "
                "then read it again.") from exc
    with sqlite3.connect(f"file:{path}?mode=rw", uri=True) as db:  # SQLite rolls the journal back
        return db.execute(probe).fetchone() is not None


#: How long a writer waits to switch an older catalog to WAL mode while a reader is in
#: the middle of a statement (then it goes on without, and the next writer tries again).
_WAL_SWITCH_WAIT_S = 2.0


def use_wal(path: Path) -> None:
    """Keep the SQLite catalog ``path`` in WAL mode (creating the file if need be).

    In SQLite's default (rollback-journal) mode a commit needs every reader out of the
    file: a reader's statement holds a shared lock for as long as it runs, so an analyst's
    query of more than 5 s (the busy timeout) made a run's commit fail with "database is
    locked" (measured: a 16 s query against an INSERT). In WAL mode readers read the last
    commit they saw while a writer appends the next one: neither waits. The mode is kept
    in the file, so this switches a catalog once; called by the writer, under its lock.
    WAL needs the catalog on a local disk (shared memory between the processes): a team
    across machines uses a PostgreSQL catalog.
    """
    try:
        db = sqlite3.connect(str(path), timeout=_WAL_SWITCH_WAIT_S, isolation_level=None)
        try:
            if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                db.execute("PRAGMA journal_mode = WAL")
        finally:
            db.close()
    except sqlite3.OperationalError:
        pass  # a reader is mid-statement: this run keeps the old mode, the next writer switches


def _postgres_has_lake(location: Location) -> bool:
    con = duckdb.connect(config=HOST_CONFIG)
    try:
        load_extensions(con, ("postgres",))
        conninfo = location.catalog.removeprefix("postgres:")
        con.execute(f"ATTACH {_quoted(conninfo)} AS pg (TYPE postgres, READ_ONLY)")
        rows = con.execute("SELECT 1 FROM duckdb_tables() WHERE database_name = 'pg' "
                           "AND table_name = 'ducklake_metadata'").fetchall()
        return bool(rows)
    except duckdb.Error as exc:
        raise WarehouseError(f"Cannot reach the PostgreSQL catalog {location.label}: {exc}") from exc
    finally:
        con.close()


# -- extensions ---------------------------------------------------------------------------

_link_lock = threading.Lock()


def extension_file(name: str) -> Path:
    """The extension ``name``'s file from its wheel, under the file name DuckDB expects."""
    package = f"duckdb_extension_{name}"
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WarehouseError(f"the DuckDB extension wheel {package.replace('_', '-')} is not installed "
                             f"(pip install duckdb-extension-{name}=={duckdb.__version__})")
    version_dir = Path(next(iter(spec.submodule_search_locations))) / "extensions" / f"v{duckdb.__version__}"
    shipped = version_dir / f"{name}.duckdb_extension"
    if not shipped.exists():
        raise WarehouseError(f"{shipped} is missing: the {package} wheel does not match duckdb {duckdb.__version__}")
    wanted = _ENTRY_NAMES[name]
    if wanted == name:
        return shipped
    # A link in a per-user folder: the wheel's own folder may not be writable.
    links = Path(tempfile.gettempdir()) / f"monitor-duckdb-extensions-{os.getuid()}" / f"v{duckdb.__version__}"
    link = links / f"{wanted}.duckdb_extension"
    with _link_lock:
        if not (link.is_symlink() and link.resolve() == shipped.resolve()):
            links.mkdir(parents=True, exist_ok=True)
            partial = links / f".{wanted}.{os.getpid()}.{threading.get_ident()}"
            partial.unlink(missing_ok=True)
            partial.symlink_to(shipped)
            os.replace(partial, link)  # atomic: another process may be doing the same
    return link


def remember_pandas_is_missing() -> None:
    """Make a failed ``import pandas`` cost nothing, when pandas is not installed.

    duckdb 1.5.5's Python module tries to import pandas while it converts Python values
    and scans NumPy arrays, and a failed import is not cached: 22,079 attempts, 13 s of a
    48 s ingest of the demo corpus (measured). A ``None`` in ``sys.modules`` is Python's
    own record of "not importable": the same ImportError, at once. Nothing changes when
    pandas is installed (it is then left alone).
    """
    if "pandas" not in sys.modules and importlib.util.find_spec("pandas") is None:
        sys.modules["pandas"] = None  # type: ignore[assignment]


def load_extensions(con: duckdb.DuckDBPyConnection, names: tuple[str, ...]) -> None:
    """LOAD these extensions from their wheels into ``con``."""
    for name in names:
        path = str(extension_file(name)).replace("'", "''")
        con.execute(f"LOAD '{path}'")


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def attach_sql(location: Location, *, read_only: bool, snapshot: int | str | None = None) -> str:
    """The ATTACH statement of the lake (as ``lake``) for this connection."""
    assert location.tables_path is not None
    # OVERRIDE_DATA_PATH: the catalog records the data path it was created with, and a
    # lake copied or moved (catalog and data folder together), or a shared folder mounted
    # at another path on another machine, is read from where this machine finds it.
    # The files' paths in the catalog are relative to the data path.
    options = [f"DATA_PATH {_quoted(str(location.tables_path) + os.sep)}", "OVERRIDE_DATA_PATH TRUE"]
    if read_only:
        options.append("READ_ONLY")
    if isinstance(snapshot, int):
        options.append(f"SNAPSHOT_VERSION {snapshot}")
    elif snapshot is not None:
        options.append(f"SNAPSHOT_TIME {_quoted(snapshot)}")
    return f"ATTACH {_quoted('ducklake:' + location.catalog)} AS {LAKE_ALIAS} ({', '.join(options)})"


# -- the writer lock ----------------------------------------------------------------------


class _Held:
    """This process's hold on one warehouse's writer lock, and the connections using it."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.users = 0
        #: The next free number of each numbered column ("table.column"), as this process
        #: handed them out (``claim_numbers``): while the lock is held no other process
        #: writes, so what was read once stays true; it goes with the hold.
        self.numbers: dict[str, int] = {}


#: One hold per lock file in this process. flock locks belong to an open file, so a
#: second open of the same file in this process would refuse this process itself; the
#: hold is shared by this process's writing connections and released when the last one
#: is gone (closed and collected). Process-wide by nature: a lock is a process's.
_holds: dict[str, _Held] = {}
_holds_lock = threading.Lock()


#: How often a writer that waits for the lock tries again.
_LOCK_POLL_S = 0.2


def hold_writer_lock(location: Location, owner: Any, *, wait: float = 0.0,
                     report: Callable[[str], None] | None = None) -> None:
    """Take the warehouse's writer lock for as long as ``owner`` (a connection) lives.

    Two runs never write at once (uniqueness is the one writer's job); readers are not
    concerned. While another process writes, wait up to ``wait`` seconds for it (saying
    so once through ``report``), then refuse with a clear message: serialised, not lost,
    when a scheduled run meets a digest's short refresh or a run still ending.
    """
    lock_path = location.lock_path
    if lock_path is None:
        return
    key = str(lock_path)
    with _holds_lock:
        held = _holds.get(key)
        if held is None:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                _flock_within(fd, wait, report)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                waited = f" (waited {wait:g} s)" if wait else ""
                raise WarehouseLockedError(
                    f"The warehouse {location.label} is being written by another monitor run{holder}{waited}. "
                    "One run writes at a time: wait for it to finish (readers such as sql, digest, check "
                    "and runs work meanwhile), or use another --db.") from None
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()}\n".encode())
            held = _holds[key] = _Held(fd)
        held.users += 1
    _finalizers[id(owner)] = weakref.finalize(owner, _release, key, id(owner))
    _held_by[id(owner)] = key


def _flock_within(fd: int, wait: float, report: Callable[[str], None] | None) -> None:
    """Lock ``fd`` exclusively, trying every _LOCK_POLL_S for ``wait`` seconds (saying once
    who holds it); BlockingIOError when the time is up."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise
        if report is not None:
            report(f"the warehouse is being written by another monitor run{_read_holder(fd)}: "
                   f"waiting up to {wait:g} s for it to finish")
            report = None
        time.sleep(min(_LOCK_POLL_S, max(0.0, deadline - time.monotonic())))


#: The lock file each writing connection holds, by the connection's id.
_held_by: dict[int, str] = {}


def claim_numbers(owner: Any, column: str, count: int, first: Callable[[], int]) -> int:
    """The first of ``count`` consecutive numbers for ``column`` ("table.column"), which
    the writer numbers itself (a lake has no sequence): ``first()`` (one more than the
    largest stored) is asked once while ``owner``'s process holds the writer lock, then
    the numbers are counted here. Without the lock (a warehouse in memory, a plain
    file), ``first()`` every time.

    On a lake ``first()`` is a query of ~5-15 ms a batch for each numbered table. A
    transaction that rolls back leaves a gap, never a number used twice: every writing
    connection of this process claims from the same count, and no other process writes.
    """
    with _holds_lock:
        key = _held_by.get(id(owner))
        held = _holds.get(key) if key is not None else None
        if held is None:
            return first()
        start = held.numbers.get(column)
        if start is None:
            start = first()
        held.numbers[column] = start + count
        return start


#: The release of each writing connection's hold, by id: run when the connection is
#: collected, or at once by ``release_writer_lock`` (a closed connection may live on).
_finalizers: dict[int, weakref.finalize[..., None]] = {}


def release_writer_lock(owner: Any) -> None:
    """Give up ``owner``'s hold on the writer lock now (after closing it); no-op if none."""
    finalizer = _finalizers.get(id(owner))
    if finalizer is not None:
        finalizer()


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return f" ({text})" if text else ""


def _release(key: str, owner_id: int) -> None:
    with _holds_lock:
        _finalizers.pop(owner_id, None)
        _held_by.pop(owner_id, None)
        held = _holds.get(key)
        if held is None:
            return
        held.users -= 1
        if held.users <= 0:
            del _holds[key]
            os.close(held.fd)  # closing the file releases the flock
