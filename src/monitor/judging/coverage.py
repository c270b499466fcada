"""Gaps in coverage: a feed that no longer reaches back to our last poll of it.

A feed shows only its latest items. If more were published between two polls than the
feed holds, the oldest of them left it before we looked, and nothing in the fetch says so:
every fetch succeeded, every item shown was stored. Feed readers (Miniflux, FreshRSS,
Feedly) live with that silently; analysts counting articles over time cannot.

The sign is the one a reader can see: on a poll after a successful one, **no item of the
feed was seen before**, so the feed's window does not overlap the last one. When the
items are dated, the window is checked too: if the oldest item was published before the
last successful poll, the feed does reach back that far, and nothing can have fallen out
between (its other items were simply never in the feed when we looked, as when a site
changes every link at once). Otherwise a gap is recorded, bounded by the last successful
poll and the oldest item now in the feed: items published in between may be missing.

The first poll of a feed (or of a new feed URL) never records a gap: what came before it
is a backlog, not a gap. A feed whose pages all failed to fetch last time is not taken for
a gap either: the caller counts page URLs it tried as seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.models import FeedEntry

__all__ = ["CoverageGap", "coverage_gap"]


@dataclass(frozen=True)
class CoverageGap:
    """Items published between ``since`` and ``until`` may be missing from ``source``."""

    source: str
    since: datetime  # the last successful poll before this one
    until: datetime  # the oldest item now in the feed, or when the gap was seen if undated
    items: int  # items in the feed, none seen before
    dated: bool  # whether ``until`` is an item's date (False: the feed gives none)
    reason: str


def coverage_gap(
    source: str,
    entries: Sequence[FeedEntry],
    *,
    seen: int,
    last_success_at: datetime | None,
    now: datetime,
    poll_minutes: int,
) -> CoverageGap | None:
    """The gap this poll reveals, or None.

    ``seen`` counts the entries already stored or already tried; ``last_success_at`` is
    the previous successful poll of the same feed URL (None for a first poll).
    """
    if last_success_at is None or not entries or seen > 0:
        return None
    dates = [e.published for e in entries if e.published is not None]
    oldest = min(dates) if dates else None
    if oldest is not None and oldest <= last_success_at:
        return None
    n = len(entries)
    shown = f"{n} item{'s' if n != 1 else ''}"
    if oldest is not None:
        window = (f"none of its {shown} was seen before and the oldest is dated {oldest:%Y-%m-%d %H:%M} UTC, "
                  f"after the last successful poll at {last_success_at:%Y-%m-%d %H:%M} UTC")
    else:
        window = (f"none of its {shown} was seen before and they carry no dates; the last successful poll "
                  f"was at {last_success_at:%Y-%m-%d %H:%M} UTC")
    reason = (f"possible gap: {window}, so items published in between may have left the feed unread "
              f"(its poll_minutes is {poll_minutes}: lower it to poll the feed more often)")
    return CoverageGap(source=source, since=last_success_at, until=oldest or now, items=n,
                       dated=oldest is not None, reason=reason)
