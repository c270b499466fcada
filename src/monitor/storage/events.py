"""The warehouse's events: every saved story assigned to one, once, by the single writer.

``assign_stories`` is called by the writer after each saved batch (``runs.ingest``, which
``import`` uses too), for the reference texts, and by ``retag``/``reextract``; the
decision is ``monitor.judging.events``. A story is compared with the stored stories near
it in time (``EVENT_WINDOW``; only those it could join are loaded, ``stored_pool``) and
with the batch's earlier ones; it joins the event of the story it links to best, or
starts one whose id (``ev_`` + its article id) never changes.
A story that links strongly to two events merges them into the older one, and
``event_merges`` keeps the merged id. A story that displaced a stored root (published
before it, saved after it) takes that root's event: its copies' event is its own.
Copies are not assigned: the view ``event_stories`` gives them their story's event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from monitor.judging.events import (
    EVENT_WINDOW,
    EventEvidence,
    EventPool,
    common_words,
    gather_evidence,
    occasion_words,
    words_of,
)
from monitor.storage.store import NO_FETCH_TIME_SQL, bulk_insert, in_scan, text_list, text_list_sql

__all__ = [
    "EVENT_ID_PREFIX",
    "StoryFacts",
    "event_id_for",
    "assign_stories",
    "assign_unassigned",
    "refresh_evidence",
    "stories_to_assign",
    "stored_pool",
    "run_counts",
]

#: An event's id: this and the id of the story that started it.
EVENT_ID_PREFIX = "ev_"
#: Stories read at once by ``assign_unassigned`` (a warehouse migrated to events assigns
#: its backlog in batches of this many, oldest first).
BACKFILL_BATCH = 2000


@dataclass(frozen=True)
class StoryFacts:
    """What assignment reads of one story: id, title, text, concept ids, and its time.

    ``dated`` is false when ``at`` is a fetch time, not a publication date we trust: the
    story is then looked for among the stories near that time, but judged as undated
    (``judging.events.UNDATED_LINK_SCORE``): a backlog read in one hour is not one day's news.
    """

    article_id: str
    title: str
    text: str
    concepts: tuple[str, ...]
    at: datetime | None
    dated: bool = True


def event_id_for(article_id: str) -> str:
    """The id of the event a story starts."""
    return EVENT_ID_PREFIX + article_id


_ASSIGNMENT_COLUMNS = [
    ("article_id", "VARCHAR"), ("event_id", "VARCHAR"), ("via", "VARCHAR"), ("score", "DOUBLE"),
    ("evidence", "VARCHAR[]"), ("story_at", "TIMESTAMPTZ"), ("dated", "BOOLEAN"), ("features", "VARCHAR[]"),
    ("run_id", "VARCHAR"),
    ("assigned_at", "TIMESTAMPTZ"),
]
_MERGE_COLUMNS = [
    ("merged_event_id", "VARCHAR"), ("into_event_id", "VARCHAR"), ("article_id", "VARCHAR"), ("score", "DOUBLE"),
    ("evidence", "VARCHAR[]"), ("run_id", "VARCHAR"), ("merged_at", "TIMESTAMPTZ"),
]


def assign_stories(
    con: duckdb.DuckDBPyConnection,
    stories: Sequence[StoryFacts],
    *,
    covered: frozenset[str],
    run_id: str | None,
    displaced: Mapping[str, Sequence[str]] | None = None,
) -> Counter[str]:
    """Assign each story not yet assigned to an event, inside the caller's transaction.

    ``displaced``, from a caller that knows (the writer's batch): no story is assigned
    yet (each was added in this transaction), and the stored articles that point at each
    story now, by story (the roots it displaced and their copies); the stored rows are
    then not searched for either (two queries a batch, ~35 ms on a lake).
    Returns counts: ``events_new``, ``events_joined``, ``events_inherited`` (took a
    displaced root's event) and ``events_merged``.
    """
    counts: Counter[str] = Counter()
    ids = [s.article_id for s in stories]
    if not ids:
        return counts
    done = set() if displaced is not None else {r[0] for r in con.execute(
        "SELECT article_id FROM event_assignments WHERE article_id = ANY($ids::VARCHAR[])", {"ids": ids}).fetchall()}
    fresh = sorted({s.article_id: s for s in stories if s.article_id not in done}.values(),
                   key=lambda s: (s.at is None, s.at or datetime.min.replace(tzinfo=UTC), s.article_id))
    if not fresh:
        return counts
    inherited = _inherited(con, [s.article_id for s in fresh], displaced)
    evidence = {s.article_id: gather_evidence(s.title, s.text, s.concepts, at=s.at if s.dated else None,
                                              covered=covered) for s in fresh}
    pool = stored_pool(con, [s.at for s in fresh], list(evidence.values()))
    now = datetime.now(UTC)
    rows: list[tuple[object, ...]] = []
    merges: list[tuple[object, ...]] = []
    for story in fresh:
        ev = evidence[story.article_id]
        if story.article_id in inherited:
            event_id, via, score, shared = inherited[story.article_id], None, None, ["copy:displaced root"]
            counts["events_inherited"] += 1
        else:
            choice = pool.choose(ev)
            if choice.event_id is None:
                event_id, via, score, shared = event_id_for(story.article_id), None, None, []
                counts["events_new"] += 1
            else:
                assert choice.link is not None
                event_id, via, score, shared = choice.event_id, choice.via, choice.link.score, list(choice.link.shared)
                counts["events_joined"] += 1
            for old in choice.also:
                merges.append((old, event_id, story.article_id, score, shared, run_id, now))
                rows = [(r[0], event_id if r[1] == old else r[1], *r[2:]) for r in rows]
                pool.merge(old, event_id)
                counts["events_merged"] += 1
        rows.append((story.article_id, event_id, via, score, shared, story.at, story.dated, ev.features(), run_id,
                     now))
        pool.add(story.article_id, event_id, ev)
    if merges:
        con.execute(
            "UPDATE event_assignments SET event_id = m.into FROM (SELECT unnest($olds::VARCHAR[]) AS old, "
            "unnest($intos::VARCHAR[]) AS into) m WHERE event_assignments.event_id = m.old "
            f"AND {in_scan('$olds', 'event_assignments.event_id')}",
            {"olds": [m[0] for m in merges], "intos": [m[1] for m in merges]})
        bulk_insert(con, "event_merges", _MERGE_COLUMNS, merges)
    bulk_insert(con, "event_assignments", _ASSIGNMENT_COLUMNS, rows)
    return counts


def _inherited(
    con: duckdb.DuckDBPyConnection, ids: Sequence[str], displaced: Mapping[str, Sequence[str]] | None
) -> dict[str, str]:
    """The event each story takes from the stored articles now pointing at it (the least
    event id among theirs), by story; from ``displaced`` when the caller knows them."""
    if displaced is None:
        return dict(con.execute(
            "SELECT a.duplicate_of, min(e.event_id) FROM articles a JOIN event_assignments e ON e.article_id = a.id "
            "WHERE a.duplicate_of = ANY($ids::VARCHAR[]) GROUP BY a.duplicate_of", {"ids": list(ids)}).fetchall())
    pointing = {member: story for story in ids for member in displaced.get(story, ())}
    if not pointing:
        return {}
    out: dict[str, str] = {}
    for member, event_id in con.execute(
            "SELECT article_id, event_id FROM event_assignments WHERE article_id = ANY($1::VARCHAR[])",
            [sorted(pointing)]).fetchall():
        story = pointing[member]
        out[story] = min(out.get(story, event_id), event_id)
    return out


def stored_pool(
    con: duckdb.DuckDBPyConnection, times: Sequence[datetime | None], batch: Sequence[EventEvidence]
) -> EventPool:
    """The pool the batch's stories are compared with: the stored stories near them in time
    (assigned, still stories, within EVENT_WINDOW of ``times``) that a newcomer can be compared
    with, so that every choice is the one a pool of all of them would make.

    The window holds a month and a half of stories (58k of bench_lake's million synthetic
    articles: 75 MB of Python objects and 190 MB of RSS when they were all loaded, a peak
    that grew with the warehouse), but a newcomer is only compared with stories sharing an uncommon name,
    number or term with it (``EventPool.candidates``). So the warehouse counts what the
    pool needs of the others: how many stories the window holds and in how many of them
    each of the batch's words is (what makes a word common), and when each candidate's
    event started within the window (which event survives a merge); only the candidates
    are loaded.

    An undated story is compared with every stored one: it is rare (every saved article has
    a fetch time), and a benchmark's or an import's undated texts must still meet.
    """
    known = [t for t in times if t is not None]
    window = ""
    params: dict[str, object] = {}
    if known and len(known) == len(times):
        window = "AND e.story_at BETWEEN $lo AND $hi"
        params = {"lo": min(known) - EVENT_WINDOW, "hi": max(known) + EVENT_WINDOW}
    # Stories since made copies are left out by their ids, read once (the window's copies:
    # a few thousand at a million stored). Joined to every article (LEFT JOIN ... WHERE
    # duplicate_of IS NULL) in each query, DuckDB hashed a million ids, 55 MB of RSS at every
    # batch; as a NOT EXISTS in each of the four queries below, a writer capped at 32 MB ran
    # out of memory reading the articles' inlined rows. The ids, and the batch's words
    # below, go in as text_list: thousands of values, in up to three statements.
    params["copies"] = text_list(r[0] for r in con.execute(
        f"SELECT e.article_id FROM event_assignments e JOIN articles a ON a.id = e.article_id "
        f"WHERE a.duplicate_of IS NOT NULL {window}", params).fetchall())
    near = (f"FROM event_assignments e WHERE true {window} "
            f"AND e.article_id NOT IN (SELECT unnest({text_list_sql('$copies')}))")
    # A feature is "kind:value" (EventEvidence.features); common_words counts the values.
    value = "substr(f, strpos(f, ':') + 1)"
    words = sorted({w for ev in batch for w in words_of(ev)})
    if words:
        # The window's stories and in how many of them each word is, in one scan (each
        # scan of a lake table costs ~10 ms): a NULL joins each story's distinct words,
        # so the NULL group counts the stories.
        elsewhere = dict(con.execute(
            f"SELECT w, count(*) FROM (SELECT unnest(list_distinct(list_transform(coalesce(e.features, []), "
            f"f -> {value})) || [NULL]) AS w {near}) "
            f"WHERE w IS NULL OR w IN (SELECT unnest({text_list_sql('$words')})) GROUP BY w",
            {**params, "words": text_list(words)}).fetchall())
        stories = int(elsewhere.pop(None, 0))
    else:
        stories = int(con.execute(f"SELECT count(*) {near}", params).fetchall()[0][0])
        elsewhere = {}
    common = common_words(batch, elsewhere=elsewhere, elsewhere_stories=stories)
    pool = EventPool(common)
    wanted = sorted({w for ev in batch for w in occasion_words(ev)} - common)
    if not wanted or not stories:
        return pool
    # The candidates, and when each of their events started within the window, in one
    # statement (each statement reading the lake looks its catalog up first).
    at = "CASE WHEN coalesce(e.dated, true) THEN e.story_at END"
    rows = con.execute(
        f"WITH candidates AS (SELECT e.article_id, e.event_id, {at} AS at, e.features "
        f"{near} AND e.article_id IN (SELECT article_id FROM (SELECT e.article_id, unnest(e.features) AS f "
        f"FROM event_assignments e WHERE true {window}) WHERE NOT starts_with(f, 'concept:') "
        f"AND {value} IN (SELECT unnest({text_list_sql('$wanted')})))) "
        "SELECT c.article_id, c.event_id, c.at, c.features, s.started FROM candidates c "
        f"JOIN (SELECT e.event_id, min({at}) AS started {near} "
        "AND e.event_id IN (SELECT event_id FROM candidates) GROUP BY e.event_id) s USING (event_id)",
        {**params, "wanted": text_list(wanted)}).fetchall()
    for _article_id, event_id, _at, _features, started in rows:
        pool.started(event_id, started)
    # Added in id order: a pool's choice does not depend on it (choose_event), but its
    # postings are then the same whatever order the join returned.
    for article_id, event_id, at_, features, _started in sorted(rows, key=lambda r: r[0]):
        pool.add(article_id, event_id, EventEvidence.from_features(at_, features or []))
    return pool


#: Whether assignment trusts a story's publication date (StoryFacts.dated), and where it
#: places the story in time (StoryFacts.at).
_DATED = "a.published_at IS NOT NULL AND coalesce(a.date_confidence, 'high') <> 'low'"
_STORY_AT = f"CASE WHEN {_DATED} THEN a.published_at ELSE coalesce(a.fetched_at, a.published_at) END"
_STORY_FACTS = f"""
    SELECT a.id, coalesce(a.title, ''), coalesce(a.text, ''),
           coalesce((SELECT list(t.concept_id ORDER BY t.concept_id) FROM article_tags t WHERE t.article_id = a.id
                     -- the tags' row groups of these articles' fetch times only (migration 014)
                     AND t.article_fetched_at = coalesce(a.fetched_at, {NO_FETCH_TIME_SQL})), []),
           {_STORY_AT},
           {_DATED}
    FROM articles a
"""


def stories_to_assign(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> list[StoryFacts]:
    """The stored facts of these articles (those that are stories: copies are left out)."""
    if not article_ids:
        return []
    rows = con.execute(_STORY_FACTS + " WHERE a.id = ANY($ids::VARCHAR[]) AND a.duplicate_of IS NULL",
                       {"ids": list(article_ids)}).fetchall()
    return [StoryFacts(r[0], r[1], r[2], tuple(r[3]), r[4], bool(r[5])) for r in rows]


def assign_unassigned(
    con: duckdb.DuckDBPyConnection, *, covered: frozenset[str], run_id: str | None
) -> Counter[str]:
    """Assign every stored story that has no event yet (a warehouse saved before events), oldest first."""
    counts: Counter[str] = Counter()
    while True:
        # The ids first, by an anti join that reads two columns: asked with the facts
        # (texts, tag lists) in one query, DuckDB gathered every story's tags before it
        # kept none (5-6 s at every writer's open at a million articles, not 0.3).
        ids = [r[0] for r in con.execute(
            "SELECT a.id FROM articles a ANTI JOIN event_assignments e ON e.article_id = a.id "
            f"WHERE a.duplicate_of IS NULL ORDER BY {_STORY_AT} NULLS LAST, a.id LIMIT $n",
            {"n": BACKFILL_BATCH}).fetchall()]
        if not ids:
            return counts
        rows = con.execute(_STORY_FACTS + " WHERE a.id = ANY($ids::VARCHAR[]) ORDER BY 5 NULLS LAST, a.id",
                           {"ids": ids}).fetchall()
        counts.update(assign_stories(con, [StoryFacts(r[0], r[1], r[2], tuple(r[3]), r[4], bool(r[5])) for r in rows],
                                     covered=covered, run_id=run_id))


def refresh_evidence(
    con: duckdb.DuckDBPyConnection, stories: Sequence[StoryFacts], *, covered: frozenset[str]
) -> int:
    """Re-gather the evidence of stories whose tags or text changed; their events stay.

    An event id never changes under a story: what changes is what later stories are
    compared with. Returns how many assignments were updated.
    """
    if not stories:
        return 0
    features = [gather_evidence(s.title, s.text, s.concepts, at=s.at, covered=covered).features() for s in stories]
    con.execute(
        "UPDATE event_assignments SET features = u.features FROM (SELECT unnest($ids::VARCHAR[]) AS id, "
        "unnest($features::VARCHAR[][]) AS features) u WHERE event_assignments.article_id = u.id "
        f"AND {in_scan('$ids', 'event_assignments.article_id')}",
        {"ids": [s.article_id for s in stories], "features": features})
    return len(stories)


def run_counts(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, int]:
    """What a run did to events: stories that started one, joined one, took a displaced root's; merges."""
    new, joined, inherited = con.execute(
        "SELECT count(*) FILTER (via IS NULL AND NOT list_contains(coalesce(evidence, []), 'copy:displaced root')), "
        "count(*) FILTER (via IS NOT NULL), count(*) FILTER (list_contains(coalesce(evidence, []), "
        "'copy:displaced root')) FROM event_assignments WHERE run_id = ?", [run_id]).fetchone() or (0, 0, 0)
    merged = con.execute("SELECT count(*) FROM event_merges WHERE run_id = ?", [run_id]).fetchone()
    counts = {"events_new": new, "events_joined": joined, "events_inherited": inherited,
              "events_merged": merged[0] if merged else 0}
    return {k: v for k, v in counts.items() if v}
