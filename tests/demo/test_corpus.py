"""The bundled replay corpus: its manifest tells the truth about its feeds and pages."""

from __future__ import annotations

import io
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime, timezone
from html import unescape
from pathlib import Path

import feedparser
import pytest

from monitor.demo.corpus_server import CORPUS_DIR, PLACEHOLDER, CorpusArticle, CorpusManifest, load_manifest
from monitor.exceptions import ConfigError
from monitor.settings import SEEDS_DIR

BASE = "http://corpus.test"
FIRST_DAY = datetime(2026, 9, 7, tzinfo=timezone.utc)
LAST_DAY = datetime(2026, 11, 16, tzinfo=timezone.utc)  # exclusive: the corpus ends on 15 November


@pytest.fixture(scope="module")
def manifest() -> CorpusManifest:
    return load_manifest()


def _page(article: CorpusArticle) -> str:
    return (CORPUS_DIR / article.path).read_text(encoding="utf-8")


def _body_paragraphs(html: str) -> list[str]:
    body = re.search(r'<div class="article-body">(.*?)</div>', html, re.S)
    assert body, "no article body"
    paras = re.findall(r"<p(?: class=\"([^\"]*)\")?>(.*?)</p>", body.group(1), re.S)
    return [unescape(re.sub(r"<[^>]+>", "", text)) for cls, text in paras if cls != "promo"]


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("’", "'").lower()
    return " ".join(text.split())


def _parse_feed(manifest: CorpusManifest, name: str) -> feedparser.FeedParserDict:
    source = manifest.source(name)
    body = (CORPUS_DIR / source.feed).read_text(encoding="utf-8").replace(PLACEHOLDER, BASE).encode()
    return feedparser.parse(
        io.BytesIO(body), response_headers={"content-type": "application/xml", "content-location": f"{BASE}/{source.feed}"}
    )


def test_manifest_lists_at_least_forty_articles_from_four_feed_formats(manifest: CorpusManifest) -> None:
    assert len(manifest.articles) >= 40
    formats = {s.format for s in manifest.sources if s.expect == "ok"}
    assert formats == {"rss2", "atom", "rdf", "rss2-content"}
    assert {s.expect for s in manifest.sources} == {"ok", "malformed", "http_500"}
    assert len({a.path for a in manifest.articles}) == len(manifest.articles)


def test_article_dates_span_six_iso_weeks_with_one_clearly_busiest(manifest: CorpusManifest) -> None:
    weeks = Counter(a.published.isocalendar()[:2] for a in manifest.articles)
    assert all(FIRST_DAY <= a.published < LAST_DAY for a in manifest.articles)
    assert len(weeks) >= 6
    (busiest, top), (_, second) = weeks.most_common(2)
    assert busiest == (2026, 43)
    assert top >= 2 * second


def test_every_article_file_exists_with_manifest_title_and_word_count(manifest: CorpusManifest) -> None:
    for a in manifest.articles:
        html = _page(a)
        og_title = re.search(r'<meta property="og:title" content="([^"]*)">', html)
        assert og_title and unescape(og_title.group(1)) == a.title, a.path
        words = sum(len(p.split()) for p in _body_paragraphs(html))
        assert words == a.words, a.path
        assert 250 <= words <= 700, a.path


def test_pages_carry_the_furniture_extraction_must_remove(manifest: CorpusManifest) -> None:
    for a in manifest.articles:
        html = _page(a)
        assert f'<link rel="canonical" href="{PLACEHOLDER}/{a.path}">' in html, a.path
        assert f'<meta property="og:url" content="{PLACEHOLDER}/{a.path}">' in html, a.path
        assert "<title>" in html and '<nav class="main-nav">' in html and '<footer class="site-footer">' in html
        assert 'class="related-links"' in html and 'class="comments"' in html, a.path
        assert re.search(r'<p class="promo"><strong>[^<]+:</strong>', html), a.path
        has_meta = 'property="article:published_time"' in html
        assert has_meta == (a.page_date == "meta"), a.path
        assert ("<time datetime=" in html) == (a.page_date == "time"), a.path


def test_every_feed_item_links_to_an_article_or_a_declared_route(manifest: CorpusManifest) -> None:
    routed = {r.path for r in manifest.redirects} | {m.path for m in manifest.not_found}
    by_source: dict[str, set[str]] = {}
    for source in manifest.sources:
        if source.expect != "ok":
            continue
        parsed = _parse_feed(manifest, source.name)
        assert not parsed.bozo, source.name
        links = {e.link.removeprefix(BASE + "/") for e in parsed.entries}
        by_source[source.name] = links
        for link in links:
            assert (CORPUS_DIR / link).is_file() or link in routed, link
    for a in manifest.articles:
        assert (a.feed_link or a.path) in by_source[a.source], a.path
    for r in manifest.redirects:
        assert (CORPUS_DIR / r.to).is_file()
        assert manifest.article(r.to).feed_link == r.path
    for m in manifest.not_found:
        assert not (CORPUS_DIR / m.path).exists()
        assert m.path in by_source[m.source]


def test_feed_dates_agree_with_the_manifest(manifest: CorpusManifest) -> None:
    for source in manifest.sources:
        if source.expect != "ok":
            continue
        for entry in _parse_feed(manifest, source.name).entries:
            link = entry.link.removeprefix(BASE + "/")
            expected = next((a.published for a in manifest.articles if (a.feed_link or a.path) == link), None)
            if expected is None:
                continue  # the withdrawn item
            stamp = entry.get("published_parsed") or entry.get("updated_parsed")  # RDF: dc:date
            parsed = datetime(*stamp[:6], tzinfo=timezone.utc)
            assert parsed == expected, link


def test_content_encoded_feed_carries_full_text(manifest: CorpusManifest) -> None:
    entries = _parse_feed(manifest, "slavicherald").entries
    assert entries and all(len(e.content[0].value.split()) > 250 for e in entries)


def test_malformed_feed_is_truncated_xml(manifest: CorpusManifest) -> None:
    source = next(s for s in manifest.sources if s.expect == "malformed")
    with pytest.raises(ET.ParseError):
        ET.fromstring((CORPUS_DIR / source.feed).read_bytes())
    assert _parse_feed(manifest, source.name).bozo


def test_server_error_source_has_a_route_and_no_feed_file(manifest: CorpusManifest) -> None:
    source = next(s for s in manifest.sources if s.expect == "http_500")
    assert [e.path for e in manifest.errors] == [source.feed]
    assert not (CORPUS_DIR / source.feed).exists()


def test_corpus_mixes_topics_languages_and_every_kind_of_copy(manifest: CorpusManifest) -> None:
    off = [a for a in manifest.articles if not a.on_topic]
    assert len(off) >= 4
    assert {"sr", "ru"} <= {a.language for a in manifest.articles}
    assert {a.copy_kind for a in manifest.articles} >= {"republished", "teaser", "edited", "cross_source"}
    seeds = {p.stem for p in SEEDS_DIR.glob("*.txt")}
    paths = {a.path for a in manifest.articles}
    for a in manifest.articles:
        if a.copy_of is not None:
            assert a.copy_of in seeds or a.copy_of in paths, a.copy_of
            assert a.copy_kind is not None
        if a.copy_kind == "cross_source":
            assert manifest.article(a.copy_of or "").source != a.source


def test_seed_copies_reuse_the_seed_text(manifest: CorpusManifest) -> None:
    for a in manifest.articles:
        if a.copy_of is None or a.copy_kind == "cross_source":
            continue
        seed = _norm((SEEDS_DIR / f"{a.copy_of}.txt").read_text(encoding="utf-8"))
        paras = [_norm(p) for p in _body_paragraphs(_page(a))]
        inside = sum(p in seed for p in paras)
        if a.copy_kind in ("republished", "teaser"):
            assert inside == len(paras), a.path
        else:  # edited: some paragraphs differ a little from the seed
            assert inside < len(paras), a.path


def test_cross_source_copy_has_the_same_body_as_its_original(manifest: CorpusManifest) -> None:
    copy = next(a for a in manifest.articles if a.copy_kind == "cross_source")
    original = manifest.article(copy.copy_of or "")
    assert _body_paragraphs(_page(copy)) == _body_paragraphs(_page(original))
    assert _page(copy) != _page(original)


def test_corpus_files_use_the_placeholder_and_never_a_real_address() -> None:
    for path in CORPUS_DIR.rglob("*"):
        if path.suffix in {".html", ".xml", ".rdf", ".rss"}:
            text = path.read_text(encoding="utf-8")
            assert PLACEHOLDER in text, path
            assert not re.search(r"https?://(127\.|localhost)", text), path


def test_a_manifest_without_required_fields_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "manifest.yaml").write_text("sources:\n- name: x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="missing"):
        load_manifest(tmp_path)
