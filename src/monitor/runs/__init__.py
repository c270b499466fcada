"""Runs: one whole job over the stages, with its saved state and counters.

Owns the ingest session (``ingest``: feeds, pages, the single writer), local imports
(``importer``), re-tagging and re-extraction of stored articles (``retag``,
``reextract``) and the sources registry (``sources``). Each run calls
``monitor.pipeline`` for the per-document stages and ``storage`` to save.

May import: ``storage``, ``judging``, ``reading``, ``fetching``, ``monitor.pipeline``
and the top-level modules.
"""
