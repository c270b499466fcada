"""Report templates escape by default: the helpers behind the two environments."""

from __future__ import annotations

import pytest

from monitor.reports.templating import clean_text, escape_markdown, render, safe_url


def test_markdown_escaping_leaves_no_markup_and_no_stray_backslash_before_a_digit() -> None:
    assert escape_markdown("1984. A year") == r"1984\. A year"  # no ordered list, and no "\1984"
    assert escape_markdown("# Not a heading") == r"\# Not a heading"
    assert escape_markdown("[x](javascript:alert(1)) <b> &amp; *y*") == r"\[x\](javascript:alert(1)) \<b\> \&amp; \*y\*"


def test_clean_text_makes_one_line_without_bidi_overrides_and_cuts_with_an_ellipsis() -> None:
    assert clean_text("a\u202e b\n\tc\u2028d") == "a b c d"
    assert clean_text("abcdefgh", 5) == "abcd…"
    assert clean_text(None) == ""


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "//evil.example/", "https://a b/",
                                 "mailto:x@example.org", "", None])
def test_only_http_and_https_urls_become_links(url: str | None) -> None:
    assert safe_url(url) is None


def test_a_safe_url_is_percent_encoded_so_it_cannot_break_out() -> None:
    assert safe_url('https://x.example/a"><b>(c)') == "https://x.example/a%22%3E%3Cb%3E%28c%29"


def test_every_template_compiles_in_both_formats() -> None:
    # _words.j2 is imported by both digests; rendering it alone defines its macros and writes nothing.
    assert render("md", "_words.j2").strip() == "" and render("html", "_words.j2").strip() == ""
