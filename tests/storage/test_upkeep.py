"""The lake's upkeep (monitor maintain) and moving an old DuckDB-file warehouse into a lake."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from monitor.cli import main
from monitor.exceptions import WarehouseError
from monitor.storage import pagestore, store
from monitor.storage.upkeep import maintain_apart, migrate_warehouse
from monitor.storage.warehouse import MIGRATIONS_DIR, close, connect, migrate


def _tables_files(db: Path) -> int:
    return sum(1 for p in Path(f"{db}.data", "tables").rglob("*.parquet"))


def test_maintain_merges_small_files_expires_snapshots_and_keeps_every_row(tmp_path):
    db = tmp_path / "w.ducklake"
    con = connect(db)
    for batch in range(12):  # twelve commits of 50 rows: above the catalog's inlining, one file each
        con.execute("INSERT INTO sources (name, url) SELECT 's' || ? || '_' || i, 'u' FROM range(50) t(i)", [batch])
    rows = con.execute("SELECT * FROM sources ORDER BY name").fetchall()
    files = _tables_files(db)
    close(con)
    done = maintain_apart(str(db), retention_days=0)  # in its own process, as the command and flow run it
    con = connect(db, read_only=True)
    assert con.execute("SELECT * FROM sources ORDER BY name").fetchall() == rows
    close(con)
    assert files >= 12 and done.files_before >= 12
    assert done.files_after < done.files_before and _tables_files(db) == done.files_after
    assert done.snapshots_after < done.snapshots_before


def test_monitor_maintain_prints_what_it_did_and_takes_the_writer_lock(tmp_path, capsys):
    db = tmp_path / "w.ducklake"
    close(connect(db))
    assert main(["maintain", "--db", str(db), "--retention-days", "7"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"maintain {db} (snapshots kept 7 days):"
    assert out[1].startswith("  data files: ") and out[2].startswith("  snapshots: ")
    holder = connect(db)  # a run writing: upkeep in another process is refused, and says why
    try:
        proc = subprocess.run([sys.executable, "-m", "monitor.cli", "maintain", "--db", str(db)],
                              capture_output=True, text=True, timeout=120)
    finally:
        close(holder)
    assert proc.returncode == 2
    assert f"monitor: error: The warehouse {db} is being written by another monitor run (pid" in proc.stderr


def _old_warehouse(path: Path) -> None:
    """A warehouse of the old format: one DuckDB file with keys, its raw pages in PATH.pages/,
    its schema as it was before the lake's own migrations (014: tags with their article's
    fetch time)."""
    before_lake = path.parent / "migrations-before-014"
    before_lake.mkdir()
    for migration in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if migration.name < "014":
            shutil.copy(migration, before_lake / migration.name)
    con = duckdb.connect(str(path))
    migrate(con, before_lake)
    con.execute("INSERT INTO sources (name, url) VALUES ('balkanwatch', 'https://bw.example/feed')")
    con.execute("INSERT INTO articles (id, kind, source, url, title, text, relevant, fetched_at) VALUES "
                "('a1', 'article', 'balkanwatch', 'https://bw.example/1', 'One', 'Serbia and Russia', true, ?), "
                "('a2', 'article', 'balkanwatch', 'https://bw.example/2', 'Two', 'Kosovo', false, ?)",
                [datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC)])
    con.execute("INSERT INTO article_tags VALUES ('a1', 'country:serbia', 1.0, 'Serbia', 'v1')")
    blob = pagestore.compress_page(b"<html>one</html>")
    pack, (offset,) = pagestore.append(Path(f"{path}.pages"), [blob])
    con.execute("INSERT INTO pages (article_id, url, encoding, pack, pack_offset, pack_length) "
                "VALUES ('a1', 'https://bw.example/1', 'zstd', ?, ?, ?)", [pack, offset, len(blob)])
    # a key, as the old files had: it does not travel (the lake has none) but the rows do
    con.execute("CREATE TABLE legacy_keyed (k VARCHAR PRIMARY KEY)")
    con.close()


def test_migrate_warehouse_moves_every_row_and_the_raw_pages_and_says_so(tmp_path, capsys):
    old = tmp_path / "monitor.duckdb"
    _old_warehouse(old)
    new = tmp_path / "monitor.ducklake"
    assert main(["migrate-warehouse", str(old), "--db", str(new)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"moved {old} into {new} (data in {new}.data):"
    assert "  articles: 2 rows" in out and "  sources: 1 rows" in out and "  article_tags: 1 rows" in out
    assert "  legacy_keyed: columns not in the lake, left behind: (the whole table)" in out
    assert out[-1] == "  raw page packs copied: 1"
    con = connect(new, read_only=True)
    assert con.execute("SELECT id, title, relevant FROM articles WHERE kind = 'article' ORDER BY id").fetchall() == [
        ("a1", "One", True), ("a2", "Two", False)]
    assert con.execute("SELECT * FROM article_tags").fetchall() == [
        ("a1", "country:serbia", 1.0, "Serbia", "v1", datetime(2026, 11, 3, tzinfo=UTC))]
    assert store.read_page(con, "a1") == b"<html>one</html>"
    close(con)


def test_migrate_warehouse_reads_an_export_folder_too(tmp_path):
    old = tmp_path / "monitor.duckdb"
    _old_warehouse(old)
    export = tmp_path / "monitor.export"
    with duckdb.connect(str(old), read_only=True) as con:
        con.execute(f"EXPORT DATABASE '{export}' (FORMAT parquet)")
    target = connect(tmp_path / "new.ducklake")
    moved = migrate_warehouse(export, target)
    assert moved.rows["articles"] == 2 and moved.rows["sources"] == 1
    assert target.execute("SELECT count(*) FROM articles WHERE kind = 'article'").fetchall() == [(2,)]
    close(target)


def test_migrate_warehouse_refuses_a_lake_that_already_holds_articles(tmp_path):
    old = tmp_path / "monitor.duckdb"
    _old_warehouse(old)
    target = connect(tmp_path / "new.ducklake")
    migrate_warehouse(old, target)
    with pytest.raises(WarehouseError, match="already holds 2 articles: migrate into a new one"):
        migrate_warehouse(old, target)
    close(target)


def test_upkeep_killed_by_a_signal_is_run_once_more_then_said_in_one_line(tmp_path, monkeypatch):
    """A native crash inside DuckDB (SIGABRT) takes only the upkeep's own process; the pass
    is idempotent, so it is tried once more, and a second crash is one clear error."""
    import monitor.storage.upkeep as upkeep

    db = tmp_path / "w.ducklake"
    close(connect(db))
    real_run = subprocess.run
    calls: list[int] = []

    def crash_first(command, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            return subprocess.CompletedProcess(command, -6, "", "")  # as a SIGABRT leaves it
        return real_run(command, **kwargs)

    monkeypatch.setattr(upkeep.subprocess, "run", crash_first)
    done = maintain_apart(str(db), retention_days=0)
    assert len(calls) == 2 and done.snapshots_after >= 1

    monkeypatch.setattr(upkeep.subprocess, "run",
                        lambda command, **kwargs: subprocess.CompletedProcess(command, -6, "", ""))
    with pytest.raises(WarehouseError, match=r"upkeep crashed twice \(signal 6, inside DuckDB\): nothing was lost"):
        maintain_apart(str(db), retention_days=0)
