"""fetch: the safe HTTP client. Replayed with `responses`; hostile cases on loopback."""

from __future__ import annotations

import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests
import responses
from responses import matchers

from hostile_server import HostileServer
from monitor.exceptions import (
    BlockedURLError,
    ConnectionFailedError,
    FeedError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    ResponseTooLargeError,
    TooManyRedirectsError,
)
from monitor.fetching.fetch import Fetcher, log_entry, parse_retry_after
from monitor.models import FetchLogEntry, FetchResult
from monitor.fetching.netguard import static_resolver
from monitor.settings import Settings

FEED = "http://feeds.example.org/rss.xml"
# Tiny limits so every hostile case ends in well under a second.
FAST = Settings(
    connect_timeout=0.5,
    read_timeout=0.3,
    total_timeout=0.8,
    max_body_bytes=1 << 20,
    max_redirects=3,
    max_retries=2,
    backoff_seconds=1.0,
    max_retry_after=60.0,
    per_host_delay=0.0,
)
LOOPBACK = FAST.with_(allow_private_hosts=("127.0.0.1",))


class Sleeps:
    """An injected sleep that records instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(round(seconds, 3))


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def fetcher(sleeps: Sleeps) -> Iterator[Fetcher]:
    with Fetcher(FAST, resolve=static_resolver(), sleep=sleeps) as f:
        yield f


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer() as srv:
        yield srv


@pytest.fixture
def loop_fetcher(sleeps: Sleeps) -> Iterator[Fetcher]:
    with Fetcher(LOOPBACK, sleep=sleeps) as f:
        yield f


# -- ordinary exchanges (responses) ---------------------------------------------------


@responses.activate
def test_a_200_gives_body_validators_and_our_user_agent(fetcher: Fetcher) -> None:
    responses.add(
        responses.GET,
        FEED,
        body=b"<rss/>",
        content_type="application/rss+xml",
        headers={"ETag": '"abc"', "Last-Modified": "Sat, 21 Nov 2026 10:00:00 GMT"},
        match=[matchers.header_matcher({"User-Agent": FAST.user_agent})],
    )
    result = fetcher.fetch(FEED)
    assert (result.url, result.final_url, result.status, result.body) == (FEED, FEED, 200, b"<rss/>")
    assert (result.content_type, result.etag, result.last_modified) == (
        "application/rss+xml",
        '"abc"',
        "Sat, 21 Nov 2026 10:00:00 GMT",
    )
    assert not result.not_modified
    assert result.fetched_at.tzinfo is not None and result.elapsed_ms >= 0


@responses.activate
def test_conditional_get_sends_validators_and_a_304_is_a_normal_empty_result(fetcher: Fetcher) -> None:
    validators = {"If-None-Match": '"abc"', "If-Modified-Since": "Sat, 21 Nov 2026 10:00:00 GMT"}
    responses.add(responses.GET, FEED, status=304, match=[matchers.header_matcher(validators)])
    result = fetcher.fetch(FEED, etag='"abc"', last_modified="Sat, 21 Nov 2026 10:00:00 GMT")
    assert result.not_modified and result.status == 304 and result.body == b""
    # The 304 carried no validators: the ones we sent are kept, so feed state survives.
    assert (result.etag, result.last_modified) == ('"abc"', "Sat, 21 Nov 2026 10:00:00 GMT")


@responses.activate
def test_redirects_are_followed_and_the_final_url_is_recorded(fetcher: Fetcher) -> None:
    responses.add(responses.GET, FEED, status=301, headers={"Location": "https://feeds.example.org/new.xml"})
    responses.add(responses.GET, "https://feeds.example.org/new.xml", status=302, headers={"Location": "/final"})
    responses.add(responses.GET, "https://feeds.example.org/final", body=b"<rss/>")
    result = fetcher.fetch(FEED)
    assert (result.url, result.final_url, result.body) == (FEED, "https://feeds.example.org/final", b"<rss/>")


@responses.activate
def test_a_redirect_to_a_private_address_is_refused_before_any_request() -> None:
    resolve = static_resolver({"evil.example.org": "10.0.0.5"})
    responses.add(responses.GET, FEED, status=302, headers={"Location": "http://evil.example.org/admin"})
    internal = responses.add(responses.GET, "http://evil.example.org/admin", body=b"secrets")
    with Fetcher(FAST, resolve=resolve) as f, pytest.raises(BlockedURLError) as info:
        f.fetch(FEED)
    assert info.value.reason == "blocked_address"
    assert internal.call_count == 0


@responses.activate
@pytest.mark.parametrize("target", ["file:///etc/passwd", "http://169.254.169.254/latest/meta-data/", "gopher://x/"])
def test_a_redirect_to_another_scheme_or_the_metadata_address_is_refused(fetcher: Fetcher, target: str) -> None:
    responses.add(responses.GET, FEED, status=302, headers={"Location": target})
    with pytest.raises(BlockedURLError):
        fetcher.fetch(FEED)


@responses.activate
def test_a_redirect_loop_is_detected(fetcher: Fetcher) -> None:
    responses.add(responses.GET, FEED, status=302, headers={"Location": "/b"})
    responses.add(responses.GET, "http://feeds.example.org/b", status=302, headers={"Location": "/rss.xml"})
    with pytest.raises(TooManyRedirectsError) as info:
        fetcher.fetch(FEED)
    assert info.value.reason == "redirect_loop"


@responses.activate
def test_a_redirect_chain_longer_than_the_cap_fails(fetcher: Fetcher) -> None:
    for i in range(FAST.max_redirects + 1):
        responses.add(responses.GET, f"http://feeds.example.org/{i}", status=302, headers={"Location": f"/{i + 1}"})
    responses.add(responses.GET, f"http://feeds.example.org/{FAST.max_redirects + 1}", body=b"too far")
    with pytest.raises(TooManyRedirectsError) as info:
        fetcher.fetch("http://feeds.example.org/0")
    assert info.value.reason == "too_many_redirects"


@responses.activate
def test_a_redirect_without_location_is_an_http_error(fetcher: Fetcher) -> None:
    responses.add(responses.GET, FEED, status=302)
    with pytest.raises(HTTPStatusError) as info:
        fetcher.fetch(FEED)
    assert info.value.status == 302


@responses.activate
@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 451])
def test_client_errors_other_than_429_are_not_retried(fetcher: Fetcher, sleeps: Sleeps, status: int) -> None:
    rsp = responses.add(responses.GET, FEED, status=status)
    with pytest.raises(HTTPStatusError) as info:
        fetcher.fetch(FEED)
    assert (info.value.status, info.value.reason, rsp.call_count, sleeps.calls) == (status, f"http_{status}", 1, [])


@responses.activate
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_statuses_are_retried_with_exponential_backoff(fetcher: Fetcher, sleeps: Sleeps, status: int) -> None:
    responses.add(responses.GET, FEED, status=status)
    responses.add(responses.GET, FEED, status=status)
    responses.add(responses.GET, FEED, body=b"<rss/>")
    assert fetcher.fetch(FEED).body == b"<rss/>"
    assert sleeps.calls == [1.0, 2.0]


@responses.activate
def test_retries_run_out_with_the_last_status(fetcher: Fetcher, sleeps: Sleeps) -> None:
    rsp = responses.add(responses.GET, FEED, status=503)
    with pytest.raises(HTTPStatusError) as info:
        fetcher.fetch(FEED)
    assert (info.value.status, info.value.retry_after, rsp.call_count) == (503, None, FAST.max_retries + 1)
    assert sleeps.calls == [1.0, 2.0]


@responses.activate
def test_retry_after_in_seconds_is_honoured(fetcher: Fetcher, sleeps: Sleeps) -> None:
    responses.add(responses.GET, FEED, status=429, headers={"Retry-After": "7"})
    responses.add(responses.GET, FEED, body=b"ok")
    assert fetcher.fetch(FEED).body == b"ok"
    assert sleeps.calls == [7.0]


@responses.activate
def test_retry_after_as_http_date_is_measured_from_the_server_date(fetcher: Fetcher, sleeps: Sleeps) -> None:
    headers = {"Date": "Sat, 21 Nov 2026 10:00:00 GMT", "Retry-After": "Sat, 21 Nov 2026 10:00:30 GMT"}
    responses.add(responses.GET, FEED, status=503, headers=headers)
    responses.add(responses.GET, FEED, body=b"ok")
    assert fetcher.fetch(FEED).body == b"ok"
    assert sleeps.calls == [30.0]


@responses.activate
def test_retry_after_beyond_the_cap_gives_up_at_once_and_says_when(fetcher: Fetcher, sleeps: Sleeps) -> None:
    rsp = responses.add(responses.GET, FEED, status=503, headers={"Retry-After": "3600"})
    with pytest.raises(HTTPStatusError) as info:
        fetcher.fetch(FEED)
    assert (info.value.status, info.value.retry_after, rsp.call_count, sleeps.calls) == (503, 3600.0, 1, [])


def test_parse_retry_after_reads_seconds_and_dates_and_ignores_junk() -> None:
    now = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    assert parse_retry_after("120", now=now) == 120.0
    assert parse_retry_after("Sat, 21 Nov 2026 10:02:00 GMT", now=now) == 120.0
    assert parse_retry_after("Sat, 21 Nov 2026 09:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("-5", now=now) is None
    assert parse_retry_after(None) is None


@responses.activate
def test_a_declared_length_over_the_cap_is_refused_without_reading(fetcher: Fetcher) -> None:
    responses.add(
        responses.GET,
        FEED,
        body=b"x",
        headers={"Content-Length": str(FAST.max_body_bytes + 1)},
        auto_calculate_content_length=False,
    )
    with pytest.raises(ResponseTooLargeError) as info:
        fetcher.fetch(FEED)
    assert info.value.reason == "too_large"


@responses.activate
def test_a_body_over_the_cap_is_refused_while_streaming(fetcher: Fetcher) -> None:
    responses.add(responses.GET, FEED, body=b"x" * (FAST.max_body_bytes + 1))
    with pytest.raises(ResponseTooLargeError):
        fetcher.fetch(FEED)
    responses.replace(responses.GET, FEED, body=b"x" * FAST.max_body_bytes)
    assert len(fetcher.fetch(FEED).body) == FAST.max_body_bytes


@responses.activate
def test_a_connection_error_from_the_transport_is_a_connection_failure(fetcher: Fetcher) -> None:
    responses.add(responses.GET, FEED, body=requests.ConnectionError("refused"))
    with pytest.raises(ConnectionFailedError) as info:
        fetcher.fetch(FEED)
    assert info.value.reason == "connection_failed"


def test_dns_failure_is_reported_as_reason_dns() -> None:
    with Fetcher(FAST, resolve=static_resolver(default=None)) as f, pytest.raises(ConnectionFailedError) as info:
        f.fetch(FEED)
    assert info.value.reason == "dns"


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://feeds.example.org/x", "not a url", "feeds.example.org/rss"]
)
def test_urls_we_cannot_or_must_not_fetch_fail_as_fetch_errors(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(FetchError) as info:
        fetcher.fetch(url)
    assert info.value.reason in {"blocked_scheme", "bad_url"}


# -- politeness -------------------------------------------------------------------------


@responses.activate
def test_requests_to_one_host_are_spaced_by_the_per_host_delay() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    responses.add(responses.GET, FEED, body=b"a")
    responses.add(responses.GET, "http://other.example.org/rss", body=b"b")
    with Fetcher(FAST.with_(per_host_delay=2.0), resolve=static_resolver(), sleep=sleep, clock=lambda: now[0]) as f:
        f.fetch(FEED)  # first request to the host: no wait
        f.fetch("http://other.example.org/rss")  # another host: no wait
        now[0] += 0.5
        f.fetch(FEED)  # 0.5 s after the first: waits the remaining 1.5 s
    assert slept == [1.5]


@responses.activate
def test_the_per_host_delay_holds_across_threads() -> None:
    stamps: list[float] = []
    lock = threading.Lock()

    def record(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        with lock:
            stamps.append(time.monotonic())
        return 200, {}, b"ok"

    responses.add_callback(responses.GET, FEED, callback=record)
    with Fetcher(FAST.with_(per_host_delay=0.05), resolve=static_resolver()) as f:
        threads = [threading.Thread(target=f.fetch, args=(FEED,)) for _ in range(5)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(stamps) == 5
    # The host's slots are reserved 50 ms apart from a first one no earlier than `started`,
    # and each request is stamped after its slot, however late its thread runs: so the k-th
    # stamp comes at least k slots after `started` (unspaced, all five come within ~10 ms).
    # Gaps between stamps are no bound: a thread late after its slot shrinks the next gap,
    # and a late first one the whole span (CI once saw 194 ms for 4 slots of 50).
    late = [round(stamp - started, 4) for stamp in sorted(stamps)]
    assert all(at >= k * 0.05 - 0.001 for k, at in enumerate(late)), late


# -- hostile servers on loopback ---------------------------------------------------------


def test_loopback_is_refused_unless_it_is_allowed(server: HostileServer) -> None:
    with Fetcher(FAST) as f, pytest.raises(BlockedURLError) as info:
        f.fetch(server.url("/ok?t=refused"))
    assert info.value.reason == "blocked_address"
    assert server.hits["/ok?t=refused"] == 0


def test_loopback_works_when_allowed_and_answers_304_to_its_etag(server: HostileServer, loop_fetcher: Fetcher) -> None:
    first = loop_fetcher.fetch(server.url("/ok"))
    second = loop_fetcher.fetch(server.url("/ok"), etag=first.etag)
    assert (first.status, first.body, first.etag) == (200, b"hello", '"v1"')
    assert (second.status, second.body, second.etag) == (304, b"", '"v1"')
    assert server.user_agents[-1] == LOOPBACK.user_agent


def test_dns_rebinding_is_caught_at_connect_time(server: HostileServer) -> None:
    # The resolver says "public", but the socket ends up on 127.0.0.1 (the system
    # resolver answers for localhost): the guard sees the real peer and refuses.
    lying = static_resolver({"localhost": "93.184.215.14"})
    with Fetcher(FAST, resolve=lying) as f, pytest.raises(BlockedURLError) as info:
        f.fetch(f"http://localhost:{server.port}/ok?t=rebind")
    assert info.value.reason == "blocked_address"
    assert server.hits["/ok?t=rebind"] == 0


@pytest.mark.alone
@pytest.mark.parametrize("path", ["/slow-drip", "/slow-headers"])
def test_a_server_trickling_bytes_fails_near_the_total_timeout(
    server: HostileServer, loop_fetcher: Fetcher, path: str
) -> None:
    # Ask for /ok first, so the slow request reuses a kept-alive connection: the
    # watchdog must see reused sockets, not only new ones.
    loop_fetcher.fetch(server.url(f"/ok?t={path}"))
    started = time.monotonic()
    with pytest.raises(FetchTimeoutError) as info:
        loop_fetcher.fetch(server.url(path))
    elapsed = time.monotonic() - started
    ports = dict(server.requests)
    assert ports[path] == ports[f"/ok?t={path}"]
    assert info.value.reason == "timeout"
    assert "total time cap" in str(info.value)
    assert LOOPBACK.total_timeout <= elapsed < LOOPBACK.total_timeout + 0.5


@pytest.mark.alone
@pytest.mark.parametrize("path", ["/hang", "/stall"])
def test_a_server_that_goes_silent_hits_the_read_timeout_and_is_not_retried(
    server: HostileServer, loop_fetcher: Fetcher, sleeps: Sleeps, path: str
) -> None:
    started = time.monotonic()
    with pytest.raises(FetchTimeoutError) as info:
        loop_fetcher.fetch(server.url(path))
    elapsed = time.monotonic() - started
    assert "total time cap" not in str(info.value)
    assert LOOPBACK.read_timeout <= elapsed < LOOPBACK.total_timeout
    assert (server.hits[path], sleeps.calls) == (1, [])


def test_a_gzip_bomb_stops_at_the_cap_without_being_inflated(server: HostileServer, loop_fetcher: Fetcher) -> None:
    assert len(server.bomb) < LOOPBACK.max_body_bytes  # small on the wire, 32 MB inflated
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLargeError, match="after decompression"):
            loop_fetcher.fetch(server.url("/gzip-bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * LOOPBACK.max_body_bytes


def test_a_body_without_length_is_capped_while_streaming(server: HostileServer, loop_fetcher: Fetcher) -> None:
    with pytest.raises(ResponseTooLargeError):
        loop_fetcher.fetch(server.url(f"/big?n={4 << 20}"))
    assert len(loop_fetcher.fetch(server.url("/big?n=1000")).body) == 1000


def test_a_body_that_is_not_the_gzip_it_claims_is_a_fetch_error(server: HostileServer, loop_fetcher: Fetcher) -> None:
    with pytest.raises(FetchError) as info:
        loop_fetcher.fetch(server.url("/bad-gzip"))
    assert info.value.reason == "bad_encoding"


def test_a_connection_reset_is_retried_then_reported(
    server: HostileServer, loop_fetcher: Fetcher, sleeps: Sleeps
) -> None:
    with pytest.raises(ConnectionFailedError) as info:
        loop_fetcher.fetch(server.url("/reset"))
    assert info.value.reason == "connection_reset"
    assert server.hits["/reset"] == LOOPBACK.max_retries + 1
    assert sleeps.calls == [1.0, 2.0]


def test_a_single_reset_is_recovered_by_the_retry(server: HostileServer, loop_fetcher: Fetcher) -> None:
    assert loop_fetcher.fetch(server.url("/flaky-reset?fail=1")).body == b"recovered"
    assert server.hits["/flaky-reset?fail=1"] == 2


def test_a_503_with_retry_after_is_waited_out_on_a_real_socket(
    server: HostileServer, loop_fetcher: Fetcher, sleeps: Sleeps
) -> None:
    assert loop_fetcher.fetch(server.url("/retry-after?fail=1&after=5")).body == b"recovered"
    assert sleeps.calls == [5.0]


def test_a_redirect_loop_on_a_real_socket_is_detected(server: HostileServer, loop_fetcher: Fetcher) -> None:
    with pytest.raises(TooManyRedirectsError):
        loop_fetcher.fetch(server.url("/loop/a"))


def test_a_real_redirect_to_the_metadata_address_is_refused(server: HostileServer, loop_fetcher: Fetcher) -> None:
    with pytest.raises(BlockedURLError):
        loop_fetcher.fetch(server.url("/redirect?to=http://169.254.169.254/latest/meta-data/"))


def test_a_refused_connection_is_a_connection_failure_and_not_retried(loop_fetcher: Fetcher, sleeps: Sleeps) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectionFailedError) as info:
        loop_fetcher.fetch(f"http://127.0.0.1:{port}/")
    assert info.value.reason == "connection_refused"
    assert sleeps.calls == []


# -- fetch_log rows ----------------------------------------------------------------------

AT = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def _result(status: int, body: bytes) -> FetchResult:
    return FetchResult(FEED, FEED + "?v=2", status, body, "text/xml", '"e"', None, 12.5, AT)


def test_log_entry_for_a_body_is_ok_with_status_and_size() -> None:
    assert log_entry(FEED, "feed", "N1", _result(200, b"<rss/>"), 12.5) == FetchLogEntry(
        url=FEED, kind="feed", outcome="ok", source="N1", final_url=FEED + "?v=2", status=200, bytes=6,
        elapsed_ms=12.5, fetched_at=AT,
    )  # fmt: skip


def test_log_entry_for_a_304_is_not_modified() -> None:
    assert log_entry(FEED, "feed", "N1", _result(304, b""), 3.0) == FetchLogEntry(
        url=FEED, kind="feed", outcome="not_modified", source="N1", final_url=FEED + "?v=2", status=304, bytes=0,
        elapsed_ms=3.0, fetched_at=AT,
    )  # fmt: skip


def test_log_entry_for_an_error_keeps_status_reason_and_message() -> None:
    err = HTTPStatusError("404 from " + FEED, status=404)
    assert log_entry(FEED, "page", None, err, 7.0, fetched_at=AT) == FetchLogEntry(
        url=FEED, kind="page", outcome="error", source=None, status=404, elapsed_ms=7.0, error="http_404",
        detail="404 from " + FEED, fetched_at=AT,
    )  # fmt: skip
    blocked = log_entry(FEED, "page", None, BlockedURLError("nope", reason="blocked_address"), 0.0)
    assert (blocked.outcome, blocked.status, blocked.error) == ("error", None, "blocked_address")
    assert blocked.detail == "nope"
    assert blocked.fetched_at is not None and blocked.fetched_at.tzinfo is not None
    bad_feed = log_entry(FEED, "feed", "N1", FeedError("not a feed"), 1.0, fetched_at=AT)
    assert (bad_feed.outcome, bad_feed.error) == ("error", "bad_feed")
