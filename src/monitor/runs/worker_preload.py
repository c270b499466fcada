"""What every import worker would load on its first page, loaded once before they start.

An import's forkserver (``importer._judged_files``) imports this module, then forks each
worker from itself: the workers share what it loaded (copy-on-write) instead of each
loading it on the same cores while the writer waits for their first results. The
language model takes 0.4 s to read.
"""

from monitor.reading.language import load_language_model

load_language_model()
