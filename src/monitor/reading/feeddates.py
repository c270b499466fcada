"""Feed dates that feedparser misreads: month names in other languages, named time zones.

RSS dates are meant to be RFC 822 in English ("Fri, 20 Nov 2026 10:00:00 +0100"), but
many CMSes localise them: "pet, 20 nov 2026", "Пт, 20 ноя 2026", "Seg, 24 Set 2018".
feedparser then finds no date at all. It also reads any time-zone name it does not
know (CET, CEST, EET, MSK: the zones of the Balkans and Russia) as UTC, an error of one
to three hours that moves late-evening items into the next day. ``parse_feed_date``
reads the RFC 822 shape itself, with month names in the region's languages (and the
usual Western ones); for anything else it returns None and feedparser's reading stands.

Decisions: the weekday is ignored (it is redundant and localised); a time without a zone
is read as UTC (what feedparser does for ISO 8601 dates without one); a date without a
time is midnight UTC; an unknown zone name gives None, so feedparser decides.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from monitor.reading.normalize import fold

__all__ = ["parse_feed_date"]

#: Folded month-name prefixes (lower case, Latin, no diacritics; see normalize.fold):
#: English, Serbian/Bosnian/Montenegrin/Slovene (Latin and Cyrillic), Croatian, Russian,
#: Bulgarian, Macedonian, Albanian, Romanian, German, French, Italian, Spanish, Portuguese.
_MONTH_PREFIXES: dict[int, tuple[str, ...]] = {
    1: ("jan", "ene", "gen", "ian", "sij"),
    2: ("feb", "fev", "velj", "shk"),
    3: ("mar", "ozu"),
    4: ("apr", "abr", "avr", "pri", "tra"),
    5: ("may", "mai", "maj", "mag", "svi"),
    6: ("jun", "juin", "iun", "ijun", "giu", "qer", "lip"),
    7: ("jul", "juil", "iul", "ijul", "lug", "kor", "srp"),
    8: ("aug", "avg", "ago", "aou", "gus", "kol"),
    9: ("sep", "set", "sen", "sht", "ruj"),
    10: ("oct", "okt", "ott", "out", "tet", "lis"),
    11: ("nov", "noi", "noj", "noe", "nen", "stu"),
    12: ("dec", "dez", "dic", "dek", "dhj", "pro"),
}
#: Longest prefix first, so "juin" is June before anything shorter is tried.
_PREFIXES = sorted(((p, m) for m, ps in _MONTH_PREFIXES.items() for p in ps), key=lambda pm: -len(pm[0]))
#: A month word longer than this is not a month name ("novembra", "nojabrja" fit).
_MAX_MONTH_WORD = 12

#: Zone names in use in the region and in English-language feeds, in hours from UTC.
_ZONES: dict[str, float] = {
    "gmt": 0, "ut": 0, "utc": 0, "z": 0, "wet": 0, "bst": 1, "west": 1, "cet": 1, "cest": 2,
    "eet": 2, "eest": 3, "msk": 3, "edt": -4, "est": -5, "cdt": -5, "cst": -6, "mdt": -6,
    "mst": -7, "pdt": -7, "pst": -8,
}

_DATE = re.compile(
    r"""^\s*
    (?:(?:e\s+)?[a-z]{2,12}\.?,?\s+)?                # weekday, any language (ignored; "e premte")
    (?P<day>\d{1,2})\.?\s+
    (?P<month>[a-z]{3,})\.?,?\s+
    (?P<year>\d{4})\.?,?
    (?:\s+(?:u\s+|at\s+|um\s+|a\s+las\s+|v\s+)?      # "u 10:00" (sr), "в 10:00" (ru) ...
       (?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?:[:.](?P<second>\d{2}))?)?
    \s*(?:(?:gmt|utc|ut)?\s*(?P<offset>[+-]\d{2}:?\d{2})|(?P<zone>[a-z]{1,5}))?
    \s*$""",
    re.VERBOSE,
)


def _month(word: str) -> int | None:
    if len(word) > _MAX_MONTH_WORD:
        return None
    for prefix, month in _PREFIXES:
        if word.startswith(prefix):
            return month
    return None


def parse_feed_date(raw: str) -> datetime | None:
    """A UTC datetime from an RFC 822-shaped date in any of the languages above, else None."""
    m = _DATE.match(fold(raw))
    if m is None:
        return None
    month = _month(m["month"])
    if month is None:
        return None
    if m["offset"]:
        sign = -1 if m["offset"][0] == "-" else 1
        digits = m["offset"][1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if offset > timedelta(hours=14):
            return None
        tz = timezone(sign * offset)
    elif m["zone"]:
        hours = _ZONES.get(m["zone"])
        if hours is None:
            return None
        tz = timezone(timedelta(hours=hours))
    else:
        tz = UTC
    try:
        when = datetime(
            int(m["year"]), month, int(m["day"]),
            int(m["hour"] or 0), int(m["minute"] or 0), int(m["second"] or 0), tzinfo=tz,
        )
        return when.astimezone(UTC)
    except (ValueError, OverflowError):  # 31 Nov, hour 25; year 9999 pushed past the calendar by its zone
        return None
