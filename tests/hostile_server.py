"""A loopback HTTP server that misbehaves on purpose, for fetcher tests.

``responses`` replaces the transport, so streaming, decompression, socket timeouts and
resets can only be tested against a real socket. Every handler is bounded (a few
seconds at most) and the server shuts itself down after ``lifetime`` seconds even if a
test forgets to stop it.

    with HostileServer() as srv:
        fetcher.fetch(srv.url("/slow-drip"))

Paths (query parameters in brackets):
    /ok                     200 "hello", ETag "v1", Last-Modified; 304 on a matching If-None-Match
    /slow-drip[?n=]         Content-Length n, then one byte every ``drip_interval`` seconds
    /hang                   reads the request and never answers
    /stall                  headers and 3 of 10 body bytes, then nothing
    /slow-headers           the status line, then a header trickled a byte at a time
    /gzip-bomb              Content-Encoding: gzip; inflates to ``bomb_bytes`` zero bytes
    /bad-gzip               Content-Encoding: gzip on a body that is not gzip
    /big[?n=]               n bytes with no Content-Length, ended by closing the connection
    /reset                  reads the request, then closes with a TCP RST
    /flaky-reset[?fail=]    resets the first ``fail`` requests, then 200 "recovered"
    /retry-after[?fail=&after=]  503 + Retry-After for the first ``fail`` requests, then 200
    /loop/a, /loop/b        302 to each other
    /redirect?to=URL        302 to URL
    /status/<code>          that status, empty body
    /robots.txt             ``robots_status`` with ``robots_body``
    /one-page-feed[?n=]     an RSS feed of n items (200) all linking to /one-big-page?i=<k>
    /one-big-page           the same ``big_page_bytes`` HTML article, whatever the query string
"""

from __future__ import annotations

import gzip
import io
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

#: Handlers never run longer than this, whatever the client does.
HANDLER_CAP_SECONDS = 5.0


def make_gzip_bomb(size: int) -> bytes:
    """A gzip stream of ``size`` zero bytes (about 1000:1), built without holding them all."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as gz:
        block = b"\0" * (1 << 20)
        remaining = size
        while remaining > 0:
            gz.write(block[: min(remaining, len(block))])
            remaining -= len(block)
    return out.getvalue()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: HostileServer

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hang up on purpose in these tests; tracebacks would only be noise


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the fetcher's reused-connection path runs
    disable_nagle_algorithm = True  # else headers and body wait out delayed ACKs: 40 ms a request
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    # -- helpers ----------------------------------------------------------------------
    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _drip(self, data: bytes) -> None:
        owner = self.server.owner
        stop_at = time.monotonic() + HANDLER_CAP_SECONDS
        for i in range(len(data)):
            if owner.stopped.is_set() or time.monotonic() > stop_at:
                break
            try:
                self.wfile.write(data[i : i + 1])
            except OSError:
                break  # the client gave up, which is what the test wants
            time.sleep(owner.drip_interval)
        self.close_connection = True

    # -- routes -----------------------------------------------------------------------
    def do_GET(self) -> None:
        owner = self.server.owner
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        hit = owner.record(self.path, self.headers.get("User-Agent"), self.client_address[1])

        if path == "/ok":
            if self.headers.get("If-None-Match") == '"v1"':
                self._send(304, headers={"ETag": '"v1"'})
            else:
                self._send(
                    200,
                    b"hello",
                    {"ETag": '"v1"', "Last-Modified": "Sat, 21 Nov 2026 10:00:00 GMT", "Content-Type": "text/plain"},
                )
        elif path == "/slow-drip":
            n = int(query.get("n", "1000"))
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            self._drip(b"x" * n)
        elif path == "/hang":
            owner.stopped.wait(HANDLER_CAP_SECONDS)  # never answers
            self.close_connection = True
        elif path == "/stall":
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.end_headers()
            self.wfile.write(b"abc")
            owner.stopped.wait(HANDLER_CAP_SECONDS)  # and the other 7 bytes never come
            self.close_connection = True
        elif path == "/slow-headers":
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            self._drip(b"X-Drip: " + b"a" * 200 + b"\r\n\r\n")
        elif path == "/gzip-bomb":
            self._send(200, owner.bomb, {"Content-Encoding": "gzip", "Content-Type": "text/html"})
        elif path == "/bad-gzip":
            self._send(200, b"this is not gzip at all", {"Content-Encoding": "gzip"})
        elif path == "/big":
            n = int(query.get("n", str(2 << 20)))
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            block = b"y" * 65536
            try:
                for start in range(0, n, len(block)):
                    self.wfile.write(block[: min(len(block), n - start)])
            except OSError:
                pass
            self.close_connection = True
        elif path == "/reset":
            self._reset()
        elif path == "/flaky-reset":
            if hit <= int(query.get("fail", "1")):
                self._reset()
            else:
                self._send(200, b"recovered")
        elif path == "/retry-after":
            if hit <= int(query.get("fail", "1")):
                self._send(503, b"busy", {"Retry-After": query.get("after", "1")})
            else:
                self._send(200, b"recovered")
        elif path == "/loop/a":
            self._send(302, headers={"Location": "/loop/b"})
        elif path == "/loop/b":
            self._send(302, headers={"Location": "/loop/a"})
        elif path == "/redirect":
            self._send(302, headers={"Location": query["to"]})
        elif path.startswith("/status/"):
            self._send(int(path.rsplit("/", 1)[1]))
        elif path == "/robots.txt":
            self._send(owner.robots_status, owner.robots_body, {"Content-Type": "text/plain"})
        elif path == "/one-page-feed":
            items = "".join(
                f"<item><title>Item {k}</title><link>{owner.url(f'/one-big-page?i={k}')}</link>"
                f"<guid>{owner.url(f'/one-big-page?i={k}')}</guid>"
                f"<pubDate>Fri, 20 Nov 2026 {k % 24:02d}:00:00 GMT</pubDate></item>"
                for k in range(int(query.get("n", "200"))))
            body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>one page</title>{items}</channel></rss>'
            self._send(200, body.encode(), {"Content-Type": "application/rss+xml"})
        elif path == "/one-big-page":
            self._send(200, owner.big_page(), {"Content-Type": "text/html; charset=utf-8"})
        else:
            self._send(404, b"not here")


class HostileServer:
    """A threaded HTTP server on 127.0.0.1 with an ephemeral port; a context manager."""

    def __init__(
        self,
        *,
        lifetime: float = 30.0,
        drip_interval: float = 0.05,
        bomb_bytes: int = 32 << 20,
        robots_status: int = 200,
        robots_body: bytes = b"",
        big_page_bytes: int = 5 * 10**6,
    ) -> None:
        self.drip_interval = drip_interval
        self.big_page_bytes = big_page_bytes
        self._big_page: bytes | None = None
        self.bomb = make_gzip_bomb(bomb_bytes) if bomb_bytes else b""
        self.robots_status = robots_status
        self.robots_body = robots_body
        self.stopped = threading.Event()
        self.hits: Counter[str] = Counter()
        self.user_agents: list[str | None] = []
        #: (path, client port) per request: the same port twice means a kept-alive connection.
        self.requests: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._deadman = threading.Timer(lifetime, self.stop)
        self._deadman.daemon = True

    def big_page(self) -> bytes:
        """A long article about Serbia and Russia, ``big_page_bytes`` of HTML (built once)."""
        if self._big_page is None:
            para = ("<p>Serbia and Russia signed a new gas supply agreement in Belgrade on Monday, the "
                    "Kremlin said, as Western diplomats warned of sanctions; paragraph {}.</p>\n")
            head = b"<html><head><title>The longest article</title></head><body><article><h1>The longest article</h1>\n"
            parts, size, k = [head], len(head), 0
            while size < self.big_page_bytes:
                chunk = para.format(k).encode()
                parts.append(chunk)
                size += len(chunk)
                k += 1
            self._big_page = (b"".join(parts) + b"</article></body></html>")[: self.big_page_bytes]
        return self._big_page

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def record(self, path: str, user_agent: str | None, client_port: int = 0) -> int:
        """Count a request to ``path`` (query included, so tests can use their own
        counters); returns how many there have been, this one included."""
        with self._lock:
            self.hits[path] += 1
            self.user_agents.append(user_agent)
            self.requests.append((path, client_port))
            return self.hits[path]

    def start(self) -> HostileServer:
        self._thread.start()
        self._deadman.start()
        return self

    def stop(self) -> None:
        with self._lock:
            if self.stopped.is_set():
                return
            self.stopped.set()
        self._deadman.cancel()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


__all__ = ["HostileServer", "make_gzip_bomb"]
