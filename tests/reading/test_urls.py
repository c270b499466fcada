from hypothesis import given
from hypothesis import strategies as st

from monitor.reading.urls import article_id, canonicalize_url, is_http_url


def test_tracking_parameters_fragment_default_port_and_host_case_are_dropped():
    assert (
        canonicalize_url("HTTPS://Balkaninsight.COM:443/2026/11/02/story/?utm_source=tw&fbclid=x#comments")
        == "https://balkaninsight.com/2026/11/02/story/"
    )


def test_parameters_that_tell_articles_apart_are_kept_and_sorted():
    assert canonicalize_url("http://x.rs/news.php?id=42&lang=sr") == "http://x.rs/news.php?id=42&lang=sr"
    assert canonicalize_url("http://x.rs/news.php?lang=sr&id=42") == "http://x.rs/news.php?id=42&lang=sr"
    assert canonicalize_url("http://x.rs/news.php?id=42") != canonicalize_url("http://x.rs/news.php?id=43")


def test_path_case_and_trailing_slash_are_kept():
    assert canonicalize_url("http://x.rs/Vesti/A") == "http://x.rs/Vesti/A"
    assert canonicalize_url("http://x.rs/a/") != canonicalize_url("http://x.rs/a")


def test_percent_encoding_and_dot_segments_are_normalised():
    assert canonicalize_url("http://x.rs/a/./b/../%7Euser/%d1%81") == "http://x.rs/a/~user/%D1%81"


def test_non_default_port_is_kept_and_ipv6_literal_survives():
    assert canonicalize_url("http://127.0.0.1:8080/feed") == "http://127.0.0.1:8080/feed"
    assert canonicalize_url("http://[::1]:80/a") == "http://[::1]/a"


def test_internationalised_host_becomes_punycode():
    url = canonicalize_url("https://Вести.срб/a")
    assert url == "https://" + "вести.срб".encode("idna").decode() + "/a"
    assert url.isascii()


def test_non_http_strings_come_back_unchanged():
    assert canonicalize_url(" file:///etc/passwd ") == "file:///etc/passwd"
    assert canonicalize_url("not a url") == "not a url"
    assert not is_http_url("file:///etc/passwd")
    assert is_http_url("https://x.rs/")


def test_article_id_is_stable_and_short():
    assert article_id("https://x.rs/a") == article_id("https://x.rs/a")
    assert article_id("https://x.rs/a").startswith("a_") and len(article_id("https://x.rs/a")) == 18


@given(st.text())
def test_canonicalisation_never_raises_and_is_idempotent_on_any_string(s):
    once = canonicalize_url(s)
    assert canonicalize_url(once) == once


@given(
    st.sampled_from(["http", "https", "HTTP"]),
    st.from_regex(r"[a-z0-9]{1,12}(\.[a-z]{2,5}){1,2}", fullmatch=True),
    st.lists(st.text(alphabet="abcXYZ019-_~%/.é ", max_size=8), max_size=4),
    st.dictionaries(st.sampled_from(["id", "utm_source", "page", "fbclid", "q"]), st.text(max_size=5), max_size=4),
)
def test_canonical_http_urls_are_idempotent_and_free_of_tracking(scheme, host, segments, query):
    from urllib.parse import urlencode

    url = f"{scheme}://{host}/{'/'.join(segments)}?{urlencode(query)}#frag"
    once = canonicalize_url(url)
    assert canonicalize_url(once) == once
    assert "#" not in once and "utm_source" not in once and "fbclid" not in once
    assert once.startswith(scheme.lower() + "://" + host)
