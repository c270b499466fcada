"""Shared helpers of the benchmarks: a synthetic news site, a loopback server, result files.

The synthetic pages are written from the five seed texts (word-level Markov chain, so
every article has its own sentences and dedup does not collapse them), wrapped in a
realistic news-page template (navigation, cookie banner, related links, reader
comments, footer), with a deliberate mix: on-topic stories, off-topic pieces,
syndicated copies of earlier stories and teasers. Nothing from ../shared/data is used.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
RESULTS_DIR = BENCH_DIR / "results"
SEEDS_DIR = ROOT / "src" / "monitor" / "data" / "seeds"
#: Third-party data beside the repository: read from there, never copied in. A checkout
#: elsewhere (a worktree) names the folder in MONITOR_SHARED_DATA.
SHARED_DATA = Path(os.environ.get("MONITOR_SHARED_DATA") or ROOT.parent / "shared" / "data")
#: Zyte's article-extraction benchmark: 181 real news pages and their ground truth.
ZYTE_DATA = SHARED_DATA / "zyte_aeb"
PLACEHOLDER = "{BASE}"
#: Mix of generated pages. Copies and teasers give dedup real work; off-topic pieces
#: exercise the relevance gate. Shares are of all pages.
COPY_SHARE = 0.10
TEASER_SHARE = 0.05
OFF_TOPIC_SHARE = 0.10
#: Body length of a generated story, in words (typical news article).
BODY_WORDS = (450, 900)
#: Page weight: a mega-menu, a "most read" sidebar, a site map and an inline script
#: bring a generated page to ~40 KB of HTML, the size of a typical news page.
MEGA_MENU_ITEMS = 60
INLINE_SCRIPT_KEYS = 120
#: Prefect state for the benchmarks lives outside the repo and survives runs, so the
#: ephemeral server starts on an existing database (~6 s instead of ~12 s, FACTS.md).
PREFECT_HOME = Path(tempfile.gettempdir()) / "monitor-bench-prefect"

# Off-topic material, written for the benchmark (tennis, weather, food, a festival).
_OFF_TOPIC = """
The home side won the final set after a long rally and the crowd stood to applaud the winner.
Rain is expected across the north on Tuesday, with sunny spells returning by the weekend and cooler nights.
The bakery on the corner sells fresh bread every morning and the queue starts before seven.
Organisers of the summer film festival said ticket sales were the best in a decade.
The coach praised the young goalkeeper, who saved two penalties in the second half of the match.
Farmers reported a good harvest of plums and apricots despite the dry spring and late frost.
The museum will open a new wing for modern art next month, with free entry on the first Sunday.
Traffic on the coastal road was slow because of roadworks near the marina and the ferry port.
A local chef shared a recipe for stuffed peppers that has been in her family for generations.
The marathon route passes the old fortress, the river bank and the university before the finish line.
Temperatures climbed above thirty degrees and the city opened its public fountains to children.
The basketball team signed a new point guard from the youth academy on a three year contract.
""".strip()


def now_iso() -> str:
    """The current UTC time, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def machine() -> dict[str, Any]:
    """The machine and versions a result was measured on."""
    import duckdb
    import trafilatura

    ram_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    versions: dict[str, str] = {"duckdb": duckdb.__version__, "trafilatura": trafilatura.__version__}
    for name in ("prefect", "prefect_dask", "dask", "feedparser", "numpy"):
        try:
            mod = __import__(name)
            versions[name] = str(getattr(mod, "__version__", "?"))
        except ImportError:
            versions[name] = "not installed"
    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(ram_gb, 1),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "measured_at": now_iso(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB.

    VmHWM, not ``ru_maxrss``: Linux carries ru_maxrss over ``exec``, so a child started
    from a big parent would report the parent's peak.
    """
    return _proc_status_mb("VmHWM:", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def current_rss_mb() -> float:
    """Resident set size of this process now, in MB (0.0 where /proc is missing)."""
    return _proc_status_mb("VmRSS:", 0.0)


def _proc_status_mb(field: str, fallback: float) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return fallback


def write_result(name: str, data: Mapping[str, Any], results_dir: Path = RESULTS_DIR) -> Path:
    """Write ``results/<name>.json`` (with the machine description) and return its path."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{name}.json"
    payload = {"benchmark": name, "machine": machine(), **data}
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def zyte_main(
    argv: Sequence[str] | None,
    *,
    doc: str,
    name: str,
    run: Callable[[Path], dict[str, Any]],
    markdown: Callable[[dict[str, Any]], str],
    after: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """The command line of a benchmark on Zyte's bodies: --data, --out; reads them from
    ../shared/data in place (never copied in) and says so when they are not there."""
    import argparse

    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ZYTE_DATA, help="the zyte_aeb folder (default: ../shared/data/zyte_aeb)")
    ap.add_argument("--out", type=Path, default=RESULTS_DIR, help=f"where {name}.json goes")
    args = ap.parse_args(argv)
    if not (args.data / "ground-truth.json").exists():
        print(f"no {args.data / 'ground-truth.json'}: this benchmark reads Zyte's data from ../shared/data "
              "and never copies it in; nothing written", file=sys.stderr)
        return 2
    result = run(args.data)
    print(markdown(result))
    if after is not None:
        after(result)
    print(f"wrote {write_result(name, result, args.out)}")
    return 0


def run_child(args: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 3600) -> dict[str, Any]:
    """Run ``python <args>`` and parse the JSON object on the last line of its output."""
    proc = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})}, cwd=ROOT,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    lines = [ln for ln in proc.stdout.strip().splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"{' '.join(args)} printed no JSON:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def prefect_env() -> None:
    """Offline, quiet Prefect on a private home (call before importing prefect)."""
    PREFECT_HOME.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(PREFECT_HOME))
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")


# -- text generation ------------------------------------------------------------------

class Markov:
    """A word-level order-1 Markov chain: new sentences in the seeds' vocabulary."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.next: dict[str, list[str]] = defaultdict(list)
        self.starts: list[str] = []
        for text in texts:
            for sentence in _sentences(text):
                words = sentence.split()
                if len(words) < 4:
                    continue
                self.starts.append(words[0])
                for a, b in zip(words, words[1:], strict=False):
                    self.next[a].append(b)

    def sentence(self, rng: random.Random, max_words: int = 28) -> str:
        """One sentence of up to ``max_words`` words, ending with a full stop."""
        word = rng.choice(self.starts)
        out = [word]
        while len(out) < max_words:
            options = self.next.get(word)
            if not options:
                break
            word = rng.choice(options)
            out.append(word)
            if word.endswith((".", "?", "!")) and len(out) >= 8:
                break
        text = " ".join(out)
        return text if text.endswith((".", "?", "!")) else text.rstrip(",;:") + "."


def _sentences(text: str) -> Iterator[str]:
    for para in text.split("\n"):
        buf: list[str] = []
        for word in para.split():
            buf.append(word)
            if word.endswith((".", "?", "!")):
                yield " ".join(buf)
                buf = []
        if buf:
            yield " ".join(buf)


def seed_texts() -> list[str]:
    """The five reference texts (titles dropped)."""
    texts = []
    for p in sorted(SEEDS_DIR.glob("*.txt")):
        lines = p.read_text(encoding="utf-8").strip().split("\n", 1)
        texts.append(lines[1] if len(lines) > 1 else lines[0])
    return texts


@dataclass(frozen=True)
class GenPage:
    """One generated article page (``html`` holds ``{BASE}`` placeholders)."""

    source: str
    slug: str
    title: str
    published: datetime
    kind: str  # story | off_topic | copy | teaser
    paragraphs: tuple[str, ...]

    @property
    def path(self) -> str:
        return f"{self.source}/{self.published:%Y/%m}/{self.slug}.html"


def generate_pages(n: int, *, n_sources: int = 10, seed: int = 7) -> list[GenPage]:
    """``n`` article pages spread over ``n_sources`` outlets, in publication order."""
    rng = random.Random(seed)
    on_topic = Markov(seed_texts())
    off_topic = Markov([_OFF_TOPIC])
    start = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
    pages: list[GenPage] = []
    for i in range(n):
        source = f"outlet{i % n_sources:03d}"
        published = start + timedelta(minutes=37 * i)
        roll = rng.random()
        stories = [p for p in pages[-200:] if p.kind == "story"]
        if roll < COPY_SHARE and stories:
            orig = rng.choice(stories)
            kind, paragraphs, title = "copy", orig.paragraphs, orig.title
        elif roll < COPY_SHARE + TEASER_SHARE and stories:
            orig = rng.choice(stories)
            keep = max(1, int(len(orig.paragraphs) * 0.4))
            kind, paragraphs, title = "teaser", orig.paragraphs[:keep], orig.title
        else:
            off = roll > 1 - OFF_TOPIC_SHARE
            chain = off_topic if off else on_topic
            kind = "off_topic" if off else "story"
            target = rng.randint(*BODY_WORDS)
            paras: list[str] = []
            words = 0
            while words < target:
                para = " ".join(chain.sentence(rng) for _ in range(rng.randint(3, 5)))
                paras.append(para)
                words += len(para.split())
            paragraphs = tuple(paras)
            title = " ".join(chain.sentence(rng, 12).rstrip(".").split()[:12])
        slug = f"a{i:06d}-" + "-".join(w.lower().strip(".,;:!?'\"’“”") for w in title.split()[:5])
        slug = "".join(c for c in slug if (c.isascii() and c.isalnum()) or c == "-")[:80]
        pages.append(GenPage(source, slug, title, published, kind, paragraphs))
    return pages


def render_page(page: GenPage, *, rng_seed: int = 0) -> str:
    """A news page for ``page``: head metadata, navigation, the article, comments, footer."""
    rng = random.Random(f"{page.path}:{rng_seed}")
    t = html.escape(page.title)
    url = f"{PLACEHOLDER}/{page.path}"
    nav = "\n".join(
        f'<li><a href="{PLACEHOLDER}/{page.source}/section/{s.lower()}/">{s}</a></li>'
        for s in ("Serbia", "Bosnia", "Kosovo", "Montenegro", "Energy", "Media", "Sport", "Culture", "Opinion")
    )
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in page.paragraphs)
    related = "\n".join(
        f'<li><a href="{PLACEHOLDER}/{page.source}/related/{rng.randint(1, 99999)}.html">Related story number '
        f"{rng.randint(1, 999)} from the archive</a></li>"
        for _ in range(8)
    )
    mega = "\n".join(
        f'<li class="menu-item"><a href="{PLACEHOLDER}/{page.source}/topic/{k}/">Topic {k}</a>'
        f'<ul class="sub"><li><a href="{PLACEHOLDER}/{page.source}/topic/{k}/latest/">Latest</a></li>'
        f'<li><a href="{PLACEHOLDER}/{page.source}/topic/{k}/analysis/">Analysis</a></li></ul></li>'
        for k in range(MEGA_MENU_ITEMS)
    )
    most_read = "\n".join(
        f'<li><a href="{PLACEHOLDER}/{page.source}/most-read/{rng.randint(1, 99999)}.html">'
        f'<img src="{PLACEHOLDER}/img/{rng.randint(1, 9999)}.jpg" alt="" width="120" height="80">'
        f"<span>Most read item {k} of the week</span></a></li>"
        for k in range(20)
    )
    sitemap = "\n".join(
        f'<li><a href="{PLACEHOLDER}/{page.source}/sitemap/{k}/">Section {k}</a></li>' for k in range(60)
    )
    script = "var cfg = " + json.dumps({f"k{k}": "x" * 40 for k in range(INLINE_SCRIPT_KEYS)}) + ";"
    comments = "\n".join(
        f'<div class="comment"><span class="who">reader{rng.randint(1, 999)}</span>'
        f"<p>{html.escape(_OFF_TOPIC.splitlines()[rng.randrange(12)])}</p></div>"
        for _ in range(rng.randint(1, 4))
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t} | {page.source}</title>
<meta name="description" content="{html.escape(page.paragraphs[0][:160])}">
<link rel="canonical" href="{url}">
<meta property="og:type" content="article">
<meta property="og:site_name" content="{page.source}">
<meta property="og:title" content="{t}">
<meta property="og:url" content="{url}">
<meta property="article:published_time" content="{page.published.isoformat().replace('+00:00', 'Z')}">
<script>window.dataLayer = window.dataLayer || []; dataLayer.push({{"section": "news"}});</script>
<style>body {{ font-family: sans-serif; }} .comment {{ margin: 1em; }}</style>
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "NewsArticle", "headline": {json.dumps(page.title)}, "datePublished": "{page.published.isoformat()}"}}</script>
<script>{script}</script>
</head>
<body class="article-page">
<div class="cookie-banner"><p>We use cookies to improve your experience. <button type="button">Accept</button></p></div>
<header class="site-header">
<a class="logo" href="{PLACEHOLDER}/{page.source}/">{page.source}</a>
<nav class="main-nav"><ul>
{nav}
</ul>
<ul class="mega-menu">
{mega}
</ul></nav>
<form class="search" action="{PLACEHOLDER}/{page.source}/search"><input name="q" placeholder="Search"></form>
</header>
<main>
<article class="story">
<h1 class="headline">{t}</h1>
<p class="byline">By <span class="author">Desk {page.source}</span> &middot;
<time datetime="{page.published.isoformat()}">{page.published:%d %B %Y %H:%M}</time></p>
<div class="article-body">
{body}
</div>
</article>
<aside class="related"><h2>Read also</h2><ul>
{related}
</ul></aside>
<aside class="most-read"><h2>Most read</h2><ul>
{most_read}
</ul></aside>
<section class="comments"><h2>Comments</h2>
{comments}
</section>
</main>
<footer class="site-footer"><p>&copy; 2026 {page.source}. All rights reserved.</p>
<ul><li><a href="{PLACEHOLDER}/{page.source}/about/">About us</a></li>
<li><a href="{PLACEHOLDER}/{page.source}/contact/">Contact</a></li>
<li><a href="{PLACEHOLDER}/{page.source}/privacy/">Privacy policy</a></li></ul>
<ul class="sitemap">
{sitemap}
</ul></footer>
</body>
</html>
"""


def write_pages(pages: Sequence[GenPage], directory: Path, base_url: str = "https://bench.example") -> list[Path]:
    """Write the pages as .html files under ``directory`` (placeholders resolved); return the paths."""
    paths = []
    for page in pages:
        path = directory / page.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_page(page).replace(PLACEHOLDER, base_url), encoding="utf-8")
        paths.append(path)
    return paths


def render_feed(source: str, pages: Sequence[GenPage]) -> str:
    """An RSS 2.0 feed listing ``pages`` (newest first)."""
    items = "\n".join(
        f"""<item>
<title>{html.escape(p.title)}</title>
<link>{PLACEHOLDER}/{p.path}</link>
<guid isPermaLink="false">{p.source}-{p.slug}</guid>
<pubDate>{format_datetime(p.published, usegmt=True)}</pubDate>
<description>{html.escape(p.paragraphs[0][:200])}</description>
</item>"""
        for p in sorted(pages, key=lambda p: p.published, reverse=True)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
<title>{source}</title><link>{PLACEHOLDER}/{source}/</link><description>benchmark outlet</description>
{items}
</channel></rss>
"""


def build_site(pages: Sequence[GenPage], n_sources: int | None = None) -> dict[str, tuple[str, str]]:
    """Every servable file of the site: path -> (content type, text with placeholders)."""
    by_source: dict[str, list[GenPage]] = defaultdict(list)
    for p in pages:
        by_source[p.source].append(p)
    if n_sources is not None:  # outlets with no pages still get an (empty) feed
        for i in range(n_sources):
            by_source.setdefault(f"outlet{i:03d}", [])
    site = {p.path: ("text/html; charset=utf-8", render_page(p)) for p in pages}
    for source, items in by_source.items():
        site[f"{source}/feed.xml"] = ("application/rss+xml; charset=utf-8", render_feed(source, items))
    return site


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each reply waits ~40 ms for a delayed ACK

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        server = cast("_Server", self.server)
        rel = unquote(self.path.split("?", 1)[0]).lstrip("/")
        if rel.endswith("robots.txt"):
            self._send(200, "text/plain", b"User-agent: *\nAllow: /\n", None)
            return
        entry = server.files.get(rel)
        if entry is None:
            self._send(404, "text/plain", b"not found", None)
            return
        ctype, body, etag = entry
        with server.lock:
            server.hits[rel] = server.hits.get(rel, 0) + 1
        if self.headers.get("If-None-Match") == etag:
            server.count(304)
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        server.count(200)
        self._send(200, ctype, body, etag)

    def _send(self, status: int, ctype: str, body: bytes, etag: str | None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    files: dict[str, tuple[str, bytes, str]]
    lock: threading.Lock
    stats: dict[int, int]
    hits: dict[str, int]

    def count(self, status: int) -> None:
        with self.lock:
            self.stats[status] = self.stats.get(status, 0) + 1

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


@contextmanager
def serve_site(site: Mapping[str, tuple[str, str]]) -> Iterator[tuple[str, _Server]]:
    """Serve ``site`` on 127.0.0.1 (any port) with ETags and 304s; yield (base URL, server)."""
    httpd = _Server(("127.0.0.1", 0), _Handler)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.files = {}
    for rel, (ctype, text) in site.items():
        body = text.replace(PLACEHOLDER, base).encode("utf-8")
        httpd.files[rel] = (ctype, body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    httpd.lock = threading.Lock()
    httpd.stats = {}
    httpd.hits = {}
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield base, httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def sources_yaml(base: str, names: Sequence[str]) -> str:
    """A sources file for the outlets served at ``base``."""
    import yaml

    rows = [{"name": n, "url": f"{base}/{n}/feed.xml", "language": "en", "poll_minutes": 60} for n in names]
    return yaml.safe_dump({"sources": rows}, sort_keys=False)


def loopback_settings(db: Path, sources: Path) -> Any:
    """Settings for a run against the loopback site: no politeness delay, loopback allowed."""
    from monitor.settings import load_settings

    return load_settings(environ={}, db_path=db, sources_path=sources).with_(
        allow_private_hosts=("127.0.0.1",), per_host_delay=0.0
    )
