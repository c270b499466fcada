"""pagemeta.py: what a page's markup says about itself, read from small pages we wrote."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import trafilatura

from monitor.reading.pagemeta import PageMeta, parse_timestamp, read_page_meta

URL = "https://ledger.example/world/2025/04/09/gas-talks"


def meta(head: str = "", body: str = "<p>Body text.</p>", url: str = URL) -> PageMeta:
    tree = trafilatura.load_html(f"<html><head>{head}</head><body>{body}</body></html>")
    assert tree is not None
    return read_page_meta(tree, url)


def test_a_full_head_gives_every_field() -> None:
    got = meta(
        '<title>Gas talks resume | Balkan Ledger</title>'
        '<link rel="canonical" href="/world/gas-talks">'
        '<meta property="og:site_name" content="Balkan Ledger">'
        '<meta property="og:title" content="Gas talks resume">'
        '<meta name="author" content="By Jelena Marković">'
        '<meta name="description" content="Belgrade and Moscow meet again.">'
        '<meta property="article:published_time" content="2025-04-09T10:15:00+02:00">',
    )
    assert got == PageMeta(
        canonical_url="https://ledger.example/world/gas-talks",
        published=datetime(2025, 4, 9, 8, 15, tzinfo=UTC),
        day=datetime(2025, 4, 9, tzinfo=UTC),
        title="Gas talks resume",
        author="Jelena Marković",
        sitename="Balkan Ledger",
        description="Belgrade and Moscow meet again.",
        language=None,
    )


@pytest.mark.parametrize(
    ("head", "body", "title"),
    [
        # og:title that repeats the site name: the site name goes
        ('<meta property="og:site_name" content="ZNet"><meta property="og:title" content="Pipeline deal | ZNet">',
         "", "Pipeline deal"),
        # a dash inside an og:title that is not the site name stays
        ('<meta property="og:title" content="Vučić - a friend of Moscow?">', "", "Vučić - a friend of Moscow?"),
        # JSON-LD headline when there is no og:title
        ('<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Sanctions debate"}</script>',
         "", "Sanctions debate"),
        # the page's only <h1>
        ("<title>Menu | Site</title>", "<h1>Kosovo border reopens</h1><p>x</p>", "Kosovo border reopens"),
        # two <h1>s: <title>, minus a short site-name tail
        ("<title>Kosovo border reopens - Vesti Online</title>", "<h1>Vesti</h1><h1>Other</h1>",
         "Kosovo border reopens"),
        # <title> whose tail is long is not a site name: kept whole
        ("<title>Talks - Serbia and Russia sign a ten-year agreement on gas supply</title>", "",
         "Talks - Serbia and Russia sign a ten-year agreement on gas supply"),
    ],
)
def test_title_sources_in_order(head: str, body: str, title: str) -> None:
    assert meta(head, body or "<p>x</p>").title == title


def test_author_from_json_ld_names_joined() -> None:
    got = meta(
        '<script type="application/ld+json">{"@type": "NewsArticle", "author": '
        '[{"@type": "Person", "name": "Ana Petrović"}, {"@type": "Person", "name": "Ivan Ilić"}]}</script>'
    )
    assert got.author == "Ana Petrović; Ivan Ilić"


def test_author_from_schema_markup_in_the_body_stops_at_the_byline_separator() -> None:
    body = '<p class="byline" itemprop="author">Madeline Fry | November 18, 2019 Print this article</p>'
    assert meta(body=body).author == "Madeline Fry"
    body = '<div itemprop="author"><span itemprop="name">Goran Đorđević</span> <a>Follow</a></div>'
    assert meta(body=body).author == "Goran Đorđević"


def test_author_markup_is_found_in_any_case_on_byline_elements_only() -> None:
    # Only a, span, div, p and address hold bylines; a list item marked up as one is a menu.
    body = '<ul><li itemprop="author">All our writers</li></ul><span REL="Author">Jelena Marković</span>'
    assert meta(body=body).author == "Jelena Marković"
    # The meta tag outranks the markup; a refused meta value falls through to it.
    assert meta('<meta name="author" content="Desk">', '<a rel="author">Ana</a>').author == "Desk"
    assert meta('<meta name="author" content="https://x.example/a">', '<a rel="author">Ana</a>').author == "Ana"


def test_an_author_that_is_a_url_or_a_paragraph_is_refused() -> None:
    assert meta('<meta property="article:author" content="https://facebook.com/ledger">').author is None
    assert meta(body=f'<p itemprop="author">{"word " * 40}</p>').author is None


def test_a_junk_year_does_not_hide_the_real_date() -> None:
    got = meta(
        '<meta property="article:published_time" content="0001-01-01T00:00:00Z">'
        '<script type="application/ld+json">{"datePublished": "2025-04-08T21:00:00Z"}</script>'
    )
    assert got.published == datetime(2025, 4, 8, 21, 0, tzinfo=UTC)


def test_a_date_only_page_gives_a_day_and_no_timestamp() -> None:
    got = meta('<meta name="pubdate" content="2025-04-07">', url="https://x.example/a")
    assert (got.published, got.day) == (None, datetime(2025, 4, 7, tzinfo=UTC))


def test_the_url_path_gives_the_day_when_the_markup_has_none() -> None:
    assert meta().day == datetime(2025, 4, 9, tzinfo=UTC)


def test_htmldate_finds_cms_markup_we_do_not_list() -> None:
    body = '<article><abbr class="published" title="2025-03-30">30 March</abbr><p>x</p></article>'
    assert meta(body=body, url="https://x.example/a").day == datetime(2025, 3, 30, tzinfo=UTC)


def test_no_date_anywhere_is_none_not_a_guess() -> None:
    got = meta(body="<footer><p>(c) 2026 Ledger</p></footer>", url="https://x.example/a")
    assert (got.published, got.day) == (None, None)


def test_declared_language_is_the_primary_subtag() -> None:
    tree = trafilatura.load_html('<html lang="sr-Latn-RS"><body><p>x</p></body></html>')
    assert tree is not None
    assert read_page_meta(tree, URL).language == "sr"


def test_parse_timestamp_needs_a_time_of_day() -> None:
    assert parse_timestamp("2025-04-09") is None
    assert parse_timestamp("Wed, 09 Apr 2025 10:15:00 +0200") == datetime(2025, 4, 9, 8, 15, tzinfo=UTC)
    assert parse_timestamp("1970-01-01T00:00:00Z") is None
