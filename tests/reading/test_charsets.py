"""charsets.py: the encoding labels a body and its headers declare, as written, and the
guess for 8-bit bodies that declare none (shared by pages and feeds)."""

from __future__ import annotations

import pytest

from monitor.reading.charsets import guess_undeclared, header_charset, meta_charset, undeclared_cyrillic, xml_encoding


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


# Written for these tests: one sentence per language, long enough to judge (>= 20 letters).
RUSSIAN = "Президент Сербии заявил, что Белград не будет вводить санкции против Москвы."
MACEDONIAN = "Владата во Скопје соопшти дека руските дипломати ја напуштија земјата во петок."
SERBIAN_LATIN = "Predsednik Vučić je rekao da će Srbija ostati neutralna, a Đorđe ćuti o tome."
DANISH = "Kære læsere: færgen til Århus er aflyst på grund af vejret, og det er ærgerligt."
FRENCH = "Le président serbe a déclaré que Belgrade ne se préoccupe guère des sanctions."
JAPANESE = "ロシアとセルビアの関係について記事を投稿した。"
ALBANIAN = "Kryeministri tha se Shqipëria mbështet sanksionet ndaj Rusisë dhe se ndikimi është i madh."


@pytest.mark.parametrize(("text", "codec", "guessed"), [
    (RUSSIAN, "cp1251", "cp1251"),
    (RUSSIAN, "koi8_r", "koi8_r"),
    (MACEDONIAN, "cp1251", "cp1251"),
    (SERBIAN_LATIN, "cp1250", "cp1250"),
    # æ twice, but Danish also writes ø or å, which Serbian and Croatian never do.
    (DANISH, "cp1252", "cp1252"),
    (FRENCH, "cp1252", "cp1252"),
    (ALBANIAN, "cp1252", "cp1252"),
    # Shift_JIS bytes read as windows-1252 hold æ and ð too (a real feed's did); not Latin text.
    (JAPANESE, "shift_jis", "cp1252"),
])
def test_an_undeclared_8bit_body_is_guessed_by_its_letters(text: str, codec: str, guessed: str) -> None:
    raw = f"<html><body><p>{text}</p></body></html>".encode(codec)
    assert guess_undeclared(raw) == guessed
    if guessed == codec:
        assert raw.decode(guessed) == raw.decode(codec)


def test_markup_does_not_outweigh_the_words() -> None:
    # A KOI8-R page whose menus are most of its bytes: read whole, charset_normalizer
    # took it for windows-1251; the guess reads only the text between tags.
    menus = "<div class='menu'><a href='/section'>link</a></div>" * 200
    raw = f"<html><head><script>var x = '<b>';</script></head><body>{menus}<p>{RUSSIAN}</p></body></html>".encode("koi8_r")
    assert guess_undeclared(raw) == "koi8_r"


def test_only_cyrillic_prose_is_taken_for_cyrillic() -> None:
    assert undeclared_cyrillic(RUSSIAN.encode("cp1251")) == "cp1251"
    assert undeclared_cyrillic(b"plain ASCII text, nothing to guess") is None
    assert undeclared_cyrillic(SERBIAN_LATIN.encode("cp1250")) is None
    # Hebrew and Japanese are left alone too: tests/test_feeds.py, where they were met.
