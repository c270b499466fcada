"""robots: one robots.txt per host, read through the Fetcher, failures per RFC 9309."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
import responses

from hostile_server import HostileServer
from monitor.exceptions import BlockedURLError, RobotsDisallowedError
from monitor.fetching.fetch import Fetcher
from monitor.models import FetchLogEntry
from monitor.fetching.netguard import static_resolver
from monitor.fetching.robots import RobotsPolicy, robots_url
from monitor.settings import Settings

SITE = "https://news.example.org"
ROBOTS = SITE + "/robots.txt"
FAST = Settings(
    connect_timeout=0.5, read_timeout=0.3, total_timeout=0.8, max_retries=0, per_host_delay=0.0, backoff_seconds=0.0
)


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(FAST, resolve=static_resolver()) as f:
        yield f


def _robots(body: str, status: int = 200) -> responses.BaseResponse:
    return responses.add(responses.GET, ROBOTS, body=body.encode(), status=status)


def test_robots_url_keeps_scheme_host_and_port() -> None:
    assert robots_url("HTTPS://News.Example.org:8443/a/b?c=d#e") == "https://news.example.org:8443/robots.txt"


@responses.activate
def test_disallowed_paths_are_refused_and_others_allowed(fetcher: Fetcher) -> None:
    _robots("User-agent: *\nDisallow: /private/\n")
    policy = RobotsPolicy(fetcher)
    assert policy.allowed(SITE + "/news/1")
    assert not policy.allowed(SITE + "/private/memo")
    with pytest.raises(RobotsDisallowedError) as info:
        policy.ensure_allowed(SITE + "/private/memo")
    assert info.value.reason == "robots_disallowed"


@responses.activate
def test_robots_txt_is_fetched_once_per_host_for_the_life_of_the_policy(fetcher: Fetcher) -> None:
    rsp = _robots("User-agent: *\nDisallow: /x\n")
    other = responses.add(responses.GET, "https://other.example.org/robots.txt", body=b"")
    policy = RobotsPolicy(fetcher)
    for i in range(5):
        policy.allowed(f"{SITE}/news/{i}")
    policy.allowed("https://other.example.org/a")
    assert (rsp.call_count, other.call_count) == (1, 1)
    RobotsPolicy(fetcher).allowed(SITE + "/news/1")  # a new policy (a new run) asks again
    assert rsp.call_count == 2


@responses.activate
def test_threads_asking_at_once_cause_one_fetch(fetcher: Fetcher) -> None:
    rsp = _robots("User-agent: *\nDisallow: /x\n")
    policy = RobotsPolicy(fetcher)
    answers: list[bool] = []
    threads = [threading.Thread(target=lambda: answers.append(policy.allowed(SITE + "/a"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [True] * 8 and rsp.call_count == 1


@responses.activate
def test_our_own_group_applies_before_the_wildcard_group(fetcher: Fetcher) -> None:
    _robots("User-agent: monitor\nDisallow: /private/\n\nUser-agent: *\nDisallow: /\n")
    policy = RobotsPolicy(fetcher)
    assert policy.allowed(SITE + "/news/1")
    assert not policy.allowed(SITE + "/private/1")


@responses.activate
def test_the_longest_matching_rule_wins_as_rfc_9309_says(fetcher: Fetcher) -> None:
    _robots("User-agent: *\nDisallow: /\nAllow: /news/\n")
    policy = RobotsPolicy(fetcher)
    assert policy.allowed(SITE + "/news/2026/balkans")
    assert not policy.allowed(SITE + "/about")


@responses.activate
def test_a_byte_order_mark_does_not_hide_the_first_group(fetcher: Fetcher) -> None:
    responses.add(responses.GET, ROBOTS, body=b"\xef\xbb\xbfUser-agent: *\nDisallow: /secret\n")
    assert not RobotsPolicy(fetcher).allowed(SITE + "/secret/1")


@responses.activate
def test_crawl_delay_is_reported(fetcher: Fetcher) -> None:
    _robots("User-agent: *\nCrawl-delay: 5\n")
    policy = RobotsPolicy(fetcher)
    assert policy.crawl_delay(SITE + "/a") == 5.0


@responses.activate
@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_a_4xx_robots_means_no_rules_and_everything_is_allowed(fetcher: Fetcher, status: int) -> None:
    _robots("User-agent: *\nDisallow: /\n", status=status)
    assert RobotsPolicy(fetcher).allowed(SITE + "/news/1")


@responses.activate
@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_5xx_or_429_robots_disallows_the_host_for_this_run(fetcher: Fetcher, status: int) -> None:
    rsp = _robots("", status=status)
    policy = RobotsPolicy(fetcher)
    assert not policy.allowed(SITE + "/news/1")
    assert not policy.allowed(SITE + "/news/2")
    assert rsp.call_count == 1


@responses.activate
def test_an_unreachable_robots_disallows_the_host(fetcher: Fetcher) -> None:
    responses.add(responses.GET, ROBOTS, body=requests.ConnectionError("connection refused"))
    assert not RobotsPolicy(fetcher).allowed(SITE + "/news/1")


def test_robots_on_a_private_host_goes_through_the_ssrf_guard_and_says_so() -> None:
    logged: list[FetchLogEntry] = []
    with Fetcher(FAST, resolve=static_resolver({"intranet.example.org": "10.0.0.7"})) as f:
        policy = RobotsPolicy(f, on_log=logged.append)
        # The refusal is the address's, not robots.txt's: it propagates as BlockedURLError.
        with pytest.raises(BlockedURLError) as exc:
            policy.allowed("http://intranet.example.org/page")
    assert exc.value.reason == "blocked_address"
    assert logged == []


@responses.activate
def test_each_robots_fetch_is_reported_as_a_fetch_log_entry(fetcher: Fetcher) -> None:
    _robots("User-agent: *\nDisallow:\n")
    responses.add(responses.GET, "https://other.example.org/robots.txt", status=404)
    logged: list[FetchLogEntry] = []
    policy = RobotsPolicy(fetcher, on_log=logged.append)
    policy.allowed(SITE + "/a")
    policy.allowed(SITE + "/b")
    policy.allowed("https://other.example.org/a")
    rows = [(e.url, e.kind, e.outcome, e.status, e.error) for e in logged]
    assert rows == [
        (ROBOTS, "robots", "ok", 200, None),
        ("https://other.example.org/robots.txt", "robots", "error", 404, "http_404"),
    ]


def test_robots_from_a_real_loopback_server_is_obeyed() -> None:
    settings = FAST.with_(allow_private_hosts=("127.0.0.1",))
    with HostileServer(bomb_bytes=0, robots_body=b"User-agent: *\nDisallow: /ok\n") as srv, Fetcher(settings) as f:
        policy = RobotsPolicy(f)
        assert not policy.allowed(srv.url("/ok"))
        assert policy.allowed(srv.url("/news"))
        assert srv.hits["/robots.txt"] == 1
        assert srv.user_agents == [settings.user_agent]
