"""ISO weeks as analysts write them ("2026-W45"): parse, format, step and pick the last complete one.

Weeks run Monday to Sunday in UTC, like the warehouse views (``warehouse/views.sql``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from monitor.exceptions import DigestError

__all__ = [
    "format_week",
    "last_complete_week",
    "parse_week",
    "shift_week",
    "week_bounds_utc",
]

_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


def parse_week(week: str) -> tuple[date, date]:
    """The Monday and Sunday of an ISO week written ``YYYY-Www``; DigestError if it is not one."""
    m = _WEEK.match(week.strip()) if isinstance(week, str) else None
    if m is None:
        raise DigestError(
            f"Not an ISO week: {week!r}. Write it as YYYY-Www, e.g. 2026-W45 "
            "(ISO year, a dash, W and the week number 01-53)."
        )
    year, number = int(m.group(1)), int(m.group(2))
    try:
        monday = date.fromisocalendar(year, number, 1)
    except ValueError:
        weeks_in_year = date(year, 12, 28).isocalendar().week  # 28 Dec is always in the last week
        raise DigestError(
            f"There is no week {number} in {year}: ISO year {year} has weeks 01 to {weeks_in_year}."
        ) from None
    return monday, monday + timedelta(days=6)


def format_week(day: date) -> str:
    """The ISO week ``YYYY-Www`` that contains ``day``."""
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def shift_week(week: str, weeks: int) -> str:
    """The ISO week ``weeks`` after (or before, if negative) ``week``."""
    monday, _ = parse_week(week)
    return format_week(monday + timedelta(weeks=weeks))


def last_complete_week(today: date) -> str:
    """The most recent ISO week that ended before ``today`` (on a Monday: the week just ended)."""
    return format_week(today - timedelta(days=today.isoweekday()))


def week_bounds_utc(week: str) -> tuple[datetime, datetime]:
    """The half-open UTC interval [Monday 00:00, next Monday 00:00) of an ISO week."""
    monday, _ = parse_week(week)
    start = datetime.combine(monday, time(0, 0), tzinfo=UTC)
    return start, start + timedelta(days=7)
