"""Fetch one URL safely: SSRF checks, caps, retries, politeness, conditional GET.

Everything the network can do to us is turned into a ``FetchError`` subclass (see
``monitor.exceptions``) with a short ``reason`` code, and ``log_entry`` is the one place
that turns a result or an error into a ``fetch_log`` row. docs/hostile-cases.md lists
each hostile case and the test that proves the behaviour.

Limits, all from ``Settings``:

* ``connect_timeout`` / ``read_timeout``: per connect and per socket read.
* ``total_timeout``: wall-clock cap for one attempt (all its redirect hops). Socket
  timeouts cannot catch a server that sends one byte a second, so a watchdog timer
  shuts the socket down when the cap is reached.
* ``max_body_bytes``: counted on the *decoded* stream, so a gzip bomb stops at the cap.
* ``max_redirects``, followed by hand so every hop is checked by ``netguard``.
* ``max_retries`` with exponential backoff for 429/500/502/503/504 and connection
  resets, honouring ``Retry-After`` up to ``max_retry_after``.
* ``per_host_delay`` between two requests to the same host, across threads.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Literal
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.structures import CaseInsensitiveDict

from monitor.exceptions import (
    ConnectionFailedError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    MonitorError,
    ResponseTooLargeError,
    TooManyRedirectsError,
)
from monitor.models import FetchLogEntry, FetchResult
from monitor.fetching.netguard import GuardedAdapter, Resolver, check_url, system_resolve
from monitor.settings import Settings

__all__ = ["RETRY_STATUSES", "Fetcher", "log_entry", "parse_retry_after"]

#: Answers that mean "try again later" (RFC 9110 / 6585); other 4xx/5xx are final.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Decoded bytes per read: small enough that one read past the cap costs little memory.
CHUNK_BYTES = 64 * 1024

LogKind = Literal["feed", "page", "robots", "file"]


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date), or None."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())


@dataclass
class _Watchdog:
    """Shuts down the sockets of one attempt when its wall-clock cap is reached."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    sockets: list[socket.socket] = field(default_factory=list)
    fired: bool = False
    done: bool = False

    def attach(self, sock: socket.socket) -> None:
        with self.lock:
            if self.done:
                return
            self.sockets.append(sock)
            if self.fired:
                _shutdown(sock)

    def fire(self) -> None:
        with self.lock:
            if self.done:
                return
            self.fired = True
            for sock in self.sockets:
                _shutdown(sock)

    def finish(self) -> None:
        with self.lock:
            self.done = True
            self.sockets.clear()


def _shutdown(sock: socket.socket) -> None:
    # shutdown() (unlike close()) wakes a recv() blocked in another thread. The plain
    # socket method is used on TLS sockets too, so no TLS state is touched from here.
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by its owner: nothing left to interrupt


@dataclass
class _Budget:
    """The wall-clock deadline of one attempt, shared by its redirect hops."""

    deadline: float


class _Retry(Exception):
    """An attempt failed in a way worth retrying; carries the error to raise at the end."""

    def __init__(self, error: FetchError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class Fetcher:
    """One HTTP client for a run: a requests Session behind the SSRF guard, with caps."""

    def __init__(
        self,
        settings: Settings,
        *,
        resolve: Resolver | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._resolve = resolve or system_resolve
        self._sleep = sleep
        self._clock = clock
        self._local = threading.local()  # the current attempt's watchdog, per thread
        self._host_lock = threading.Lock()
        self._next_slot: dict[str, float] = {}
        self._session = requests.Session()
        # Proxies and .netrc from the environment are ignored: through a proxy the
        # socket's peer is the proxy, and the SSRF guard could not see the real target.
        self._session.trust_env = False
        self._session.headers["User-Agent"] = settings.user_agent
        adapter = GuardedAdapter(settings.allow_private_hosts, on_socket=self._on_socket, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """GET ``url`` (conditionally); a 304 is a normal result with an empty body."""
        started = self._clock()
        s = self.settings
        for attempt in range(s.max_retries + 1):
            try:
                return self._attempt(url, etag, last_modified, started)
            except _Retry as retry:
                if retry.retry_after is not None and retry.retry_after > s.max_retry_after:
                    raise retry.error from None  # the server wants a break longer than we wait
                if attempt == s.max_retries:
                    raise retry.error from None
                backoff = s.backoff_seconds * (2**attempt)
                self._sleep(max(backoff, retry.retry_after or 0.0))
        raise AssertionError("unreachable: the loop returns or raises")

    # -- one attempt: redirect hops under one wall-clock deadline -----------------------

    def _attempt(self, url: str, etag: str | None, last_modified: str | None, started: float) -> FetchResult:
        s = self.settings
        budget = _Budget(self._clock() + s.total_timeout)
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        seen = {url}
        for _hop in range(s.max_redirects + 1):
            outcome = self._exchange(current, headers, budget)
            if isinstance(outcome, str):
                if outcome in seen:
                    raise TooManyRedirectsError(f"redirect loop at {outcome} (from {url})", reason="redirect_loop")
                seen.add(outcome)
                current = outcome
                continue
            status, body, resp_headers = outcome
            not_modified = status == 304
            return FetchResult(
                url=url,
                final_url=current,
                status=status,
                body=body,
                content_type=resp_headers.get("Content-Type"),
                # A 304 may omit the validators; keep the ones we sent so state survives.
                etag=resp_headers.get("ETag") or (etag if not_modified else None),
                last_modified=resp_headers.get("Last-Modified") or (last_modified if not_modified else None),
                elapsed_ms=(self._clock() - started) * 1000.0,
                fetched_at=datetime.now(UTC),
            )
        raise TooManyRedirectsError(f"more than {s.max_redirects} redirects from {url}")

    def _exchange(
        self, url: str, headers: dict[str, str], budget: _Budget
    ) -> str | tuple[int, bytes, CaseInsensitiveDict[str]]:
        """One request/response: the next URL for a redirect, else (status, body, headers)."""
        s = self.settings
        prepared = self._prepare(url, headers)
        assert prepared.url is not None  # prepare() always sets it
        check_url(prepared.url, s.allow_private_hosts, self._resolve)
        # Politeness waits are ours, not the server's: they do not use up its time.
        budget.deadline += self._wait_turn(prepared.url)
        remaining = budget.deadline - self._clock()
        if remaining <= 0:
            raise FetchTimeoutError(f"total time cap of {s.total_timeout:g} s reached before {url}")
        watchdog = _Watchdog()
        timer = threading.Timer(remaining, watchdog.fire)
        timer.daemon = True
        self._local.watchdog = watchdog
        timer.start()
        try:
            resp = self._session.send(
                prepared,
                stream=True,
                allow_redirects=False,
                timeout=(min(s.connect_timeout, remaining), min(s.read_timeout, remaining)),
            )
            try:
                outcome = self._read(url, resp)
            finally:
                resp.close()
            if watchdog.fired:
                # The shutdown may look like a clean end of a body without Content-Length.
                raise FetchTimeoutError(f"total time cap of {s.total_timeout:g} s reached for {url}")
            return outcome
        except MonitorError:
            raise
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _translate(exc, url, watchdog.fired, s.total_timeout) from exc
        finally:
            timer.cancel()
            watchdog.finish()
            self._local.watchdog = None

    def _read(
        self, url: str, resp: requests.Response
    ) -> str | tuple[int, bytes, CaseInsensitiveDict[str]]:
        status = resp.status_code
        if status in REDIRECT_STATUSES:
            location = resp.headers.get("Location")
            if not location:
                raise HTTPStatusError(f"{status} redirect without Location from {url}", status=status)
            return urljoin(url, location)
        if status in RETRY_STATUSES:
            retry_after = parse_retry_after(resp.headers.get("Retry-After"), now=_server_date(resp))
            error = HTTPStatusError(f"{status} from {url}", status=status, retry_after=retry_after)
            raise _Retry(error, retry_after)
        if status >= 300 and status != 304:
            raise HTTPStatusError(f"{status} from {url}", status=status)
        body = b"" if status == 304 else self._read_body(url, resp)
        return status, body, resp.headers

    def _read_body(self, url: str, resp: requests.Response) -> bytes:
        cap = self.settings.max_body_bytes
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap and "Content-Encoding" not in resp.headers:
            raise ResponseTooLargeError(f"{url} declares {declared} bytes, cap is {cap}")
        chunks: list[bytes] = []
        total = 0
        # iter_content reads raw with decode_content=True: we count decoded bytes, so a
        # compressed body is capped by what it inflates to, not by what it weighs.
        for chunk in resp.iter_content(CHUNK_BYTES):
            total += len(chunk)
            if total > cap:
                raise ResponseTooLargeError(f"{url} body exceeds {cap} bytes (after decompression)")
            chunks.append(chunk)
        return b"".join(chunks)

    def _prepare(self, url: str, headers: dict[str, str]) -> requests.PreparedRequest:
        try:
            return self._session.prepare_request(requests.Request("GET", url, headers=headers))
        except (requests.RequestException, ValueError, urllib3.exceptions.LocationParseError) as exc:
            check_url(url, self.settings.allow_private_hosts, self._resolve)  # the precise reason, if any
            raise FetchError(f"cannot prepare a request for {url!r}: {exc}", reason="bad_url") from exc

    def _on_socket(self, sock: socket.socket) -> None:
        watchdog: _Watchdog | None = getattr(self._local, "watchdog", None)
        if watchdog is not None:
            watchdog.attach(sock)

    def _wait_turn(self, url: str) -> float:
        """Sleep until this host's next slot (reserved under a lock, slept outside it); the wait."""
        delay = self.settings.per_host_delay
        if delay <= 0:
            return 0.0
        host = (urlsplit(url).hostname or "").lower()
        with self._host_lock:
            now = self._clock()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + delay
        if slot <= now:
            return 0.0
        self._sleep(slot - now)
        return slot - now


def _server_date(resp: requests.Response) -> datetime | None:
    """The response's Date header: an HTTP-date Retry-After is relative to the server's clock."""
    value = resp.headers.get("Date")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (requests and urllib3 nest them three deep)."""
    todo: list[BaseException] = [exc]
    seen: set[int] = set()
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo.extend(x for x in (e.__cause__, e.__context__, getattr(e, "reason", None)) if isinstance(x, BaseException))
        todo.extend(a for a in e.args if isinstance(a, BaseException))


def _translate(exc: BaseException, url: str, watchdog_fired: bool, total: float) -> FetchError | _Retry:
    """Map a requests/urllib3/socket error to our tree; resets come back as _Retry."""
    chain = list(_causes(exc))
    detail = f"{url}: {exc}"
    if watchdog_fired:
        return FetchTimeoutError(f"total time cap of {total:g} s reached for {url}")
    if any(isinstance(e, urllib3.exceptions.NameResolutionError | socket.gaierror) for e in chain):
        return ConnectionFailedError(detail, reason="dns")
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return ConnectionFailedError(detail, reason="connection_refused")
    # urllib3's NewConnectionError subclasses ConnectTimeoutError for history's sake.
    timeouts = requests.Timeout | urllib3.exceptions.TimeoutError | TimeoutError
    if any(isinstance(e, timeouts) and not isinstance(e, urllib3.exceptions.NewConnectionError) for e in chain):
        return FetchTimeoutError(detail)
    if any(isinstance(e, requests.exceptions.SSLError | urllib3.exceptions.SSLError) for e in chain):
        return ConnectionFailedError(detail, reason="tls")
    if any(isinstance(e, requests.exceptions.ContentDecodingError) for e in chain):
        return FetchError(detail, reason="bad_encoding")
    reset_types = (
        ConnectionResetError,
        ConnectionAbortedError,
        BrokenPipeError,
        urllib3.exceptions.ProtocolError,
        requests.exceptions.ChunkedEncodingError,
    )
    if any(isinstance(e, reset_types) for e in chain):
        return _Retry(ConnectionFailedError(detail, reason="connection_reset"))
    if isinstance(exc, requests.ConnectionError | OSError):
        return ConnectionFailedError(detail)
    return FetchError(detail)


def log_entry(
    url: str,
    kind: LogKind,
    source: str | None,
    result_or_error: FetchResult | MonitorError,
    elapsed_ms: float,
    *,
    fetched_at: datetime | None = None,
) -> FetchLogEntry:
    """The fetch_log row for one fetch: ok / not_modified with its result, or error with its reason."""
    if isinstance(result_or_error, FetchResult):
        r = result_or_error
        return FetchLogEntry(
            url=url,
            kind=kind,
            outcome="not_modified" if r.not_modified else "ok",
            source=source,
            final_url=r.final_url,
            status=r.status,
            bytes=len(r.body),
            elapsed_ms=elapsed_ms,
            fetched_at=fetched_at or r.fetched_at,
        )
    err = result_or_error
    return FetchLogEntry(
        url=url,
        kind=kind,
        outcome="error",
        source=source,
        status=err.status if isinstance(err, HTTPStatusError) else None,
        elapsed_ms=elapsed_ms,
        error=err.reason,
        detail=str(err),
        fetched_at=fetched_at or datetime.now(UTC),
    )
