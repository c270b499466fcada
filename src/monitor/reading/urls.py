"""Canonical URLs: one spelling per article, so the same page is stored once.

We drop what only tracks the reader (utm_*, fbclid, ...), the fragment, default ports
and host case, and sort the query. We keep everything else: path case, trailing slash,
and any parameter we do not know to be tracking (``?id=123`` tells two articles apart).
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

__all__ = ["canonicalize_url", "article_id", "is_http_url", "TRACKING_PARAMS"]

#: Query parameters that identify a campaign or a reader, never an article.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "ysclid",
        "mc_cid", "mc_eid", "igshid", "_ga", "_gl", "_hsenc", "_hsmi", "ocid", "cmpid",
        "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3", "at_custom4",
        "spm", "share", "smid", "ref_src", "ref_url", "rss", "feed", "outputtype", "xtor",
        "s_cid", "__twitter_impression", "mkt_tok", "vero_id", "oly_enc_id", "oly_anon_id",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "itm_")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PCT = re.compile(r"%[0-9a-fA-F]{2}")
# RFC 3986 unreserved characters never need percent-encoding; everything else is kept encoded.
_SAFE_PATH = "/:@!$&'()*+,;=-._~"


def is_http_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in _DEFAULT_PORTS and bool(parts.hostname)


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(_TRACKING_PREFIXES)


def _normalise_path(path: str) -> str:
    # Decode then re-encode so %7E and ~ (or %2f case) compare equal; '/' stays a separator.
    segments: list[str] = []
    for seg in path.split("/"):
        if seg == ".":
            continue
        if seg == "..":
            if len(segments) > 1:
                segments.pop()
            continue
        segments.append(quote(unquote(seg), safe=_SAFE_PATH.replace("/", "")))
    out = "/".join(segments)
    if not out.startswith("/"):
        out = "/" + out
    return out


def canonicalize_url(url: str) -> str:
    """The canonical spelling of an http(s) URL; other strings come back stripped, unchanged."""
    raw = url.strip()
    try:
        parts = urlsplit(raw)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        return raw
    if scheme not in _DEFAULT_PORTS or not host:
        return raw
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        host = host.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query_pairs = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    query = urlencode(sorted(query_pairs), doseq=False)
    return urlunsplit((scheme, netloc, _normalise_path(parts.path), query, ""))


def article_id(canonical_url: str) -> str:
    """A short stable id for an article from its canonical URL."""
    return "a_" + hashlib.sha1(canonical_url.encode("utf-8")).hexdigest()[:16]
