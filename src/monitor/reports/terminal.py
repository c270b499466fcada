"""Printing strings from the web to a terminal without letting them drive it.

A headline can carry ANSI escape sequences or other control characters that move the
cursor, retitle the window or hide text; everything we print passes through ``safe``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

__all__ = ["safe", "format_table", "safe_json"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: Widest a table cell is printed; full values are one `monitor sql --format json` away.
MAX_CELL = 60
#: Decimals a float cell shows: durations and ratios are read by people, and a DOUBLE's
#: 16 digits (fetch_log.elapsed_ms) say nothing a thousandth does not.
FLOAT_DECIMALS = 3


def safe(value: Any) -> str:
    """A printable one-line-safe rendering: control characters (ESC, bidi overrides) become '?'."""
    text = "" if value is None else str(value)
    return _CONTROL.sub("?", text)


#: What JSON output escapes beyond what json.dumps does (it escapes C0 only): DEL, the C1
#: controls (U+0080-U+009F: a terminal takes U+009B for ESC [), the bidi embeddings,
#: overrides, isolates and marks that reorder what a reader sees (U+202E shows a title
#: backwards), and the line and paragraph separators JavaScript takes for line ends.
#: Lone surrogates too (a page's broken UTF-16), which stdout could not even encode.
#: Cyrillic and every other letter stay as they are, readable.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def safe_json(value: Any) -> str:
    """JSON text (``default=str``) that keeps letters readable but escapes every control character as ``\\uXXXX``."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    # These characters can only occur inside JSON strings, where \uXXXX means the same character.
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        value = round(value, FLOAT_DECIMALS)
    text = safe(value).replace("\n", " ").replace("\t", " ")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table of query results."""
    cells = [[_cell(c) for c in columns]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)
