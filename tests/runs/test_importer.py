"""`monitor import`'s loop (``runs.importer``): what it sets around the writer."""

from __future__ import annotations

from pathlib import Path

from monitor.runs import importer
from monitor.storage.warehouse import current_snapshot
from monitor.runs.ingest import IngestSession
from monitor.settings import load_settings

PAGE = """<html><head><title>Serbia signs a gas deal with Russia</title></head><body><article>
<h1>Serbia signs a gas deal with Russia</h1>
{paragraphs}
</article></body></html>"""


def _threads(session: IngestSession) -> int:
    row = session.con.execute("SELECT current_setting('threads')").fetchone()
    assert row is not None
    return int(row[0])


def test_import_saves_on_one_duckdb_thread_and_gives_the_setting_back(tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(3):
        paragraphs = "\n".join(f"<p>Paragraph {k} of story {i}: Belgrade and Moscow signed a three-year gas "
                               f"contract on day {k}, officials said in Belgrade on Tuesday.</p>" for k in range(8))
        (docs / f"{i}.html").write_text(PAGE.format(paragraphs=paragraphs), encoding="utf-8")
    with IngestSession.open(load_settings(environ={}, db_path=tmp_path / "w.duckdb"), kind="import") as session:
        session.con.execute("SET threads = 2")
        seen: list[int] = []
        save = session.save_documents

        def saving(batch, **kwargs):  # type: ignore[no-untyped-def]
            seen.append(_threads(session))
            return save(batch, **kwargs)

        monkeypatch.setattr(session, "save_documents", saving)
        counts = importer.import_paths(session, [docs])
        assert counts["stories"] == 3
        assert seen == [importer.IMPORT_WRITER_THREADS] == [1]
        assert _threads(session) == 2


def _story(i: int) -> str:
    paragraphs = "\n".join(f"<p>Paragraph {k} of story {i}: Belgrade and Moscow signed gas contract number {i} "
                           f"on day {k}, officials said in Belgrade on Tuesday.</p>" for k in range(8))
    return PAGE.format(paragraphs=paragraphs)


def test_each_batch_and_its_files_fetch_log_rows_are_one_lake_commit(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(3):
        (docs / f"{i}.html").write_text(_story(i), encoding="utf-8")
    (docs / "3.html").write_bytes(b"")  # refused: nothing to read
    settings = load_settings(environ={}, db_path=tmp_path / "w.duckdb").with_(save_batch=2)
    with IngestSession.open(settings, kind="import") as session:
        before = current_snapshot(session.con)
        counts = importer.import_paths(session, [docs])
        after = current_snapshot(session.con)
        rows = session.con.execute(
            "SELECT regexp_extract(url, '[0-9]+[.]html$'), kind, outcome, error IS NOT NULL, run_id = ? "
            "FROM fetch_log ORDER BY id", [session.run_id]).fetchall()
    assert (counts["stories"], counts["errors"]) == (3, 1)
    assert rows == [("0.html", "file", "ok", False, True), ("1.html", "file", "ok", False, True),
                    ("2.html", "file", "ok", False, True), ("3.html", "file", "error", True, True)]
    # two batches (files 0-1, then 2 and the refused 3), two snapshots: the log rides with its batch
    assert after - before == 2


def test_two_worker_processes_store_what_one_worker_does(tmp_path):
    # Judged in worker processes, a chunk of files at a time, stage by stage; saved by this
    # one writer in the files' order: the same rows as one worker judging batch by batch.
    # 70 files: two full chunks and a part, copies and a bad file across chunk boundaries.
    from monitor.settings import SEEDS_DIR

    docs = tmp_path / "docs"
    docs.mkdir()
    seeds = sorted(SEEDS_DIR.glob("*.txt"))
    for i in range(70):
        if i % 9 == 4:
            # A copy of the story before, with a line of its own (not the same file).
            (docs / f"{i:03}.html").write_text(_story(i - 1).replace("</article>", f"<p>Via outlet {i}.</p></article>"),
                                               encoding="utf-8")
        elif i % 23 == 5:
            (docs / f"{i:03}.html").write_bytes(b"\x00binary\x00" * 40)  # refused
        elif i % 10 == 7:
            (docs / f"{i:03}.txt").write_bytes(seeds[i // 10 % len(seeds)].read_bytes())
        else:
            (docs / f"{i:03}.html").write_text(_story(i), encoding="utf-8")
    tables = {}
    for workers in (1, 2):
        settings = load_settings(environ={}, db_path=tmp_path / f"w{workers}.duckdb").with_(save_batch=25)
        with IngestSession.open(settings, kind="import") as session:
            counts = importer.import_paths(session, [docs], workers=workers)
            tables[workers] = (dict(counts), *[session.con.execute(query).fetchall() for query in (
                "SELECT id, title, language, duplicate_of, duplicate_kind, relevant, content_hash "
                "FROM articles ORDER BY id",
                "SELECT article_id, concept_id, score, evidence FROM article_tags ORDER BY ALL",
                "SELECT url, outcome, error FROM fetch_log ORDER BY ALL",
            )])
    assert tables[1] == tables[2]
    counts, articles, tags, log = tables[1]
    # The bad files; the copies, and seed texts that copy the reference texts stored.
    assert counts["errors"] == 3 and counts["duplicates"] >= 8
    assert len(log) == 70 and len(articles) > 50 and len(tags) > 100


def test_the_runs_counters_after_each_batch_are_what_the_warehouse_holds(tmp_path, monkeypatch):
    # What a run cut short (kill -9) leaves in `runs` is the counters saved with its last
    # batch: they must count what is stored then, at every batch, not only the first.
    import json

    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(9):
        text = _story(i if i % 3 else max(i - 1, 0)).replace("</article>", f"<p>Line {i}.</p></article>")
        (docs / f"{i}.html").write_text(text, encoding="utf-8")
    settings = load_settings(environ={}, db_path=tmp_path / "w.duckdb").with_(save_batch=3)
    seen = []
    with IngestSession.open(settings, kind="import") as session:
        save = session.save_documents

        def saving(batch, **kwargs):  # type: ignore[no-untyped-def]
            counts = save(batch, **kwargs)
            (stats,), = session.con.execute("SELECT stats FROM runs").fetchall()
            stats = json.loads(stats)
            stored = session.con.execute("SELECT count(*) FROM articles WHERE kind = 'article'").fetchall()[0][0]
            seen.append((sum(stats.get(f"net_{k}", 0) for k in ("stories", "copies", "off_topic")), stored))
            return counts

        monkeypatch.setattr(session, "save_documents", saving)
        importer.import_paths(session, [docs])
    assert seen[:3] == [(3, 3), (6, 6), (9, 9)]


def test_file_uris_are_what_resolve_gives_through_linked_folders_and_files(tmp_path, monkeypatch):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.html").write_text("<p>x</p>")
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    (tmp_path / "f.html").symlink_to(tmp_path / "real" / "a.html")
    monkeypatch.chdir(tmp_path / "real")
    paths = [tmp_path / "linked" / "a.html", tmp_path / "f.html", Path("a.html"), Path("../real/a.html"),
             tmp_path / "linked" / ".." / "f.html", tmp_path / "real" / "gone.html"]

    uris = importer._file_uris(paths)

    assert uris == [p.resolve().as_uri() for p in paths]
    assert uris[:5] == [(tmp_path / "real" / "a.html").resolve().as_uri()] * 5


def test_an_import_tunes_the_collector_while_it_runs_and_gives_it_back(tmp_path, monkeypatch):
    import gc

    site = tmp_path / "site"
    site.mkdir()
    (site / "a.txt").write_text("Gas deal signed in Belgrade\n\n" + "\n\n".join(
        f"Russia and Serbia signed a gas deal in Belgrade on day {i} of the talks, officials said." for i in range(12)))
    settings = load_settings(environ={}, db_path=tmp_path / "w.duckdb")
    frozen_while_judging = []
    judge_files = importer.documents_from_files

    def watched(*args, **kwargs):
        frozen_while_judging.append((gc.get_freeze_count(), gc.get_threshold()))
        return judge_files(*args, **kwargs)

    monkeypatch.setattr(importer, "documents_from_files", watched)
    assert gc.get_freeze_count() == 0
    with IngestSession.open(settings, kind="import") as session:
        counts = importer.import_paths(session, [site])

    assert counts["stories"] + counts["off_topic"] == 1, counts
    before = gc.get_threshold()
    (frozen, thresholds), = frozen_while_judging
    assert frozen > 1000 and thresholds == (importer.IMPORT_GC_THRESHOLD, *before[1:])
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


def test_a_session_and_the_workers_forkserver_load_the_language_model_before_any_page(tmp_path):
    import subprocess
    import sys

    from monitor.reading import language

    settings = load_settings(environ={}, db_path=tmp_path / "w.duckdb")
    IngestSession.open(settings, kind="import").close()  # a new warehouse reads its seeds
    language._identifier.cache_clear()
    with IngestSession.open(settings, kind="import"):  # an existing one reads no text
        assert language._identifier.cache_info().currsize == 1
    # What the import's forkserver imports before forking its workers (importer._judged_files).
    probe = ("import monitor.runs.worker_preload\n"
             "from monitor.reading.language import _identifier\n"
             "print(_identifier.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
