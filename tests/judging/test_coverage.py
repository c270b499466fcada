"""Coverage gaps: the rule (monitor.judging.coverage), then whole ingest runs replayed with
responses into a real DuckDB file: a feed that outran our polls is recorded once, with
its bounds, and shows in source_activity and the digest; an overlapping one is not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
import responses

from monitor.judging.coverage import CoverageGap, coverage_gap
from monitor.reports.digest import build_digest, render_markdown
from monitor.exceptions import FINAL_PAGE_REASONS, may_pass
from monitor.runs.ingest import run_ingest
from monitor.models import FeedEntry, Source
from monitor.settings import load_settings
from monitor.reports.weeks import format_week
from monitor.storage.warehouse import connect as _lake

LAST_POLL = datetime(2026, 10, 5, 12, tzinfo=UTC)
NOW = datetime(2026, 10, 12, 12, tzinfo=UTC)


def _entry(n: int, published: datetime | None) -> FeedEntry:
    return FeedEntry(source="s", url=f"https://s.example/{n}", canonical_url=f"https://s.example/{n}",
                     published=published)


def _gap(entries: list[FeedEntry], *, seen: int = 0, last: datetime | None = LAST_POLL) -> CoverageGap | None:
    return coverage_gap("s", entries, seen=seen, last_success_at=last, now=NOW, poll_minutes=60)


def test_a_feed_whose_items_are_all_new_and_newer_than_the_last_poll_is_a_gap_bounded_by_both():
    entries = [_entry(3, datetime(2026, 10, 9, tzinfo=UTC)), _entry(2, datetime(2026, 10, 8, 6, 30, tzinfo=UTC))]
    gap = _gap(entries)
    assert gap is not None
    assert (gap.source, gap.since, gap.until, gap.items, gap.dated) == (
        "s", LAST_POLL, datetime(2026, 10, 8, 6, 30, tzinfo=UTC), 2, True)
    assert gap.reason == (
        "possible gap: none of its 2 items was seen before and the oldest is dated 2026-10-08 06:30 UTC, "
        "after the last successful poll at 2026-10-05 12:00 UTC, so items published in between may have "
        "left the feed unread (its poll_minutes is 60: lower it to poll the feed more often)")


def test_an_undated_feed_with_nothing_seen_is_a_gap_up_to_the_time_it_was_seen():
    gap = _gap([_entry(1, None), _entry(2, None)])
    assert gap is not None and (gap.until, gap.dated) == (NOW, False)
    assert "they carry no dates" in gap.reason


@pytest.mark.parametrize("entries, seen, last", [
    # One item seen before: this window overlaps the last one.
    ([_entry(1, datetime(2026, 10, 9, tzinfo=UTC)), _entry(2, datetime(2026, 10, 10, tzinfo=UTC))], 1, LAST_POLL),
    # The first poll of a feed: what came before is a backlog, not a gap.
    ([_entry(1, datetime(2026, 10, 9, tzinfo=UTC))], 0, None),
    # All new, but the oldest item predates the last poll: the feed still reaches back to it.
    ([_entry(1, datetime(2026, 10, 9, tzinfo=UTC)), _entry(2, datetime(2026, 10, 4, tzinfo=UTC))], 0, LAST_POLL),
    # Partly dated: the dated items decide, and one predates the last poll.
    ([_entry(1, None), _entry(2, datetime(2026, 10, 5, 12, tzinfo=UTC))], 0, LAST_POLL),
    # An empty feed says nothing about what it dropped.
    ([], 0, LAST_POLL),
])
def test_no_gap_when_the_windows_overlap_or_there_is_no_earlier_poll(entries, seen, last):
    assert _gap(entries, seen=seen, last=last) is None


# --------------------------------------------------------------------------- whole runs

FEED_URL = "http://gaps.example/feed.xml"
HOSTS = ["gaps.example"]
PAGE = ("<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        + "<p>Serbia and Russia signed another agreement on gas deliveries through TurkStream, officials "
          "in Belgrade said on {day}, while Brussels warned that story {n} could slow accession talks "
          "and Kosovo's government asked for guarantees.</p>" * 4
        + "</article></body></html>")


def _feed(items: list[tuple[int, str | None]]) -> str:
    def item(n: int, date: str | None) -> str:
        when = f"<pubDate>{date}</pubDate>" if date else ""
        return f"<item><title>Gas story {n}</title><link>http://gaps.example/story-{n}</link>{when}</item>"
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Gaps</title>'
            + "".join(item(n, d) for n, d in items) + "</channel></rss>")


def _day(n: int) -> str:
    return f"{n:02d} Oct 2026 09:00:00 GMT"


@pytest.fixture
def served() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get("http://gaps.example/robots.txt", body="User-agent: *\nAllow: /\n")
        for n in range(1, 10):
            mock.get(f"http://gaps.example/story-{n}", body=PAGE.format(title=f"Gas story {n}", day=_day(n), n=n),
                     content_type="text/html; charset=utf-8")
        yield mock


def _serve_feed(mock: responses.RequestsMock, items: list[tuple[int, str | None]]) -> None:
    mock.upsert(responses.GET, FEED_URL, body=_feed(items), content_type="application/rss+xml")


def _ingest(db):
    settings = load_settings(environ={}, db_path=db, allow_private_hosts=HOSTS, per_host_delay=0.0,
                             backoff_seconds=0.0)
    return run_ingest(settings, sources=[Source(name="gaps", url=FEED_URL, poll_minutes=120)])


def _polled_at(db, when: datetime) -> None:
    # Runs happen now; the feed's dates are October's. Moving the last poll back in time is
    # what a feed polled on 5 October and next on the 12th looks like.
    con = _lake(db)
    con.execute("UPDATE feed_state SET last_success_at = ?", [when])
    con.close()


def test_a_feed_that_outran_the_polls_is_recorded_once_with_its_bounds(served, tmp_path):
    db = tmp_path / "w.duckdb"
    _serve_feed(served, [(3, _day(3)), (2, _day(2)), (1, _day(1))])
    first = _ingest(db)
    assert first.get("coverage_gaps", 0) == 0  # a first poll is a backlog, not a gap
    _polled_at(db, LAST_POLL)
    # Six stories since: the feed holds three, so stories 4-6 left it before we looked.
    _serve_feed(served, [(9, _day(9)), (8, _day(8)), (7, _day(7))])
    second = _ingest(db)
    assert second["coverage_gaps"] == 1 and second["stories"] == 3
    con = _lake(db, read_only=True)
    rows = con.execute("SELECT source, since, until, items, dated, run_id LIKE 'ingest-%', reason "
                       "FROM coverage_gaps").fetchall()
    assert rows == [("gaps", LAST_POLL, datetime(2026, 10, 7, 9, tzinfo=UTC), 3, True, True,
                     "possible gap: none of its 3 items was seen before and the oldest is dated 2026-10-07 "
                     "09:00 UTC, after the last successful poll at 2026-10-05 12:00 UTC, so items published "
                     "in between may have left the feed unread (its poll_minutes is 120: lower it to poll the feed "
                     "more often)")]
    assert con.execute("SELECT source, status, coverage_gaps FROM source_activity").fetchall() == [
        ("gaps", "gaps", 1)]
    digest = render_markdown(build_digest(con, format_week(datetime.now(UTC).date())))
    assert "| gaps | gaps |" in digest and "1 coverage gap: items may have left the feed unread" in digest
    con.close()


def test_a_gap_found_again_by_a_resumed_run_is_not_recorded_twice(served, tmp_path, monkeypatch):
    import monitor.runs.ingest as ingest

    db = tmp_path / "w.duckdb"
    _serve_feed(served, [(1, _day(1))])
    _ingest(db)
    _polled_at(db, LAST_POLL)
    _serve_feed(served, [(8, _day(8)), (7, _day(7))])

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the run dies after the gap is found, before any page is saved

    with monkeypatch.context() as m:
        m.setattr(ingest, "fetch_pages", killed)
        with pytest.raises(KeyboardInterrupt):
            _ingest(db)
    again = _ingest(db)  # the same feed against the same last poll
    assert again["stories"] == 2 and again.get("coverage_gaps", 0) == 0  # found again, already recorded
    con = _lake(db, read_only=True)
    assert con.execute("SELECT count(*), min(since) FROM coverage_gaps").fetchall() == [(1, LAST_POLL)]
    con.close()


@pytest.mark.parametrize("second_feed", [
    [(4, _day(4)), (3, _day(3))],                 # overlaps: story 3 was read last time
    [(6, _day(6)), (4, "04 Oct 2026 09:00:00 GMT")],  # all new, but reaches back before the last poll
])
def test_a_feed_that_still_reaches_the_last_poll_records_no_gap(served, tmp_path, second_feed):
    db = tmp_path / "w.duckdb"
    _serve_feed(served, [(3, _day(3)), (2, _day(2))])
    _ingest(db)
    _polled_at(db, LAST_POLL)
    _serve_feed(served, second_feed)
    assert _ingest(db).get("coverage_gaps", 0) == 0
    con = _lake(db, read_only=True)
    assert con.execute("SELECT count(*) FROM coverage_gaps").fetchall() == [(0,)]
    assert con.execute("SELECT status FROM source_activity").fetchall() == [("ok",)]
    con.close()


def test_a_page_that_failed_for_a_passing_reason_is_fetched_again_next_run_and_is_no_gap(served, tmp_path):
    db = tmp_path / "w.duckdb"
    served.upsert(responses.GET, "http://gaps.example/story-5", status=503, body="busy")
    _serve_feed(served, [(5, _day(6))])
    first = _ingest(db)
    assert first["page_errors"] == 1 and first.get("stories", 0) == 0
    con = _lake(db, read_only=True)
    # The feed's validators are not kept, so an unchanged feed is read again in full.
    assert con.execute("SELECT body_hash, etag FROM feed_state").fetchall() == [(None, None)]
    con.close()
    _polled_at(db, LAST_POLL)
    served.upsert(responses.GET, "http://gaps.example/story-5",
                  body=PAGE.format(title="Gas story 5", day=_day(5), n=5), content_type="text/html; charset=utf-8")
    # The same feed, byte for byte. Its one item was tried before: not a gap, and now stored.
    second = _ingest(db)
    assert second.get("coverage_gaps", 0) == 0 and second["stories"] == 1
    con = _lake(db, read_only=True)
    assert con.execute("SELECT body_hash IS NOT NULL FROM feed_state").fetchall() == [(True,)]
    con.close()


def test_a_page_gone_for_good_does_not_make_the_feed_read_again(served, tmp_path):
    db = tmp_path / "w.duckdb"
    served.upsert(responses.GET, "http://gaps.example/story-5", status=404, body="gone")
    _serve_feed(served, [(5, _day(6)), (4, _day(4))])
    _ingest(db)
    con = _lake(db, read_only=True)
    assert con.execute("SELECT body_hash IS NOT NULL FROM feed_state").fetchall() == [(True,)]
    con.close()
    assert _ingest(db)["feeds_unchanged"] == 1


@pytest.mark.parametrize("reason, passes", [
    ("timeout", True), ("connection_reset", True), ("dns", True), ("http_503", True), ("http_500", True),
    ("http_429", True), ("http_404", False), ("http_410", False), ("http_403", False), ("too_large", False),
    ("blocked_address", False), ("robots_disallowed", False), ("no_article_text", False),
    ("page_too_complex", False), (None, False),
])
def test_only_failures_a_later_try_may_fix_make_the_feed_read_again(reason, passes):
    assert may_pass(reason) is passes


def test_no_final_page_failure_is_also_one_that_may_pass():
    assert [r for r in FINAL_PAGE_REASONS if may_pass(r)] == []
