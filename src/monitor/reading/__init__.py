"""Reading: bytes into text and metadata.

Owns decoding (``charsets``), feed parsing and feed dates (``feeds``, ``feeddates``:
feedparser, always handed bytes), article extraction (``extract``, ``pagemeta``:
trafilatura and the page's own metadata), URLs (``urls``: canonical forms and article
ids, which feeds need as soon as they are read) and text normalisation (``normalize``:
what dedup and the taxonomy compare). Pure functions of their inputs.

May import: ``fetching`` and the top-level ``exceptions``, ``models``, ``settings``.
"""
