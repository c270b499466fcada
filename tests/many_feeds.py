"""A loopback server of any number of tiny RSS feeds, /s<i>/feed.xml: most are empty, one in
WITH_ARTICLE_EVERY links one small article, and each answers 304 to its own ETag. Used by
the tests of runs over hundreds of sources (tests/flows/test_many_sources.py, tests/runs)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["WITH_ARTICLE_EVERY", "many_feeds_server"]

#: One source in this many carries an article.
WITH_ARTICLE_EVERY = 100
ARTICLE = ("<html><head><title>Gas deal {i}</title></head><body><article><h1>Gas deal {i}</h1>"
           + "<p>Serbia and Russia agreed on item {i} of the gas deal in Belgrade, officials said on Monday. "
             "The agreement extends deliveries at a preferential price for five more years.</p>" * 6
           + "</article></body></html>")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass  # thousands of requests: the test reads the counts, not a log

    def _send(self, status: int, body: bytes, content_type: str, etag: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self) -> None:
        server: _ManyFeeds = self.server  # type: ignore[assignment]
        with server.lock:
            server.requests += 1
        feed = re.fullmatch(r"/s(\d+)/feed\.xml", self.path)
        page = re.fullmatch(r"/s(\d+)/a\.html", self.path)
        if feed:
            i = int(feed.group(1))
            etag = f'"f{i}"'
            if self.headers.get("If-None-Match") == etag:
                self._send(304, b"", "application/rss+xml", etag)
                return
            base = f"http://127.0.0.1:{server.server_address[1]}/s{i}"
            item = (f"<item><title>Gas deal {i}</title><link>{base}/a.html</link><guid>{base}/a</guid>"
                    "<pubDate>Mon, 16 Nov 2026 09:00:00 GMT</pubDate></item>") if i % WITH_ARTICLE_EVERY == 0 else ""
            body = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Outlet {i}</title>'
                    f"<link>{base}/</link><description>s{i}</description>{item}</channel></rss>").encode()
            self._send(200, body, "application/rss+xml; charset=utf-8", etag)
        elif page:
            self._send(200, ARTICLE.format(i=page.group(1)).encode(), "text/html; charset=utf-8")
        elif self.path.endswith("/robots.txt"):
            self._send(404, b"", "text/plain")
        else:
            self._send(404, b"", "text/plain")


class _ManyFeeds(ThreadingHTTPServer):
    daemon_threads = True
    lock = threading.Lock()
    requests = 0


@contextmanager
def many_feeds_server() -> Iterator[str]:
    """A loopback server answering /s<i>/feed.xml for any i; yields its base URL."""
    httpd = _ManyFeeds(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
