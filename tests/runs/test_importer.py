"""`monitor import`'s loop (``runs.importer``): what it sets around the writer."""

from __future__ import annotations

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
