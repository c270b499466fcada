"""Per-document stages: canonical URL, trusted date, and the judged Document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.models import Extracted, FeedEntry
from monitor.pipeline import (
    build_document,
    choose_canonical_url,
    choose_date,
    document_from_feed_content,
    document_from_file,
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
