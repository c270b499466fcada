"""Every error monitor raises on purpose, as one tree.

    MonitorError                      base: catch this to catch anything of ours
    ├── ConfigError                   a sources file, settings value or taxonomy is invalid
    ├── WarehouseError                the DuckDB warehouse cannot be used
    │   ├── WarehouseLockedError      another process holds the writer lock
    │   └── QueryRefusedError         `monitor sql` got a statement that does not only read
    ├── FetchError                    an HTTP fetch did not produce a usable body
    │   ├── BlockedURLError           scheme, host or resolved address is not allowed (SSRF)
    │   ├── RobotsDisallowedError     robots.txt forbids the page
    │   ├── TooManyRedirectsError     redirect cap reached or a loop
    │   ├── ResponseTooLargeError     body (after decompression) exceeds the cap
    │   ├── FetchTimeoutError         connect/read timeout or total-time cap exceeded
    │   ├── ConnectionFailedError     DNS failure, refused or reset connection
    │   └── HTTPStatusError           a 4xx/5xx answer (status kept on the exception)
    ├── FeedError                     a body is not a usable RSS/Atom/RDF or JSON feed
    ├── ExtractionError               a page yields no article text
    ├── DigestError                   a digest cannot be built (e.g. a bad week string)
    └── PrefectUnavailableError       no Prefect API to run a flow on (the temporary server did not start)

Expected failures (a 404, a malformed feed, a refused address) are caught where they
happen, recorded with their reason in ``fetch_log`` and the run goes on. Anything else
is a bug and is allowed to raise.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error raised on purpose by monitor."""

    #: short machine-readable reason stored in fetch_log.error (e.g. "blocked_address")
    reason: str = "error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class ConfigError(MonitorError):
    reason = "config"


class WarehouseError(MonitorError):
    reason = "warehouse"


class WarehouseLockedError(WarehouseError):
    reason = "warehouse_locked"


class QueryRefusedError(WarehouseError):
    reason = "query_refused"


class FetchError(MonitorError):
    reason = "fetch_failed"


class BlockedURLError(FetchError):
    reason = "blocked_url"


class RobotsDisallowedError(FetchError):
    reason = "robots_disallowed"


class TooManyRedirectsError(FetchError):
    reason = "too_many_redirects"


class ResponseTooLargeError(FetchError):
    reason = "too_large"


class FetchTimeoutError(FetchError):
    reason = "timeout"


class ConnectionFailedError(FetchError):
    reason = "connection_failed"


class HTTPStatusError(FetchError):
    reason = "http_status"

    def __init__(self, message: str, *, status: int, retry_after: float | None = None) -> None:
        super().__init__(message, reason=f"http_{status}")
        self.status = status
        self.retry_after = retry_after


class FeedError(MonitorError):
    reason = "bad_feed"


class ExtractionError(MonitorError):
    reason = "no_article_text"


class DigestError(MonitorError):
    reason = "digest"


class PrefectUnavailableError(MonitorError):
    """No Prefect API to run a flow on: the command line's temporary server did not start."""

    reason = "prefect_unavailable"


#: Page failures that are final: such a link is not fetched again for a week
#: (store.permanently_failed_urls), even while its feed keeps listing it.
FINAL_PAGE_REASONS = ("http_404", "http_410", "blocked_url", "robots_disallowed", "no_article_text")

#: Reasons a fetch failed that trying again later may fix: the network, or a server that
#: was busy or down; a feed with such a page is read in full next run to try it again.
#: Between the two (a 403, a page too large or too complex) a link is tried again only
#: when its feed changes.
_PASSING_REASONS = frozenset({"timeout", "connection_failed", "connection_refused", "connection_reset", "dns",
                              "tls", "fetch_failed", "http_408", "http_425", "http_429",
                              # a source's raw-byte share of the run was spent (ingest.page_budget)
                              "source_budget"})


def may_pass(reason: str | None) -> bool:
    """Whether a failure with this fetch_log reason may not happen again on a later try."""
    return reason is not None and (reason in _PASSING_REASONS or reason.startswith("http_5"))
