"""One stored article and every decision the pipeline made about it (`monitor explain`).

Analysts ask of a single article what the warehouse answers only across five tables and
two views: is it counted, and in which week, on which date; why it is on or off topic;
what it is a copy of, or which copies it has; which concepts it carries, and the sentence
that earned each. This module reads them into one value; the CLI prints it as text or
JSON. It only reads: any warehouse can be explained while a writer is away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from monitor.reading.urls import canonicalize_url
from monitor.reports.events import StoryEvent, load_story_event
from monitor.storage.store import NO_FETCH_TIME
from monitor.storage.warehouse import one_snapshot

__all__ = ["Copy", "Explanation", "Origin", "Quotation", "TagReason", "explain_article", "find_article_id",
           "render_text"]


@dataclass(frozen=True)
class TagReason:
    """A concept the article carries, with the passage that earned it."""

    concept_id: str
    label: str | None
    facet: str | None
    score: float
    evidence: str | None


@dataclass(frozen=True)
class Copy:
    """An article on the other side of a copy link: a copy of this story, or its original."""

    id: str
    source: str | None
    title: str | None
    kind: str | None  # the copy's duplicate_kind: url | exact | near | contained
    similarity: float | None
    lag_hours: float | None  # the copy's date minus the original's (None for reference texts)
    #: The verified overlap of the copy with the story (copy_overlaps; None before migration 009).
    jaccard: float | None = None
    containment: float | None = None  # share of the copy inside the story
    root_containment: float | None = None  # share of the story inside the copy


@dataclass(frozen=True)
class Quotation:
    """A quotation link: this article quotes ``id``, or is quoted by it (not a copy)."""

    direction: str  # quotes | quoted_by
    id: str
    source: str | None
    title: str | None
    quoted_share: float  # share of the quoted text inside the quoting one
    quoting_share: float  # share of the quoting text the quote makes up


@dataclass(frozen=True)
class Origin:
    """Where a copy's text comes from (view ``copy_origins``): the origin outlet, who stands
    behind it, how long the copy took, and whether the copy credits it.
    """

    id: str
    outlet: str | None
    owner: str  # state-affiliated | state-funded | independent | party | ... | unknown
    state: str | None
    lag_hours: float | None
    attributed: bool
    attributed_as: str | None  # the name the copy credits it by
    attribution: str | None  # the passage that credits it
    credited: tuple[str, ...]  # whom the copy credits instead, when it credits someone else
    script_changed: bool
    title_changed: bool
    length_changed: bool

    @property
    def amplification(self) -> bool:
        """A copy of a state-affiliated outlet's article by another outlet."""
        return self.owner == "state-affiliated"


@dataclass(frozen=True)
class Explanation:
    """Everything stored about one article, and what the views make of it."""

    id: str
    kind: str  # article | reference
    source: str | None
    title: str | None
    url: str | None
    language: str | None
    published_at: datetime | None
    date_source: str | None
    date_confidence: str | None
    fetched_at: datetime | None
    counted: bool  # in the `stories` view: canonical and on topic
    not_counted_because: str | None
    story_at: datetime | None
    story_date_basis: str | None  # published | fetched
    date_trusted: bool | None  # False: listed, but left out of the trend counts
    week: str | None
    relevant: bool | None
    relevance: float | None
    relevance_reason: str | None
    duplicate_of: str | None
    duplicate_kind: str | None
    similarity: float | None
    dedup_note: str | None
    original: Copy | None  # the root of the copy chain, when this is a copy
    copies: tuple[Copy, ...]  # when this is a story (or reference text) that was copied
    tags: tuple[TagReason, ...]
    taxonomy_version: str | None
    extractor: str | None
    word_count: int | None
    raw_page_kept: bool
    quotations: tuple[Quotation, ...] = ()
    #: The event its story is in, and the evidence that put it there (None: not assigned yet).
    event: StoryEvent | None = None
    origin: Origin | None = None  # a copy's origin, owner type, lag and attribution

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (instants as ISO 8601 strings)."""
        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, (Copy, TagReason, Quotation, StoryEvent, Origin)):
                return {k: plain(v) for k, v in value.__dict__.items()}
            if isinstance(value, tuple):
                return [plain(v) for v in value]
            return value

        return {k: plain(v) for k, v in self.__dict__.items()}


def find_article_id(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    """The id of the article ``key`` names: an id, a URL as fetched, or a canonical URL."""
    row = con.execute("SELECT id FROM articles WHERE id = ?", [key]).fetchone()
    if row is None and "://" in key:
        row = con.execute(
            "SELECT id FROM articles WHERE url = $k OR canonical_url = $k OR canonical_url = $c "
            "ORDER BY kind, id LIMIT 1",
            {"k": key, "c": canonicalize_url(key)},
        ).fetchone()
    return None if row is None else str(row[0])


def explain_article(con: duckdb.DuckDBPyConnection, key: str) -> Explanation | None:
    """Everything about the article ``key`` names (id or URL), or None if none is stored.

    Read in one snapshot (``one_snapshot``): a run re-pointing the article or retagging
    it while its ~10 queries run would otherwise land in some parts of the answer only.
    """
    with one_snapshot(con):
        return _explain(con, key)


def _explain(con: duckdb.DuckDBPyConnection, key: str) -> Explanation | None:
    article_id = find_article_id(con, key)
    if article_id is None:
        return None
    a = _one(con, """
        SELECT id, kind, source, title, url, language, published_at, date_source, date_confidence,
               fetched_at, relevant, relevance, relevance_reason, duplicate_of, duplicate_kind,
               similarity, dedup_note, taxonomy_version, extractor, word_count
        FROM articles WHERE id = ?""", article_id)
    if a is None:
        return None
    story = _one(con, "SELECT story_at, story_date_basis, date_trusted, week FROM stories WHERE id = ?", article_id)
    original = None
    if a["duplicate_of"] is not None:
        root = _one(con, """
            SELECT story_id, story_source, story_title, lag_hours, jaccard, containment, root_containment
            FROM copy_chains WHERE copy_id = ?""", article_id)
        if root is not None:
            original = Copy(root["story_id"], root["story_source"], root["story_title"], a["duplicate_kind"],
                            a["similarity"], root["lag_hours"], root["jaccard"], root["containment"],
                            root["root_containment"])
    copies = tuple(Copy(*r) for r in con.execute("""
        SELECT copy_id, copy_source, copy_title, duplicate_kind, similarity, lag_hours,
               jaccard, containment, root_containment
        FROM copy_chains WHERE story_id = ? ORDER BY copy_at, copy_id""", [article_id]).fetchall())
    quotations = tuple(Quotation(*r) for r in con.execute("""
        SELECT 'quotes', quoted_id, quoted_source, quoted_title, quoted_share, quoting_share
        FROM quotation_links WHERE quoting_id = $id
        UNION ALL
        SELECT 'quoted_by', quoting_id, quoting_source, quoting_title, quoted_share, quoting_share
        FROM quotation_links WHERE quoted_id = $id
        ORDER BY 1 DESC, 5 DESC, 2""", {"id": article_id}).fetchall())
    tags = tuple(TagReason(*r) for r in con.execute("""
        SELECT t.concept_id, x.label, x.facet, t.score, t.evidence
        FROM article_tags t LEFT JOIN taxonomy x ON x.concept_id = t.concept_id
        WHERE t.article_id = ? AND t.article_fetched_at = ?  -- its row groups only (migration 014)
        ORDER BY t.score DESC, t.concept_id""", [article_id, a["fetched_at"] or NO_FETCH_TIME]).fetchall())
    kept = con.execute("SELECT count(*) FROM pages WHERE article_id = ?", [article_id]).fetchone()
    origin = _origin(con, article_id) if a["duplicate_of"] is not None else None
    return Explanation(
        id=a["id"], kind=a["kind"], source=a["source"], title=a["title"], url=a["url"], language=a["language"],
        published_at=a["published_at"], date_source=a["date_source"], date_confidence=a["date_confidence"],
        fetched_at=a["fetched_at"], counted=story is not None, not_counted_because=_why_not_counted(a),
        story_at=story["story_at"] if story else None,
        story_date_basis=story["story_date_basis"] if story else None,
        date_trusted=story["date_trusted"] if story else None, week=story["week"] if story else None,
        relevant=a["relevant"], relevance=a["relevance"], relevance_reason=a["relevance_reason"],
        duplicate_of=a["duplicate_of"], duplicate_kind=a["duplicate_kind"], similarity=a["similarity"],
        dedup_note=a["dedup_note"], original=original, copies=copies, tags=tags,
        taxonomy_version=a["taxonomy_version"], extractor=a["extractor"], word_count=a["word_count"],
        raw_page_kept=bool(kept and kept[0]), quotations=quotations, event=load_story_event(con, article_id),
        origin=origin,
    )


def _origin(con: duckdb.DuckDBPyConnection, article_id: str) -> Origin | None:
    o = _one(con, """
        SELECT origin_id, origin_outlet, origin_owner, origin_state, lag_hours, attributed, attributed_as,
               attribution, coalesce(credited, []) AS credited, script_changed, title_changed, length_changed
        FROM copy_origins WHERE article_id = ?""", article_id)
    if o is None:
        return None  # a copy of a reference text: no outlet stands behind it
    return Origin(o["origin_id"], o["origin_outlet"], o["origin_owner"], o["origin_state"], o["lag_hours"],
                  bool(o["attributed"]), o["attributed_as"], o["attribution"], tuple(o["credited"]),
                  bool(o["script_changed"]), bool(o["title_changed"]), bool(o["length_changed"]))


def _one(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> dict[str, Any] | None:
    cur = con.execute(sql, list(params))
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cur.description], row, strict=True))


def _why_not_counted(a: dict[str, Any]) -> str | None:
    # The same three conditions as the `stories` view, in the order an analyst asks them.
    if a["kind"] != "article":
        return "a reference text: copies of it are found, but it is not a story of the period"
    if a["duplicate_of"] is not None:
        return "a copy: its original is the story counted"
    if not a["relevant"]:
        return "judged off topic"
    return None


def render_text(e: Explanation) -> str:
    """The explanation as plain text, for a terminal (the caller makes it terminal-safe)."""
    out = [e.title or "(no title)", f"  {e.id} · {e.kind} · source {e.source or '-'} · {e.url or 'no URL'}"]
    published = (f"{_when(e.published_at)} (from the {e.date_source}, {e.date_confidence} confidence)"
                 if e.published_at else "no publication date")
    out.append(f"  published {published} · fetched {_when(e.fetched_at)}")
    out.append("")
    if e.counted:
        basis = "its publication date" if e.story_date_basis == "published" else "the time we fetched it"
        trend = ("counted in the trends" if e.date_trusted else
                 "listed, but left out of the trends: dated by fetch time while its source's backlog was read")
        out.append(f"counted: a story of {e.week}, dated by {basis}; {trend}")
    else:
        out.append(f"not counted: {e.not_counted_because}")
    if e.relevance is not None:
        verdict = "on topic" if e.relevant else "off topic"
        out.append(f"relevance: {verdict}, score {e.relevance:.3f}: {e.relevance_reason or '-'}")
    if e.original is not None:
        o = e.original
        sim = f", similarity {o.similarity:.3f}" if o.similarity is not None else ""
        lag = f", {o.lag_hours:+.1f} h after it" if o.lag_hours is not None else ""
        direct = "" if e.duplicate_of == o.id else f" (through {e.duplicate_of})"
        out.append(f"copy of: {o.id}{direct} \"{o.title or '-'}\" ({o.source or 'reference text'}): "
                   f"{o.kind}{sim}{lag}{_verified(o)}")
    if e.origin is not None:
        out.extend(_render_origin(e.origin))
    if e.dedup_note:
        out.append(f"dedup note: {e.dedup_note}")
    if e.copies:
        out.append(f"copies: {len(e.copies)}")
        for c in e.copies:
            sim = f" {c.similarity:.3f}" if c.similarity is not None else ""
            lag = f", {c.lag_hours:+.1f} h" if c.lag_hours is not None else ""
            out.append(f"  {c.id} ({c.source or '-'}): {c.kind}{sim}{lag}{_verified(c)}  {c.title or ''}")
    for q in e.quotations:
        if q.direction == "quotes":
            out.append(f"quotes: {q.id} ({q.source or 'reference text'}) \"{q.title or '-'}\": "
                       f"{q.quoted_share:.0%} of it, {q.quoting_share:.0%} of this text (not a copy)")
        else:
            out.append(f"quoted by: {q.id} ({q.source or '-'}) \"{q.title or '-'}\": "
                       f"{q.quoted_share:.0%} of this text, {q.quoting_share:.0%} of it (not a copy)")
    out.extend(_event_lines(e))
    out.append("")
    out.append(f"tags ({len(e.tags)}, taxonomy {e.taxonomy_version or '-'}):" if e.tags else "tags: none")
    width = max((len(t.concept_id) for t in e.tags), default=0)
    for t in e.tags:
        out.append(f"  {t.concept_id.ljust(width)}  {t.score:.2f}  {t.label or ''}: \"{t.evidence or ''}\"")
    out.append("")
    page = "raw page kept (monitor page ID)" if e.raw_page_kept else "no raw page kept"
    out.append(f"text: {e.word_count or 0} words, extracted by {e.extractor or '-'}; {page}")
    return "\n".join(out)


def _event_lines(e: Explanation) -> list[str]:
    """Which event the article is in, and why: the story it was linked to and the evidence they share."""
    ev = e.event
    if ev is None:
        return ["event: none assigned yet (the next writing run assigns it)"]
    langs = ", ".join(ev.languages) or "-"
    out = [f"event: {ev.event_id}: {ev.stories} {'story' if ev.stories == 1 else 'stories'}, {ev.copies} "
           f"{'copy' if ev.copies == 1 else 'copies'}, {ev.outlets} {'outlet' if ev.outlets == 1 else 'outlets'}, "
           f"languages {langs}; first reported by {ev.first_outlet or '-'} ({ev.first_article_id})"]
    if e.duplicate_of is not None:
        out.append(f"  in it as a copy of {e.duplicate_of}: a copy is always in its story's event")
    elif ev.via is None:
        why = next((x for x in ev.evidence if x.startswith("copy:")), None)
        out.append("  its story took the event of the stored story it displaced as original" if why
                   else "  its story started the event: no stored story near it in time shared enough evidence")
    else:
        out.append(f"  linked to {ev.via} \"{ev.via_title or '-'}\" (score {ev.score or 0:.2f}), sharing:")
        out.append(f"    {', '.join(ev.evidence)}")
    if ev.merged_from:
        out.append(f"  merged into it: {', '.join(ev.merged_from)}")
    return out


def _verified(c: Copy) -> str:
    """The exact overlap behind a copy link, when it was measured (migration 009 on)."""
    if c.jaccard is None or c.containment is None or c.root_containment is None:
        return ""
    return (f" (verified: Jaccard {c.jaccard:.3f}, {c.containment:.0%} of the copy in the story, "
            f"{c.root_containment:.0%} of the story in the copy)")


def _render_origin(o: Origin) -> list[str]:
    owner = o.owner + (f", {o.state}" if o.state else "")
    kind = "amplification of state-affiliated media" if o.amplification else "a copy"
    lag = f", {o.lag_hours:+.1f} h later" if o.lag_hours is not None else ""
    lines = [f"origin: {o.id} from {o.outlet or '-'} ({owner}): {kind}{lag}"]
    if o.attributed:
        lines.append(f"  attributed: yes, as \"{o.attributed_as}\": \"{o.attribution or ''}\"")
    elif o.credited:
        lines.append(f"  attributed: no; it credits {', '.join(o.credited)} instead")
    else:
        lines.append("  attributed: no, the copy does not name its origin")
    changed = [what for what, flag in (("script", o.script_changed), ("title", o.title_changed),
                                       ("length", o.length_changed)) if flag]
    lines.append(f"  changed: {', '.join(changed) if changed else 'nothing of script, title or length'}")
    return lines


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC" if at else "-"
