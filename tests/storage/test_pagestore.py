"""Raw pages in pack files beside the warehouse: what is saved reads back whole, a
rolled-back or killed batch leaves nothing that is read, and a missing pack is a clear error."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

import duckdb
import pytest

from monitor.storage import pagestore, store
from monitor.exceptions import WarehouseError
from monitor.models import Document
from monitor.storage.warehouse import close, connect

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Decision:
    match = None
    note = None


def _doc(n: int, raw: bytes | None) -> Document:
    return Document(id=f"a_{n}", source="bw", url=f"https://bw.example/{n}", canonical_url=f"https://bw.example/{n}",
                    title=f"Story {n}", text=f"Body {n}.", fetched_at=T0, published_at=T0, date_source="feed",
                    date_confidence="high", content_hash=f"h{n}", word_count=2,
                    raw=pagestore.compress_page(raw) if raw is not None else None)


def _html(n: int) -> bytes:
    return f"<html><body><p>Page {n} about Serbia and Russia.</p>{'<p>filler</p>' * n}</body></html>".encode()


def test_append_returns_offsets_into_the_newest_pack_and_read_returns_each_blob(tmp_path):
    name, offsets = pagestore.append(tmp_path, [b"first", b"second!"])
    assert (name, offsets) == ("000000.pack", [0, 5])
    assert pagestore.append(tmp_path, [b"third"]) == ("000000.pack", [12])
    assert [pagestore.read(tmp_path, name, o, n) for o, n in ((0, 5), (5, 7), (12, 5))] == [
        b"first", b"second!", b"third"]


def test_a_full_pack_is_closed_and_the_next_batch_begins_a_new_one(tmp_path, monkeypatch):
    monkeypatch.setattr(pagestore, "PACK_MAX_BYTES", 10)
    assert pagestore.append(tmp_path, [b"123456", b"7890"]) == ("000000.pack", [0, 6])  # a batch is not split
    assert pagestore.append(tmp_path, [b"abc"]) == ("000001.pack", [0])
    assert pagestore.append(tmp_path, [b"de"]) == ("000001.pack", [3])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000000.pack", "000001.pack"]


def test_bytes_left_by_a_killed_batch_are_skipped_by_the_next(tmp_path):
    pagestore.append(tmp_path, [b"kept"])
    with open(tmp_path / "000000.pack", "ab") as pack:  # a run killed mid-write
        pack.write(b"half a fr")
    assert pagestore.append(tmp_path, [b"next"]) == ("000000.pack", [13])
    assert pagestore.read(tmp_path, "000000.pack", 13, 4) == b"next"


def test_a_missing_or_truncated_pack_is_a_clear_error(tmp_path):
    pagestore.append(tmp_path, [b"0123456789"])
    with pytest.raises(WarehouseError, match="ends before the raw page at offset 5"):
        pagestore.read(tmp_path, "000000.pack", 5, 10)
    with pytest.raises(WarehouseError, match="must be copied with the warehouse"):
        pagestore.read(tmp_path, "000007.pack", 0, 1)


def test_a_warehouse_on_disk_keeps_pages_in_packs_and_one_in_memory_inline(tmp_path):
    disk = connect(tmp_path / "w.duckdb")
    memory = connect(":memory:")
    assert pagestore.pages_dir(disk) == tmp_path / "w.duckdb.data" / "pages"  # under the lake's data path
    assert pagestore.pages_dir(memory) is None
    for con in (disk, memory):
        assert store.save_articles(con, [(_doc(1, _html(1)), "article", Decision()),
                                         (_doc(2, None), "article", Decision())], "r1") == 2
        assert store.read_page(con, "a_1") == _html(1)
        assert store.read_page(con, "a_2") is None  # saved without a page
    assert disk.execute("SELECT article_id, url, encoding, raw, pack, pack_offset FROM pages").fetchall() == [
        ("a_1", "https://bw.example/1", "zstd", None, "000000.pack", 0)]
    assert memory.execute("SELECT pack, raw IS NOT NULL FROM pages").fetchall() == [(None, True)]
    close(disk)
    memory.close()


def test_a_rolled_back_batch_leaves_no_row_and_no_bytes_and_a_resaved_batch_reads_back(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    with pytest.raises(RuntimeError), store.transaction(con):
        store.save_articles(con, [(_doc(1, _html(1)), "article", Decision())], "r1")
        raise RuntimeError("killed before the commit")
    assert con.execute("SELECT count(*) FROM pages").fetchone() == (0,)
    with store.transaction(con):
        store.save_articles(con, [(_doc(1, _html(1)), "article", Decision()),
                                  (_doc(3, _html(3)), "article", Decision())], "r2")
    with store.transaction(con):  # the same batch again (a resumed run): no second copy
        assert store.save_articles(con, [(_doc(3, _html(3)), "article", Decision())], "r3") == 0
    close(con)
    reader = connect(tmp_path / "w.duckdb", read_only=True)
    first_offset = reader.execute("SELECT min(pack_offset) FROM pages").fetchone()
    assert first_offset == (0,)  # the rolled-back batch's bytes were cut off the pack
    assert reader.execute("SELECT count(*) FROM pages").fetchone() == (2,)
    assert store.read_page(reader, "a_1") == _html(1)
    assert store.read_page(reader, "a_3") == _html(3)
    close(reader)
    pack_size = (tmp_path / "w.duckdb.data" / "pages" / "000000.pack").stat().st_size
    assert pack_size == sum(len(_doc(n, _html(n)).raw or b"") for n in (1, 3))


def test_a_pack_that_cannot_be_written_is_a_clear_error_and_its_batch_stores_nothing(tmp_path, monkeypatch):
    con = connect(tmp_path / "w.duckdb")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pagestore.os, "fsync", disk_full)
    with pytest.raises(WarehouseError, match="Cannot write raw pages to .*No space left on device"):
        with store.transaction(con):
            store.save_articles(con, [(_doc(1, _html(1)), "article", Decision())], "r1")
    assert con.execute("SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM pages)").fetchone() == (0, 0)
    close(con)


def test_rows_saved_before_packs_still_read(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    con.execute("INSERT INTO pages (article_id, url, encoding, raw) VALUES ('old', 'u', 'zlib', ?)",
                [zlib.compress(b"<html>old</html>")])
    assert store.read_page(con, "old") == b"<html>old</html>"
    assert store.read_page(con, "never-saved") is None
    close(con)
