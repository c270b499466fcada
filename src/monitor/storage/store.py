"""Save pipeline results into the warehouse, and read back the state a run needs.

Every write goes through here (github-to-sqlite's ``save_*``), in bulk statements
(``insert_columns``: one INSERT ... SELECT over the rows held in NumPy arrays, far
faster than executemany) and inside the caller's transaction. Reads are the few
queries the pipeline needs.

Uniqueness is kept here, by the one writer (the warehouse is a DuckLake: no key, no
index, no ON CONFLICT, no RETURNING, no sequence), checked per batch against what is
stored and within the batch:
  * articles.id: ``save_articles`` inserts only ids not stored yet (first of a batch wins);
    pages and tags go in only with the articles it added.
  * articles.canonical_url: the writer's dedup (``decide_and_save``) checks a batch's
    URLs against the stored ones and each other before it saves.
  * sources.name, feed_state.source: MERGE (one statement: update or insert).
  * fetch_log.id: numbered after the largest stored id.
  * coverage_gaps (source, since): inserted once.
  * article_tags (article_id, concept_id): one row per concept of the added article;
    ``replace_tags`` deletes before it inserts.
  * dedup_docs.doc_id and doc_key: ``DedupIndex.add_many`` replaces an id's rows and
    numbers keys after the largest.
A transaction is one lake snapshot: a run killed at any point leaves every batch it
committed and nothing of the one it was writing, and the next run redoes that one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import numpy as np

from monitor.judging.attribution import name_key
from monitor.storage import lake, pagestore
from monitor.judging.coverage import CoverageGap
from monitor.exceptions import FINAL_PAGE_REASONS, WarehouseError
from monitor.models import (
    PAGE_ENCODING,
    Credit,
    Document,
    FeedState,
    FetchLogEntry,
    Relevance,
    SiteIdentifier,
    Source,
    Tag,
)
from monitor.reading.normalize import normalize_for_comparison

__all__ = [
    "bulk_insert",
    "claim_numbers",
    "in_scan",
    "text_list",
    "text_list_sql",
    "NO_FETCH_TIME",
    "NO_FETCH_TIME_SQL",
    "next_number",
    "merge_columns",
    "save_sources",
    "last_loaded_sources",
    "load_feed_states",
    "save_feed_state",
    "save_feed_states",
    "save_fetch_log",
    "save_articles",
    "save_provenance",
    "save_site_identifiers",
    "insert_columns",
    "read_page",
    "repoint",
    "replace_tags",
    "update_judgements",
    "replace_texts",
    "set_extractor",
    "known_urls",
    "page_attempts",
    "permanently_failed_urls",
    "save_coverage_gap",
    "existing_ids",
    "stored_ids_and_url_roots",
    "stored_dates",
    "new_run_id",
    "recorded_run",
    "start_run",
    "finish_run",
    "RunRecord",
    "recent_runs",
    "FailedFeed",
    "failed_feeds",
    "transaction",
    "record_progress",
    "article_totals",
]


def bulk_insert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Any]],
) -> int:
    """Insert rows with one statement; ``columns`` are (name, DuckDB type)."""
    if not rows:
        return 0
    insert_columns(con, table, columns, _by_column(rows, len(columns)))
    return len(rows)


def merge_columns(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Any]],
    keys: Sequence[str],
) -> int:
    """Upsert rows by ``keys`` in one MERGE statement: what ON CONFLICT DO UPDATE did on a
    keyed table. Of two rows with one key in ``rows``, the last wins."""
    if not rows:
        return 0
    at = [next(i for i, (name, _) in enumerate(columns) if name == key) for key in keys]
    last = list({tuple(row[i] for i in at): row for row in rows}.values())
    # read by name inside the statement (see insert_columns)
    _monitor_merge_rows, selects = _scannable(columns, _by_column(last, len(columns)))  # noqa: F841
    names = [name for name, _ in columns]
    on = " AND ".join(f"{table}.{key} = s.{key}" for key in keys)
    sets = ", ".join(f"{name} = s.{name}" for name in names if name not in keys)
    con.execute(
        f"MERGE INTO {table} USING (SELECT {selects} FROM _monitor_merge_rows) AS s ON {on} "
        f"WHEN MATCHED THEN UPDATE SET {sets} "
        f"WHEN NOT MATCHED THEN INSERT ({', '.join(names)}) VALUES ({', '.join('s.' + n for n in names)})"
    ).fetchall()
    return len(last)


def insert_columns(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: Sequence[tuple[str, str]],
    values: Sequence[Sequence[Any] | np.ndarray],
    tail: str = "",
) -> list[tuple[Any, ...]]:
    """INSERT one row per position of the ``values`` columns (one sequence per column,
    typed by ``columns``' (name, DuckDB type)); ``tail`` follows the SELECT. Returns the
    statement's rows: [(count,)]. (A lake has no ON CONFLICT and no RETURNING.)

    The columns go in as NumPy arrays that DuckDB scans in place. Passed as list
    parameters to ``SELECT unnest($1::T[]), ...`` instead, each value became a DuckDB
    Value first: measured, 200 raw pages took 15-27 ms that way against 6 ms, and
    6000 tag rows 9 ms against 5.
    """
    # DuckDB finds this local by its name (a replacement scan; a table of that name
    # would win, hence the unusual one) and scans the arrays in place.
    _monitor_insert_rows, selects = _scannable(columns, values)  # noqa: F841 - read by name inside the statement
    names = ", ".join(name for name, _ in columns)
    with _sampled_when_safe(con, _monitor_insert_rows):
        # Fetched here, while the arrays are in scope (the scan is lazy).
        return con.execute(f"INSERT INTO {table} ({names}) SELECT {selects} FROM _monitor_insert_rows {tail}").fetchall()


#: How many of an object column's values DuckDB looks at to guess its type, by default.
_DUCKDB_SAMPLE = 1000


@contextmanager
def _sampled_when_safe(con: duckdb.DuckDBPyConnection, arrays: dict[str, np.ndarray]) -> Iterator[None]:
    """DuckDB's own sample instead of every value (warehouse.ANALYZE_EVERY_VALUE) for a
    statement whose object columns are longer than the sample and each hold values of one
    Python type, no None: any sample then types the column as every value would.

    Looking at every value cost ~4 us a value (DuckDB tries to import pandas for each):
    measured, the 5,600 tag rows of a 200-page batch took 115 ms, 27 ms sampled. A
    column with a None, or of mixed types, is still looked at whole (the failure that
    setting prevents: a sample of only NULLs).
    """
    objects = [a for a in arrays.values() if a.dtype == object]
    if not objects or len(objects[0]) <= _DUCKDB_SAMPLE or not all(_one_type(a) for a in objects):
        yield
        return
    (before,), = con.execute("SELECT current_setting('pandas_analyze_sample')").fetchall()
    con.execute(f"SET pandas_analyze_sample = {_DUCKDB_SAMPLE}")
    try:
        yield
    finally:
        con.execute(f"SET pandas_analyze_sample = {int(before)}")


def _one_type(values: np.ndarray) -> bool:
    """Every value of one Python type, and none of them None."""
    kind = type(values[0])
    return values[0] is not None and all(type(v) is kind for v in values)


#: A column of the scanned arrays that is never selected: the scan needs one column, and
#: every real column may be all NULL.
_ROW_COLUMN = "_monitor_row"
#: Column types whose values go in as a typed NumPy array (NULLs masked by a second,
#: boolean array) when every value is of a Python type that converts to it exactly; with
#: what stands in for a NULL. DuckDB converts each value of an object array apart, ~5 us
#: a number (it asks for pandas' NA each time; ~130 us where the import is not cut short
#: as storage.lake does) against ~0.3 us a string; a typed array is scanned in place
#: (measured: 20,000 floats 103 -> 6 ms; the 12,000 tag scores of 400 articles were
#: ~60 ms of a save).
_TYPED: dict[str, tuple[tuple[type, ...], str, Any]] = {
    "BIGINT": ((int,), "int64", 0),
    "INTEGER": ((int,), "int64", 0),
    "DOUBLE": ((float, int), "float64", 0.0),
    "BOOLEAN": ((bool,), "bool", False),
    "TIMESTAMPTZ": ((datetime,), "datetime64[us]", datetime(1970, 1, 1)),
}
#: A list of strings goes in as its JSON text and is parsed by DuckDB: as a Python list,
#: each element was converted apart (~18-27 us a list of event features; 370 event
#: assignments were ~0.15 s of a save). Same lists, NULLs kept.
_JSON_LIST_TYPE = "VARCHAR[]"


def _scannable(
    columns: Sequence[tuple[str, str]], values: Sequence[Sequence[Any] | np.ndarray]
) -> tuple[dict[str, np.ndarray], str]:
    """The arrays DuckDB scans, and the SELECT list that casts each to its column's type.

    A column with no value at all is selected as a typed NULL, not scanned: DuckDB 1.5.5
    guesses an object array's type from a sample of values, and when the sample is all
    NULL in an array of 2,000 or more it calls pandas' ``first_valid_index`` on the NumPy
    array and fails (5,000 sources without an owner stopped every run at once; the
    writer's connections now sample every value: warehouse.ANALYZE_EVERY_VALUE).
    """
    arrays: dict[str, np.ndarray] = {}
    selects = []
    length = 0
    for (name, typ), col in zip(columns, values, strict=True):
        length = len(col)
        if isinstance(col, np.ndarray) and col.dtype != object:
            arrays[name] = col
            selects.append(f"CAST({name} AS {typ}) AS {name}")
            continue
        present = [v is not None for v in col]
        if not any(present):
            selects.append(f"CAST(NULL AS {typ}) AS {name}")
            continue
        typed = _typed(col, typ) if typ != "VARCHAR" else _unicode(col, present)
        if typed is not None:
            selects.append(_masked(arrays, name, typed, present, f"CAST({name} AS {typ})"))
        elif typ == _JSON_LIST_TYPE:
            texts = [None if v is None else json.dumps(list(v), ensure_ascii=False) for v in col]
            as_text = _unicode(texts, present)
            # (cast to VARCHAR: DuckDB scans a unicode array as an ENUM, which from_json does not read)
            parsed = f"""CAST(from_json(CAST({name} AS VARCHAR), '["VARCHAR"]') AS {typ})"""
            if as_text is None:
                arrays[name] = np.fromiter(texts, dtype=object, count=length)
                selects.append(f"{parsed} AS {name}")
            else:
                selects.append(_masked(arrays, name, as_text, present, parsed))
        else:
            arrays[name] = np.fromiter(col, dtype=object, count=length)
            selects.append(f"CAST({name} AS {typ}) AS {name}")
    if not arrays:
        arrays[_ROW_COLUMN] = np.arange(length)
    return arrays, ", ".join(selects)


def _masked(arrays: dict[str, np.ndarray], name: str, array: np.ndarray, present: Sequence[bool], value: str) -> str:
    """Scan ``array`` as ``name``; the select of ``value`` (the SQL that reads it), NULL
    where ``present`` says the array holds a stand-in (a ``name__set`` mask, if any)."""
    arrays[name] = array
    if all(present):
        return f"{value} AS {name}"
    arrays[f"{name}__set"] = np.array(present, dtype=bool)
    return f"CASE WHEN {name}__set THEN {value} END AS {name}"


#: The most bytes a column of strings may take as a NumPy unicode array (4 bytes a
#: character, every value as long as the longest). DuckDB scans it as an ENUM and builds
#: its dictionary, ~3x the array at the peak: a batch's 12,000 tag evidence sentences (up
#: to 300 characters) took 40 MB that way against 6 MB as objects, its 400 texts 58 MB
#: against 7. Ids, concept ids and other short strings fit; long ones stay objects.
_UNICODE_MAX_BYTES = 2 << 20


def _unicode(col: Sequence[Any] | np.ndarray, present: Sequence[bool]) -> np.ndarray | None:
    """A column of strings (and None) as a NumPy unicode array that DuckDB scans in place
    (None as "", masked by the caller), or None to go as objects: a value that is not a
    str, a column too large (``_UNICODE_MAX_BYTES``), or a NUL in any value (NumPy drops
    trailing NULs; rare enough to send the whole column as objects).

    DuckDB converts an object array's strings one by one, trying to import pandas twice
    for each: measured, 20,000 article ids took 99 ms as objects and 8 ms as unicode (a
    1,000-page import made 146,000 such attempts, 42,400 now).
    The checks are C loops (map, join): twice as fast as a Python loop over the values.
    """
    values = [v for v, here in zip(col, present, strict=True) if here]
    if set(map(type, values)) != {str}:
        return None
    longest = max(1, max(map(len, values)))
    if 4 * longest * len(col) > _UNICODE_MAX_BYTES or "\x00" in "".join(values):
        return None
    return np.array([v if here else "" for v, here in zip(col, present, strict=True)], dtype=f"<U{longest}")


def _typed(col: Sequence[Any] | np.ndarray, typ: str) -> np.ndarray | None:
    """``col`` as a typed array (NULLs as the type's blank), or None to go as objects:
    a value of another Python type (DuckDB's cast decides what it becomes, as before), or
    an integer past 64 bits (DuckDB's cast then says what is wrong)."""
    spec = _TYPED.get(typ)
    if spec is None:
        return None
    kinds, dtype, blank = spec
    if not all(v is None or type(v) in kinds for v in col):
        return None
    try:
        if typ == "TIMESTAMPTZ":
            return _timestamps(col, dtype, blank)
        return np.array([blank if v is None else v for v in col], dtype=dtype)
    except OverflowError:
        return None


def _timestamps(col: Sequence[Any] | np.ndarray, dtype: str, blank: Any) -> np.ndarray:
    """Datetimes (and None) as a ``dtype`` array, each distinct value converted once: a
    batch's ~12,000 tag rows hold one fetch time an article, and NumPy converts a Python
    datetime slowly (measured: 19 ms for those rows, 0.5 ms once a value)."""
    # Naive datetimes mean UTC (the warehouse's TimeZone); aware ones are converted
    # to UTC, and the naive array is read back in UTC. Equal datetimes are one instant
    # (an aware one never equals a naive one), so each converts as its first did.
    at = {v: i for i, v in enumerate(dict.fromkeys(col))}
    distinct = np.array([blank if v is None else v.astimezone(UTC).replace(tzinfo=None) if v.tzinfo is not None
                         else v for v in at], dtype=dtype)
    return distinct[np.fromiter(map(at.__getitem__, col), dtype=np.intp, count=len(col))]


def _by_column(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]


class transaction:  # noqa: N801 - used as a statement: `with transaction(con):`
    """BEGIN/COMMIT around a block; ROLLBACK if it raises.

    Raw pages appended to the packs inside a transaction that does not commit (it
    raised, or the COMMIT itself failed on a full disk) are cut off the packs again.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._pages: Path | None = None
        self._mark: tuple[str, int] | None = None

    def __enter__(self) -> duckdb.DuckDBPyConnection:
        self.con.execute("BEGIN TRANSACTION")
        self._pages = pagestore.pages_dir(self.con)
        self._mark = pagestore.end_mark(self._pages) if self._pages is not None else None
        return self.con

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self.con.execute("ROLLBACK" if exc_type else "COMMIT")
        except BaseException:
            self._rewind()
            raise
        if exc_type:
            self._rewind()

    def _rewind(self) -> None:
        if self._pages is not None:
            pagestore.rewind(self._pages, self._mark)


#: The registry's columns, as a save writes them; each save stamps the rows it writes
#: with ``updated_at`` besides (last_loaded_sources reads the latest stamp's rows).
_REGISTRY_COLUMNS = [
    ("name", "VARCHAR"), ("url", "VARCHAR"), ("language", "VARCHAR"), ("country", "VARCHAR"), ("owner", "VARCHAR"),
    ("poll_minutes", "INTEGER"), ("homepage", "VARCHAR"), ("notes", "VARCHAR"), ("state", "VARCHAR"),
    ("owner_reason", "VARCHAR"), ("cited_as", "VARCHAR[]"), ("cite_keys", "VARCHAR[]"),
]


def save_sources(con: duckdb.DuckDBPyConnection, sources: Iterable[Source]) -> int:
    """Upsert the sources registry, one row a name (a source removed from the file is kept,
    for history); returns how many names were written.

    Nothing is written when the registry is the one the last save wrote (every run saves
    it, most runs with no change): in a lake each write is a snapshot, and a change to
    ``sources`` makes the end-of-run refresh recompute the kept copy rows of its outlets.
    """
    registry = [
        (s.name, s.url, s.language, s.country, s.owner, s.poll_minutes, s.homepage, s.notes,
         s.state, s.owner_reason, list(s.cited_as), _cite_keys(s))
        for s in sources
    ]
    names = ", ".join(name for name, _ in _REGISTRY_COLUMNS)
    last = con.execute(f"SELECT {names} FROM sources WHERE updated_at = (SELECT max(updated_at) FROM sources)")
    if {r[0]: r for r in last.fetchall()} == {r[0]: r for r in registry}:
        return 0
    now = datetime.now(UTC)
    return merge_columns(con, "sources", [*_REGISTRY_COLUMNS, ("updated_at", "TIMESTAMPTZ")],
                         [(*row, now) for row in registry], ["name"])


def _cite_keys(source: Source) -> list[str]:
    """The keys a credit is compared with (view ``amplification``): the names the source is
    cited by, else its own name ("balkanwatch"), and its homepage's site name ("sputnikportal").
    """
    names = list(source.cited_as) or [source.name]
    if source.homepage:
        host = (urlsplit(source.homepage).hostname or "").removeprefix("www.")
        if "." in host and not host.replace(".", "").isdigit():  # a name, not an address
            names.append(host.split(".")[-2])
    return sorted({key for key in (name_key(n) for n in names) if key})


def last_loaded_sources(con: duckdb.DuckDBPyConnection) -> list[Source]:
    """The sources the last run loaded (the rows it saved last), by name; [] before any run.

    ``sources`` keeps removed sources for history, so "the registry" of a warehouse is
    the rows of its latest save.
    """
    rows = con.execute(
        "SELECT name, url, language, country, owner, poll_minutes, homepage, notes, state, owner_reason, cited_as "
        "FROM sources "
        "WHERE updated_at = (SELECT max(updated_at) FROM sources) ORDER BY name"
    ).fetchall()
    return [Source(name=r[0], url=r[1], language=r[2], country=r[3], owner=r[4],
                   poll_minutes=r[5] if r[5] is not None else Source.poll_minutes, homepage=r[6], notes=r[7],
                   state=r[8], owner_reason=r[9], cited_as=tuple(r[10] or ()))
            for r in rows]


def load_feed_states(con: duckdb.DuckDBPyConnection) -> dict[str, FeedState]:
    """The saved state of every feed, by source name."""
    rows = con.execute(
        "SELECT source, url, etag, last_modified, body_hash, consecutive_failures, "
        "last_success_at, next_poll_after FROM feed_state"
    ).fetchall()
    return {
        r[0]: FeedState(
            source=r[0], url=r[1], etag=r[2], last_modified=r[3], body_hash=r[4],
            consecutive_failures=r[5], last_success_at=r[6], next_poll_after=r[7],
        )
        for r in rows
    }


def save_feed_state(
    con: duckdb.DuckDBPyConnection,
    state: FeedState,
    *,
    attempted_at: datetime,
    last_error: str | None,
) -> None:
    """Write a feed's state (one row a source); the caller does this only after the feed's
    articles are saved."""
    save_feed_states(con, [(state, attempted_at, last_error)])


def save_feed_states(
    con: duckdb.DuckDBPyConnection, states: Sequence[tuple[FeedState, datetime, str | None]]
) -> int:
    """Write many feeds' states in one statement: (state, attempted_at, last_error) each; of
    two states of one source, the last wins. Returns how many sources were written."""
    return merge_columns(
        con, "feed_state",
        [("source", "VARCHAR"), ("url", "VARCHAR"), ("etag", "VARCHAR"), ("last_modified", "VARCHAR"),
         ("body_hash", "VARCHAR"), ("consecutive_failures", "INTEGER"), ("last_success_at", "TIMESTAMPTZ"),
         ("last_attempt_at", "TIMESTAMPTZ"), ("last_error", "VARCHAR"), ("next_poll_after", "TIMESTAMPTZ")],
        [(state.source, state.url, state.etag, state.last_modified, state.body_hash,
          state.consecutive_failures, state.last_success_at, attempted_at, last_error,
          state.next_poll_after) for state, attempted_at, last_error in states],
        ["source"],
    )


_FETCH_LOG_COLUMNS = [
    ("id", "BIGINT"), ("run_id", "VARCHAR"), ("fetched_at", "TIMESTAMPTZ"), ("source", "VARCHAR"), ("kind", "VARCHAR"),
    ("url", "VARCHAR"), ("final_url", "VARCHAR"), ("status", "INTEGER"), ("bytes", "BIGINT"),
    ("elapsed_ms", "DOUBLE"), ("outcome", "VARCHAR"), ("error", "VARCHAR"), ("detail", "VARCHAR"),
]


def save_fetch_log(
    con: duckdb.DuckDBPyConnection, run_id: str | None, entries: Iterable[FetchLogEntry]
) -> int:
    """Append fetch_log rows, numbered after the largest stored id (there is no sequence in a lake)."""
    now = datetime.now(UTC)
    entries = list(entries)
    if not entries:
        return 0
    base = claim_numbers(con, "fetch_log", "id", len(entries))
    rows = [
        (base + i, run_id, e.fetched_at or now, e.source, e.kind, e.url, e.final_url, e.status, e.bytes,
         e.elapsed_ms, e.outcome, e.error, (e.detail or "")[:2000] or None)
        for i, e in enumerate(entries)
    ]
    return bulk_insert(con, "fetch_log", _FETCH_LOG_COLUMNS, rows)


def claim_numbers(con: duckdb.DuckDBPyConnection, table: str, column: str, count: int) -> int:
    """The first of ``count`` new numbers for ``table.column`` (``next_number``, asked once
    while this process holds the writer lock: ``lake.claim_numbers``)."""
    return lake.claim_numbers(con, f"{table}.{column}", count, lambda: next_number(con, table, column))


def next_number(con: duckdb.DuckDBPyConnection, table: str, column: str) -> int:
    """One more than the largest ``column`` of ``table`` (1 when empty): the writer numbers rows
    itself. A lake answers max() from its files' statistics."""
    row = con.execute(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}").fetchall()
    return int(row[0][0])


_ARTICLE_COLUMNS = [
    ("id", "VARCHAR"), ("kind", "VARCHAR"), ("source", "VARCHAR"), ("url", "VARCHAR"),
    ("canonical_url", "VARCHAR"), ("guid", "VARCHAR"), ("title", "VARCHAR"), ("author", "VARCHAR"),
    ("sitename", "VARCHAR"), ("language", "VARCHAR"), ("published_at", "TIMESTAMPTZ"),
    ("date_source", "VARCHAR"), ("date_confidence", "VARCHAR"), ("fetched_at", "TIMESTAMPTZ"),
    ("summary", "VARCHAR"), ("text", "VARCHAR"), ("content_hash", "VARCHAR"), ("word_count", "INTEGER"),
    ("extractor", "VARCHAR"), ("relevant", "BOOLEAN"), ("relevance", "DOUBLE"),
    ("relevance_reason", "VARCHAR"), ("duplicate_of", "VARCHAR"), ("duplicate_kind", "VARCHAR"),
    ("similarity", "DOUBLE"), ("dedup_note", "VARCHAR"), ("taxonomy_version", "VARCHAR"),
    ("run_id", "VARCHAR"), ("saved_at", "TIMESTAMPTZ"),
]


def save_articles(
    con: duckdb.DuckDBPyConnection,
    docs: Sequence[tuple[Document, str, Any]],
    run_id: str | None,
    *,
    stored: set[str] | None = None,
) -> int:
    """Insert articles with their raw pages and tags.

    ``docs`` holds (document, kind, decision) where decision has ``match`` (a Match or
    None) and ``note``. An article whose id is already stored is left as it is, and of
    two documents with one id in ``docs`` the first is saved: saving the same batch twice
    (a resumed run) changes nothing. Returns how many were added.

    ``stored``: which of the ids are stored, when the caller read that in this
    transaction already (the writer's batch does, before it decides): one lookup of
    ``articles`` less a batch (~15 ms on a lake).
    """
    now = datetime.now(UTC)
    if stored is None:
        stored = existing_ids(con, [doc.id for doc, _, _ in docs])
    art_rows, page_rows, tag_rows = [], [], []
    added: set[str] = set()
    for position, (doc, kind, decision) in enumerate(docs):
        if doc.id in stored or doc.id in added:
            continue
        added.add(doc.id)
        match = decision.match if decision is not None else None
        rel = doc.relevance
        art_rows.append((
            doc.id, kind, doc.source, doc.url, doc.canonical_url, doc.guid, doc.title, doc.author,
            doc.sitename, doc.language, doc.published_at, doc.date_source, doc.date_confidence,
            doc.fetched_at, doc.summary, doc.text, doc.content_hash, doc.word_count, doc.extractor,
            rel.relevant if rel else None, rel.score if rel else None, rel.reason if rel else None,
            match.duplicate_of if match else None, match.kind if match else None,
            match.similarity if match else None, decision.note if decision is not None else None,
            doc.taxonomy_version, run_id, now,
        ))
        if doc.raw is not None:
            page_rows.append((doc.id, doc.url, doc.fetched_at, PAGE_ENCODING, doc.raw))
        for tag in doc.tags:
            tag_rows.append((position, doc.id, tag.concept_id, tag.score, tag.evidence, doc.taxonomy_version,
                             doc.fetched_at or NO_FETCH_TIME))
    if not art_rows:
        return 0
    # Pages and tags go in only for the articles this INSERT adds: nothing in the lake
    # stops a second copy, and a resumed run must change nothing.
    insert_columns(con, "articles", _ARTICLE_COLUMNS, _by_column(art_rows, len(_ARTICLE_COLUMNS)))
    _save_pages(con, page_rows)
    bulk_insert(
        con, "article_tags",
        [("article_id", "VARCHAR"), ("concept_id", "VARCHAR"), ("score", "DOUBLE"),
         ("evidence", "VARCHAR"), ("taxonomy_version", "VARCHAR"), ("article_fetched_at", "TIMESTAMPTZ")],
        _first_document_tags(tag_rows, added),
    )
    kept, done = [], set()
    for doc, _, _ in docs:
        if doc.id in added and doc.id not in done:
            done.add(doc.id)
            kept.append(doc)
    # New articles have no provenance row to replace.
    save_provenance(con, [(d.id, d.title, d.script, d.credits) for d in kept], new=True)
    save_site_identifiers(con, [(doc.source, doc.url, doc.fetched_at, doc.site_ids) for doc in kept])
    return len(added)


_CREDITS_TYPE = 'STRUCT(name VARCHAR, "key" VARCHAR, cue VARCHAR, evidence VARCHAR)[]'
_PROVENANCE_COLUMNS = [("article_id", "VARCHAR"), ("script", "VARCHAR"), ("title_key", "VARCHAR"),
                       ("credits", _CREDITS_TYPE)]


def save_provenance(
    con: duckdb.DuckDBPyConnection, rows: Sequence[tuple[str, str | None, str | None, Sequence[Credit]]],
    *,
    new: bool = False,
) -> None:
    """Each article's (id, title, script, credits) into ``article_provenance``, replacing
    what was stored for it: reextract and retag call this for the texts they judge again.
    ``new=True`` promises that none has a row yet (articles saved in this transaction),
    which saves the DELETE (~15-20 ms a batch on a lake, where it is a scan).
    """
    if not rows:
        return
    if not new:
        con.execute("DELETE FROM article_provenance WHERE article_id IN (SELECT unnest(?::VARCHAR[]))",
                    [[r[0] for r in rows]])
    bulk_insert(con, "article_provenance", _PROVENANCE_COLUMNS, [
        (article_id, script, normalize_for_comparison(title) if title else None,
         [{"name": c.name, "key": c.key, "cue": c.cue, "evidence": c.evidence} for c in credits])
        for article_id, title, script, credits in rows
    ])


def save_site_identifiers(
    con: duckdb.DuckDBPyConnection,
    pages: Iterable[tuple[str | None, str, datetime | None, Sequence[SiteIdentifier]]],
    *,
    replace_all: bool = False,
) -> int:
    """Merge the identifiers of newly saved pages, (source, url, fetched_at, identifiers),
    into ``site_identifiers``: one row per source and identifier, its page count and the
    first and last time seen (``replace_all``: instead of everything stored). The writer is the only one to write it, a batch at a time,
    so looking up the batch's sources first keeps the rows unique without a key.
    Returns how many identifiers were new to their source.
    """
    merged: dict[tuple[str, str, str], list[Any]] = {}
    for source, url, fetched_at, identifiers in pages:
        if source is None:
            continue
        for ident in identifiers:
            row = merged.setdefault((source, ident.kind, ident.value),
                                    [0, fetched_at, fetched_at, url, ident.evidence])
            row[0] += 1
            if fetched_at is not None:
                row[1] = min(d for d in (row[1], fetched_at) if d is not None)
                row[2] = max(d for d in (row[2], fetched_at) if d is not None)
    if replace_all:  # reextract rebuilds the table from every kept page
        con.execute("DELETE FROM site_identifiers")
    if not merged:
        return 0
    stored = set() if replace_all else {tuple(r) for r in con.execute(
        "SELECT source, kind, identifier FROM site_identifiers WHERE source IN (SELECT unnest(?::VARCHAR[]))",
        [sorted({k[0] for k in merged})]).fetchall()}
    updates = [(*key, *merged[key][:3]) for key in merged if key in stored]
    if updates:
        columns = [("source", "VARCHAR"), ("kind", "VARCHAR"), ("identifier", "VARCHAR"), ("pages", "INTEGER"),
                   ("first_seen_at", "TIMESTAMPTZ"), ("last_seen_at", "TIMESTAMPTZ")]
        _monitor_site_updates, selects = _scannable(columns, _by_column(updates, len(columns)))  # noqa: F841
        con.execute(
            "UPDATE site_identifiers s SET pages = s.pages + u.pages, "
            "first_seen_at = least(s.first_seen_at, u.first_seen_at), "
            "last_seen_at = greatest(s.last_seen_at, u.last_seen_at) "
            f"FROM (SELECT {selects} FROM _monitor_site_updates) u "
            "WHERE s.source = u.source AND s.kind = u.kind AND s.identifier = u.identifier")
    new = [(*key, *row) for key, row in merged.items() if key not in stored]
    bulk_insert(con, "site_identifiers", _SITE_ID_COLUMNS, new)
    return len(new)


_SITE_ID_COLUMNS = [("source", "VARCHAR"), ("kind", "VARCHAR"), ("identifier", "VARCHAR"), ("pages", "INTEGER"),
                    ("first_seen_at", "TIMESTAMPTZ"), ("last_seen_at", "TIMESTAMPTZ"), ("example_url", "VARCHAR"),
                    ("evidence", "VARCHAR")]


_PAGE_COLUMNS = [("article_id", "VARCHAR"), ("url", "VARCHAR"), ("fetched_at", "TIMESTAMPTZ"),
                 ("encoding", "VARCHAR"), ("raw", "BLOB"), ("pack", "VARCHAR"), ("pack_offset", "BIGINT"),
                 ("pack_length", "BIGINT")]


def _save_pages(con: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]]) -> None:
    """Raw pages (article id, url, fetched_at, encoding, compressed bytes): the bytes into
    the warehouse's pack files (``pagestore``), before the caller commits the rows that
    point at them; inline in ``raw`` for a warehouse in memory.
    """
    if not rows:
        return
    directory = pagestore.pages_dir(con)
    if directory is None:
        located = [(*row, None, None, None) for row in rows]
    else:
        pack, offsets = pagestore.append(directory, [row[4] for row in rows])
        located = [(*row[:4], None, pack, offset, len(row[4])) for row, offset in zip(rows, offsets, strict=True)]
    bulk_insert(con, "pages", _PAGE_COLUMNS, located)


def read_page(con: duckdb.DuckDBPyConnection, article_id: str) -> bytes | None:
    """The raw page saved with an article, as fetched; None when it has none (a .txt
    import, a reference text, or a copy saved without its page).
    """
    row = con.execute("SELECT encoding, raw, pack, pack_offset, pack_length FROM pages WHERE article_id = ?",
                      [article_id]).fetchone()
    if row is None:
        return None
    encoding, raw, pack, offset, length = row
    if raw is None:
        directory = pagestore.pages_dir(con)
        if directory is None or pack is None:
            raise WarehouseError(f"The raw page of {article_id} has neither bytes nor a pack to read them from.")
        raw = pagestore.read(directory, pack, offset, length)
    return pagestore.decompress_page(raw, encoding)


def repoint(
    con: duckdb.DuckDBPyConnection,
    moves: Sequence[tuple[str, str, str, float, str]],
    copies: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Make stored roots copies: for each (old root, new root, kind, similarity, note),
    ``old`` becomes a copy of ``new`` and every stored copy of ``old`` points at ``new``.

    Two UPDATE ... FROM joins a call, however many moves. (One UPDATE a move, matching
    ``id = old OR duplicate_of = old``, scanned the whole table each time: 6.9 ms a
    move at 1M articles.) ``copies``: the stored copies of each old root, when the caller
    read them in this transaction (the writer's batch does): then one UPDATE by id (on a
    lake each UPDATE rewrites rows and costs ~20 ms however few).
    """
    if not moves:
        return
    if copies is not None:
        rows: list[tuple[str, str, str | None, float | None, str | None, bool]] = [
            (old, new, kind, sim, note, True) for old, new, kind, sim, note in moves]
        rows += [(copy, new, None, None, None, False) for old, new, _, _, _ in moves for copy in copies[old]]
        ids, roots, kinds, sims, notes, whole = (list(col) for col in zip(*rows, strict=True))
        con.execute(
            "UPDATE articles SET duplicate_of = u.new, "
            "duplicate_kind = CASE WHEN u.whole THEN u.kind ELSE articles.duplicate_kind END, "
            "similarity = CASE WHEN u.whole THEN u.sim ELSE articles.similarity END, "
            "dedup_note = CASE WHEN u.whole THEN u.note ELSE articles.dedup_note END "
            "FROM (SELECT unnest($ids::VARCHAR[]) AS id, unnest($news::VARCHAR[]) AS new, "
            "unnest($kinds::VARCHAR[]) AS kind, unnest($sims::DOUBLE[]) AS sim, unnest($notes::VARCHAR[]) AS note, "
            f"unnest($whole::BOOLEAN[]) AS whole) u WHERE articles.id = u.id AND {in_scan('$ids', 'articles.id')}",
            {"ids": ids, "news": roots, "kinds": kinds, "sims": sims, "notes": notes, "whole": whole})
        return
    olds, news, kinds, sims, notes = (list(col) for col in zip(*moves, strict=True))
    moved = ("(SELECT unnest($olds::VARCHAR[]) AS old, unnest($news::VARCHAR[]) AS new, "
             "unnest($kinds::VARCHAR[]) AS kind, unnest($sims::DOUBLE[]) AS sim, unnest($notes::VARCHAR[]) AS note)")
    params = {"olds": olds, "news": news, "kinds": kinds, "sims": sims, "notes": notes}
    # Copies first: a root's own duplicate_of is NULL, so the two sets of rows differ.
    con.execute(f"UPDATE articles SET duplicate_of = m.new FROM {moved} m WHERE articles.duplicate_of = m.old "
                f"AND {in_scan('$olds', 'articles.duplicate_of')}", params)
    con.execute(f"UPDATE articles SET duplicate_of = m.new, duplicate_kind = m.kind, similarity = m.sim, "
                f"dedup_note = m.note FROM {moved} m WHERE articles.id = m.old AND {in_scan('$olds', 'articles.id')}",
                params)


#: ``article_tags.article_fetched_at`` of an article without a fetch time (migration 014),
#: and the same in SQL.
NO_FETCH_TIME = datetime(1970, 1, 1, tzinfo=UTC)
NO_FETCH_TIME_SQL = f"TIMESTAMPTZ '{NO_FETCH_TIME:%Y-%m-%d %H:%M:%S}+00'"


def replace_tags(
    con: duckdb.DuckDBPyConnection,
    article_ids: Sequence[str],
    tags: Sequence[tuple[str, Tag]],
    taxonomy_version: str,
) -> int:
    """The tags of these articles, replaced by ``tags`` (article id, tag); returns how many."""
    con.execute("DELETE FROM article_tags WHERE article_id = ANY($ids::VARCHAR[])", {"ids": list(article_ids)})
    if tags:
        con.execute(
            """
            INSERT INTO article_tags (article_id, concept_id, score, evidence, taxonomy_version, article_fetched_at)
            SELECT t.*, coalesce(a.fetched_at, $none)
            FROM (SELECT unnest($a) AS article_id, unnest($c), unnest($s), unnest($e), $v) t
            LEFT JOIN articles a ON a.id = t.article_id AND a.id = ANY($ids::VARCHAR[])
            """,
            {"a": [a for a, _ in tags], "c": [t.concept_id for _, t in tags], "s": [t.score for _, t in tags],
             "e": [t.evidence for _, t in tags], "v": taxonomy_version, "none": NO_FETCH_TIME,
             "ids": sorted({a for a, _ in tags})},
        )
    return len(tags)


def in_scan(ids: str, column: str) -> str:
    """SQL: ``column`` is one of the id list ``ids`` (a parameter's name), the filter an UPDATE
    of a few rows needs: ``list_contains``, evaluated in the scan, not a join. An UPDATE on a
    lake rewrites whole rows: joined to its list alone (or by ``IN``/``= ANY``, which DuckDB
    also makes a join), it read every column of every article, text included, to keep the few it changes:
    1.1 s for 20 articles at a million with real (hashed) ids; with the filter in the scan,
    the other columns are read only where an id matches: 0.27 s."""
    return f"list_contains({ids}, {column})"


def text_list(values: Iterable[str]) -> str:
    """A long list of strings as one parameter, its JSON text, which ``text_list_sql``
    reads back as the same VARCHAR[]: passed as a Python list, DuckDB converts each
    value apart and tries to import pandas twice for each (~5 us a value; measured,
    2,400 ids and URLs 12 ms, as JSON 1 ms)."""
    return json.dumps(list(values), ensure_ascii=False)


def text_list_sql(param: str) -> str:
    """SQL: the VARCHAR[] in the parameter ``param``, made by ``text_list``."""
    return f"""CAST(from_json({param}, '["VARCHAR"]') AS VARCHAR[])"""


def update_judgements(
    con: duckdb.DuckDBPyConnection, judged: Sequence[tuple[str, Relevance]], taxonomy_version: str
) -> None:
    """New relevance (and taxonomy version) for stored articles."""
    if judged:
        con.execute(
            f"""
            UPDATE articles SET relevant = u.relevant, relevance = u.score,
                   relevance_reason = u.reason, taxonomy_version = $v
            FROM (SELECT unnest($ids) AS id, unnest($rel) AS relevant,
                         unnest($score) AS score, unnest($reason) AS reason) AS u
            WHERE articles.id = u.id AND {in_scan("$ids", "articles.id")}
            """,
            {"ids": [a for a, _ in judged], "rel": [r.relevant for _, r in judged],
             "score": [r.score for _, r in judged], "reason": [r.reason for _, r in judged],
             "v": taxonomy_version},
        )


def replace_texts(con: duckdb.DuckDBPyConnection, texts: Sequence[tuple[str, str, str, int, str]]) -> None:
    """A new body for stored articles: (article id, title, text, word count, content hash).

    The extractor column is set by ``set_extractor``; ids, URLs and dates never change here.
    """
    if texts:
        ids, titles, bodies, words, hashes = (list(col) for col in zip(*texts, strict=True))
        con.execute(
            f"""
            UPDATE articles SET title = u.title, text = u.text, word_count = u.words, content_hash = u.hash
            FROM (SELECT unnest($ids::VARCHAR[]) AS id, unnest($titles::VARCHAR[]) AS title,
                         unnest($bodies::VARCHAR[]) AS text, unnest($words::INTEGER[]) AS words,
                         unnest($hashes::VARCHAR[]) AS hash) AS u
            WHERE articles.id = u.id AND {in_scan("$ids", "articles.id")}
            """,
            {"ids": ids, "titles": titles, "bodies": bodies, "words": words, "hashes": hashes},
        )


def set_extractor(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str], extractor: str) -> None:
    """Record which extractor (and cleaning rules) produced these articles' stored text."""
    if article_ids:
        con.execute(f"UPDATE articles SET extractor = $e WHERE {in_scan('$ids', 'id')}",
                    {"e": extractor, "ids": list(article_ids)})


def _first_document_tags(tag_rows: list[tuple[Any, ...]], added: set[str]) -> list[tuple[Any, ...]]:
    """Tags of the added articles, one row per (article, concept), from the first
    document of each id in the batch.

    The articles INSERT keeps the first of two documents with one id, as DuckDB does
    within a statement; the tags of the second would otherwise join it.
    """
    out: list[tuple[Any, ...]] = []
    owner: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    for doc_index, article_id, concept_id, *rest in tag_rows:
        if (article_id in added and owner.setdefault(article_id, doc_index) == doc_index
                and (article_id, concept_id) not in seen):
            seen.add((article_id, concept_id))
            out.append((article_id, concept_id, *rest))
    return out


def known_urls(con: duckdb.DuckDBPyConnection, urls: Iterable[str]) -> set[str]:
    """Which of these canonical URLs are already stored (as an article's url or canonical_url)."""
    wanted = sorted(set(urls))
    if not wanted:
        return set()
    rows = con.execute(
        "SELECT u FROM unnest($1::VARCHAR[]) AS w(u) "
        "WHERE u IN (SELECT canonical_url FROM articles) OR u IN (SELECT url FROM articles)",
        [wanted],
    ).fetchall()
    return {r[0] for r in rows}


def stored_ids_and_url_roots(
    con: duckdb.DuckDBPyConnection, ids: Iterable[str], urls: Iterable[str]
) -> tuple[set[str], dict[str, str]]:
    """Which ids are stored, and each stored canonical URL among ``urls`` with the canonical
    root of its article, in one lookup of ``articles`` (on a lake each
    lookup costs ~10 ms of catalog and file reads, whatever it reads).

    ``= ANY(list)`` is a filter the scan applies: two ``IN (SELECT unnest(...))`` joined
    by OR ran out of memory under a 32 MB cap with large texts stored, and
    ``list_contains`` took 1.6 s at a million rows.
    """
    wanted_ids, wanted_urls = sorted(set(ids)), sorted(set(urls))
    if not wanted_ids and not wanted_urls:
        return set(), {}
    found: set[str] = set()
    roots: dict[str, str] = {}
    wanted_id_set, wanted_url_set = set(wanted_ids), set(wanted_urls)
    for article, canonical, root in con.execute(
        "SELECT id, canonical_url, coalesce(duplicate_of, id) FROM articles "
        f"WHERE id = ANY({text_list_sql('$1')}) OR canonical_url = ANY({text_list_sql('$2')})",
        [text_list(wanted_ids), text_list(wanted_urls)],
    ).fetchall():
        if article in wanted_id_set:
            found.add(article)
        if canonical in wanted_url_set:
            roots[canonical] = root
    return found, roots


def existing_ids(con: duckdb.DuckDBPyConnection, ids: Iterable[str]) -> set[str]:
    """Which of these article ids are already stored."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    rows = con.execute("SELECT id FROM articles WHERE id IN (SELECT unnest($1::VARCHAR[]))", [wanted]).fetchall()
    return {r[0] for r in rows}


def stored_dates(
    con: duckdb.DuckDBPyConnection, ids: Iterable[str]
) -> dict[str, tuple[str, datetime | None, str | None] | None]:
    """(kind, published_at, date_confidence) of stored articles; None for ids not stored."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    found: dict[str, tuple[str, datetime | None, str | None] | None] = dict.fromkeys(wanted)
    rows = con.execute(
        "SELECT id, kind, published_at, date_confidence FROM articles WHERE id IN (SELECT unnest($1::VARCHAR[]))",
        [wanted],
    ).fetchall()
    for article_id, kind, published_at, confidence in rows:
        found[article_id] = (kind, published_at, confidence)
    return found


#: A page that answered 404/410 or was refused (SSRF, robots) is not asked again for this
#: long, so a feed that keeps a dead link does not cost a request every hour.
PERMANENT_FAILURE_DAYS = 7


def save_coverage_gap(
    con: duckdb.DuckDBPyConnection, run_id: str | None, gap: CoverageGap, *, detected_at: datetime
) -> bool:
    """Record a gap once: the same feed and last poll again (a resumed run) adds nothing."""
    if con.execute("SELECT 1 FROM coverage_gaps WHERE source = ? AND since = ?", [gap.source, gap.since]).fetchall():
        return False
    con.execute(
        "INSERT INTO coverage_gaps (source, since, until, detected_at, run_id, items, dated, reason) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [gap.source, gap.since, gap.until, detected_at, run_id, gap.items, gap.dated, gap.reason],
    )
    return True


def page_attempts(con: duckdb.DuckDBPyConnection, urls: Iterable[str]) -> dict[str, bool]:
    """URLs among these that some run tried to fetch as a page, each with whether it failed
    for good within the last PERMANENT_FAILURE_DAYS (such a link is not asked again)."""
    wanted = sorted(set(urls))
    if not wanted:
        return {}
    rows = con.execute(
        f"""
        SELECT url, bool_or(error IN (SELECT unnest($2::VARCHAR[]))
                            AND fetched_at > now() - INTERVAL {PERMANENT_FAILURE_DAYS} DAY)
        FROM fetch_log
        WHERE kind = 'page' AND url IN (SELECT unnest($1::VARCHAR[]))
        GROUP BY url
        """,
        [wanted, list(FINAL_PAGE_REASONS)],
    ).fetchall()
    return {r[0]: bool(r[1]) for r in rows}


def permanently_failed_urls(con: duckdb.DuckDBPyConnection, urls: Iterable[str]) -> set[str]:
    """URLs among these whose page fetch failed for good within the last week."""
    return {url for url, final in page_attempts(con, urls).items() if final}


def new_run_id(kind: str) -> str:
    """A run's id: its kind, its start (UTC, to the second) and 6 random hex digits."""
    return f"{kind}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


@contextmanager
def recorded_run(con: duckdb.DuckDBPyConnection, kind: str) -> Iterator[dict[str, Any]]:
    """Record a run in ``runs`` around a block: 'running' when it starts, then 'ok' with the
    counters the block puts in the dict it is given, or 'failed' (a kill leaves 'running')."""
    run_id = new_run_id(kind)
    start_run(con, run_id, kind)
    stats: dict[str, Any] = {}
    try:
        yield stats
    except BaseException:
        with suppress(duckdb.Error):  # the block's own error is the one to see
            finish_run(con, run_id, "failed", stats)
        raise
    finish_run(con, run_id, "ok", stats)


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, kind: str) -> None:
    """Record that a run began (a run that never finishes stays 'running': it was killed)."""
    con.execute(
        "INSERT INTO runs (run_id, kind, started_at, status) VALUES (?, ?, ?, 'running')",
        [run_id, kind, datetime.now(UTC)],
    )


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, stats: dict[str, Any]) -> None:
    """Record how a run ended, with its counters."""
    con.execute(
        "UPDATE runs SET finished_at = ?, status = ?, stats = ? WHERE run_id = ?",
        [datetime.now(UTC), status, json.dumps(stats, default=str), run_id],
    )


def article_totals(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Stored articles as the views count them: stories (the ``stories`` view's rows:
    relevant, not a copy), copies (``duplicate_of`` set) and off-topic originals.

    The one definition of a run's "stories" and "copies": a run records how these moved
    while it ran (IngestSession), so `monitor runs` and the warehouse cannot disagree.
    """
    row = con.execute(
        "SELECT count(*) FILTER (duplicate_of IS NULL AND relevant), count(*) FILTER (duplicate_of IS NOT NULL), "
        "count(*) FILTER (duplicate_of IS NULL AND relevant IS NOT TRUE) FROM articles WHERE kind = 'article'"
    ).fetchall()[0]
    return {"stories": int(row[0]), "copies": int(row[1]), "off_topic": int(row[2])}


def record_progress(con: duckdb.DuckDBPyConnection, run_id: str, stats: dict[str, Any]) -> None:
    """Save a running run's counters so far (in the caller's transaction, with what they count)."""
    con.execute("UPDATE runs SET stats = ? WHERE run_id = ?", [json.dumps(stats, default=str), run_id])


@dataclass(frozen=True)
class RunRecord:
    """One row of ``runs``: a run's kind, when it started and ended, how, and its counters."""

    run_id: str
    kind: str
    started_at: datetime
    finished_at: datetime | None
    #: ok | failed | running (a run still 'running' was killed, or is running now)
    status: str
    stats: dict[str, Any]


def recent_runs(con: duckdb.DuckDBPyConnection, limit: int) -> list[RunRecord]:
    """The last ``limit`` runs, newest first."""
    rows = con.execute(
        "SELECT run_id, kind, started_at, finished_at, status, stats FROM runs "
        "ORDER BY started_at DESC, run_id DESC LIMIT ?", [limit]
    ).fetchall()
    return [RunRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]) if r[5] else {}) for r in rows]


@dataclass(frozen=True)
class FailedFeed:
    """A feed a run could not read: which source, the reason code (dns, timeout, http_404...), the message."""

    source: str
    url: str
    reason: str
    detail: str


def failed_feeds(con: duckdb.DuckDBPyConnection, run_id: str) -> list[FailedFeed]:
    """The feeds ``run_id`` tried and could not read, by source name (its last attempt each)."""
    rows = con.execute(
        "SELECT source, arg_max(url, fetched_at), arg_max(coalesce(error, 'error'), fetched_at), "
        "arg_max(coalesce(detail, ''), fetched_at) FROM fetch_log "
        "WHERE run_id = ? AND kind = 'feed' AND outcome = 'error' GROUP BY source ORDER BY source", [run_id]
    ).fetchall()
    return [FailedFeed(*r) for r in rows]
