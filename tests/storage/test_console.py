"""`monitor sql` reads the warehouse and nothing else: every destructive statement of
issue 27 is tried through the command line against a real warehouse with a page pack,
and every file is byte-identical afterwards."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from monitor.cli import main
from monitor.settings import SEEDS_DIR
from monitor.storage.console import LOCKED_SETTINGS, checked_statement, open_console
from monitor.exceptions import QueryRefusedError, WarehouseError

SEED = SEEDS_DIR / "000_621e76c5b49a7e3e.txt"


def _page(folder: Path) -> Path:
    title, *body = SEED.read_text(encoding="utf-8").strip().split("\n")
    page = folder / "copy.html"
    page.write_text(f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
                    + "".join(f"<p>{p}</p>" for p in body if p.strip()) + "</article></body></html>",
                    encoding="utf-8")
    return page


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """A warehouse with one imported page (so a page pack exists) and a second warehouse beside it."""
    root = tmp_path_factory.mktemp("console")
    docs = root / "docs"
    docs.mkdir()
    _page(docs)
    # Named .duckdb as scripts name them: a local lake's catalog, its data in w.duckdb.data/.
    db, other = root / "w.duckdb", root / "other.duckdb"
    assert main(["import", str(docs), "--db", str(db)]) == 0
    assert main(["import", str(docs), "--db", str(other)]) == 0
    return root, db, other


def _files(root: Path) -> tuple[Path, Path]:
    """A raw-page pack and a Parquet file of the lake at ``root / w.duckdb``."""
    data = root / "w.duckdb.data"
    return next((data / "pages").glob("*.pack")), next((data / "tables").rglob("*.parquet"))


def _snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root``, by path, with a hash of its bytes; but SQLite's WAL-mode
    index (``-shm``, shared memory any open of the catalog maps) and an empty ``-wal``: a
    reader's open creates them and they hold no data (a commit would fill the ``-wal``)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.endswith("-shm")
            and not (p.name.endswith("-wal") and p.stat().st_size == 0)}


#: Each statement of the issue, with what the refusal says. {db} (the lake's catalog),
#: {pack}, {parquet} (one of the lake's table files), {other}, {out} are filled with real paths.
REFUSED = [
    ("COPY (SELECT 'x') TO '{db}' (FORMAT csv)", "COPY statements are refused"),
    ("COPY (SELECT 'x') TO '{pack}' (FORMAT csv)", "COPY statements are refused"),
    ("COPY articles TO '{out}/a.csv'", "COPY statements are refused"),
    # The one folder the console's connection may touch (DuckLake reads its tables there):
    # the statement check is what stops a COPY over a table's file.
    ("COPY (SELECT 'x') TO '{parquet}' (FORMAT csv)", "COPY statements are refused"),
    ("ATTACH '{other}' AS o (READ_WRITE)", "ATTACH statements are refused"),
    ("ATTACH '{other}' AS o (READ_WRITE); DELETE FROM o.articles", "one statement at a time: got 2"),
    ("DELETE FROM articles", "DELETE statements are refused"),
    ("EXPORT DATABASE '{out}/export'", "EXPORT statements are refused"),
    ("SET memory_limit = '1GB'", "SET statements are refused"),
    ("RESET lock_configuration", "SET statements are refused"),
    ("LOAD fts", "LOAD statements are refused"),
    ("INSTALL fts", "LOAD statements are refused"),
    ("CREATE TABLE t (a INT)", "CREATE statements are refused"),
    ("DROP TABLE articles", "DROP statements are refused"),
    ("COPY (SELECT 1) TO '{out}/hidden.csv'; SELECT 1", "one statement at a time: got 2"),
    ("SELECT 1; SELECT 2", "one statement at a time: got 2"),
]


@pytest.mark.parametrize(("statement", "says"), REFUSED, ids=[s for s, _ in REFUSED])
def test_a_statement_that_writes_is_refused_and_no_file_changes(warehouse, tmp_path, capsys, statement, says):
    root, db, other = warehouse
    pack, parquet = _files(root)
    before = _snapshot(root)
    query = statement.format(db=db, pack=pack, parquet=parquet, other=other, out=tmp_path)
    assert main(["sql", query, "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("monitor: error: ") and says in err and err.count("\n") == 1
    assert _snapshot(root) == before
    assert list(tmp_path.iterdir()) == []


#: What the locked connection itself refuses, should a statement get past the check (a
#: reading statement type that reaches outside: a table function, a setting PRAGMA).
LOCKED_OUT = [
    ("COPY (SELECT 'x') TO '{db}' (FORMAT csv)", "file system operations are disabled"),
    ("COPY (SELECT 'x') TO '{pack}' (FORMAT csv)", "file system operations are disabled"),
    ("ATTACH '{other}' AS o (READ_WRITE)", "file system operations are disabled"),
    ("EXPORT DATABASE '{out}/export'", "file system operations are disabled"),
    ("SET memory_limit = '1GB'", "the configuration has been locked"),
    ("SET enable_external_access = true", "the configuration has been locked"),
    ("PRAGMA profiling_output = '{out}/profile.json'", "the configuration has been locked"),
    ("LOAD fts", "Loading external extensions is disabled"),
    ("INSTALL fts", "file system operations are disabled"),
    ("SELECT * FROM read_text('/etc/hostname')", "file system operations are disabled"),
    ("SELECT * FROM glob('{out}/*')", "file system operations are disabled"),
    ("CREATE TABLE t (a INT)", "read-only mode"),
    ("DELETE FROM articles", "read-only mode"),
]


@pytest.mark.parametrize(("statement", "says"), LOCKED_OUT, ids=[s for s, _ in LOCKED_OUT])
def test_the_console_connection_itself_refuses_what_reaches_outside_the_warehouse(warehouse, tmp_path,
                                                                                 statement, says):
    root, db, other = warehouse
    pack, parquet = _files(root)
    before = _snapshot(root)
    con = open_console(db)
    try:
        with pytest.raises(duckdb.Error, match=says):
            con.execute(statement.format(db=db, pack=pack, parquet=parquet, other=other, out=tmp_path)).fetchall()
        assert dict(con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', "
            "'lock_configuration', 'autoinstall_known_extensions', 'autoload_known_extensions', 'TimeZone')"
        ).fetchall()) == {"enable_external_access": "false", "lock_configuration": "true",
                          "autoinstall_known_extensions": "false", "autoload_known_extensions": "false",
                          "TimeZone": "UTC"}
    finally:
        con.close()
    assert _snapshot(root) == before
    assert list(tmp_path.iterdir()) == []
    assert set(LOCKED_SETTINGS) >= {"enable_external_access", "autoinstall_known_extensions"}


def test_reading_statements_run_and_show_their_rows(warehouse, capsys):
    _, db, _ = warehouse
    for query, header in [
        ("SELECT count(*) AS n FROM articles WHERE kind = 'reference';", ["n"]),
        ("WITH r AS (SELECT id FROM articles) SELECT count(*) AS n FROM r", ["n"]),
        ("FROM articles SELECT count(*) AS n", ["n"]),
        ("SHOW TABLES", ["name"]),
        ("DESCRIBE articles", ["column_name", "column_type", "null", "key", "default", "extra"]),
        ("PRAGMA table_info('runs')", ["cid", "name", "type", "notnull", "dflt_value", "pk"]),
        ("EXPLAIN SELECT 1", ["explain_key", "explain_value"]),
        ("-- a comment\nSELECT 5 AS n -- and another", ["n"]),
    ]:
        assert main(["sql", query, "--db", str(db)]) == 0, query
        first = capsys.readouterr().out.splitlines()[0]
        assert [c.strip() for c in first.split("|")] == header, query
    assert main(["sql", "SELECT count(*) AS n FROM articles WHERE kind = 'reference'", "--db", str(db)]) == 0
    assert capsys.readouterr().out.splitlines() == ["n", "-", "5", "(1 row)"]


def test_a_missing_warehouse_is_an_error_and_nothing_is_created(tmp_path, capsys):
    db = tmp_path / "new" / "w.duckdb"
    for query in ("CREATE TABLE t (a INT)", "SELECT 1"):
        assert main(["sql", query, "--db", str(db)]) in (1, 2)
    err = capsys.readouterr().err.splitlines()
    assert err == ["monitor: error: monitor sql is read-only: CREATE statements are refused (it runs CALL, "
                   "EXPLAIN, PRAGMA, SELECT: queries, not changes)",
                   f"monitor: error: no warehouse at {db} (monitor sql creates nothing; run an ingest or import "
                   "first)"]
    assert list(tmp_path.iterdir()) == []


def test_checked_statement_refuses_none_several_and_unparsable():
    with pytest.raises(QueryRefusedError, match="no SQL statement"):
        checked_statement("  -- only a comment")
    with pytest.raises(QueryRefusedError, match="got 3"):
        checked_statement("SELECT 1; SELECT 2; SELECT 3")
    with pytest.raises(QueryRefusedError) as exc:
        checked_statement("SELEC 1")
    assert exc.value.reason == "bad_sql"
    assert checked_statement("SELECT 1;") == "SELECT 1;"


def test_open_console_on_a_directory_is_a_warehouse_error(tmp_path):
    with pytest.raises(WarehouseError, match="no warehouse at"):
        open_console(tmp_path)
