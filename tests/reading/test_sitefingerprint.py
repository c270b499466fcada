"""Operator identifiers read from a raw page; placeholders and public library ids are not kept."""

from __future__ import annotations

from monitor.reading.sitefingerprint import fingerprint_site

PAGE = b"""<!DOCTYPE html><html><head>
<meta name="google-site-verification" content="aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1x">
<meta content="4f2a9c1e7b3d5a60" name="yandex-verification">
<meta property="fb:app_id" content="312847561029384">
<script async src="https://www.googletagmanager.com/gtag/js?id=G-7QK2M9PL4X"></script>
<script>gtag('config', 'G-7QK2M9PL4X'); ga('create', 'UA-4829103-7', 'auto');</script>
<script>(function(w,d,s,l,i){})(window,document,'script','dataLayer','GTM-K9P2XQ7');</script>
<script async src="https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js?client=ca-pub-4829103746182035"></script>
<script>ym(90871234, "init", {clickmap:true});</script>
<noscript><img src="https://mc.yandex.ru/watch/90871234" alt=""></noscript>
<script>fbq('init', '1029384756102938');</script>
</head><body><p>Text.</p></body></html>"""


def test_every_kind_of_identifier_is_read_once_with_its_markup() -> None:
    found = fingerprint_site(PAGE)
    assert [(i.kind, i.value) for i in found] == [
        ("adsense", "ca-pub-4829103746182035"),
        ("fb_app", "312847561029384"),
        ("fb_pixel", "1029384756102938"),
        ("ga", "UA-4829103"),  # the account of property UA-4829103-7
        ("ga4", "G-7QK2M9PL4X"),
        ("gtm", "GTM-K9P2XQ7"),
        ("verification", "google-site-verification=aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1x"),
        ("verification", "yandex-verification=4f2a9c1e7b3d5a60"),
        ("yandex_metrica", "90871234"),
    ]
    ga4 = next(i for i in found if i.kind == "ga4")
    assert "G-7QK2M9PL4X" in ga4.evidence and len(ga4.evidence) <= 120


def test_placeholders_and_public_library_ids_are_not_identifiers() -> None:
    page = b"""<html><head>
<meta property="fb:app_id" content="966242223397117">
<script>gtag('config', 'G-XXXXXXXXXX'); ga('create', 'UA-XXXXX-Y'); ga('create', 'UA-12345678-1');</script>
<script>(function(){})(window,document,'script','dataLayer','GTM-XXXX');</script>
<script data-ad-client="ca-pub-0000000000000000"></script>
<script>ym(11111111, "init", {});</script>
</head><body></body></html>"""
    assert fingerprint_site(page) == ()


def test_a_page_without_identifiers_has_none() -> None:
    assert fingerprint_site(b"<html><body><p>G-protein coupled receptors, GTM in a sentence.</p></body></html>") == ()


def test_the_scans_by_first_byte_find_what_one_alternation_finds() -> None:
    # _scan runs one regex per first byte of the markers and merges them; an alternation
    # takes no match inside one already taken (an id inside a meta tag) and resumes after it.
    import re

    from monitor.reading.sitefingerprint import _MARKERS, _scan

    one = re.compile(b"|".join(_MARKERS))
    pages = [
        b'<meta name="google-site-verification" content="UA-1234567-1"> UA-7654321-2',
        b"GTM-ABCD12 G-ABCDEF1234 UA-GTM-1234 pub-1234567890123 ca-pub-2234567890123456",
        b"<meta content='yaCounter123456 fbq(\"init\", \"1234567890123\")'>ym(123456) mc.yandex.ru/watch/98765",
        b"facebook.com/tr?id=1234567890 <Meta\nproperty='fb:app_id' content='123456789'> <META G-12345678>",
        b"<meta <meta name=x> UA-UA-1234-5 yym(12345) ffbq('init','12345678901')",
    ]
    for page in pages:
        assert [(m.span(), m.lastgroup) for m in _scan(page)] == [(m.span(), m.lastgroup) for m in one.finditer(page)]
