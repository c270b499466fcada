"""The command line, called in-process as a user would, against temp warehouses."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from monitor.storage import store
from monitor.cli import build_parser, main
from monitor.judging.coverage import CoverageGap
from monitor.models import FeedState, FetchLogEntry, Source
from monitor.settings import PROJECT_ROOT, SEEDS_DIR
from monitor.runs.sources import dump_sources
from monitor.storage.warehouse import close, connect
from monitor.storage.warehouse import connect as _lake
from warehouse_helpers import corpus_pages, reader

SEED = SEEDS_DIR / "000_621e76c5b49a7e3e.txt"
CHECK_KEYS = {"relevant", "relevance", "duplicate_of", "duplicate_kind", "similarity", "tags", "title", "text"}


def _commands():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sub.choices


def test_every_command_has_help_and_is_in_the_readme():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for name, parser in _commands().items():
        assert parser.format_help().strip(), name
        assert f"monitor {name}" in readme, f"`monitor {name}` is not documented in README.md"
        for action in parser._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"monitor {name} {action.option_strings} has no help"


def test_help_exits_zero_and_explains(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "MONITOR_DB" in out and "demo" in out and "check" in out


def _seed_page(tmp_path: Path) -> Path:
    title, *body = SEED.read_text(encoding="utf-8").strip().split("\n")
    paras = "".join(f"<p>{p}</p>" for p in body if p.strip())
    page = tmp_path / "copy.html"
    page.write_text(
        f"<html><head><title>{title} | Mirror News</title></head><body><nav><a href='/'>Home</a> "
        f"<a href='/world'>World</a></nav><article><h1>{title}</h1>{paras}</article>"
        "<footer>© 2026 Mirror News. All rights reserved.</footer></body></html>", encoding="utf-8")
    return page


def test_check_on_an_empty_warehouse_finds_the_copy_of_a_seed(tmp_path, capsys):
    db = tmp_path / "new" / "w.duckdb"
    assert main(["check", str(_seed_page(tmp_path)), "--db", str(db), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == CHECK_KEYS
    assert result["duplicate_of"] == "000_621e76c5b49a7e3e"
    assert result["duplicate_kind"] in {"exact", "near", "contained"} and result["similarity"] >= 0.85
    assert result["relevant"] is True and 0.0 < result["relevance"] <= 1.0
    assert {"country:russia", "country:serbia", "weapon_system:pantsir"} <= set(result["tags"])
    assert result["title"].startswith("Putin's new Iron Curtain?")
    assert "Pantsir-S missile systems" in result["text"] and "All rights reserved" not in result["text"]


def test_check_of_an_albanian_page_tags_it_and_drops_its_promo_lines(tmp_path, capsys):
    page = Path(__file__).parent / "pages" / "sq_kosovo_north.html"  # written for this test
    assert main(["check", str(page), "--db", str(tmp_path / "w.duckdb"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["relevant"] is True
    # Diplomatic support: "Moska mbështet integritetin territorial të Serbisë" (Moscow backs
    # Serbia's territorial integrity), backing between the two sides (revision 6; before it
    # came from the EU-mediated dialogue sentence, which no longer makes the theme).
    assert result["tags"] == ["country:kosovo", "country:russia", "country:serbia", "org:eu", "org:kfor",
                              "person:albin_kurti", "theme:diplomatic_support", "theme:kosovo_serbia",
                              "theme:nato_relations"]
    assert result["title"] == "Kurti: Moska qëndron pas tensioneve në veri të Kosovës"
    assert result["text"].startswith("Kryeministri Albin Kurti akuzoi")
    assert result["text"].endswith("shtoi patrullat pranë kufirit.")  # no "Na ndiqni ..." after it
    assert "Lexo edhe" not in result["text"] and "Ballina" not in result["text"]


def test_check_stores_nothing(tmp_path, capsys):
    import duckdb

    db = tmp_path / "w.duckdb"
    main(["check", str(_seed_page(tmp_path)), "--db", str(db), "--json"])
    con = _lake(db, read_only=True)
    assert con.execute("SELECT count(*) FROM articles WHERE kind = 'article'").fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM runs").fetchall() == [(0,)]
    con.close()


def test_check_txt_takes_the_first_non_empty_line_as_title(tmp_path, capsys):
    note = tmp_path / "note.txt"
    note.write_text("\n\n  Tennis: Djokovic beats Medvedev in Paris  \n\nThe Serbian world number one beat the "
                    "Russian in straight sets on Sunday, 6-4 6-3, in a final that lasted ninety minutes. "
                    "Both players thanked the crowd and their teams after the match.\n", encoding="utf-8")
    assert main(["check", str(note), "--db", str(tmp_path / "w.duckdb"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["title"] == "Tennis: Djokovic beats Medvedev in Paris"
    assert result["relevant"] is False and result["duplicate_of"] is None
    assert result["text"].startswith("The Serbian world number one")


def test_import_stores_files_once_and_a_second_import_adds_nothing(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    docs = tmp_path / "docs"
    docs.mkdir()
    _seed_page(docs)
    (docs / "broken.html").write_bytes(b"")
    (docs / "ignored.pdf").write_bytes(b"%PDF-1.4")
    assert main(["import", str(docs), "--db", str(db), "--source", "desk"]) == 0
    first = capsys.readouterr().out
    assert "copies=1" in first and "errors=1" in first
    assert main(["import", str(docs), "--db", str(db)]) == 0
    assert "already_stored=1" in capsys.readouterr().out
    assert main(["sql", "SELECT source, duplicate_of, date_source FROM articles WHERE kind = 'article'",
                 "--db", str(db), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"source": "desk", "duplicate_of": "000_621e76c5b49a7e3e", "date_source": "file"}]
    assert main(["sql", "SELECT kind, outcome, error FROM fetch_log ORDER BY outcome, url", "--db", str(db),
                 "--format", "json"]) == 0
    # Each import logs each file it read: the empty one failed both times, with its reason.
    assert [r["error"] for r in json.loads(capsys.readouterr().out)] == ["empty_page", "empty_page", None, None]
    # The raw page is kept byte for byte, in the pack beside the warehouse.
    with _lake(db, read_only=True) as con:
        (article_id, raw, pack), = con.execute("SELECT article_id, raw, pack FROM pages").fetchall()
        assert (raw, pack) == (None, "000000.pack")
        assert store.read_page(con, article_id) == (docs / "copy.html").read_bytes()
    assert main(["page", article_id, "--db", str(db), "--out", str(tmp_path / "got.html")]) == 0
    assert (tmp_path / "got.html").read_bytes() == (docs / "copy.html").read_bytes()
    capsys.readouterr()
    assert main(["page", "no-such-id", "--db", str(db)]) == 1
    assert "no raw page is kept for 'no-such-id'" in capsys.readouterr().err


def test_import_of_a_missing_path_is_a_clear_error(tmp_path, capsys):
    assert main(["import", str(tmp_path / "nope.html"), "--db", str(tmp_path / "w.duckdb")]) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_sql_prints_a_table_and_reports_bad_sql(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    main(["check", str(_seed_page(tmp_path)), "--db", str(db), "--json"])
    capsys.readouterr()
    assert main(["sql", "SELECT id FROM articles WHERE kind = 'reference' ORDER BY id LIMIT 2", "--db", str(db)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["id", "--------------------", "000_621e76c5b49a7e3e", "001_f7aff08aee096c55", "(2 rows)"]
    assert main(["sql", "SELECT * FROM nope", "--db", str(db)]) == 1
    assert "nope" in capsys.readouterr().err


def test_sql_is_read_only(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    main(["check", str(_seed_page(tmp_path)), "--db", str(db), "--json"])
    assert main(["sql", "DELETE FROM articles", "--db", str(db)]) == 1
    assert "read-only" in capsys.readouterr().err.lower()


def test_digest_with_a_bad_week_is_a_clear_error(tmp_path, capsys):
    assert main(["digest", "--week", "2026-W99", "--db", str(tmp_path / "w.duckdb"),
                 "--out", str(tmp_path / "d.md")]) == 2
    assert "no week 99 in 2026" in capsys.readouterr().err


def test_digest_of_an_empty_week_says_so(tmp_path, capsys):
    out = tmp_path / "d.md"
    assert main(["digest", "--week", "2026-W10", "--db", str(tmp_path / "w.duckdb"), "--out", str(out)]) == 0
    assert "No stories" in out.read_text(encoding="utf-8")


def test_sources_validates_the_file(tmp_path, capsys):
    assert main(["sources"]) == 0
    assert "sources, valid" in capsys.readouterr().out
    bad = tmp_path / "s.yaml"
    bad.write_text("sources:\n  - {name: x, url: 'gopher://x'}\n")
    assert main(["sources", "--sources", str(bad)]) == 2
    assert "must be an http(s) URL" in capsys.readouterr().err


def test_hostile_titles_are_printed_without_control_characters(tmp_path, capsys):
    page = tmp_path / "evil.txt"
    page.write_text("Vučić\x1b]0;owned\x07 and Putin\n\nRussia and Serbia signed an arms deal for Pantsir "
                    "systems in Belgrade on Monday, the Kremlin said, despite Western warnings of sanctions.\n")
    assert main(["check", str(page), "--db", str(tmp_path / "w.duckdb")]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    # Stored, then explained: the same title, the same protection.
    assert main(["import", str(page), "--db", str(tmp_path / "w.duckdb")]) == 0
    stored = _lake(tmp_path / "w.duckdb", read_only=True)
    [(doc_id, title)] = stored.execute("SELECT id, title FROM articles WHERE kind = 'article'").fetchall()
    stored.close()
    assert "\x1b" in title  # kept as written in the warehouse; only printing neutralises it
    capsys.readouterr()
    assert main(["explain", doc_id, "--db", str(tmp_path / "w.duckdb")]) == 0
    out = capsys.readouterr().out
    assert "Vučić?]0;owned? and Putin" in out and "\x1b" not in out and "\x07" not in out


def test_json_output_escapes_bidi_overrides_and_c1_controls_and_keeps_cyrillic_readable(tmp_path, capsys):
    page = tmp_path / "evil.txt"
    title = "Вучић \u202eи Путин\u202c \u2066изолат\u2069 \x9b31m"
    page.write_text(f"{title}\n\nRussia and Serbia signed an arms deal for Pantsir systems in Belgrade on "
                    "Monday, the Kremlin said, despite Western warnings of sanctions.\n", encoding="utf-8")
    db = str(tmp_path / "w.duckdb")
    escaped = "Вучић \\u202eи Путин\\u202c \\u2066изолат\\u2069 \\u009b31m"
    assert main(["check", str(page), "--db", db, "--json"]) == 0
    out = capsys.readouterr().out
    assert f'"title": "{escaped}"' in out and json.loads(out)["title"] == title
    assert main(["import", str(page), "--db", db]) == 0
    capsys.readouterr()
    assert main(["sql", "SELECT title FROM articles WHERE kind = 'article'", "--db", db, "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert out == f'[{{"title": "{escaped}"}}]\n' and json.loads(out) == [{"title": title}]
    [(doc_id,)] = reader(db).execute(
        "SELECT id FROM articles WHERE kind = 'article'").fetchall()
    assert main(["explain", doc_id, "--db", db, "--json"]) == 0
    out = capsys.readouterr().out
    assert escaped in out and json.loads(out)["title"] == title
    for control in ("\u202e", "\u202c", "\u2066", "\u2069", "\x9b"):
        assert control not in out


def test_digest_into_a_directory_is_named_after_its_week(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    assert main(["digest", "--week", "2026-W10", "--db", str(tmp_path / "w.duckdb"), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "digest-2026-W10.md").is_file()


def test_import_with_two_worker_processes_gives_the_same_warehouse_as_one(tmp_path, capsys):
    """Judging in a process pool (judge sent once per worker) changes nothing that is saved."""
    import shutil

    from monitor.demo.corpus_server import CORPUS_DIR

    docs = tmp_path / "docs"
    for page in sorted(CORPUS_DIR.rglob("*.html")):
        target = docs / page.relative_to(CORPUS_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(page, target)
    rows = {}
    for workers in ("1", "2"):
        db = tmp_path / f"w{workers}.duckdb"
        assert main(["import", str(docs), "--db", str(db), "--workers", workers]) == 0
        capsys.readouterr()
        con = _lake(db, read_only=True)
        rows[workers] = (
            con.execute("SELECT id, title, relevant, duplicate_of, duplicate_kind, content_hash, published_at "
                        "FROM articles WHERE kind = 'article' ORDER BY id").fetchall(),
            con.execute("SELECT article_id, concept_id, score, evidence FROM article_tags ORDER BY ALL").fetchall(),
        )
        con.close()
    articles, tags = rows["1"]
    assert len(articles) == 47 and sum(1 for a in articles if a[3]) >= 5 and len(tags) > 200
    assert rows["2"] == rows["1"]


def test_import_walks_directories_in_sorted_path_order_without_listing_everything(tmp_path):
    from monitor.runs.importer import IMPORTABLE_SUFFIXES, iter_files

    root = tmp_path / "docs"
    for rel in ("b.html", "b/x.txt", "b/a/z.HTM", "B.xhtml", "a-1.html", "a/c.html", "a/notes.pdf",
                "outlet10/1.html", "outlet9/2.html", ".hidden.html"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x", encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "far.html").write_text("x", encoding="utf-8")
    (root / "linked-dir").symlink_to(tmp_path / "elsewhere")  # not entered, as rglob does not
    (root / "linked.html").symlink_to(tmp_path / "elsewhere" / "far.html")  # kept, as rglob keeps it
    want = sorted(q for q in root.rglob("*") if q.is_file() and q.suffix.lower() in IMPORTABLE_SUFFIXES)
    got = list(iter_files([root]))
    assert got == want
    assert [str(p.relative_to(root)) for p in got] == [
        ".hidden.html", "B.xhtml", "a/c.html", "a-1.html", "b/a/z.HTM", "b/x.txt", "b.html", "linked.html",
        "outlet10/1.html", "outlet9/2.html"]


def test_import_without_workers_uses_the_cores_only_for_a_large_import(monkeypatch):
    import monitor.runs.importer as importer

    monkeypatch.setattr(importer, "AUTO_WORKERS_MIN_FILES", 5)
    monkeypatch.setattr(importer.os, "sched_getaffinity", lambda _pid: set(range(8)), raising=False)
    files = [Path(f"/docs/{i}.html") for i in range(12)]
    got, workers = importer.choose_workers(iter(files), None)
    assert workers == importer.AUTO_MAX_WORKERS == 4 and list(got) == files  # read ahead, nothing lost
    got, workers = importer.choose_workers(iter(files[:4]), None)
    assert workers == 1 and list(got) == files[:4]
    monkeypatch.setattr(importer.os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    assert importer.choose_workers(iter(files), None)[1] == 2
    assert importer.choose_workers(iter(files[:4]), 3)[1] == 3  # asked for: given, however few files
    assert importer.choose_workers(iter(files), 0)[1] == 1


HOSTILE_ERROR = "malformed_feed: \x1b]0;owned\x07\x1b[2J the feed ended after <item> and then went on and on and on"


def _status_warehouse(tmp_path: Path) -> tuple[Path, Path, datetime]:
    """Four sources a run has seen (fresh, stale with a coverage gap, failing, never polled)
    and one added to the file since, saved as ingest saves them.

    The source_activity view judges the last 7 days against DuckDB's now(), so the times
    are set back from the real clock (to the minute, so they print exactly).
    """
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    fresh, stale, failing, unpolled, added = (
        Source(name=n, url=f"https://{n}.example/feed", poll_minutes=m)
        for n, m in [("fresh", 60), ("stale", 30), ("failing", 60), ("unpolled", 120), ("added", 45)])
    db = tmp_path / "w.duckdb"
    con = connect(db)
    store.save_sources(con, [fresh, stale, failing, unpolled])
    store.save_feed_state(con, FeedState("fresh", fresh.url, last_success_at=now - timedelta(minutes=10)),
                          attempted_at=now - timedelta(minutes=10), last_error=None)
    store.save_feed_state(con, FeedState("stale", stale.url, last_success_at=now - timedelta(days=3)),
                          attempted_at=now - timedelta(days=3), last_error=None)
    store.save_feed_state(con, FeedState("failing", failing.url, consecutive_failures=3,
                                         last_success_at=now - timedelta(days=9),
                                         next_poll_after=now + timedelta(hours=4)),
                          attempted_at=now - timedelta(hours=4), last_error=HOSTILE_ERROR)
    store.save_fetch_log(con, "r1", [
        FetchLogEntry(fresh.url, "feed", "ok", source="fresh", fetched_at=now - timedelta(minutes=10)),
        FetchLogEntry(stale.url, "feed", "not_modified", source="stale", fetched_at=now - timedelta(days=3)),
        FetchLogEntry(failing.url, "feed", "error", source="failing", error="malformed_feed",
                      fetched_at=now - timedelta(hours=4)),
    ])
    store.save_coverage_gap(con, "r1", CoverageGap("stale", now - timedelta(days=4), now - timedelta(days=3),
                                                   items=20, dated=True, reason="outran the polls"),
                            detected_at=now - timedelta(days=3))
    con.execute("INSERT INTO articles (id, kind, source, url, fetched_at) VALUES ('a1', 'article', 'fresh', "
                "'https://fresh.example/a1', ?)", [now - timedelta(minutes=10)])
    con.close()
    sources = tmp_path / "sources.yaml"
    sources.write_text(dump_sources([fresh, stale, failing, unpolled, added]), encoding="utf-8")
    return db, sources, now


def test_sources_status_shows_when_each_source_was_polled_and_is_next_due(tmp_path, capsys):
    db, sources, now = _status_warehouse(tmp_path)
    assert main(["sources", "--status", "--db", str(db), "--sources", str(sources)]) == 0
    out = capsys.readouterr().out.splitlines()
    ago_10min, ago_3d, ago_9d = (f"{now - d:%Y-%m-%d %H:%M}" for d in
                                 (timedelta(minutes=10), timedelta(days=3), timedelta(days=9)))
    in_44min, in_4h = f"{now + timedelta(minutes=44):%Y-%m-%d %H:%M}", f"{now + timedelta(hours=4):%Y-%m-%d %H:%M}"
    # ESC and BEL shown as ?, cut to 60 characters.
    error = "malformed_feed: ?]0;owned??[2J the feed ended after <item> …"
    assert out == [
        ("name     | poll_minutes | status     | last success (UTC) | next poll (UTC)            | failures "
         "| current error"),
        ("---------+--------------+------------+--------------------+----------------------------+----------"
         "+-------------------------------------------------------------"),
        f"fresh    | 60           | ok         | {ago_10min}   | {in_44min}           | 0        |",
        f"stale    | 30           | gaps       | {ago_3d}   | due now                    | 0        |",
        f"failing  | 60           | failing    | {ago_9d}   | {in_4h} (backoff) | 3        | {error}",
        "unpolled | 120          | not_polled | never              | due now                    | 0        |",
        "added    | 45           | not_polled | never              | due now                    | 0        |",
        "(5 rows)",
        "5 sources: 3 due now, 1 failing (backoff), 1 with coverage gaps in the last 7 days",
    ]


def test_sources_status_as_json_keeps_full_values_and_escapes_control_characters(tmp_path, capsys):
    db, sources, now = _status_warehouse(tmp_path)
    assert main(["sources", "--status", "--json", "--db", str(db), "--sources", str(sources)]) == 0
    text = capsys.readouterr().out
    assert "\x1b" not in text and "\x07" not in text
    rows = {r["name"]: r for r in json.loads(text)}
    assert list(rows) == ["fresh", "stale", "failing", "unpolled", "added"]
    assert rows["failing"] == {
        "name": "failing", "poll_minutes": 60, "status": "failing",
        "last_success_at": (now - timedelta(days=9)).isoformat(), "due": False, "waits_for": "backoff",
        "next_poll_at": (now + timedelta(hours=4)).isoformat(), "consecutive_failures": 3,
        "current_error": HOSTILE_ERROR, "coverage_gaps": 0,
    }
    assert rows["fresh"]["next_poll_at"] == (now + timedelta(minutes=44)).isoformat()
    assert rows["fresh"]["waits_for"] == "poll_minutes"
    assert (rows["stale"]["due"], rows["stale"]["next_poll_at"], rows["stale"]["coverage_gaps"]) == (True, None, 1)
    assert rows["added"] == {
        "name": "added", "poll_minutes": 45, "status": "not_polled", "last_success_at": None, "due": True,
        "waits_for": "due", "next_poll_at": None, "consecutive_failures": 0, "current_error": None,
        "coverage_gaps": 0,
    }


def test_sources_status_without_a_warehouse_is_an_error_and_creates_nothing(tmp_path, capsys):
    db = tmp_path / "none" / "w.duckdb"
    assert main(["sources", "--status", "--db", str(db)]) == 2
    assert f"no warehouse at {db}" in capsys.readouterr().err
    assert not db.exists() and not db.parent.exists()


def test_sources_json_without_status_is_refused(tmp_path, capsys):
    assert main(["sources", "--json"]) == 2
    assert "--db and --json go with --status" in capsys.readouterr().err


def _runs_warehouse(tmp_path: Path) -> Path:
    db = tmp_path / "w.duckdb"
    con = connect(db)
    day = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
    stats = {"feeds_ok": 4, "feeds_not_modified": 2, "feeds_unchanged": 1, "feeds_failed": 1, "stories": 12,
             "repointed": 1, "duplicates": 3, "off_topic": 2, "page_errors": 5, "coverage_gaps": 1}
    con.executemany("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)", [
        ("ingest-1", "ingest", day, day + timedelta(seconds=42.25), "ok", json.dumps(stats)),
        ("import-2", "import", day + timedelta(hours=1), day + timedelta(hours=1, seconds=3), "failed",
         json.dumps({"stories": 2})),
        ("ingest-3", "ingest", day + timedelta(hours=2), None, "running", None),
        ("retag-4", "retag", day + timedelta(hours=3), day + timedelta(hours=3, seconds=1.5), "ok",
         json.dumps({"version": "1+r4.0123abcd", "examined": 42, "up_to_date": 0, "tags_written": 488,
                     "became_relevant": 1, "became_irrelevant": 0})),
    ])
    con.close()
    return db


def test_runs_lists_the_last_runs_newest_first_with_what_each_added(tmp_path, capsys):
    db = _runs_warehouse(tmp_path)
    assert main(["runs", "--db", str(db)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "started (UTC)    | kind   | status     | seconds | feeds ok | 304 | feeds failed | stories | copies "
        "| off topic | page errors | gaps | run      | other counters",
        "-----------------+--------+------------+---------+----------+-----+--------------+---------+--------"
        "+-----------+-------------+------+----------+-----------------------------------------------",
        "2026-11-02 09:00 | retag  | ok         | 1.5     | -        | -   | -            | -       | -      "
        "| -         | -           | -    | retag-4  | examined=42 tags_written=488 became_relevant=1",
        "2026-11-02 08:00 | ingest | unfinished | -       | -        | -   | -            | -       | -      "
        "| -         | -           | -    | ingest-3 |",
        "2026-11-02 07:00 | import | failed     | 3.0     | 0        | 0   | 0            | 2       | 0      "
        "| 0         | 0           | 0    | import-2 |",
        # stories 12 - 1 repointed; copies 3 + that one; 304 counts unchanged bodies too
        "2026-11-02 06:00 | ingest | ok         | 42.2    | 4        | 3   | 1            | 11      | 4      "
        "| 2         | 5           | 1    | ingest-1 |",
        "(4 rows)",
        "4 runs: 2 ok, 1 failed, 1 unfinished (killed, or running now; the next run of the same kind picks up "
        "what it left); last ok: 2026-11-02 09:00 (retag)",
    ]
    assert main(["runs", "--db", str(db), "--limit", "2"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "2 runs: 1 ok, 0 failed, 1 unfinished (killed, or running now; the next run of the same kind picks up "
        "what it left); last ok: 2026-11-02 09:00 (retag)")
    assert main(["runs", "--db", str(db), "--limit", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("1 run: 1 ok, 0 failed, 0 unfinished")


def test_runs_as_json_keeps_every_counter(tmp_path, capsys):
    db = _runs_warehouse(tmp_path)
    assert main(["runs", "--db", str(db), "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in runs] == ["retag-4", "ingest-3", "import-2", "ingest-1"]
    assert runs[1] == {"run_id": "ingest-3", "kind": "ingest", "started_at": "2026-11-02T08:00:00+00:00",
                       "finished_at": None, "status": "running", "stats": {}}
    assert runs[3]["stats"]["feeds_unchanged"] == 1 and runs[3]["finished_at"] == "2026-11-02T06:00:42.250000+00:00"
    assert runs[0]["stats"]["version"] == "1+r4.0123abcd"


def test_runs_without_a_warehouse_is_an_error_and_creates_nothing(tmp_path, capsys):
    db = tmp_path / "none.duckdb"
    assert main(["runs", "--db", str(db)]) == 2
    assert f"no warehouse at {db}" in capsys.readouterr().err and not db.exists()



# -- issue 27: each failure is one clear line on stderr and a non-zero exit ------------------


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def small_warehouse(tmp_path, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    _seed_page(docs)
    db = tmp_path / "w.duckdb"
    assert main(["import", str(docs), "--db", str(db)]) == 0
    capsys.readouterr()
    return db, docs


def test_a_warehouse_file_cut_in_half_is_one_clear_line_for_every_command(small_warehouse, tmp_path, capsys):
    db, docs = small_warehouse
    half = tmp_path / "half.duckdb"
    data = db.read_bytes()
    half.write_bytes(data[: len(data) // 2])
    for argv in (["runs"], ["import", str(docs)], ["digest", "--out", str(tmp_path / "d.md")],
                 ["sql", "SELECT count(*) FROM articles"]):
        code = main([*argv, "--db", str(half)])
        if argv[0] == "sql" and code == 0:  # the blocks a query reads may be in the kept half
            capsys.readouterr()
            continue
        assert code in (1, 2), argv
        line = _one_error_line(capsys)
        assert line.startswith("monitor: error: ") and "damaged or cut short" in line, line


def test_a_catalog_copied_without_its_data_folder_is_one_clear_line(small_warehouse, tmp_path, capsys):
    """A lake is its catalog and its data folder: the catalog alone (copied, or a data path
    not mounted) answers what it records itself, and a query that needs a table's files
    is one line naming the file, not a traceback; no empty table is written in its place."""
    db, _ = small_warehouse
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / db.name).write_bytes(db.read_bytes())
    # (A small table's rows may sit in the catalog itself, DuckLake's inlining; the tags are in files.)
    assert main(["sql", "SELECT max(concept_id) FROM article_tags", "--db", str(alone / db.name)]) == 1
    line = _one_error_line(capsys)
    assert line.startswith("monitor: error: ") and f"{alone / db.name}.data" in line, line
    assert main(["digest", "--db", str(alone / db.name), "--out", str(tmp_path / "d.md")]) in (1, 2)
    line = _one_error_line(capsys)
    assert line.startswith("monitor: error: ") and f"{alone / db.name}.data" in line, line
    assert not list(alone.rglob("*.parquet")) and not list(alone.rglob("*.pack"))  # no empty table stands in


def test_bad_settings_and_arguments_are_one_clear_line(small_warehouse, tmp_path, capsys, monkeypatch):
    db, docs = small_warehouse
    monkeypatch.setenv("MONITOR_PER_HOST_DELAY", "abc")
    assert main(["runs", "--db", str(db)]) == 2
    assert _one_error_line(capsys) == ("monitor: error: MONITOR_PER_HOST_DELAY must be a number of seconds, "
                                       "0 or more, got 'abc'")
    monkeypatch.delenv("MONITOR_PER_HOST_DELAY")
    with pytest.raises(SystemExit) as exc:
        main(["runs", "--limit", "-1", "--db", str(db)])
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "monitor runs: error: argument --limit: must be a whole number above 0, got '-1'")
    monkeypatch.setenv("MONITOR_WRITER_MEMORY", "1MB")
    assert main(["import", str(docs), "--db", str(db)]) == 1
    line = _one_error_line(capsys)
    assert line.startswith("monitor: error: DuckDB ran out of memory (") and line.endswith(
        "raise MONITOR_WRITER_MEMORY or set it to auto")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_digest_written_to_a_full_device_is_one_clear_line(small_warehouse, capsys):
    db, _ = small_warehouse
    assert main(["digest", "--db", str(db), "--out", "/dev/full"]) == 1
    assert _one_error_line(capsys) == "monitor: error: No space left on device (/dev/full)"



def _runs_agree_with_the_warehouse(db: Path) -> dict:
    """The last run's counters, checked against what the warehouse holds."""
    con = reader(db)
    try:
        (status, stats), = con.execute("SELECT status, stats FROM runs").fetchall()
        stats = json.loads(stats)
        saved = con.execute("SELECT count(*) FROM articles WHERE kind = 'article'").fetchall()[0][0]
        pages = con.execute("SELECT coalesce(sum(pack_length), 0), max(pack_offset + pack_length) FROM pages")
        (total, end), = pages.fetchall()
    finally:
        con.close()
    assert stats.get("stories", 0) + stats.get("duplicates", 0) + stats.get("off_topic", 0) == saved
    packs = list((db.parent / f"{db.name}.data" / "pages").glob("*.pack"))
    # No orphan bytes: the pack ends where its last page ends.
    assert sum(p.stat().st_size for p in packs) == (end or 0) == total
    return {"status": status, "saved": saved, **stats}


def test_a_disk_that_fills_during_an_import_is_one_line_and_runs_says_what_was_saved(tmp_path, capsys,
                                                                                       monkeypatch):
    """The write seam of the page packs answers ENOSPC after some 60 KB, mid-batch."""
    import errno
    import io

    from monitor import cli
    from monitor.storage import pagestore

    docs = corpus_pages(tmp_path / "docs", 60)
    db = tmp_path / "w.duckdb"
    room = {"left": 60_000}

    class _FillingFile(io.FileIO):
        def write(self, b):  # type: ignore[override]
            if room["left"] < len(b):
                raise OSError(errno.ENOSPC, "No space left on device")
            room["left"] -= len(b)
            return super().write(b)

    monkeypatch.setattr(pagestore, "open", lambda path, mode: _FillingFile(path, "a"), raising=False)
    real = cli._settings
    monkeypatch.setattr(cli, "_settings", lambda args: real(args).with_(save_batch=10))
    assert main(["import", str(docs), "--db", str(db), "--workers", "1"]) == 2
    line = _one_error_line(capsys)
    assert line.startswith(f"monitor: error: Cannot write raw pages to {db}.data/pages: [Errno 28] No space left")
    got = _runs_agree_with_the_warehouse(db)
    assert got["status"] == "failed" and 0 < got["saved"] < 60 and got["saved"] % 10 == 0


def _tmpfs(path: Path, size: str) -> bool:
    import subprocess

    path.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_a_real_full_disk_during_an_import_is_one_line_and_runs_says_what_was_saved(tmp_path, capsys):
    """A 1 MB tmpfs (needs root and mount): the disk fills in a page pack, a table's Parquet
    file or the catalog (a lake stores 400 pages in about 2 MB)."""
    import subprocess

    docs = corpus_pages(tmp_path / "docs", 400)
    disk = tmp_path / "disk"
    if not _tmpfs(disk, "1m"):
        pytest.skip("cannot mount a tmpfs here (not root?)")
    try:
        db = disk / "w.duckdb"
        code = main(["import", str(docs), "--db", str(db), "--workers", "1"])
        assert code in (1, 2)
        line = _one_error_line(capsys)
        assert line.startswith("monitor: error: ") and "o space left on" in line, line
        got = _runs_agree_with_the_warehouse(db)
        assert got["saved"] < 400
    finally:
        # Lazy: a file the run still holds open would make a plain umount fail and leave the
        # tmpfs mounted (six were found left over after full runs).
        subprocess.run(["umount", "--lazy", str(disk)], check=False)


def test_plain_digest_falls_back_to_the_last_week_with_stories_and_says_so(tmp_path, capsys):
    from datetime import UTC, datetime

    from monitor.reports.weeks import last_complete_week
    from monitor.storage.warehouse import connect

    db = tmp_path / "w.duckdb"
    con = connect(db)
    con.execute("INSERT INTO articles (id, kind, source, url, title, published_at, date_source, date_confidence, "
                "fetched_at, relevant, relevance) VALUES ('a1', 'article', 'portal', 'https://portal.example/a1', "
                "'Russia and Serbia sign a gas deal', TIMESTAMPTZ '2020-03-03 09:00:00+00', 'feed', 'high', "
                "TIMESTAMPTZ '2020-03-03 10:00:00+00', true, 0.9)")
    con.close()
    out = tmp_path / "out"
    out.mkdir()
    assert main(["digest", "--db", str(db), "--out", str(out)]) == 0
    default = last_complete_week(datetime.now(UTC).date())
    assert capsys.readouterr().out.splitlines() == [
        f"{default}, the last complete week, has no stories: wrote 2020-W10, the last week that has some",
        f"digest: {out / 'digest-2020-W10.md'}",
    ]
    assert "Russia and Serbia sign a gas deal" in (out / "digest-2020-W10.md").read_text(encoding="utf-8")


_HOLD_WRITER = """
import sys
from pathlib import Path
from monitor.runs.ingest import IngestSession
from monitor.settings import load_settings
session = IngestSession.open(load_settings(environ={}, db_path=Path(sys.argv[1])), kind="import")
session.con.execute("INSERT INTO sources (name, url) VALUES ('held', 'https://held.example/feed')")
print("writing", flush=True)
sys.stdin.readline()
session.close()
"""


def test_readers_work_while_another_process_writes_and_a_second_writer_is_refused(tmp_path, capsys):
    import subprocess
    import sys

    db = tmp_path / "w.ducklake"
    writer = subprocess.Popen([sys.executable, "-c", _HOLD_WRITER, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing", writer.stderr
        assert main(["check", str(_seed_page(tmp_path)), "--db", str(db), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["duplicate_of"] == "000_621e76c5b49a7e3e"
        assert main(["sql", "--db", str(db), "--format", "json", "SELECT name FROM sources"]) == 0
        assert capsys.readouterr().out.strip() == '[{"name": "held"}]'
        assert main(["runs", "--db", str(db), "--json"]) == 0
        assert [(r["kind"], r["status"]) for r in json.loads(capsys.readouterr().out)] == [("import", "running")]
        assert main(["digest", "--db", str(db), "--week", "2026-W45", "--out", str(tmp_path)]) == 0
        assert "a run is writing: the digest reads the last committed snapshot" in capsys.readouterr().err
        assert main(["retag", "--db", str(db)]) == 2
        assert f"The warehouse {db} is being written by another monitor run (pid" in capsys.readouterr().err
    finally:
        writer.communicate("done\n", timeout=60)


def test_an_import_told_to_wait_for_the_writer_says_so_and_runs_once_it_is_free(tmp_path, capsys, monkeypatch):
    import subprocess
    import sys
    import threading

    db = tmp_path / "w.ducklake"
    docs = tmp_path / "docs"
    docs.mkdir()
    _seed_page(docs)
    writer = subprocess.Popen([sys.executable, "-c", _HOLD_WRITER, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    let_go = threading.Timer(2.0, lambda: writer.communicate("done\n", timeout=60))
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing", writer.stderr
        monkeypatch.setenv("MONITOR_WRITER_WAIT", "120")
        let_go.start()
        assert main(["import", str(docs), "--db", str(db)]) == 0
        err = capsys.readouterr().err
        assert "the warehouse is being written by another monitor run (pid " in err
        assert "waiting up to 120 s for it to finish" in err
    finally:
        let_go.join(timeout=90)
        if writer.poll() is None:
            writer.kill()
    assert main(["runs", "--db", str(db), "--json"]) == 0
    assert sorted((r["kind"], r["status"]) for r in json.loads(capsys.readouterr().out)) == [
        ("import", "ok"), ("import", "ok")]


def test_the_digest_names_the_snapshot_it_read_and_as_of_reads_it_again(tmp_path, capsys):
    db = tmp_path / "w.ducklake"
    con = connect(db)
    con.execute("INSERT INTO sources (name, url) VALUES ('before', 'u')")
    close(con)
    assert main(["digest", "--db", str(db), "--week", "2026-W45", "--out", str(tmp_path / "a.md")]) == 0
    text = (tmp_path / "a.md").read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("Read from warehouse snapshot "))
    snapshot = int(line.split()[4].rstrip(":"))
    assert line == (f"Read from warehouse snapshot {snapshot}: `monitor digest --as-of {snapshot}` makes this digest "
                    "again from the same data.")
    con = connect(db)
    con.execute("INSERT INTO sources (name, url) VALUES ('after', 'u')")
    close(con)
    capsys.readouterr()
    assert main(["sql", "--db", str(db), "--as-of", str(snapshot), "--format", "csv", "SELECT name FROM sources"]) == 0
    assert capsys.readouterr().out.splitlines() == ["name", "before"]
    assert main(["digest", "--db", str(db), "--week", "2026-W45", "--as-of", str(snapshot),
                 "--out", str(tmp_path / "b.md")]) == 0
    assert (tmp_path / "b.md").read_text(encoding="utf-8") == text
    assert main(["sql", "--db", str(db), "--as-of", "last tuesday", "SELECT 1"]) == 2
    assert "--as-of takes a snapshot id or a date/time" in capsys.readouterr().err


def test_an_old_duckdb_file_given_as_db_is_refused_with_the_way_to_move_it(tmp_path, capsys):
    old = tmp_path / "monitor.duckdb"
    duckdb.connect(str(old)).close()
    assert main(["sql", "--db", str(old), "SELECT 1"]) == 2
    err = capsys.readouterr().err
    assert "is a DuckDB warehouse of the old, single-file format" in err
    assert f"monitor migrate-warehouse {old} --db NEW_PATH" in err
