import subprocess
import sys

import duckdb
import pytest

from monitor.exceptions import WarehouseError, WarehouseLockedError
from monitor.storage.warehouse import MIGRATIONS_DIR, connect, migrate


def test_new_warehouse_has_the_tables_and_views_analysts_type(con):
    names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"sources", "articles", "article_tags", "taxonomy", "fetch_log", "feed_state", "pages", "runs",
            "stories", "weekly_tag_counts"} <= names


def test_migrations_are_recorded_in_order_and_safe_to_rerun(con):
    applied = [r[0] for r in con.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()]
    assert applied == sorted(p.stem for p in MIGRATIONS_DIR.glob("*.sql"))
    assert applied[0] == "001_core"
    assert migrate(con) == []


def test_reopening_a_file_keeps_data_and_applies_nothing_twice(db_path):
    con = connect(db_path)
    con.execute("INSERT INTO sources (name, url) VALUES ('a', 'https://a.rs/feed')")
    con.close()
    con = connect(db_path)
    assert con.execute("SELECT name, url FROM sources").fetchall() == [("a", "https://a.rs/feed")]
    con.close()


def test_a_failing_migration_rolls_back_and_says_which(tmp_path, con):
    bad = tmp_path / "migs"
    bad.mkdir()
    (bad / "001_ok.sql").write_text("CREATE TABLE t1 (x INTEGER);")
    (bad / "002_bad.sql").write_text("CREATE TABLE t2 (x INTEGER); SELECT * FROM nope;")
    c = duckdb.connect()
    with pytest.raises(WarehouseError, match="Migration 002_bad failed"):
        migrate(c, bad)
    tables = {r[0] for r in c.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "t1" in tables and "t2" not in tables
    assert [r[0] for r in c.execute("SELECT name FROM schema_migrations").fetchall()] == ["001_ok"]


def test_a_second_writer_process_gets_a_clear_message(db_path):
    holder = connect(db_path)
    try:
        code = (
            "import sys\nfrom monitor.storage.warehouse import connect\nfrom monitor.exceptions import WarehouseLockedError\n"
            f"try:\n    connect({str(db_path)!r})\nexcept WarehouseLockedError as e:\n    print(e); sys.exit(3)\n"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    finally:
        holder.close()
    assert proc.returncode == 3, proc.stderr
    assert "in use by another monitor process" in proc.stdout


def test_locked_error_is_a_warehouse_error():
    assert issubclass(WarehouseLockedError, WarehouseError)


def test_rollups_follow_the_live_views_only_when_refreshed(con):
    from monitor.storage.warehouse import refresh_rollups

    con.execute("INSERT INTO articles (id, kind, source, published_at, date_confidence, fetched_at, relevant) "
                "VALUES ('a1', 'article', 's', TIMESTAMPTZ '2026-11-03 10:00:00+00', 'high', "
                "TIMESTAMPTZ '2026-11-03 11:00:00+00', true)")
    con.execute("INSERT INTO article_tags VALUES ('a1', 'theme:energy', 1, 'gas', '1')")
    assert con.execute("SELECT * FROM weekly_tag_counts").fetchall() == []  # not refreshed yet
    refresh_rollups(con)
    import datetime as dt
    expected = [("2026-W45", "theme:energy", 1, dt.date(2026, 11, 2))]
    assert con.execute("SELECT * FROM weekly_tag_counts").fetchall() == expected
    assert con.execute("SELECT * FROM weekly_tag_counts_live").fetchall() == expected
    assert con.execute("SELECT concept_id, first_week, stories FROM concept_first_seen").fetchall() == [
        ("theme:energy", "2026-W45", 1)]


def _limit_mib(con) -> float:
    value = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    number, unit = value.split()
    return float(number) * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024}[unit]


def test_auto_memory_cap_is_the_floor_plus_headroom_per_article(con):
    from monitor.storage.warehouse import INDEX_HEADROOM_BYTES_PER_ARTICLE, WRITER_MEMORY_FLOOR_MB, fit_memory_limit

    assert fit_memory_limit(con) == WRITER_MEMORY_FLOOR_MB
    assert _limit_mib(con) == WRITER_MEMORY_FLOOR_MB
    # Postings do not count (they have no index: only the capped cache sees them) ...
    con.execute("INSERT INTO dedup_anchors SELECT i, i // 100 FROM range(2000000) t(i)")
    assert fit_memory_limit(con) == WRITER_MEMORY_FLOOR_MB
    # ... stored articles do: the cap grows by their indexes' headroom, and DuckDB holds it.
    con.execute("INSERT INTO articles (id, url, kind, fetched_at) "
                "SELECT 'a' || i, 'https://x/' || i, 'article', now() FROM range(20000) t(i)")
    expected = WRITER_MEMORY_FLOOR_MB + 20_000 * INDEX_HEADROOM_BYTES_PER_ARTICLE // 2**20
    assert expected > WRITER_MEMORY_FLOOR_MB
    assert fit_memory_limit(con) == expected
    assert _limit_mib(con) == expected


def test_only_articles_keeps_art_indexes_that_grow_with_each_tag_or_anchor(con):
    # DuckDB never evicts an ART index it has loaded: an anchor index pinned ~5 KB of
    # RAM per stored article (migration 004), the article_tags key 2.2 KB (005).
    indexed = {row[0] for row in con.execute("SELECT table_name FROM duckdb_indexes()").fetchall()}
    assert indexed == {"articles"}  # the url and content-hash lookups stay indexed
    keyed = {row[0] for row in con.execute(
        "SELECT table_name FROM duckdb_constraints() WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE')").fetchall()}
    assert "dedup_anchors" not in keyed and "article_tags" not in keyed


def test_a_warehouse_from_before_migrations_4_and_5_keeps_its_tags_and_postings(tmp_path):
    old = tmp_path / "migs"
    old.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("00[123]_*.sql")):
        (old / path.name).write_text(path.read_text())
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    migrate(con, old)
    con.execute("INSERT INTO articles (id, url, kind, fetched_at) VALUES ('a1', 'https://x/1', 'article', now())")
    con.execute("INSERT INTO article_tags VALUES ('a1', 'country:serbia', 1.0, 'Belgrade', 'v1'), "
                "('a1', 'org:gazprom', 0.5, 'Gazprom', 'v1')")
    con.execute("INSERT INTO dedup_anchors VALUES (42, 1), (43, 1)")
    con.close()
    con = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT * FROM article_tags ORDER BY concept_id").fetchall() == [
        ("a1", "country:serbia", 1.0, "Belgrade", "v1"), ("a1", "org:gazprom", 0.5, "Gazprom", "v1")]
    assert con.execute("SELECT * FROM dedup_anchors ORDER BY anchor").fetchall() == [(42, 1), (43, 1)]
    assert con.execute("SELECT count(*) FROM duckdb_indexes() WHERE table_name = 'dedup_anchors'").fetchone() == (0,)
    con.execute("SELECT * FROM weekly_tag_counts").fetchall()  # the views bind to the rebuilt table
    con.close()


def test_a_fixed_writer_memory_cap_is_applied_and_auto_or_off_are_not_sizes(db_path):
    fixed = connect(db_path, memory_limit="200MB")
    assert round(_limit_mib(fixed)) == 191  # DuckDB reports 200 MB as MiB
    fixed.close()
    default = duckdb.connect().execute("SELECT current_setting('memory_limit')").fetchone()[0]
    for word in ("auto", "off"):
        con = connect(db_path, memory_limit=word)
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == default
        con.close()
    with pytest.raises(WarehouseError, match="memory limit"):
        connect(db_path, memory_limit="lots")
