from datetime import UTC, datetime, timedelta, timezone

import duckdb
import pytest

from monitor.storage import store
from monitor.models import Document, FeedState, FetchLogEntry, Match, Relevance, Source, Tag

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Decision:
    def __init__(self, match=None, note=None):
        self.match, self.note = match, note


def _doc(**kw):
    base = dict(
        id="a_1", source="bw", url="https://bw.example/a", canonical_url="https://bw.example/a",
        title="Pantsir in Belgrade", text="Body text.", fetched_at=T0, published_at=T0 - timedelta(hours=3),
        date_source="feed", date_confidence="high", author="M. P.", language="en", sitename="BW",
        guid="bw-1", summary="Teaser", raw=b"compressed-bytes", content_hash="h1", word_count=2,
        tags=(Tag("country:serbia", 1.0, "Belgrade"), Tag("weapon_system:pantsir", 1.0, "Pantsir")),
        relevance=Relevance(True, 0.9, "russia+balkans"), taxonomy_version="1+r1",
    )
    base.update(kw)
    return Document(**base)


def test_saved_article_row_pages_and_tags_are_whole(con):
    n = store.save_articles(con, [(_doc(), "article", Decision(note=None))], "run-1")
    assert n == 1
    row = con.execute(
        "SELECT id, kind, source, url, canonical_url, guid, title, author, sitename, language, published_at, "
        "date_source, date_confidence, fetched_at, summary, text, content_hash, word_count, extractor, relevant, "
        "relevance, relevance_reason, duplicate_of, duplicate_kind, similarity, dedup_note, taxonomy_version, run_id "
        "FROM articles").fetchall()
    assert row == [(
        "a_1", "article", "bw", "https://bw.example/a", "https://bw.example/a", "bw-1", "Pantsir in Belgrade", "M. P.",
        "BW", "en", T0 - timedelta(hours=3), "feed", "high", T0, "Teaser", "Body text.", "h1", 2, "trafilatura",
        True, 0.9, "russia+balkans", None, None, None, None, "1+r1", "run-1")]
    assert con.execute("SELECT article_id, url, encoding, raw FROM pages").fetchall() == [
        ("a_1", "https://bw.example/a", "zstd", b"compressed-bytes")]
    assert con.execute("SELECT * FROM article_tags ORDER BY concept_id").fetchall() == [
        ("a_1", "country:serbia", 1.0, "Belgrade", "1+r1", T0),  # with the article's fetch time (migration 014)
        ("a_1", "weapon_system:pantsir", 1.0, "Pantsir", "1+r1", T0)]


def test_two_documents_with_one_id_in_a_batch_keep_the_first_ones_tags_once(con):
    # article_tags has no key (migration 005): the writer alone keeps it one row per pair.
    first = _doc(tags=(Tag("country:serbia", 1.0, "Belgrade"), Tag("country:serbia", 0.5, "Serbia")))
    second = _doc(title="Another take", tags=(Tag("country:kosovo", 1.0, "Pristina"),))
    assert store.save_articles(con, [(first, "article", Decision()), (second, "article", Decision())], "r1") == 1
    assert con.execute("SELECT title FROM articles").fetchall() == [("Pantsir in Belgrade",)]
    assert con.execute("SELECT * FROM article_tags").fetchall() == [("a_1", "country:serbia", 1.0, "Belgrade", "1+r1", T0)]
    assert store.save_articles(con, [(second, "article", Decision())], "r2") == 0
    assert con.execute("SELECT count(*) FROM article_tags").fetchall() == [(1,)]


def test_a_copy_is_saved_with_its_provenance(con):
    copy = _doc(id="a_2", url="https://mirror.example/a", canonical_url="https://mirror.example/a", raw=None, tags=())
    store.save_articles(con, [(copy, "article", Decision(Match("000_621e76c5b49a7e3e", "near", 0.93), "n"))], None)
    assert con.execute("SELECT duplicate_of, duplicate_kind, similarity, dedup_note FROM articles").fetchall() == [
        ("000_621e76c5b49a7e3e", "near", 0.93, "n")]
    assert con.execute("SELECT count(*) FROM pages").fetchall() == [(0,)]


def test_saving_the_same_batch_twice_changes_nothing(con):
    batch = [(_doc(), "article", Decision())]
    store.save_articles(con, batch, "r1")
    store.save_articles(con, batch, "r2")
    assert con.execute("SELECT count(*), min(run_id) FROM articles").fetchall() == [(1, "r1")]
    assert con.execute("SELECT count(*) FROM article_tags").fetchall() == [(2,)]


def test_known_urls_match_either_the_feed_link_or_the_page_canonical(con):
    store.save_articles(con, [(_doc(url="https://bw.example/a?x=1"), "article", Decision())], None)
    assert store.known_urls(con, ["https://bw.example/a", "https://bw.example/a?x=1", "https://bw.example/b"]) == {
        "https://bw.example/a", "https://bw.example/a?x=1"}
    assert store.known_urls(con, []) == set()


def test_sources_are_upserted(con):
    store.save_sources(con, [Source("a", "https://a.rs/feed", language="sr")])
    store.save_sources(con, [Source("a", "https://a.rs/rss", language="sr", owner="independent")])
    assert con.execute("SELECT name, url, language, owner, poll_minutes FROM sources").fetchall() == [
        ("a", "https://a.rs/rss", "sr", "independent", 60)]


def test_feed_state_round_trips_and_is_overwritten(con):
    st = FeedState("a", "https://a.rs/feed", etag='"e1"', last_modified="Mon, 02 Nov 2026 09:00:00 GMT",
                   body_hash="bh", consecutive_failures=0, last_success_at=T0)
    store.save_feed_state(con, st, attempted_at=T0, last_error=None)
    assert store.load_feed_states(con) == {"a": st}
    failed = FeedState("a", "https://a.rs/feed", etag='"e1"', consecutive_failures=2, next_poll_after=T0)
    store.save_feed_state(con, failed, attempted_at=T0, last_error="http_500")
    assert store.load_feed_states(con)["a"] == failed
    assert con.execute("SELECT last_error, last_attempt_at FROM feed_state").fetchall() == [("http_500", T0)]


def test_fetch_log_rows_are_appended_with_ids(con):
    store.save_fetch_log(con, "r1", [
        FetchLogEntry(url="https://a.rs/feed", kind="feed", outcome="not_modified", source="a", status=304,
                      elapsed_ms=12.5, fetched_at=T0),
        FetchLogEntry(url="https://a.rs/x", kind="page", outcome="error", source="a", status=404,
                      error="http_404", detail="Not Found", fetched_at=T0),
    ])
    assert con.execute("SELECT id, run_id, fetched_at, source, kind, url, status, bytes, elapsed_ms, outcome, error, "
                       "detail FROM fetch_log ORDER BY id").fetchall() == [
        (1, "r1", T0, "a", "feed", "https://a.rs/feed", 304, 0, 12.5, "not_modified", None, None),
        (2, "r1", T0, "a", "page", "https://a.rs/x", 404, 0, 0.0, "error", "http_404", "Not Found")]


def test_recent_permanent_page_failures_are_not_asked_again(con):
    now = datetime.now(UTC)
    store.save_fetch_log(con, "r1", [
        FetchLogEntry(url="https://a.rs/gone", kind="page", outcome="error", error="http_404", fetched_at=now),
        FetchLogEntry(url="https://a.rs/busy", kind="page", outcome="error", error="http_503", fetched_at=now),
        FetchLogEntry(url="https://a.rs/old", kind="page", outcome="error", error="http_404",
                      fetched_at=now - timedelta(days=30)),
    ])
    assert store.permanently_failed_urls(con, ["https://a.rs/gone", "https://a.rs/busy", "https://a.rs/old"]) == {
        "https://a.rs/gone"}


def test_runs_record_start_and_end(con):
    store.start_run(con, "r1", "ingest")
    assert con.execute("SELECT status, finished_at FROM runs").fetchall() == [("running", None)]
    store.finish_run(con, "r1", "ok", {"stories": 3})
    assert con.execute("SELECT status, stats->>'stories' FROM runs").fetchall() == [("ok", "3")]


def test_transaction_rolls_back_on_error(con):
    try:
        with store.transaction(con):
            store.save_sources(con, [Source("a", "https://a.rs/feed")])
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert con.execute("SELECT count(*) FROM sources").fetchall() == [(0,)]


def test_several_documents_without_url_are_all_stored(con):
    # DuckDB 2.0 keeps only one of several NULL-keyed rows under a bare ON CONFLICT DO NOTHING.
    refs = [(_doc(id=f"00{i}_seed", canonical_url=None, url=f"seed:00{i}", raw=None, tags=()), "reference", None)
            for i in range(5)]
    assert store.save_articles(con, refs, None) == 5
    assert con.execute("SELECT count(*) FROM articles WHERE kind = 'reference'").fetchall() == [(5,)]


def test_stored_dates_answer_for_every_id_asked(con):
    store.save_articles(con, [(_doc(), "article", Decision()),
                              (_doc(id="a_2", url="https://bw.example/b", canonical_url="https://bw.example/b",
                                    published_at=None, date_confidence="low"), "article", Decision())], "run-1")
    assert store.stored_dates(con, ["a_2", "a_1", "missing", "a_1"]) == {
        "a_1": ("article", T0 - timedelta(hours=3), "high"), "a_2": ("article", None, "low"), "missing": None}
    assert store.stored_dates(con, []) == {}


def test_insert_columns_keeps_lists_and_numbers_exact_whatever_path_they_take(con):
    # Numbers of one Python type go in as typed arrays, lists of strings as JSON text:
    # what is stored must be what a value-by-value conversion stored.
    con.execute("CREATE TABLE typed (n BIGINT, i INTEGER, x DOUBLE, b BOOLEAN, words VARCHAR[])")
    store.insert_columns(con, "typed", [("n", "BIGINT"), ("i", "INTEGER"), ("x", "DOUBLE"), ("b", "BOOLEAN"),
                                        ("words", "VARCHAR[]")], [
        [-(2**63), 2**63 - 1, 7],
        [1, -2, 3],
        [0.1, -1e300, 2.5],
        [True, False, True],
        [["a\"b", "č ш", ""], [], ("x", None)],
    ])
    store.insert_columns(con, "typed", [("n", "BIGINT"), ("i", "INTEGER"), ("x", "DOUBLE"), ("b", "BOOLEAN"),
                                        ("words", "VARCHAR[]")], [[None], [None], [None], [None], [None]])
    assert con.execute("SELECT * FROM typed ORDER BY i NULLS LAST").fetchall() == [
        (2**63 - 1, -2, -1e300, False, []), (-(2**63), 1, 0.1, True, ['a"b', "č ш", ""]),
        (7, 3, 2.5, True, ["x", None]), (None, None, None, None, None)]
    with pytest.raises(duckdb.ConversionException):  # past 64 bits: DuckDB's own refusal, as before
        store.insert_columns(con, "typed", [("n", "BIGINT")], [[2**64]])


def test_insert_columns_takes_mixed_values_as_the_column_types_say(con):
    con.execute("CREATE TABLE mixed (n INTEGER, x DOUBLE, t TIMESTAMPTZ, s VARCHAR, raw BLOB)")
    plus2 = timezone(timedelta(hours=2))
    rows = store.insert_columns(con, "mixed", [("n", "INTEGER"), ("x", "DOUBLE"), ("t", "TIMESTAMPTZ"),
                                               ("s", "VARCHAR"), ("raw", "BLOB")], [
        [None, 2, 3],
        [1, 0.5, None],
        [T0.replace(tzinfo=None), T0.astimezone(plus2), None],  # naive means UTC
        ["ünï", None, ""],
        [b"\x00\xff", None, b""],
    ], "RETURNING n")
    assert rows == [(None,), (2,), (3,)]
    assert con.execute("SELECT * FROM mixed ORDER BY n NULLS FIRST").fetchall() == [
        (None, 1.0, T0, "ünï", b"\x00\xff"), (2, 0.5, T0, None, None), (3, None, None, "", b"")]


def test_repeated_times_are_stored_as_each_would_be_alone(con):
    # store._timestamps converts each distinct datetime once (a batch's tag rows repeat
    # one fetch time an article): equal instants in other zones, naive (UTC) and NULLs mixed.
    con.execute("CREATE TABLE times (i INTEGER, t TIMESTAMPTZ)")
    plus2 = timezone(timedelta(hours=2))
    values = [T0, None, T0.astimezone(plus2), T0.replace(tzinfo=None), T0 + timedelta(microseconds=1), T0, None,
              datetime(1, 1, 1, tzinfo=UTC)]
    store.insert_columns(con, "times", [("i", "INTEGER"), ("t", "TIMESTAMPTZ")], [list(range(len(values))), values])
    assert [t for _, t in con.execute("SELECT * FROM times ORDER BY i").fetchall()] == [
        None if v is None else v.replace(tzinfo=UTC) if v.tzinfo is None else v for v in values]


def test_a_text_list_reads_back_as_the_same_strings(con):
    values = ["", 'a"b', "back\\slash", "line\nbreak", "\x00nul", "č ш 東京 😀", "x" * 5000]
    for wanted in ([], values):
        got = con.execute(f"SELECT {store.text_list_sql('$1')}", [store.text_list(wanted)]).fetchone()
        assert got == (wanted,)


def test_strings_are_stored_exactly_whichever_array_carries_them(con):
    """Strings go in as a NumPy unicode array (store._unicode: DuckDB scans it in place)
    unless a value is not a str, ends in NUL (NumPy would drop it) or the column is too
    large; every path must store what was given."""
    con.execute("CREATE TABLE strs (s VARCHAR, words VARCHAR[])")
    values = ["a😀б", "", None, "nul inside \x00 kept", "ends in nul\x00", "ž" * 50]
    words = [["x", None], [], None, ["ends in nul\x00"], ["č"], ["y"]]
    columns = [("s", "VARCHAR"), ("words", "VARCHAR[]")]
    store.insert_columns(con, "strs", columns, [values, words])
    store.insert_columns(con, "strs", columns, [[values[0], 7], [None, None]])  # not all str: as objects
    big = "w" * (store._UNICODE_MAX_BYTES // 4 // 3 + 1)
    store.insert_columns(con, "strs", columns, [[big, big, big], [None, None, None]])  # too large: as objects
    assert con.execute("SELECT s, words FROM strs").fetchall() == [
        *zip(values, words, strict=True), (values[0], None), ("7", None), (big, None), (big, None), (big, None)]


def test_thousands_of_strings_are_typed_from_a_sample_only_when_every_value_is_one_type(con):
    """Columns of one Python type and no None are typed from DuckDB's sample (fast); a
    column with a None, or mixed types, from every value; the setting is put back."""
    n = 3000
    con.execute("CREATE TABLE strs (i BIGINT, s VARCHAR, b BLOB, mostly VARCHAR)")
    rows = [(i, f"text {i}", f"{i}".encode(), "x" if i != 2501 else None) for i in range(n)]
    columns = [("i", "BIGINT"), ("s", "VARCHAR"), ("b", "BLOB"), ("mostly", "VARCHAR")]
    store.bulk_insert(con, "strs", columns, rows)
    store.bulk_insert(con, "strs", columns[:3] + [("mostly", "VARCHAR")], [(n + i, f"t{i}", b"", "y") for i in range(n)])
    assert con.execute("SELECT * FROM strs WHERE i < ? ORDER BY i", [n]).fetchall() == rows
    assert con.execute("SELECT count(*), count(DISTINCT s), count(mostly) FROM strs").fetchall() == [(2 * n, 2 * n, 2 * n - 1)]
    assert con.execute("SELECT current_setting('pandas_analyze_sample')").fetchall() == [(2**31 - 1,)]


def test_thousands_of_rows_with_columns_all_or_mostly_null_are_stored_whole(con):
    """DuckDB 1.5.5 guesses an object column's type from 1,000 sampled values and failed
    ("no attribute 'first_valid_index'") on 2,000+ rows whose sample was all NULL: 5,000
    sources without an owner stopped every run. Big integers must also stay exact."""
    n = 5000
    con.execute("CREATE TABLE wide (i BIGINT, big BIGINT, flag BOOLEAN, t TIMESTAMPTZ, rare VARCHAR, none VARCHAR, "
                "rare_n INTEGER)")
    rare_at = 2501  # not among the sampled positions
    rows = [(i, 2**62 + i, i % 2 == 0, T0 + timedelta(seconds=i) if i % 3 else None,
             "rare" if i == rare_at else None, None, 7 if i == rare_at else None) for i in range(n)]
    store.bulk_insert(con, "wide", [("i", "BIGINT"), ("big", "BIGINT"), ("flag", "BOOLEAN"), ("t", "TIMESTAMPTZ"),
                                    ("rare", "VARCHAR"), ("none", "VARCHAR"), ("rare_n", "INTEGER")], rows)
    assert con.execute("SELECT * FROM wide ORDER BY i").fetchall() == rows

    states = [(FeedState(f"s{i:05d}", f"https://s{i}.example/feed"), T0, None) for i in range(n)]
    assert store.save_feed_states(con, states) == n
    assert store.save_feed_states(con, states) == n  # the same again: updated, not added
    assert con.execute("SELECT count(*), count(DISTINCT source), count(etag), min(last_attempt_at) "
                       "FROM feed_state").fetchall() == [(n, n, 0, T0)]


def test_a_writer_asks_the_lake_for_the_next_fetch_log_id_once_while_it_holds_the_lock(tmp_path, monkeypatch):
    """Numbers are counted in memory while this process holds the writer lock (no other
    process writes meanwhile); a rolled-back batch leaves a gap, never a number twice;
    every writing connection of the process draws from one count; a new hold asks again."""
    from monitor.storage.warehouse import close, connect

    asked = []
    real = store.next_number
    monkeypatch.setattr(store, "next_number", lambda con, table, column: asked.append(table) or real(con, table, column))
    entry = FetchLogEntry(url="https://a.rs/feed", kind="feed", outcome="ok", source="a", fetched_at=T0)
    first, second = connect(tmp_path / "w.ducklake"), connect(tmp_path / "w.ducklake")
    store.save_fetch_log(first, "r1", [entry, entry])
    with pytest.raises(RuntimeError), store.transaction(first):
        store.save_fetch_log(first, "r1", [entry])
        raise RuntimeError("the batch fails")
    store.save_fetch_log(second, "r1", [entry])
    store.save_fetch_log(first, "r1", [entry])
    close(first)
    close(second)
    con = connect(tmp_path / "w.ducklake")
    store.save_fetch_log(con, "r2", [entry])
    assert con.execute("SELECT id, run_id FROM fetch_log ORDER BY id").fetchall() == [
        (1, "r1"), (2, "r1"), (4, "r1"), (5, "r1"), (6, "r2")]
    assert asked == ["fetch_log", "fetch_log"]
    close(con)


def test_a_registry_saved_again_unchanged_writes_nothing_and_a_change_is_written(con):
    """Every run saves the registry; most runs with no change. In a lake each write is a
    snapshot and makes the end-of-run refresh recompute the outlets' copy rows."""
    outlets = [Source("a", "https://a.rs/feed", language="sr", cited_as=("Agencija A",)),
               Source("b", "https://b.rs/feed", homepage="https://www.bportal.rs/")]
    assert store.save_sources(con, outlets) == 2
    saved = con.execute("SELECT name, updated_at FROM sources ORDER BY name").fetchall()
    assert store.save_sources(con, list(reversed(outlets))) == 0  # the same registry, in another order
    assert con.execute("SELECT name, updated_at FROM sources ORDER BY name").fetchall() == saved
    assert store.save_sources(con, outlets[:1]) == 1  # b left the file: a is the registry now
    assert [s.name for s in store.last_loaded_sources(con)] == ["a"]
    assert store.save_sources(con, [outlets[0], Source("b", "https://b.rs/rss")]) == 2  # b back, changed
    assert con.execute("SELECT name, url FROM sources ORDER BY name").fetchall() == [
        ("a", "https://a.rs/feed"), ("b", "https://b.rs/rss")]
