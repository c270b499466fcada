"""Judging: what a text is about, whether it is on the topic, what it copies.

Owns the taxonomy (``taxonomy``: the versioned concept file), tagging with evidence
(``tagging``), relevance (``relevance``), what makes a copy (``dedup``: fingerprints,
similarity, which match wins), which stories report one happening (``events``) and
whether a feed still reaches back to the last poll
(``coverage``). Pure: values in, values out; the warehouse is never touched here (the
dedup postings live in ``monitor.storage.dedup_index``, which calls these decisions).

May import: ``reading``, ``fetching`` and the top-level ``exceptions``, ``models``,
``settings``.
"""
