"""charsets.py: the encoding labels a body and its headers declare, as written."""

from __future__ import annotations

import pytest

from monitor.charsets import header_charset, meta_charset, xml_encoding


@pytest.mark.parametrize(("content_type", "label"), [
    ("text/html; charset=UTF-8", "utf-8"),
    ('application/rss+xml; charset= "Windows-1251"', "windows-1251"),
    ("application/xml", None),
    (None, None),
])
def test_header_charset_is_the_content_type_parameter_lower_cased(content_type: str | None, label: str | None) -> None:
    assert header_charset(content_type) == label


def test_xml_encoding_is_read_only_from_a_declaration_at_the_start() -> None:
    assert xml_encoding(b'  <?xml version="1.0" encoding="KOI8-R"?><rss/>') == "koi8-r"
    assert xml_encoding(b'<?xml version="1.0"?><rss/>') is None
    assert xml_encoding(b'<rss><title>encoding="cp1251"</title><?xml encoding="cp1251"?></rss>') is None


def test_meta_charset_is_the_first_meta_that_names_one() -> None:
    head = b'<head><meta name="x" content="y"><meta charset="windows-1250"><meta charset="utf-8">'
    assert meta_charset(head) == "windows-1250"
    assert meta_charset(b'<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-2">') == "iso-8859-2"
    assert meta_charset(b"<head><title>none</title></head>") is None
