"""Storage: the warehouse, its shape and every row written to it.

Owns connecting and migrating (``warehouse``: the schema's one owner is ``warehouse/``
at the repository root), the writer's saves and reads (``store``), the dedup postings
(``dedup_index``), the kept raw pages (``pagestore``) and each story's event
(``events``).

May import: ``judging``, ``reading``, ``fetching`` and the top-level modules below
``pipeline``.
"""
