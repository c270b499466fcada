"""Templates for reports: one Jinja2 environment per output format, escaping by default.

Every ``{{ value }}`` in a template is cleaned (control and bidi characters dropped,
whitespace collapsed to one line) and escaped for its format before it is written, so a
headline carrying ``<script>``, ``<img onerror=...>`` or ``[x](javascript:...)`` comes out
as text whatever the template author remembers:

- HTML: Jinja2's autoescape (as datasette renders), after the cleaning ``finalize``.
- Markdown: the same machinery. Autoescape is on, and ``finalize`` returns each value
  Markdown-escaped and wrapped in ``Markup``, which tells Jinja2 it is done: macro output and
  template text pass untouched, every value is escaped once. (``|safe`` would defeat this,
  in either format: templates never use it.)

Links go through the ``safe_url`` filter, which keeps only http(s) URLs, percent-encoded so
that they cannot break out of an attribute or a Markdown link; anything else is no link.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import jinja2
from markupsafe import Markup

__all__ = [
    "CHART_BAR_PX",
    "TEMPLATE_DIR",
    "TemplateFormat",
    "clean_text",
    "escape_markdown",
    "render",
    "safe_url",
]

TemplateFormat = Literal["md", "html"]

#: The report templates ship inside the package (pyproject's package-data).
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

# Bidi overrides and isolates can make a headline display as something else.
_INVISIBLE = {cp: None for cp in [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F]}
# Unicode's control characters (category Cc) and line/paragraph separators (Zl, Zp), as one
# class: a regular expression runs in C, a per-character category test cost half a render.
_LINE_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
_MD_ENTITY = re.compile(r"&(?=#?\w+;)")
# A value opening a line must not start a heading, quote, list or table rule: "1984. A year"
# is written "1984\. A year" (a backslash before a digit would show, before the dot it does not).
_MD_BLOCK_START = re.compile(r"^([#>+=-])")
_MD_ORDERED_ITEM = re.compile(r"^(\d+)([.)])")
_URL_SAFE = "/:?#@!$&'*+,;=%~"


def clean_text(text: object, limit: int | None = None) -> str:
    """Web text as one plain line: no control or bidi characters, whitespace collapsed, cut at ``limit``."""
    if text is None or text == "":
        return ""
    value = _LINE_BREAKING.sub(" ", str(text).translate(_INVISIBLE))
    value = " ".join(value.split())
    if limit is not None and len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return value


def escape_markdown(text: object) -> str:
    """Escape text for Markdown: no markup, links, HTML, entities or block starts survive."""
    out = _MD_INLINE.sub(r"\\\1", clean_text(text))
    out = _MD_ENTITY.sub(r"\\&", out)
    out = _MD_BLOCK_START.sub(r"\\\1", out)
    return _MD_ORDERED_ITEM.sub(r"\1\\\2", out)


def safe_url(url: object) -> str | None:
    """An http(s) URL percent-encoded so it cannot break out of a link, or None."""
    if not isinstance(url, str) or not url or any(ord(c) < 0x21 or ord(c) == 0x7F for c in url.strip()):
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return quote(url, safe=_URL_SAFE)  # encodes ( ) < > " space and non-ASCII


def _finalize_html(value: object) -> object:
    """Clean every string before autoescape; markup made by the template itself passes."""
    if value is None:
        return ""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return clean_text(value)


def _finalize_markdown(value: object) -> Markup:
    """Escape every value for Markdown, and mark it done so autoescape leaves it alone."""
    if value is None:
        return Markup("")
    if isinstance(value, Markup):
        return value
    if isinstance(value, (int, float)):  # numbers we computed: "1.0" is no list item
        return Markup(str(value))
    return Markup(escape_markdown(value))


def _markdown_url(url: object) -> Markup | None:
    """``safe_url`` for a Markdown link target: percent-encoding is its escaping."""
    safe = safe_url(url)
    return None if safe is None else Markup(safe)


def _day(d: date) -> str:
    """``2 November 2026``."""
    return f"{d.day} {d:%B %Y}"


def _span(monday: date, sunday: date) -> str:
    """A week's dates, said once: ``2–8 November 2026``, ``28 September – 4 October 2026``."""
    if monday.month == sunday.month:
        return f"{monday.day}–{_day(sunday)}"
    if monday.year == sunday.year:
        return f"{monday.day} {monday:%B} – {_day(sunday)}"
    return f"{_day(monday)} – {_day(sunday)}"


def _short_day(at: datetime) -> str:
    """``Mon 2 Nov``."""
    return f"{at:%a} {at.day} {at:%b}"


def _round1(value: float) -> float:
    """One decimal, as a number: the Markdown finalizer writes numbers as they are."""
    return round(float(value), 1)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    """``1 story``, ``2 stories``."""
    return f"{n} {word if n == 1 else (plural or word + 's')}"


_SPARKS = "▂▃▄▅▆▇█"  # a week with stories: one of these, scaled to the chart's top
_SPARK_NONE = "▁"  # a week without a story
_SPARK_NO_DATA = "·"  # a week before the warehouse's first story
#: Height in pixels of the tallest bar of an HTML trend chart (the chart's top value).
CHART_BAR_PX = 32
#: Shortest bar of a week with stories, so that 1 of 100 still shows.
MIN_BAR_PX = 2


def _chart_top(trends: Sequence[Any]) -> int:
    """The highest weekly count among the rows of one chart: its common scale."""
    return max((n for t in trends for n in t.series if n is not None), default=0)


def _sparkline(series: Sequence[int | None], top: int) -> str:
    """One character a week, on the chart's scale: ▂-█ stories, ▁ none, · no data."""
    out = []
    for n in series:
        if n is None:
            out.append(_SPARK_NO_DATA)
        elif n <= 0 or top <= 0:
            out.append(_SPARK_NONE)
        else:
            out.append(_SPARKS[max(0, round(n / top * len(_SPARKS)) - 1)])
    return "".join(out)


def _bar_px(n: int, top: int) -> int:
    """Height of a week's bar in an HTML chart whose tallest bar is ``top``."""
    if n <= 0 or top <= 0:
        return 0
    return max(MIN_BAR_PX, round(n / top * CHART_BAR_PX))


_FILTERS: dict[str, Callable[..., Any]] = {
    "shorten": clean_text,
    "day": _day,
    "span": _span,
    "short_day": _short_day,
    "plural": _plural,
    "round1": _round1,
    "chart_top": _chart_top,
    "sparkline": _sparkline,
    "bar_px": _bar_px,
}


@functools.cache
def _environment(fmt: TemplateFormat) -> jinja2.Environment:
    """The environment of one format, built once: templates compile on first use."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,  # both formats: see the module docstring
        finalize=_finalize_html if fmt == "html" else _finalize_markdown,
        undefined=jinja2.StrictUndefined,  # a misspelt field fails the render, not prints ""
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(_FILTERS)
    env.filters["safe_url"] = safe_url if fmt == "html" else _markdown_url
    return env


def render(fmt: TemplateFormat, name: str, **context: object) -> str:
    """Render the template ``name`` (under TEMPLATE_DIR) in format ``fmt``'s environment."""
    return _environment(fmt).get_template(name).render(**context)
