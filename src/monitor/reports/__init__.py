"""Reports: what the warehouse says, for people.

Owns the weekly digest (``digest``), one article's decisions (``explain``), the week's
events (``events``), ISO weeks (``weeks``) and terminal-safe tables (``terminal``). Reads
the warehouse; writes nothing to it but rollups when asked.

May import: ``storage``, ``reading`` and the top-level modules; never ``runs``.
"""
