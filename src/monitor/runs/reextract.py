"""Re-run extraction from the raw pages kept in the warehouse (no fetching).

The warehouse keeps every page as fetched so that a better extractor or better cleaning
rules reach the articles already stored. An article's ``extractor`` column names what
produced its text (trafilatura's version and ``CLEAN_RULES_VERSION``); articles whose
column differs from the current ``EXTRACTOR`` (every article with a kept page, with
``force``) are extracted again from their page.

What a re-extraction changes, decided here:

* **The body and what follows from it.** Text, word count, content hash and the title
  (when the page has one; else the stored title stays), then tags, relevance and the
  dedup index entry of the article, so later articles are compared with the new text.
* **Not the identity, the dates or the page metadata.** Id, URLs, source, author, site
  name, language, summary, published date and its confidence never change: they key the
  article, decide who copied whom and put it in a week. Moving them under analysts'
  saved queries would cost more trust than a better date would earn.
* **Stories that turn out to be one story are merged.** A story (a root) whose new text
  now copies another stored story becomes its copy, with its own copies, under the rule
  ingest uses: the earlier trusted publication date is the root, a reference text always
  is. Copies keep their root: cleaning removes boilerplate, which brings a copy closer to
  its original, not further away.
* **What a text credits and the site's identifiers are read again.** Every text
  extracted again, changed or not, gets its credits, script and title key anew (``article_provenance``);
  a run that extracted anything (or ``force``) then rebuilds ``site_identifiers`` from
  every kept page (``reading.sitefingerprint``): a pass of ~1 ms a page that needs no
  extraction, so a new identifier rule reaches every page, never by refetching.
* **A page that no longer extracts keeps its stored text**, is counted by reason, and is
  tried again next run (its extractor column is left as it was).

Articles without a kept page (text imports, texts taken from a feed when the page
failed) and reference texts are not touched. Each batch is one transaction: a run killed
halfway leaves every article old or new, and the next run takes up the rest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

import duckdb

from monitor.storage import store
from monitor.judging.dedup import Fingerprint, Overlap, fingerprint_text
from monitor.storage.dedup_index import DedupIndex
from monitor.exceptions import ExtractionError, WarehouseError
from monitor.reading.extract import EXTRACTOR, extract_article
from monitor.runs.ingest import published_first
from monitor.judging.attribution import find_credits, text_script
from monitor.models import Credit, Relevance, SiteIdentifier, Tag
from monitor.reading.sitefingerprint import fingerprint_site
from monitor.judging.events import covered_name_stems
from monitor.pipeline import Judge, make_judge, tag_and_judge
from monitor.storage import events as event_store
from monitor.settings import SAVE_BATCH, Settings
from monitor.judging.taxonomy import save_taxonomy
from monitor.storage.warehouse import close, open_warehouse, refresh_rollups, returning_memory, warehouse_exists

__all__ = ["MERGE_NOTE", "ReextractStats", "rebuild_site_identifiers", "reextract_articles", "reextract_warehouse"]

#: dedup_note of a story that became a copy when its text was extracted again.
MERGE_NOTE = "its text, extracted again, copies this story"


@dataclass(frozen=True)
class ReextractStats:
    """What a re-extraction run did."""

    extractor: str
    examined: int  # articles whose page was extracted again
    changed: int  # ... whose text or title changed (tags, relevance, dedup entry redone)
    unchanged: int  # ... whose text came out the same (only the extractor column moved)
    failed: dict[str, int]  # ... whose page no longer extracts, by reason (stored text kept)
    up_to_date: int  # articles with a kept page already extracted by this extractor
    merged: int  # stories that became copies of another story
    became_relevant: int
    became_irrelevant: int


@dataclass
class _Redone:
    """One article extracted again, before it is saved."""

    article_id: str
    title: str
    text: str
    fingerprint: Fingerprint
    tags: tuple[Tag, ...]
    relevance: Relevance
    is_root: bool
    published_at: datetime | None
    date_confidence: str | None


_Provenance = tuple[str, str | None, str | None, tuple[Credit, ...]]


@dataclass
class _Tally:
    examined: int = 0
    changed: int = 0
    unchanged: int = 0
    merged: int = 0
    up: int = 0
    down: int = 0
    failed: Counter[str] = field(default_factory=Counter)


def reextract_articles(
    con: duckdb.DuckDBPyConnection,
    judge: Judge,
    *,
    force: bool = False,
    batch_size: int = SAVE_BATCH,
    report: Callable[[str], None] = lambda _msg: None,
) -> ReextractStats:
    """Extract stored articles again from their kept pages (see the module docstring).

    Recorded in ``runs`` (kind 'reextract', its counters as stats), like an ingest run.
    """
    with store.recorded_run(con, "reextract") as record:
        stats = _reextract(con, judge, force=force, batch_size=batch_size, report=report)
        record.update(asdict(stats))
    return stats


def _reextract(
    con: duckdb.DuckDBPyConnection, judge: Judge, *, force: bool, batch_size: int, report: Callable[[str], None]
) -> ReextractStats:
    save_taxonomy(con, judge.taxonomy)
    stale = "" if force else "AND a.extractor IS DISTINCT FROM $extractor"
    with_page = "a.kind = 'article' AND EXISTS (SELECT 1 FROM pages p WHERE p.article_id = a.id)"
    total = con.execute(f"SELECT count(*) FROM articles a WHERE {with_page}").fetchall()[0][0]
    todo = con.execute(f"SELECT count(*) FROM articles a WHERE {with_page} {stale}",
                       {} if force else {"extractor": EXTRACTOR}).fetchall()[0][0]
    index = DedupIndex(con)
    covered = covered_name_stems(judge.taxonomy)
    tally = _Tally()
    last_id = ""
    while True:
        rows = con.execute(
            f"""
            SELECT a.id, coalesce(a.canonical_url, a.url, ''), coalesce(a.title, ''), coalesce(a.text, ''),
                   a.duplicate_of IS NULL, a.published_at, a.date_confidence, a.relevant
            FROM articles a WHERE {with_page} AND a.id > $last {stale}
            ORDER BY a.id LIMIT $n
            """,
            {"last": last_id, "n": batch_size, **({} if force else {"extractor": EXTRACTOR})},
        ).fetchall()
        if not rows:
            break
        last_id = rows[-1][0]
        redone, same, provenance = _extract_batch(con, judge, rows, tally, report)
        with store.transaction(con):
            _save_batch(con, index, judge, redone, same, tally, provenance)
            # A changed text changes what later stories are compared with; events stay.
            event_store.refresh_evidence(con, event_store.stories_to_assign(con, [r.article_id for r in redone]),
                                         covered=covered)
        tally.changed += len(redone)
        tally.unchanged += len(same)
        report(f"re-extracted {tally.examined}/{todo}: {tally.changed} changed, {tally.unchanged} unchanged, "
               f"{sum(tally.failed.values())} failed, {tally.merged} merged")
    # a copy a merge left without its story's event, should there be one
    with returning_memory(con), store.transaction(con):
        event_store.assign_unassigned(con, covered=covered, run_id=None)
    if tally.examined or force:
        rebuild_site_identifiers(con, batch_size=batch_size)
    if tally.changed:
        refresh_rollups(con)  # the trend tables count tags, relevance and copies
    return ReextractStats(
        extractor=EXTRACTOR,
        examined=tally.examined,
        changed=tally.changed,
        unchanged=tally.unchanged,
        failed=dict(sorted(tally.failed.items())),
        up_to_date=total - todo,
        merged=tally.merged,
        became_relevant=tally.up,
        became_irrelevant=tally.down,
    )


def rebuild_site_identifiers(con: duckdb.DuckDBPyConnection, *, batch_size: int = SAVE_BATCH) -> int:
    """Read the operator identifiers of every kept page again and replace ``site_identifiers``
    with them (one transaction at the end: readers see the old table until then).
    Returns the number of (source, identifier) rows.
    """
    found: list[tuple[str | None, str, datetime | None, tuple[SiteIdentifier, ...]]] = []
    last_id = ""
    while rows := con.execute(
        """SELECT a.id, a.source, coalesce(a.url, ''), a.fetched_at FROM articles a
           WHERE a.kind = 'article' AND a.source IS NOT NULL AND a.id > ?
             AND EXISTS (SELECT 1 FROM pages p WHERE p.article_id = a.id)
           ORDER BY a.id LIMIT ?""", [last_id, batch_size]).fetchall():
        last_id = rows[-1][0]
        for article_id, source, url, fetched_at in rows:
            try:
                page = store.read_page(con, article_id)
            except WarehouseError:
                continue  # counted by the extraction pass as page_unreadable
            ids = fingerprint_site(page) if page else ()
            if ids:
                found.append((source, url, fetched_at, ids))
    with store.transaction(con):
        store.save_site_identifiers(con, found, replace_all=True)
    return int(con.execute("SELECT count(*) FROM site_identifiers").fetchall()[0][0])


def reextract_warehouse(
    settings: Settings, *, force: bool = False, report: Callable[[str], None] = lambda _msg: None
) -> ReextractStats:
    """``reextract_articles`` on the settings' warehouse (the CLI's and the flow's way in)."""
    if not warehouse_exists(settings):
        raise WarehouseError(f"no warehouse at {settings.warehouse_target}: nothing to extract again")
    judge = make_judge(settings.taxonomy_path)
    con = open_warehouse(settings)
    try:
        return reextract_articles(con, judge, force=force, report=report)
    finally:
        close(con)


def _extract_batch(
    con: duckdb.DuckDBPyConnection,
    judge: Judge,
    rows: list[tuple[Any, ...]],
    tally: _Tally,
    report: Callable[[str], None],
) -> tuple[list[_Redone], list[str], list[_Provenance]]:
    """Extract, tag and fingerprint a batch again; (changed articles, ids of unchanged ones,
    the credits and script of every text extracted: the rules that read them may be new).
    """
    redone: list[_Redone] = []
    same: list[str] = []
    provenance: list[_Provenance] = []
    for article_id, url, old_title, old_text, is_root, published_at, confidence, was_relevant in rows:
        tally.examined += 1
        try:
            extracted = extract_article(store.read_page(con, article_id) or b"", url)
        except ExtractionError as exc:
            tally.failed[exc.reason] += 1
            continue
        except WarehouseError as exc:  # its pack file is missing or cut short
            if not tally.failed["page_unreadable"]:
                report(f"{article_id}: {exc}")  # the first says why; the count says how many
            tally.failed["page_unreadable"] += 1
            continue
        title = (extracted.title or old_title).strip()
        provenance.append((article_id, title, text_script(extracted.text), find_credits(extracted.text)))
        if extracted.text == old_text and title == old_title:
            same.append(article_id)
            continue
        fingerprint = fingerprint_text(extracted.text)
        tags, relevance = tag_and_judge(judge, title, extracted.text, extracted.language)
        tally.up += int(relevance.relevant and not was_relevant)
        tally.down += int(bool(was_relevant) and not relevance.relevant)
        redone.append(_Redone(
            article_id, title, extracted.text, fingerprint, tags, relevance, bool(is_root), published_at, confidence,
        ))
    return redone, same, provenance


def _save_batch(
    con: duckdb.DuckDBPyConnection,
    index: DedupIndex,
    judge: Judge,
    redone: list[_Redone],
    same: list[str],
    tally: _Tally,
    provenance: list[_Provenance],
) -> None:
    """Save one batch (inside the caller's transaction), then merge stories that now match."""
    version = judge.version
    ids = [r.article_id for r in redone]
    store.set_extractor(con, same + ids, EXTRACTOR)
    store.replace_tags(con, ids, [(r.article_id, t) for r in redone for t in r.tags], version)
    store.update_judgements(con, [(r.article_id, r.relevance) for r in redone], version)
    # articles.word_count counts whitespace-separated words, as build_document does.
    store.replace_texts(con, [(r.article_id, r.title, r.text, len(r.text.split()), r.fingerprint.content_hash)
                              for r in redone])
    store.save_provenance(con, provenance)
    # New postings first, so the batch's stories meet each other's new texts too.
    index.add_many([(r.article_id, r.fingerprint) for r in redone])
    roots = [r for r in redone if r.is_root]
    decisions = index.check_many([(r.fingerprint, r.published_at) for r in roots],
                                 skip_roots=[r.article_id for r in roots])
    # Quotation links of a changed text are measured again from its new text.
    index.forget_quotes(ids)
    index.save_quotes([replace(q, quoting=q.quoting or r.article_id, quoted=q.quoted or r.article_id)
                       for r, d in zip(roots, decisions, strict=True) for q in d.quotes], None)
    dates = store.stored_dates(con, [d.match.duplicate_of for d in decisions if d.match is not None])
    moved: dict[str, str] = {}

    def root_of(doc_id: str) -> str:
        while doc_id in moved:
            doc_id = moved[doc_id]
        return doc_id

    for story, decision in zip(roots, decisions, strict=True):
        if decision.match is None:
            continue
        other = decision.match.duplicate_of
        found = dates.get(other)
        mine = (story.published_at, story.date_confidence)
        old, new = (other, story.article_id) if found and published_first(mine, found) else (story.article_id, other)
        old, new = root_of(old), root_of(new)
        if old == new:  # already one story (two of the batch found each other)
            continue
        # One move at a time: a later move must see the copies an earlier one re-pointed.
        store.repoint(con, [(old, new, decision.match.kind, decision.match.similarity, MERGE_NOTE)])
        o = decision.overlap
        if o is not None:  # the overlap measured story -> other; turned round when other is the copy
            turned = o if old == story.article_id else Overlap(o.shared, o.jaccard, o.other_containment, o.containment)
            index.save_overlaps({old: (new, turned)})
        moved[old] = new
        tally.merged += 1
