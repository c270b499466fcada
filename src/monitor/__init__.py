"""monitor: every new article on Russian influence in the Balkans, once, cleaned, tagged and countable.

The library needs no Prefect: ``flows/`` wires these functions into Prefect flows.
"""

from __future__ import annotations

from monitor.exceptions import MonitorError
from monitor.models import Document, Extracted, FeedEntry, Match, ParsedFeed, Relevance, Source, Tag
from monitor.settings import Settings, load_settings

__version__ = "0.1.0"

__all__ = [
    "Document",
    "Extracted",
    "FeedEntry",
    "Match",
    "MonitorError",
    "ParsedFeed",
    "Relevance",
    "Settings",
    "Source",
    "Tag",
    "load_settings",
    "__version__",
]
