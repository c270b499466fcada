"""feeddates: RFC 822-shaped dates with localised month names and named zones.

Every string here was written by us in the shapes CMSes in the region produce (day
and month names in Serbian Latin and Cyrillic, Croatian, Russian, Bulgarian,
Macedonian, Albanian) plus the two real-world shapes found by benchmarks/bench_feeds.py
(Portuguese and Italian), with the instant each must give worked out by hand.
"""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.reading.feeddates import parse_feed_date


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("pet, 20 nov 2026 10:00:00 +0100", datetime(2026, 11, 20, 9, 0, tzinfo=UTC)),  # Serbian Latin
        ("пет, 20 нов 2026 10:00:00 +0100", datetime(2026, 11, 20, 9, 0, tzinfo=UTC)),  # Serbian Cyrillic
        ("20. novembar 2026. u 10:00", datetime(2026, 11, 20, 10, 0, tzinfo=UTC)),  # no zone: UTC
        ("pet, 20 stu 2026 10:00:00 +0100", datetime(2026, 11, 20, 9, 0, tzinfo=UTC)),  # Croatian studeni
        ("Пт, 20 ноя 2026 23:30:00 MSK", datetime(2026, 11, 20, 20, 30, tzinfo=UTC)),  # Russian, Moscow time
        ("Чт, 19 июн 2025 08:00:00 +0300", datetime(2025, 6, 19, 5, 0, tzinfo=UTC)),  # июн is June ...
        ("Чт, 19 июл 2025 08:00:00 +0300", datetime(2025, 7, 19, 5, 0, tzinfo=UTC)),  # ... июл is July
        ("20 ноября 2026 в 10:00", datetime(2026, 11, 20, 10, 0, tzinfo=UTC)),  # Russian genitive, "в"
        ("пет, 20 ное 2026 10:00:00 +0200", datetime(2026, 11, 20, 8, 0, tzinfo=UTC)),  # Bulgarian/Macedonian
        ("e premte, 20 nëntor 2026 10:00 +0100", datetime(2026, 11, 20, 9, 0, tzinfo=UTC)),  # Albanian
        ("Seg, 24 Set 2018 19:42:40 -0300", datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)),  # Portuguese
        ("mer, 16 nov 2022 00:38:15 +0100", datetime(2022, 11, 15, 23, 38, 15, tzinfo=UTC)),  # Italian
        ("Fri, 20 Nov 2026 23:30:00 CET", datetime(2026, 11, 20, 22, 30, tzinfo=UTC)),  # feedparser: 23:30
        ("Sat, 01 Aug 2026 08:00:00 CEST", datetime(2026, 8, 1, 6, 0, tzinfo=UTC)),
        ("Fri, 20 Nov 2026 10:00:00 GMT", datetime(2026, 11, 20, 10, 0, tzinfo=UTC)),
        ("20 Nov 2026", datetime(2026, 11, 20, tzinfo=UTC)),
    ],
)
def test_a_localised_or_zone_named_date_gives_the_right_instant(raw: str, expected: datetime) -> None:
    assert parse_feed_date(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "2026-11-20T10:00:00Z",  # ISO 8601: feedparser's to read
        "Sat, 31 Nov 2026 10:00 GMT",  # no 31 November
        "Fri, 20 Nov 2026 10:00:00 XYZ",  # a zone we do not know: feedparser decides
        "Fri, 20 Xyz 2026 10:00:00 GMT",  # not a month
        "Fri, 20 Nov 2026 10:00:00 +1500",  # no such offset
        "yesterday",
        "",
    ],
)
def test_what_is_not_an_rfc822_shaped_date_in_a_known_language_gives_none(raw: str) -> None:
    assert parse_feed_date(raw) is None


@pytest.mark.parametrize("raw", ["31 Dec 9999 23:59 -1200", "01 Jan 0001 00:00 +0100", "01 Jan 0000 00:00 GMT"])
def test_a_date_at_the_edge_of_the_calendar_gives_none_not_an_overflow(raw: str) -> None:
    assert parse_feed_date(raw) is None


_PIECES = st.sampled_from(["Fri,", "пет,", "e premte,", "20", "31", "00", "99", "Nov", "ноя", "nëntor", "xyz", "2026",
                           "9999", "0000", "10:00", "25:61:61", "+0100", "-1400", "+14:00", "GMT", "MSK", "ABC", "u", "в"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=7).map(" ".join) | st.text(max_size=60))
def test_any_text_gives_none_or_a_utc_datetime(raw: str) -> None:
    got = parse_feed_date(raw)
    assert got is None or (isinstance(got, datetime) and got.utcoffset() == timedelta(0))
