"""What encoding a body says it is in: the HTTP header, an XML declaration, an HTML <meta>.

Labels come back as written, lower-cased; which codec a label names, and what to do
when there is none, is the caller's decision (pages: ``extract.decode_html``; feeds:
``feeds.parse_feed``).
"""

from __future__ import annotations

import re

__all__ = ["header_charset", "meta_charset", "xml_encoding"]

_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_.:-]+)""", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)


def header_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header."""
    match = _HEADER_CHARSET.search(content_type or "")
    return match.group(1).lower() if match else None


def xml_encoding(head: bytes) -> str | None:
    """The encoding of an XML declaration at the start of ``head``."""
    match = _XML_ENCODING.match(head)
    return match.group(1).decode("ascii").lower() if match else None


def meta_charset(head: bytes) -> str | None:
    """The charset of the first HTML <meta> in ``head`` that names one."""
    match = _META_CHARSET.search(head)
    return match.group(1).decode("ascii").lower() if match else None
