"""Re-tag stored articles after a taxonomy change, from their stored title and text (no fetching).

Articles whose ``taxonomy_version`` differs from the taxonomy's (or every article, with
``force``) get new ``article_tags`` rows and new relevance columns, and their credits
and script read again (``article_provenance``: a warehouse saved before migration 011 gets
them with ``retag --force``), a batch per transaction, so an interrupted retag leaves each article either old or new, never half.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import duckdb

from monitor.judging.events import covered_name_stems
from monitor.storage import events as event_store
from monitor.storage import store
from monitor.judging.attribution import find_credits, text_script
from monitor.models import Credit, Relevance, Tag
from monitor.pipeline import Judge, tag_and_judge
from monitor.settings import SAVE_BATCH
from monitor.judging.tagging import Matcher
from monitor.judging.taxonomy import Taxonomy, save_taxonomy
from monitor.storage.warehouse import refresh_rollups, returning_memory

__all__ = ["RetagStats", "retag_articles"]


@dataclass(frozen=True)
class RetagStats:
    """What a retag run did."""

    version: str
    examined: int  # articles whose tags were recomputed
    up_to_date: int  # articles skipped because they already carry this version
    tags_written: int
    became_relevant: int
    became_irrelevant: int


def retag_articles(
    con: duckdb.DuckDBPyConnection,
    taxonomy: Taxonomy,
    matcher: Matcher,
    *,
    force: bool = False,
    batch_size: int = SAVE_BATCH,
) -> RetagStats:
    """Re-tag stored articles (kind='article') whose taxonomy version differs, or all with force.

    Recorded in ``runs`` (kind 'retag', its counters as stats), like an ingest run.
    """
    with store.recorded_run(con, "retag") as record:
        stats = _retag(con, taxonomy, matcher, force=force, batch_size=batch_size)
        record.update(asdict(stats))
    return stats


def _retag(
    con: duckdb.DuckDBPyConnection, taxonomy: Taxonomy, matcher: Matcher, *, force: bool, batch_size: int
) -> RetagStats:
    save_taxonomy(con, taxonomy)
    version = taxonomy.version
    judge = Judge(taxonomy, matcher)  # tags and relevance derived as ingest derives them
    covered = covered_name_stems(taxonomy)
    stale = "" if force else "AND taxonomy_version IS DISTINCT FROM $version"
    total = con.execute("SELECT count(*) FROM articles WHERE kind = 'article'").fetchall()[0][0]
    examined = tags_written = up = down = 0
    last_id = ""
    while True:
        rows = con.execute(
            f"""
            SELECT id, coalesce(title, ''), coalesce(text, ''), relevant FROM articles
            WHERE kind = 'article' AND id > $last {stale}
            ORDER BY id LIMIT $n
            """,
            {"last": last_id, "n": batch_size, **({} if force else {"version": version})},
        ).fetchall()
        if not rows:
            break
        last_id = rows[-1][0]
        judged: list[tuple[str, Relevance]] = []
        tags: list[tuple[str, Tag]] = []
        provenance: list[tuple[str, str | None, str | None, tuple[Credit, ...]]] = []
        for article_id, title, text, was_relevant in rows:
            found, rel = tag_and_judge(judge, title, text)
            provenance.append((article_id, title, text_script(text), find_credits(text)))
            judged.append((article_id, rel))
            up += int(rel.relevant and not was_relevant)
            down += int(bool(was_relevant) and not rel.relevant)
            tags.extend((article_id, tag) for tag in found)
        with store.transaction(con):
            store.replace_tags(con, [a for a, _ in judged], tags, version)
            store.update_judgements(con, judged, version)
            store.save_provenance(con, provenance)
            # New concepts change what later stories are compared with; events stay.
            event_store.refresh_evidence(con, event_store.stories_to_assign(con, [a for a, _ in judged]),
                                         covered=covered)
        examined += len(judged)
        tags_written += len(tags)
    with returning_memory(con), store.transaction(con):  # stories saved before events (migration 010) get theirs
        event_store.assign_unassigned(con, covered=covered, run_id=None)
    if examined:
        refresh_rollups(con)  # the trend tables count tags and relevance
    return RetagStats(
        version=version,
        examined=examined,
        up_to_date=total - examined,
        tags_written=tags_written,
        became_relevant=up,
        became_irrelevant=down,
    )
