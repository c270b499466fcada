"""Serve the bundled demo corpus over loopback HTTP, behaving like real outlets.

The corpus (``demo/corpus``) is a set of fictional outlets' feeds and article pages
plus ``manifest.yaml``, which lists the sources, the special routes (a 301, a 404, a
500) and, for every article, the facts a correct pipeline should conclude. Files
use the placeholder ``{BASE}`` for their own address; the server substitutes its
base URL, so feeds link to pages the same server answers.

The server is what the demo and the end-to-end tests fetch from: it sends strong
ETags and Last-Modified, answers conditional requests with 304, and counts the
statuses it sent so a caller can show that a second run was all 304s.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import yaml

from monitor.exceptions import ConfigError
from monitor.models import Source


__all__ = [
    "CORPUS_DIR",
    "DEMO_PORT",
    "PLACEHOLDER",
    "CorpusArticle",
    "CorpusManifest",
    "CorpusServer",
    "CorpusSource",
    "ErrorRoute",
    "MissingPage",
    "Redirect",
    "ServedRequest",
    "corpus_etag",
    "corpus_sources",
    "corpus_sources_yaml",
    "load_manifest",
    "main",
    "serve_corpus",
]

#: The recorded corpus ships beside this module: only the demo and the tests serve it.
CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
MANIFEST_NAME = "manifest.yaml"
#: Written in feeds and pages wherever the outlet's own address belongs.
PLACEHOLDER = "{BASE}"
#: Files in the corpus that describe it rather than belong to an outlet: never served.
NOT_SERVED = frozenset({MANIFEST_NAME, "README.md"})
#: Last-Modified for served files the manifest gives no date for (robots.txt, error pages).
CORPUS_EPOCH = datetime(2026, 11, 15, 18, 0, tzinfo=timezone.utc)
ROBOTS_TXT = b"User-agent: *\nAllow: /\n"
#: The port `monitor demo` serves the corpus on. An article's id is a hash of its URL and
#: the port is part of the URL, so on a port of the moment every demo run gave new ids:
#: `monitor page ID` from an earlier run failed and digest links changed. On this one the
#: URLs, hence the ids, are the same from run to run, whatever outlets the corpus holds.
#: Tests serve on any free port (several suites may run at once on one machine).
DEMO_PORT = 8741
#: Seconds between shutdown checks: http.server's 0.5 s default makes every stop() take half a second.
SHUTDOWN_POLL = 0.05

FEED_CONTENT_TYPES: Mapping[str, str] = {
    "rss2": "application/rss+xml; charset=utf-8",
    "rss2-content": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "rdf": "application/rdf+xml; charset=utf-8",
}
SUFFIX_CONTENT_TYPES: Mapping[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".rdf": "application/rdf+xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class CorpusSource:
    """One outlet of the corpus, as the manifest describes it."""

    name: str
    title: str
    feed: str  # path relative to the corpus root and the base URL
    format: str  # rss2 | rss2-content | atom | rdf
    language: str
    country: str
    owner: str
    homepage: str
    poll_minutes: int
    expect: str  # ok | malformed | http_500: what fetching its feed should yield
    notes: str
    state: str | None = None  # the state behind a state-affiliated or state-funded outlet
    owner_reason: str | None = None  # why the owner label
    cited_as: tuple[str, ...] = ()  # the names other outlets credit it by


#: Source fields a manifest may leave out (the rest are required).
_OPTIONAL_SOURCE_FIELDS = ("state", "owner_reason", "cited_as")


@dataclass(frozen=True)
class CorpusArticle:
    """One article page and the facts a correct pipeline should conclude about it."""

    path: str
    source: str
    title: str
    published: datetime  # UTC
    author: str
    language: str
    on_topic: bool
    copy_of: str | None  # a seed stem or another article's path
    copy_kind: str | None  # republished | teaser | edited | cross_source
    feed_link: str | None  # the path the feed links to, when it is not ``path`` (a redirect)
    page_date: str  # meta | time | text: how the page itself shows the date
    words: int


@dataclass(frozen=True)
class Redirect:
    """A path answered with a redirect to another corpus path."""

    path: str
    to: str
    status: int
    source: str


@dataclass(frozen=True)
class MissingPage:
    """A path a feed links to that answers 404."""

    path: str
    source: str
    title: str
    published: datetime
    in_feed: bool


@dataclass(frozen=True)
class ErrorRoute:
    """A path that always answers with a server error."""

    path: str
    status: int
    source: str


@dataclass(frozen=True)
class CorpusManifest:
    """Everything ``manifest.yaml`` says about the corpus."""

    root: Path
    sources: tuple[CorpusSource, ...]
    articles: tuple[CorpusArticle, ...]
    redirects: tuple[Redirect, ...]
    not_found: tuple[MissingPage, ...]
    errors: tuple[ErrorRoute, ...]

    def source(self, name: str) -> CorpusSource:
        """The source called ``name``."""
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(name)

    def article(self, path: str) -> CorpusArticle:
        """The article served at ``path`` (relative, no leading slash)."""
        for a in self.articles:
            if a.path == path:
                return a
        raise KeyError(path)


@dataclass(frozen=True)
class ServedRequest:
    """One request the server answered, for tests and the demo's summary."""

    method: str
    path: str
    status: int


def _utc(value: object, where: str) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ConfigError(f"{where}: not an ISO date: {value!r}") from exc
    else:
        raise ConfigError(f"{where}: not a date: {value!r}")
    if parsed.tzinfo is None:
        raise ConfigError(f"{where}: date without a time zone: {value!r}")
    return parsed.astimezone(timezone.utc)


def _field(row: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in row:
        raise ConfigError(f"{where}: missing {key!r}")
    return row[key]


def load_manifest(root: Path = CORPUS_DIR) -> CorpusManifest:
    """Read and check ``manifest.yaml`` of the corpus at ``root``."""
    path = root / MANIFEST_NAME
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read corpus manifest {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    routes = data.get("routes") or {}
    try:
        sources = tuple(
            CorpusSource(
                **{k: _field(s, k, f"{path} source") for k in CorpusSource.__dataclass_fields__
                   if k not in _OPTIONAL_SOURCE_FIELDS},
                state=s.get("state"), owner_reason=s.get("owner_reason"), cited_as=tuple(s.get("cited_as") or ()),
            )
            for s in data.get("sources") or []
        )
        articles = tuple(
            CorpusArticle(
                path=str(_field(a, "path", f"{path} article")),
                source=str(_field(a, "source", f"{path} article")),
                title=str(_field(a, "title", f"{path} article")),
                published=_utc(_field(a, "published", f"{path} article"), f"{path} {a.get('path')}"),
                author=str(a.get("author") or ""),
                language=str(a.get("language") or "en"),
                on_topic=bool(_field(a, "on_topic", f"{path} article")),
                copy_of=a.get("copy_of"),
                copy_kind=a.get("copy_kind"),
                feed_link=a.get("feed_link"),
                page_date=str(a.get("page_date") or "text"),
                words=int(a.get("words") or 0),
            )
            for a in data.get("articles") or []
        )
        redirects = tuple(
            Redirect(path=r["path"], to=r["to"], status=int(r.get("status", 301)), source=r.get("source", ""))
            for r in routes.get("redirects") or []
        )
        not_found = tuple(
            MissingPage(
                path=r["path"],
                source=r.get("source", ""),
                title=r.get("title", ""),
                published=_utc(r["published"], f"{path} {r['path']}"),
                in_feed=bool(r.get("in_feed", False)),
            )
            for r in routes.get("not_found") or []
        )
        errors = tuple(
            ErrorRoute(path=r["path"], status=int(r.get("status", 500)), source=r.get("source", ""))
            for r in routes.get("errors") or []
        )
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: malformed entry: {exc}") from exc
    return CorpusManifest(root, sources, articles, redirects, not_found, errors)


def corpus_sources(base_url: str, root: Path = CORPUS_DIR) -> list[Source]:
    """The corpus outlets as :class:`Source` values whose URLs point at ``base_url``."""
    base = base_url.rstrip("/")
    return [
        Source(
            name=s.name,
            url=f"{base}/{s.feed}",
            language=s.language,
            country=s.country,
            owner=s.owner,
            poll_minutes=s.poll_minutes,
            homepage=f"{base}/{s.homepage}",
            notes=s.notes,
            state=s.state,
            owner_reason=s.owner_reason,
            cited_as=s.cited_as,
        )
        for s in load_manifest(root).sources
    ]


def corpus_sources_yaml(base_url: str, root: Path = CORPUS_DIR) -> str:
    """A sources file (YAML, top-level ``sources:``) for the corpus served at ``base_url``."""
    rows = [
        {
            "name": s.name,
            "url": s.url,
            "language": s.language,
            "country": s.country,
            "owner": s.owner,
            "poll_minutes": s.poll_minutes,
            "homepage": s.homepage,
            **({"state": s.state} if s.state else {}),
            **({"owner_reason": s.owner_reason} if s.owner_reason else {}),
            **({"cited_as": list(s.cited_as)} if s.cited_as else {}),
        }
        for s in corpus_sources(base_url, root)
    ]
    return yaml.safe_dump({"sources": rows}, sort_keys=False, allow_unicode=True)


def corpus_etag(body: bytes) -> str:
    """The strong ETag the corpus server sends for ``body`` (quoted, content hash)."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class _Page:
    body: bytes
    content_type: str
    etag: str
    last_modified: datetime


@dataclass(frozen=True)
class _Reply:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def _content_type(rel: str, feed_types: Mapping[str, str]) -> str:
    if rel in feed_types:
        return feed_types[rel]
    return SUFFIX_CONTENT_TYPES.get(Path(rel).suffix.lower(), DEFAULT_CONTENT_TYPE)


def _build_site(manifest: CorpusManifest, base_url: str) -> dict[str, _Page]:
    """Every servable file, with ``{BASE}`` substituted, keyed by its relative path."""
    feed_types = {s.feed: FEED_CONTENT_TYPES.get(s.format, DEFAULT_CONTENT_TYPE) for s in manifest.sources}
    dates: dict[str, datetime] = {a.path: a.published for a in manifest.articles}
    # A feed changed when its newest item appeared, including items whose page is gone.
    newest: dict[str, datetime] = {}
    for item in [*((a.source, a.published) for a in manifest.articles), *((m.source, m.published) for m in manifest.not_found)]:
        name, when = item
        newest[name] = max(newest.get(name, when), when)
    for s in manifest.sources:
        if s.name in newest:
            dates[s.feed] = newest[s.name]
    site: dict[str, _Page] = {}
    for file in sorted(manifest.root.rglob("*")):
        rel = file.relative_to(manifest.root).as_posix()
        if not file.is_file() or rel in NOT_SERVED or any(part.startswith((".", "_")) for part in rel.split("/")):
            continue
        body = file.read_bytes().replace(PLACEHOLDER.encode(), base_url.encode())
        site[rel] = _Page(body, _content_type(rel, feed_types), corpus_etag(body), dates.get(rel, CORPUS_EPOCH))
    return site


def _not_modified(headers: Mapping[str, str], page: _Page) -> bool:
    """RFC 9110 conditional GET (``headers`` keyed in lower case): If-None-Match wins over If-Modified-Since."""
    inm = headers.get("if-none-match")
    if inm is not None:
        tags = [t.strip() for t in inm.split(",")]
        # Weak comparison is the rule for If-None-Match, so W/"x" matches "x".
        return "*" in tags or any(t.removeprefix("W/") == page.etag for t in tags)
    ims = headers.get("if-modified-since")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False  # an unparsable date is ignored, as the RFC asks
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        return page.last_modified.replace(microsecond=0) <= since
    return False


def _text_reply(status: int, message: str) -> _Reply:
    body = f"<!DOCTYPE html>\n<html><head><title>{status} {message}</title></head><body><h1>{message}</h1></body></html>\n".encode()
    return _Reply(status, (("Content-Type", "text/html; charset=utf-8"),), body)


def _respond(
    manifest: CorpusManifest, site: Mapping[str, _Page], base_url: str, raw_path: str, headers: Mapping[str, str]
) -> _Reply:
    """The answer to a GET of ``raw_path`` (``headers`` keyed in lower case): routes, then files, then 404."""
    rel = unquote(urlsplit(raw_path).path).lstrip("/")
    for err in manifest.errors:
        if err.path == rel:
            return _text_reply(err.status, "Internal Server Error")
    for red in manifest.redirects:
        if red.path == rel:
            reply = _text_reply(red.status, "Moved Permanently")
            return _Reply(reply.status, (*reply.headers, ("Location", f"{base_url}/{red.to}")), reply.body)
    if any(m.path == rel for m in manifest.not_found):
        return _text_reply(404, "Not Found")
    if rel == "robots.txt" or rel.endswith("/robots.txt"):
        return _Reply(200, (("Content-Type", "text/plain; charset=utf-8"),), ROBOTS_TXT)
    page = site.get(rel)
    if page is None:
        return _text_reply(404, "Not Found")
    validators = (("ETag", page.etag), ("Last-Modified", format_datetime(page.last_modified, usegmt=True)))
    if _not_modified(headers, page):
        return _Reply(304, validators, b"")
    return _Reply(200, (("Content-Type", page.content_type), *validators), page.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    corpus: CorpusServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client closing a kept-alive connection (the fetcher's pool at exit) is normal;
        # anything else is a bug in this server and is printed as usual.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, each response then waits
    # ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    server_version = "monitor-corpus/1"

    def _answer(self, send_body: bool) -> None:
        owner = cast(_Server, self.server).corpus
        reply = owner._reply(self.path, {k.lower(): v for k, v in self.headers.items()})
        # Counted before sending, so a client that has its answer always sees it counted.
        owner._count(self.command, self.path, reply.status)
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.status != 304:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if send_body and reply.status != 304:
            self.wfile.write(reply.body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: the demo prints a summary from ``stats`` instead


class CorpusServer:
    """A threaded loopback HTTP server for the corpus; use as a context manager.

    ``base_url`` is known once started; ``stats`` counts responses per status.
    """

    def __init__(
        self, root: Path = CORPUS_DIR, host: str = "127.0.0.1", port: int = 0, *, any_port_if_taken: bool = False
    ) -> None:
        self.root = root
        self.host = host
        self.port = port
        #: With ``any_port_if_taken``, a taken ``port`` (another demo running) falls back to a
        #: free one instead of failing; ``port_taken`` then says so.
        self.any_port_if_taken = any_port_if_taken
        self.port_taken = False
        self.manifest = load_manifest(root)
        self._site: dict[str, _Page] = {}
        self._base_url: str | None = None
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stats: Counter[int] = Counter()
        self._log: list[ServedRequest] = []

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server (no trailing slash)."""
        if self._base_url is None:
            raise RuntimeError("the corpus server is not running")
        return self._base_url

    @property
    def stats(self) -> dict[int, int]:
        """How many responses of each status were sent since start or the last reset."""
        with self._lock:
            return dict(self._stats)

    @property
    def requests(self) -> list[ServedRequest]:
        """Every request answered since start or the last reset, in order."""
        with self._lock:
            return list(self._log)

    def reset_stats(self) -> None:
        """Forget the counted requests (e.g. between the demo's two runs)."""
        with self._lock:
            self._stats.clear()
            self._log.clear()

    def start(self) -> str:
        """Bind, build the site for the bound address and serve in a thread; return the base URL."""
        if self._httpd is not None:
            return self.base_url
        try:
            httpd = _Server((self.host, self.port), _Handler)
        except OSError as exc:
            if not (self.any_port_if_taken and self.port and exc.errno == errno.EADDRINUSE):
                raise
            self.port_taken = True
            httpd = _Server((self.host, 0), _Handler)
        httpd.corpus = self
        host, port = httpd.server_address[:2]
        shown = host.decode() if isinstance(host, bytes) else host
        self._base_url = f"http://{shown}:{port}"
        self._site = _build_site(self.manifest, self._base_url)
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL}, name="corpus-server", daemon=True
        )
        self._thread.start()
        return self._base_url

    def stop(self) -> None:
        """Stop serving and release the socket."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> CorpusServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _reply(self, raw_path: str, headers: Mapping[str, str]) -> _Reply:
        return _respond(self.manifest, self._site, self.base_url, raw_path, headers)

    def _count(self, method: str, raw_path: str, status: int) -> None:
        with self._lock:
            self._stats[status] += 1
            self._log.append(ServedRequest(method, urlsplit(raw_path).path, status))


@contextmanager
def serve_corpus(root: Path = CORPUS_DIR, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve the corpus on ``host:port`` (0: any free port) and yield its base URL.

    Use :class:`CorpusServer` directly when you also need ``stats``.
    """
    with CorpusServer(root, host, port) as server:
        yield server.base_url


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m monitor.demo.corpus_server``: serve the corpus until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m monitor.demo.corpus_server", description=main.__doc__)
    parser.add_argument("--root", type=Path, default=CORPUS_DIR, help="corpus directory (default: bundled)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: any free port)")
    args = parser.parse_args(argv)
    server = CorpusServer(args.root, args.host, args.port)
    base = server.start()
    print(f"Serving the monitor corpus at {base}/ (Ctrl-C to stop)")
    for source in corpus_sources(base, args.root):
        print(f"  {source.name:16} {source.url}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print(f"Stopped. Responses by status: {dict(sorted(server.stats.items()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
