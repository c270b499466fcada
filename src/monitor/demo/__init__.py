"""Demo: the recorded corpus, served on loopback, and the fixtures recorded from it.

Owns the corpus (``corpus/``: pages and feeds written for the project), its loopback
server (``corpus_server``) and the wrapper around ``responses``' recorder
(``recording``), which the tests replay. Nothing in the pipeline imports it; the CLI's
``demo`` command and the tests do.

May import: every stage and the top-level modules.
"""
