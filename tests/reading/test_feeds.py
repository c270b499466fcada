import gzip
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.exceptions import FeedError
from monitor.reading.feeds import parse_feed

NOW = datetime(2026, 11, 20, tzinfo=UTC)

RSS2 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Balkan Watch</title><link>https://bw.example/</link>
<item><title>Pantsir batteries reach Belgrade</title><link>/2026/11/pantsir?utm_source=rss</link>
 <guid isPermaLink="false">bw-1</guid><pubDate>Mon, 02 Nov 2026 10:00:00 +0100</pubDate>
 <content:encoded><![CDATA[<p>Full text of the story.</p>]]></content:encoded></item>
<item><title>Same item again</title><link>https://bw.example/2026/11/pantsir</link><guid isPermaLink="false">bw-1</guid></item>
<item><title>Epoch date</title><link>https://bw.example/epoch</link><pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate></item>
<item><title>From the future</title><link>https://bw.example/future</link><pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>
<item><title>No link at all</title><description>orphan</description></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Watch</title>
<entry><title>Gas deal</title><link href="https://aw.example/gas"/><id>tag:aw,2026:1</id>
<updated>2026-10-05T08:30:00Z</updated><summary>NIS and Gazprom</summary><author><name>M. P.</name></author></entry>
</feed>"""

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://rdf.example/"><title>RDF Watch</title><link>https://rdf.example/</link></channel>
<item rdf:about="https://rdf.example/sofia"><title>Sofia expels diplomats</title><link>https://rdf.example/sofia</link>
<dc:date>2026-09-14T12:00:00+03:00</dc:date></item>
</rdf:RDF>"""


def test_rss2_items_are_parsed_with_canonical_urls_utc_dates_and_full_content():
    feed = parse_feed(RSS2, url="https://bw.example/feed", source="bw", now=NOW)
    assert feed.version == "rss20" and feed.title == "Balkan Watch" and feed.problem is None
    first = feed.entries[0]
    assert first.url == "https://bw.example/2026/11/pantsir?utm_source=rss"
    assert first.canonical_url == "https://bw.example/2026/11/pantsir"
    assert first.published == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert first.content_html == "<p>Full text of the story.</p>"
    assert first.source == "bw" and first.title == "Pantsir batteries reach Belgrade"


def test_duplicate_guids_missing_links_and_implausible_dates_are_recorded_not_fatal():
    feed = parse_feed(RSS2, url="https://bw.example/feed", source="bw", now=NOW)
    assert [e.canonical_url for e in feed.entries] == [
        "https://bw.example/2026/11/pantsir", "https://bw.example/epoch", "https://bw.example/future"]
    assert feed.entries[1].published is None and feed.entries[2].published is None
    assert feed.entries[2].published_raw == "Fri, 01 Jan 2100 00:00:00 GMT"
    reasons = " | ".join(feed.skipped)
    assert "duplicate item" in reasons and "no usable link" in reasons
    assert "implausible date 1970-01-01" in reasons and "implausible date 2100-01-01" in reasons


def test_atom_and_rdf_feeds_are_parsed():
    atom = parse_feed(ATOM, url="https://aw.example/atom", source="aw", now=NOW)
    assert atom.version == "atom10"
    assert atom.entries[0].published == datetime(2026, 10, 5, 8, 30, tzinfo=UTC)
    assert atom.entries[0].author == "M. P." and atom.entries[0].summary == "NIS and Gazprom"
    rdf = parse_feed(RDF, url="https://rdf.example/rss", source="rdf", now=NOW)
    assert rdf.version == "rss10"
    assert rdf.entries[0].published == datetime(2026, 9, 14, 9, 0, tzinfo=UTC)


def test_truncated_feed_keeps_what_it_yields_and_says_why():
    cut = RSS2[: RSS2.index(b"<item><title>Same item")]
    feed = parse_feed(cut, url="https://bw.example/feed", source="bw", now=NOW)
    assert feed.problem and feed.problem.startswith("malformed feed")
    assert [e.title for e in feed.entries] == ["Pantsir batteries reach Belgrade"]


@pytest.mark.parametrize("body, reason", [
    (b"", "empty_feed"), (b"   \n", "empty_feed"),
    (b"<html><body><p>Not a feed</p></body></html>", "not_a_feed"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not_a_feed"),
])
def test_bodies_that_are_not_feeds_raise_feed_error_with_a_reason(body, reason):
    with pytest.raises(FeedError) as exc:
        parse_feed(body, url="https://x.example/feed", source="x", now=NOW)
    assert exc.value.reason == reason


def test_item_cap_truncates_and_records_it():
    items = b"".join(b"<item><title>t%d</title><link>https://x.example/%d</link></item>" % (i, i) for i in range(30))
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>' + items + b"</channel></rss>"
    feed = parse_feed(body, url="https://x.example/feed", source="x", max_items=10, now=NOW)
    assert len(feed.entries) == 10
    assert any("item cap of 10 reached; 20 more" in s for s in feed.skipped)
    # Undated: feed order is the only order there is, so the first ten are kept.
    assert [e.title for e in feed.entries] == [f"t{i}" for i in range(10)]


def test_item_cap_keeps_the_newest_items_of_a_feed_listed_oldest_first():
    # An archive-style feed: oldest first. Keeping its first ten would drop every new item.
    items = b"".join(
        b"<item><title>t%d</title><link>https://x.example/%d</link>"
        b"<pubDate>%s</pubDate></item>" % (i, i, f"{i + 1:02d} Oct 2026 10:00:00 GMT".encode())
        for i in range(30))
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>' + items + b"</channel></rss>"
    feed = parse_feed(body, url="https://x.example/feed", source="x", max_items=10, now=NOW)
    assert [e.title for e in feed.entries] == [f"t{i}" for i in range(20, 30)]
    assert any("item cap of 10 reached; 20 more not read (the newest kept" in s for s in feed.skipped)


def test_item_cap_ranks_undated_items_after_dated_ones():
    items = (b"<item><title>undated</title><link>https://x.example/u</link></item>"
             b"<item><title>old</title><link>https://x.example/o</link><pubDate>01 Nov 2026 10:00:00 GMT</pubDate></item>"
             b"<item><title>new</title><link>https://x.example/n</link><pubDate>09 Nov 2026 10:00:00 GMT</pubDate></item>")
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>' + items + b"</channel></rss>"
    feed = parse_feed(body, url="https://x.example/feed", source="x", max_items=2, now=NOW)
    assert [e.title for e in feed.entries] == ["old", "new"]


def test_external_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    body = f"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>
<rss version="2.0"><channel><title>x</title><item><title>&xxe;</title><link>https://x.example/a</link>
<description>&xxe;</description></item></channel></rss>""".encode()
    feed = parse_feed(body, url="https://x.example/feed", source="x", now=NOW)
    flat = repr(feed)
    assert "TOP-SECRET-CONTENT" not in flat


def test_billion_laughs_does_not_expand():
    lol = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">]>
<rss version="2.0"><channel><title>x</title><item><title>&lol6;</title><link>https://x.example/a</link></item></channel></rss>"""
    feed = parse_feed(lol, url="https://x.example/feed", source="x", now=NOW)
    assert len(repr(feed)) < 10_000


def test_lying_charset_declaration_still_yields_entries():
    body = '<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel><title>Вести</title>' \
           '<item><title>Србија и Русија</title><link>https://x.example/a</link></item></channel></rss>'
    feed = parse_feed(body.encode("utf-8"), url="https://x.example/feed", source="x", now=NOW)
    assert len(feed.entries) == 1


def _assert_a_feed_or_a_feed_error(body: bytes) -> None:
    """parse_feed's promise for any body: entries with http(s) links and text fields, or a FeedError."""
    try:
        feed = parse_feed(body, url="https://x.example/feed", source="x", now=NOW)
    except FeedError:
        return
    for e in feed.entries:
        assert e.canonical_url.startswith(("http://", "https://"))
        assert all(v is None or isinstance(v, str) for v in (e.title, e.author, e.summary, e.content_html))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_give_a_feed_or_a_feed_error(body):
    _assert_a_feed_or_a_feed_error(body)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=30), st.sampled_from(["https://a.example/1", "https://a.example/2", "/rel", "", "javascript:alert(1)"])), max_size=8))
def test_generated_rss_items_keep_only_http_links_once_each(items):
    from xml.sax.saxutils import escape

    body = '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>' + "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link></item>" for t, link in items) + "</channel></rss>"
    feed = parse_feed(body.encode("utf-8"), url="https://a.example/feed", source="a", now=NOW)
    urls = [e.canonical_url for e in feed.entries]
    assert len(urls) == len(set(urls))
    assert all(u.startswith("https://a.example/") for u in urls)


# -- repairs: localised dates, undeclared Cyrillic, a body gzipped twice, JSON Feed ----------

LOCAL_DATES = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Дунав инфо</title><link>https://dunav.example/</link>
<item><title>Гасни споразум продужен</title><link>https://dunav.example/gas</link>
 <pubDate>пет, 20 нов 2026 10:00:00 +0100</pubDate></item>
<item><title>Sastanak u Moskvi</title><link>https://dunav.example/moskva</link>
 <pubDate>čet, 19 nov 2026 21:15:00 CET</pubDate></item>
<item><title>English date</title><link>https://dunav.example/en</link>
 <pubDate>Wed, 18 Nov 2026 08:00:00 GMT</pubDate></item>
</channel></rss>""".encode()


def test_localised_month_names_and_named_zones_give_trustworthy_dates_with_a_note():
    feed = parse_feed(LOCAL_DATES, url="https://dunav.example/rss", source="dunav", now=NOW)
    assert [(e.title, e.published, e.published_raw) for e in feed.entries] == [
        ("Гасни споразум продужен", datetime(2026, 11, 20, 9, 0, tzinfo=UTC), "пет, 20 нов 2026 10:00:00 +0100"),
        # feedparser reads CET as UTC (21:15); Central European Time is an hour ahead of it.
        ("Sastanak u Moskvi", datetime(2026, 11, 19, 20, 15, tzinfo=UTC), "čet, 19 nov 2026 21:15:00 CET"),
        ("English date", datetime(2026, 11, 18, 8, 0, tzinfo=UTC), "Wed, 18 Nov 2026 08:00:00 GMT"),
    ]
    assert feed.notes == ("2 dates read by month or zone name (feedparser found no date, or read the zone as UTC)",)
    assert feed.problem is None and feed.skipped == ()


def _undeclared(title: str, description: str) -> str:
    return (f"<rss version=\"2.0\"><channel><title>{title}</title><link>https://ru.example/</link>"
            f"<item><title>{title}</title><link>https://ru.example/1</link>"
            f"<description>{description}</description></item></channel></rss>")


RU_TITLE = "Россия и Сербия продлили газовый договор"
RU_TEXT = "Президент Сербии заявил, что Белград не будет вводить санкции против Москвы."


@pytest.mark.parametrize("codec", ["cp1251", "koi8_r"])
def test_cyrillic_feed_without_a_declared_encoding_is_detected_not_read_as_latin(codec):
    body = _undeclared(RU_TITLE, RU_TEXT).encode(codec)
    feed = parse_feed(body, url="https://ru.example/rss", source="ru", now=NOW)
    assert feed.title == RU_TITLE
    assert [(e.title, e.summary) for e in feed.entries] == [(RU_TITLE, RU_TEXT)]
    assert feed.notes == (f"encoding not declared: read as {codec} (detected)",)


def test_serbian_latin_feed_without_a_declared_encoding_reads_its_c_and_dj():
    title, text = "Vučić: Srbija neće uvesti sankcije", "Predsednik je rekao da će Đorđe i Vlada ostati pri odluci."
    feed = parse_feed(_undeclared(title, text).encode("cp1250"), url="https://rs.example/rss", source="rs", now=NOW)
    assert [(e.title, e.summary) for e in feed.entries] == [(title, text)]
    assert feed.notes == ("encoding not declared: read as cp1250 (detected)",)


def test_a_charset_from_the_http_header_is_honoured_and_not_second_guessed():
    body = _undeclared(RU_TITLE, RU_TEXT).encode("cp1251")
    feed = parse_feed(body, url="https://ru.example/rss", source="ru", content_type="application/rss+xml; charset=windows-1251", now=NOW)
    assert feed.entries[0].title == RU_TITLE and feed.notes == ()


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Rusia dhe Ballkani: çfarë duhet të dini",
         "Kryeministri tha se Shqipëria mbështet sanksionet ndaj Rusisë dhe se ndikimi rus është një kërcënim."),
        ("La Serbie et la Russie prolongent l'accord gazier",
         "Le président serbe a déclaré que Belgrade ne se préoccupe pas des sanctions européennes."),
    ],
)
def test_an_undeclared_western_latin_feed_keeps_feedparsers_windows_1252_reading(title, text):
    feed = parse_feed(_undeclared(title, text).encode("cp1252"), url="https://al.example/rss", source="al", now=NOW)
    assert [(e.title, e.summary) for e in feed.entries] == [(title, text)]
    assert feed.notes == ()


def test_a_body_gzipped_inside_the_response_is_decompressed():
    feed = parse_feed(gzip.compress(RSS2), url="https://bw.example/feed", source="bw", now=NOW)
    plain = parse_feed(RSS2, url="https://bw.example/feed", source="bw", now=NOW)
    assert feed.entries == plain.entries and feed.title == "Balkan Watch"
    assert feed.notes == ("body was gzip-compressed inside the response: decompressed",)


def test_a_gzip_bomb_inside_the_body_stops_at_the_body_cap():
    bomb = gzip.compress(b"<rss>" + b" " * 2_000_000 + b"</rss>")
    with pytest.raises(FeedError) as err:
        parse_feed(bomb, url="https://bw.example/feed", source="bw", now=NOW, max_body_bytes=1_000_000)
    assert err.value.reason == "too_large" and "1000000 bytes" in str(err.value)


def test_a_body_that_only_starts_like_gzip_is_a_clear_feed_error():
    with pytest.raises(FeedError) as err:
        parse_feed(b"\x1f\x8b not really gzip", url="https://bw.example/feed", source="bw", now=NOW)
    assert err.value.reason == "not_a_feed" and "does not decompress" in str(err.value)


JSON_FEED = json.dumps({
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Skopje Post",
    "home_page_url": "https://skopje.example/",
    "items": [
        {"id": "sp-1", "url": "https://skopje.example/2026/11/gas?utm_medium=feed", "title": "Gas talks resume",
         "content_html": "<p>Officials in Skopje met the Russian supplier.</p>", "summary": "Talks resume.",
         "date_published": "2026-11-19T18:30:00+01:00", "authors": [{"name": "E. Petrovska"}]},
        {"id": 2, "url": "https://skopje.example/2026/11/plain", "title": "Plain text item",
         "content_text": "First paragraph.\n\nSecond <paragraph>.", "date_modified": "2026-11-18T08:00:00Z",
         "author": {"name": "Desk"}},
        {"id": "sp-3", "title": "No URL at all", "content_text": "orphan"},
        {"id": "sp-4", "url": "https://skopje.example/future", "title": "From the future",
         "date_published": "2100-01-01T00:00:00Z"},
    ],
}).encode()


def test_json_feed_items_become_entries_like_rss_items():
    feed = parse_feed(JSON_FEED, url="https://skopje.example/feed.json", source="skopje", now=NOW)
    assert (feed.version, feed.title, feed.problem) == ("json11", "Skopje Post", None)
    first, second, future = feed.entries
    assert (first.url, first.canonical_url, first.guid, first.title, first.summary, first.author, first.published) == (
        "https://skopje.example/2026/11/gas?utm_medium=feed", "https://skopje.example/2026/11/gas", "sp-1",
        "Gas talks resume", "Talks resume.", "E. Petrovska", datetime(2026, 11, 19, 17, 30, tzinfo=UTC))
    assert first.content_html == "<p>Officials in Skopje met the Russian supplier.</p>"
    # content_text becomes escaped paragraphs, so the extractor sees text, not markup.
    assert second.content_html == "<p>First paragraph.</p><p>Second &lt;paragraph&gt;.</p>"
    assert (second.guid, second.author, second.published) == ("2", "Desk", datetime(2026, 11, 18, 8, 0, tzinfo=UTC))
    assert future.published is None
    assert any("no usable link: 'No URL at all'" in s for s in feed.skipped)
    assert any("implausible date 2100-01-01" in s for s in feed.skipped)


@pytest.mark.parametrize("body", [b'{"version": "1", "items": []}', b'{"items": "nope"', b"[1, 2, 3]"])
def test_json_that_is_not_a_json_feed_is_not_a_feed(body):
    with pytest.raises(FeedError) as err:
        parse_feed(body, url="https://x.example/feed.json", source="x", now=NOW)
    assert err.value.reason == "not_a_feed"


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20),
                     st.just("https://x.example/a"), st.just("2026-11-19T18:30:00+01:00"),
                     st.just("9999-12-31T23:59:00-12:00"), st.just("0001-01-01T00:00:00+01:00"))
#: Any JSON value, one level of nesting (item fields hold scalars, lists or objects).
_JSON_VALUES = _SCALARS | st.lists(_SCALARS, max_size=3) | st.dictionaries(st.sampled_from(["name", "url", "x"]), _SCALARS, max_size=3) \
    | st.lists(st.dictionaries(st.sampled_from(["name", "url"]), _SCALARS, max_size=2), max_size=2)
_ITEM_KEYS = st.sampled_from(["id", "url", "external_url", "title", "content_html", "content_text", "summary",
                              "date_published", "date_modified", "author", "authors"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(_ITEM_KEYS, _JSON_VALUES, max_size=8) | _SCALARS, max_size=5) | _JSON_VALUES)
def test_a_json_feed_with_items_of_any_shape_gives_a_feed_or_a_feed_error(items):
    _assert_a_feed_or_a_feed_error(
        json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": items}).encode())


@pytest.mark.parametrize(("text", "codec"), [
    ("רוסיה וסרביה חתמו על הסכם גז חדש. הנשיא אמר כי בלגרד לא תטיל סנקציות על מוסקבה.", "cp1255"),
    ("ロシアとセルビアが新しいガス契約に署名した。大統領は制裁を科さないと述べた。", "shift_jis"),
])
def test_other_undeclared_scripts_are_not_taken_for_cyrillic(text, codec):
    # Between windows-1252, windows-1251 and KOI8-R, Hebrew fits KOI8-R and Japanese
    # windows-1251 best (feedparser's own encoding tests showed it): they are left alone.
    feed = parse_feed(_undeclared(text, text).encode(codec), url="https://x.example/rss", source="x", now=NOW)
    assert feed.notes == ()
    assert not any("\u0400" <= c <= "\u04ff" for c in feed.entries[0].title)


@pytest.mark.parametrize("codec", ["cp1251", "koi8_r"])
def test_cyrillic_text_inside_cdata_is_what_the_encoding_guess_reads(codec):
    # The guess drops markup before it reads; a CDATA section is text, not a tag to drop.
    body = _undeclared(f"<![CDATA[{RU_TITLE}]]>", f"<![CDATA[{RU_TEXT}]]>").encode(codec)
    feed = parse_feed(body, url="https://ru.example/rss", source="ru", now=NOW)
    assert [(e.title, e.summary) for e in feed.entries] == [(RU_TITLE, RU_TEXT)]
    assert feed.notes == (f"encoding not declared: read as {codec} (detected)",)
