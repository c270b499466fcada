"""robots.txt for article pages.

Feeds exist to be polled, so only article pages are checked. ``/robots.txt`` is
fetched once per scheme+host+port through the run's ``Fetcher`` (so the SSRF guard,
the caps and the per-host spacing apply to it too) and remembered for the life of the
``RobotsPolicy`` object: one policy per run, no module-level cache.

When robots.txt cannot be read we follow RFC 9309 (section 2.3.1), which is also
Google's documented behaviour:

* **4xx** (404, 401, 403, 410, ...): "unavailable": there are no rules, so every page
  is allowed. Most news sites have no robots.txt at all; treating 404 as "deny" would
  stop us reading them.
* **429, 5xx, timeouts, resets, DNS or any other failure**: "unreachable": assume
  complete disallow for this host for the rest of the run. A site that is failing
  should not get more requests from us; the next run asks again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

from monitor.exceptions import BlockedURLError, FetchError, HTTPStatusError, RobotsDisallowedError
from monitor.fetching.fetch import Fetcher, log_entry
from monitor.models import FetchLogEntry, FetchResult

__all__ = ["RobotsPolicy", "robots_url"]


def robots_url(url: str) -> str:
    """The robots.txt URL that governs ``url`` (same scheme, host and port)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), "/robots.txt", "", ""))


def _parse(body: bytes) -> RobotFileParser:
    parser = RobotFileParser()
    # utf-8-sig drops a BOM, which would otherwise hide the first "User-agent" line.
    parser.parse(body.decode("utf-8-sig", errors="replace").splitlines())
    # robotparser applies the first matching rule; RFC 9309 says the longest match wins
    # (an Allow on a tie). Sorting each group's rules longest-first makes the two agree,
    # so "Disallow: /" + "Allow: /news/" allows /news/. Wildcards (* and $) are not
    # understood by robotparser and such rules never match: we err towards fetching.
    entries = list(getattr(parser, "entries", []))
    default = getattr(parser, "default_entry", None)
    for entry in [*entries, *([default] if default is not None else [])]:
        entry.rulelines.sort(key=lambda rule: (-len(rule.path), not rule.allowance))
    return parser


def _allow_all() -> RobotFileParser:
    return _parse(b"")  # parse() marks the parser as read; with no rules, all is allowed


def _disallow_all() -> RobotFileParser:
    return _parse(b"User-agent: *\nDisallow: /\n")


class RobotsPolicy:
    """Answers "may we fetch this page?" from each host's robots.txt, read once per host."""

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        user_agent: str | None = None,
        on_log: Callable[[FetchLogEntry], None] | None = None,
    ) -> None:
        self._fetcher = fetcher
        # robotparser matches the product token before the first "/" ("monitor").
        self._agent = user_agent or fetcher.settings.user_agent
        self._on_log = on_log
        self._parsers: dict[str, RobotFileParser] = {}
        self._lock = threading.Lock()
        self._host_locks: dict[str, threading.Lock] = {}

    def allowed(self, url: str) -> bool:
        """True if robots.txt lets our user agent fetch ``url``."""
        return self._parser_for(url).can_fetch(self._agent, url)

    def ensure_allowed(self, url: str) -> None:
        """Raise RobotsDisallowedError if robots.txt forbids ``url``."""
        if not self.allowed(url):
            raise RobotsDisallowedError(f"robots.txt of {robots_url(url)} disallows {url}")

    def crawl_delay(self, url: str) -> float | None:
        """The Crawl-delay robots.txt asks of us for this host, if any."""
        delay = self._parser_for(url).crawl_delay(self._agent)
        return None if delay is None else float(delay)

    def _parser_for(self, url: str) -> RobotFileParser:
        key = robots_url(url)
        with self._lock:
            parser = self._parsers.get(key)
            if parser is not None:
                return parser
            host_lock = self._host_locks.setdefault(key, threading.Lock())
        # One fetch per host even when threads ask at once; other hosts are not held up.
        with host_lock:
            with self._lock:
                parser = self._parsers.get(key)
            if parser is None:
                parser = self._load(key)
                with self._lock:
                    self._parsers[key] = parser
        return parser

    def _load(self, robots: str) -> RobotFileParser:
        outcome: FetchResult | FetchError
        try:
            outcome = self._fetcher.fetch(robots)
        except HTTPStatusError as exc:
            outcome = exc
            # 429 means "slow down", which RFC 9309 and Google treat like a 5xx.
            parser = _allow_all() if 400 <= exc.status < 500 and exc.status != 429 else _disallow_all()
        except BlockedURLError:
            # The host itself is refused (SSRF guard): say so, rather than blame robots.txt.
            raise
        except FetchError as exc:
            outcome = exc
            parser = _disallow_all()
        else:
            parser = _parse(outcome.body)
        if self._on_log is not None:
            self._on_log(log_entry(robots, "robots", None, outcome, _elapsed(outcome)))
        return parser


def _elapsed(outcome: FetchResult | FetchError) -> float:
    return outcome.elapsed_ms if isinstance(outcome, FetchResult) else 0.0
