"""Per-document stages: canonical URL, trusted date, and the judged Document."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.exceptions import ExtractionError
from monitor.models import Extracted, FeedEntry
from monitor.reading.extract import extract_article
from monitor.pipeline import (
    PageRead,
    build_document,
    build_documents,
    choose_canonical_url,
    choose_date,
    document_from_feed_content,
    document_from_file,
    documents_from_files,
    make_judge,
)
from monitor.settings import DEFAULT_TAXONOMY, SEEDS_DIR

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
JUDGE = make_judge(DEFAULT_TAXONOMY)
BODY = ("Serbia took delivery of Russian Pantsir air defence systems in Belgrade on Monday, "
        "the defence ministry said, despite US warnings of sanctions over the arms deal. ") * 6


def test_a_same_site_canonical_link_is_trusted():
    assert choose_canonical_url("https://bw.example/a?utm_source=x", "https://www.bw.example/2026/a") == \
        "https://www.bw.example/2026/a"


def test_a_canonical_link_to_another_site_or_to_the_home_page_is_ignored():
    assert choose_canonical_url("https://bw.example/a", "https://partner.example/a") == "https://bw.example/a"
    assert choose_canonical_url("https://bw.example/a", "https://bw.example/") == "https://bw.example/a"
    assert choose_canonical_url("https://bw.example/a", "javascript:alert(1)") == "https://bw.example/a"


def test_a_local_file_takes_its_declared_http_url():
    assert choose_canonical_url("file:///tmp/a.html", "https://bw.example/2026/a") == "https://bw.example/2026/a"


def test_feed_timestamps_win_then_page_dates_then_the_fetch_time():
    feed, page = NOW - timedelta(days=2), NOW - timedelta(days=3)
    assert choose_date(feed_published=feed, page_published=page, fetched_at=NOW) == (feed, "feed", "high")
    assert choose_date(feed_published=None, page_published=page, fetched_at=NOW) == (page, "page", "high")
    midnight = datetime(2026, 11, 17, tzinfo=UTC)
    assert choose_date(feed_published=None, page_published=midnight, fetched_at=NOW) == (midnight, "page", "medium")
    assert choose_date(feed_published=None, page_published=None, fetched_at=NOW) == (None, "fetched", "low")


def test_implausible_dates_are_not_trusted():
    assert choose_date(feed_published=NOW + timedelta(days=30), page_published=datetime(1970, 1, 1, tzinfo=UTC),
                       fetched_at=NOW) == (None, "fetched", "low")


def test_build_document_tags_judges_and_fingerprints():
    entry = FeedEntry(source="bw", url="https://bw.example/a?utm_source=rss", canonical_url="https://bw.example/a",
                      guid="g1", title="Feed title", published=NOW - timedelta(hours=5))
    extracted = Extracted(url="https://bw.example/a", canonical_url="https://bw.example/a", title="Pantsir in Belgrade",
                          text=BODY, language="en", sitename="BW")
    doc = build_document(extracted, judge=JUDGE, fetched_at=NOW, source="bw", entry=entry,
                         final_url="https://bw.example/a", raw=b"<html>raw</html>")
    assert (doc.url, doc.canonical_url, doc.title, doc.guid) == (
        "https://bw.example/a", "https://bw.example/a", "Pantsir in Belgrade", "g1")
    assert (doc.published_at, doc.date_source, doc.date_confidence) == (NOW - timedelta(hours=5), "feed", "high")
    assert {"country:serbia", "country:russia", "weapon_system:pantsir", "theme:arms_transfers"} <= {
        t.concept_id for t in doc.tags}
    assert doc.relevance is not None and doc.relevance.relevant
    assert doc.content_hash == doc.fingerprint.content_hash and doc.word_count == len(BODY.split())
    assert doc.raw is not None and doc.raw != b"<html>raw</html>"  # compressed
    assert doc.taxonomy_version == JUDGE.version


def test_feed_full_text_stands_in_for_a_page_that_failed():
    entry = FeedEntry(source="sh", url="https://sh.example/a", canonical_url="https://sh.example/a", title="T",
                      content_html="<p>" + BODY + "</p>", published=NOW)
    doc = document_from_feed_content(entry, judge=JUDGE, fetched_at=NOW, reason="http_503")
    assert doc is not None and doc.extractor == "feed-content" and doc.raw is None
    assert doc.notes == ("page unavailable (http_503); text from the feed",)
    no_content = FeedEntry(source="sh", url="https://sh.example/b", canonical_url="https://sh.example/b")
    assert document_from_feed_content(no_content, judge=JUDGE, fetched_at=NOW, reason="x") is None


def test_a_text_file_is_keyed_by_its_content_and_dated_as_a_file(tmp_path):
    seed = SEEDS_DIR / "004_09818d3b2f5a7cd7.txt"
    copy = tmp_path / "copy.txt"
    copy.write_bytes(seed.read_bytes())
    a = document_from_file(seed, judge=JUDGE, source=None, fetched_at=NOW)
    b = document_from_file(copy, judge=JUDGE, source=None, fetched_at=NOW)
    assert a.id == b.id and a.id.startswith("f_")
    assert a.title == "Russia is playing with fire in the Balkans"
    assert (a.date_source, a.date_confidence, a.published_at) == ("file", "low", None)


def test_files_judged_as_a_batch_are_the_documents_judged_one_by_one(tmp_path):
    # documents_from_files runs each stage over the whole batch (for the CPU's caches):
    # the documents are those of one file at a time, in order, and a file that fails
    # has its error in its place while the others go on.
    pages = [
        tmp_path / "a.html", tmp_path / "b.txt", tmp_path / "broken.html", tmp_path / "gone.html",
        tmp_path / "c.html", tmp_path / "d.html",
    ]
    pages[0].write_text(f"<html><head><title>Pantsir</title></head><body><article><p>{BODY}</p>"
                        "</article></body></html>", encoding="utf-8")
    pages[1].write_bytes((SEEDS_DIR / "004_09818d3b2f5a7cd7.txt").read_bytes())
    pages[2].write_bytes(b"\x00\x01\x02 binary \x00" * 50)
    # c repeats a's body under its own canonical URL; d is a Cyrillic page with a declared one.
    pages[4].write_text(f"<html><head><title>Again</title><link rel='canonical' href='https://bw.example/c'>"
                        f"</head><body><article><p>{BODY}</p></article></body></html>", encoding="utf-8")
    pages[5].write_text("<html><head><title>Пантсир</title><link rel='canonical' href='https://bw.example/d'>"
                        "</head><body><article><p>" + "Србија је у Београду преузела руске системе Панцир. " * 12
                        + "</p></article></body></html>", encoding="utf-8")
    files = [(p, p.resolve().as_uri()) for p in pages]
    batch = documents_from_files(files, judge=JUDGE, source="local", fetched_at=NOW)
    assert len(batch) == len(pages)
    assert isinstance(batch[2], ExtractionError) and batch[2].reason == "not_html"
    assert isinstance(batch[3], FileNotFoundError)
    for (path, url), got in zip(files, batch):
        if isinstance(got, Exception):
            continue
        alone = document_from_file(path, judge=JUDGE, source="local", fetched_at=NOW, url=url)
        assert got == alone
        if path.suffix == ".html":  # languages identified after extraction, as extraction does
            assert got.language == extract_article(path.read_bytes(), url).language
    assert [d.title for d in batch if not isinstance(d, Exception)] == [
        "Pantsir", "Russia is playing with fire in the Balkans", "Again", "Пантсир"]
    assert batch[4].canonical_url == "https://bw.example/c" and batch[5].script == "cyrillic"
    assert [d.language for d in batch if not isinstance(d, Exception)] == ["en", "en", "en", "sr-Cyrl"]


def test_a_page_read_again_takes_the_judgement_of_its_first_reading():
    extracted = Extracted(url="https://bw.example/a", canonical_url="https://bw.example/a", title="Pantsir",
                          text=BODY, language="en")
    first = build_document(extracted, judge=JUDGE, fetched_at=NOW, source="bw", raw=b"<html>a</html>")
    other = Extracted(url="https://bw.example/b", canonical_url="https://bw.example/b", title="Other",
                      text=BODY + " More.", language="en")
    again, changed = build_documents([
        PageRead(replace(extracted, url="https://bw.example/a2"), NOW, "bw", same_as=first),
        PageRead(other, NOW, "bw", same_as=first),  # another text: judged afresh
    ], judge=JUDGE)
    assert again.tags is first.tags and again.fingerprint is first.fingerprint and again.raw is None
    assert changed.fingerprint is not first.fingerprint and changed.fingerprint.word_count == first.fingerprint.word_count + 1
