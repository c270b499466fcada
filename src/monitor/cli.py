"""The `monitor` command line: a thin shell over the library (and the flows for scheduled work)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.exceptions import MonitorError, WarehouseError
from monitor.models import Source
from monitor.settings import (
    AUTO_MAX_WORKERS,
    AUTO_WORKERS_MIN_FILES,
    DEFAULT_DB,
    DEFAULT_SOURCES,
    MAX_WORKERS,
    PROJECT_ROOT,
    Settings,
    load_settings,
)
from monitor.reports.terminal import format_table, safe, safe_json

__all__ = ["main", "build_parser"]

DEMO_DB = PROJECT_ROOT / "warehouse" / "demo.ducklake"
DEMO_OUT = PROJECT_ROOT / "out"

_EPILOG = """\
environment:
  MONITOR_DB                    warehouse path: a local DuckLake, its catalog (SQLite) at PATH, data in PATH.data/
                                (default: warehouse/monitor.ducklake)
  MONITOR_WAREHOUSE             a DuckLake catalog instead: a SQLite path, or postgres:dbname=.. host=.. user=..
  MONITOR_DATA_PATH             the lake's data path (tables/, pages/); needed with a PostgreSQL catalog
  MONITOR_SNAPSHOT_RETENTION    days of snapshots `monitor maintain` keeps for --as-of (default 30)
  MONITOR_SOURCES               sources file (default: the bundled Russia-Balkans list)
  MONITOR_ALLOW_PRIVATE_HOSTS   hosts or CIDRs the fetcher may reach although private/loopback
  MONITOR_DASK_ADDRESS          with --task-runner dask: an existing Dask scheduler (else a local cluster)
  MONITOR_PAGES_PER_TASK        pages per fetch/extract task (default 25 on threads, 100 on processes/dask)
  MONITOR_WRITER_MEMORY         DuckDB memory cap of a writing run: auto (default), off, or e.g. 512MB
  MONITOR_WRITER_WAIT           seconds a writing run waits while another one writes (default 0: refused at once)
  PREFECT_API_URL               a Prefect server; unset, flows run on a temporary local one
  PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS  seconds that temporary server may take to start (default 180)

quick start:
  monitor demo        serve the recorded corpus on loopback, ingest it twice, write a digest
  monitor sql "SELECT week, concept_id, articles FROM weekly_tag_counts ORDER BY week DESC LIMIT 10" --db warehouse/demo.ducklake
"""


def _err(message: str) -> None:
    print(f"monitor: error: {safe(message)}", file=sys.stderr)


def _say(message: str) -> None:
    print(safe(message), file=sys.stderr, flush=True)


def _count(n: int, noun: str) -> str:
    """'1 source', '2 sources': a count as an operator reads it."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _in_project(path: Path) -> str:
    """A default path for --help: relative to the checkout when inside it."""
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _shown(path: Path) -> str:
    """A path as an operator types it: relative to the current directory when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "db", None):
        overrides["db_path"] = Path(args.db)
    if getattr(args, "sources", None):
        overrides["sources_path"] = Path(args.sources)
    return load_settings(**overrides)


def _connect(settings: Settings, **options: Any) -> Any:
    """The warehouse the settings name (--db, MONITOR_WAREHOUSE, MONITOR_DB), opened."""
    from monitor.storage.warehouse import connect

    return connect(settings.warehouse_target, data_path=settings.data_path, **options)


def _label(settings: Settings) -> str:
    """The warehouse as the operator named it: a local path relative to here, a catalog redacted."""
    from monitor.storage.lake import locate

    if settings.warehouse is None:
        return _shown(settings.db_path)
    return locate(settings.warehouse_target, settings.data_path).label


def _as_of(value: str | None) -> int | str | None:
    """--as-of: a snapshot id (a whole number) or a date/time (UTC)."""
    if value is None:
        return None
    if value.strip().isdigit():
        return int(value)
    try:
        datetime.fromisoformat(value.strip())
    except ValueError:
        raise WarehouseError(f"--as-of takes a snapshot id or a date/time such as 2026-11-20 or "
                             f"'2026-11-20 12:00', got {value!r}") from None
    return value.strip()


def _prefect_ready() -> None:
    """Quiet Prefect and make sure there is an API to run flows on (flows/local_server.py says why)."""
    from flows.local_server import ensure_api, quiet_prefect

    quiet_prefect()
    ensure_api()


TASK_RUNNERS = ("threads", "processes", "dask")
#: Pages per task when tasks run in other processes (process pool, Dask) and
#: MONITOR_PAGES_PER_TASK is not set; threads keep settings.PAGES_PER_TASK.
PROCESS_PAGES_PER_TASK = 100


def _task_runner(kind: str, workers: int) -> Any:
    """The Prefect task runner for ``monitor ingest --task-runner`` (imported only when chosen).

    Process-pool and Dask workers report to the one Prefect API that _prefect_ready started
    or found (its URL is in their environment): each used to start a temporary server of its
    own, three API servers on two cores, which ate the whole gain of the fan-out (measured:
    processes x2 22 s against 16.7 s on one thread for 1000 pages).
    """
    if kind == "processes":
        from prefect.task_runners import ProcessPoolTaskRunner

        return ProcessPoolTaskRunner(max_workers=workers)
    if kind == "dask":
        from prefect_dask.task_runners import DaskTaskRunner  # the optional extra `dask`

        address = os.environ.get("MONITOR_DASK_ADDRESS")
        if address:  # an existing cluster, e.g. tcp://scheduler:8786 (docs/deployments.md)
            return DaskTaskRunner(address=address)
        # A local cluster of worker processes, without the dashboard, and shared with nothing
        # else on the machine: its scheduler's small HTTP endpoint takes a free loopback port,
        # not 8787, which a second cluster found taken ("UserWarning: Port 8787 is already in
        # use"); its scheduler's and workers' scratch space is this run's own folder, not the
        # machine's /tmp/dask-scratch-space, where every cluster's workers take one global lock
        # and purge the folders they think stale (distributed.diskutils).
        import atexit
        import tempfile

        scratch = tempfile.mkdtemp(prefix="monitor-dask-")
        atexit.register(shutil.rmtree, scratch, ignore_errors=True)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "processes": True, "dashboard_address": None,
                                              "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0",
                                                                   "local_directory": scratch},
                                              "local_directory": scratch})
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=workers)


def _run_ingest_flow(settings: Settings, workers: int, task_runner: str = "threads", **extra: Any) -> dict[str, Any]:
    _prefect_ready()
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.ingest import ingest

    flow = ingest.with_options(task_runner=_task_runner(task_runner, workers))
    if task_runner != "threads" and not os.environ.get("MONITOR_PAGES_PER_TASK"):
        # A task shipped to another process costs far more than one on a thread: 4x
        # coarser page tasks took processes x2 from 1.13x to 1.44x the one-thread speed
        # (benchmarks/RESULTS.md, scale-out).
        extra.setdefault("pages_per_task", PROCESS_PAGES_PER_TASK)
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        # With MONITOR_WAREHOUSE the flow finds the warehouse in the environment, as a
        # deployment's run does; a path is passed on.
        result: dict[str, Any] = flow(
            sources_path=str(settings.sources_path),
            db_path=None if settings.warehouse else str(settings.db_path), **extra
        )
    return result


def cmd_ingest(args: argparse.Namespace) -> int:
    settings = _settings(args)
    started = time.monotonic()
    extra = {"respect_poll_minutes": True} if args.due_only else {}
    summary = _run_ingest_flow(settings, args.workers, args.task_runner, **extra)
    _print_failed_feeds(settings, str(summary.get("run_id")))
    _print_summary(summary, time.monotonic() - started)
    print(f"warehouse: {_label(settings)}")
    read = sum(summary.get(k, 0) for k in ("feeds_ok", "feeds_not_modified", "feeds_unchanged"))
    failed = summary.get("feeds_failed", 0)
    if failed and not read:
        _err(f"no source could be read: {_count(failed, 'feed')} failed (reasons above); each is tried again "
             "when its backoff has passed (monitor sources --status)")
        return 1
    return 0


#: Characters of a failure's message shown on its line; the whole is in fetch_log.detail.
FAILURE_DETAIL_CHARS = 160


def _print_failed_feeds(settings: Settings, run_id: str) -> None:
    """One line per feed the run could not read, with its reason (dns, timeout, http_404...)."""
    from monitor.storage.store import failed_feeds
    from monitor.storage.warehouse import close

    con = _connect(settings, read_only=True)
    try:
        failures = failed_feeds(con, run_id)
    finally:
        close(con)
    for f in failures:
        detail = " ".join(f.detail.split())
        if len(detail) > FAILURE_DETAIL_CHARS:
            detail = detail[: FAILURE_DETAIL_CHARS - 1] + "…"
        print(safe(f"feed failed: {f.source} ({f.reason}): {detail}"))


def _print_summary(summary: dict[str, Any], seconds: float) -> None:
    """The run's line, with the counters `monitor runs` shows (_RUN_COUNTS), under the same names.

    "stories", "copies" and "off_topic" are what the run added to the warehouse, counted
    as the views count them (net_*: a story that became a copy when its earlier original
    arrived is a copy). Two durations when they differ: the run itself (what `monitor
    runs` shows) and the whole command (Prefect's start and shutdown included).
    """
    keys = ["feeds_ok", "feeds_not_modified", "feeds_unchanged", "feeds_failed", "feeds_backing_off",
            "feeds_not_due", "entries_seen", "entries_known"]
    parts = [f"{k}={summary.get(k, 0)}" for k in keys]
    parts += [f"{name.replace(' ', '_')}={get(summary)}" for name, get in _RUN_COUNTS if name in _NET_COUNTS]
    parts += [f"{k}={summary.get(k, 0)}" for k in ("repointed", "page_errors", "coverage_gaps",
                                                    "articles_total", "stories_total")]
    run = summary.get("run_seconds")
    took = f"{seconds:.1f}s" if run is None or abs(seconds - run) < 0.5 else \
        f"{run:.1f}s ({seconds:.1f}s with Prefect's start and shutdown)"
    print(f"run {summary.get('run_id')} in {took}: " + " ".join(parts))


def cmd_demo(args: argparse.Namespace) -> int:
    from monitor.demo.corpus_server import DEMO_PORT, CorpusServer, corpus_sources
    from monitor.runs.sources import dump_sources
    from monitor.storage.lake import locate

    db = Path(args.db) if args.db else DEMO_DB
    out = Path(args.out) if args.out else DEMO_OUT
    out.mkdir(parents=True, exist_ok=True)
    if not args.keep:
        # The demo's own lake only: its catalog file, SQLite's -wal, -shm and -journal beside
        # it (left by a killed run; a new catalog of that name is made in rollback mode and
        # then switched, so SQLite does not replay them, measured, but they are that old
        # catalog's) and the data folder beside it.
        for path in (db, *(db.with_name(db.name + suffix) for suffix in ("-wal", "-shm", "-journal"))):
            path.unlink(missing_ok=True)
        root = locate(db).root
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)
    _say("monitor demo: serving the recorded corpus on loopback and ingesting it (Prefect takes 10-60 s to start, longer on a busy machine)")
    with CorpusServer(port=DEMO_PORT, any_port_if_taken=True) as server:
        base = server.base_url
        if server.port_taken:
            _say(f"monitor demo: port {DEMO_PORT} is taken (another demo running?); serving on {base} instead, "
                 "so article ids and links differ from other demo runs")
        sources_file = out / "demo-sources.yaml"
        sources_file.write_text(dump_sources(corpus_sources(base)), encoding="utf-8")
        settings = load_settings(db_path=db, sources_path=sources_file)
        host = base.split("//", 1)[1].split(":", 1)[0]
        runs = []
        for attempt in (1, 2):
            server.reset_stats()
            started = time.monotonic()
            summary = _run_ingest_flow(settings, MAX_WORKERS, allow_private_hosts=[host], per_host_delay=0.0)
            runs.append((summary, time.monotonic() - started))
            print(f"ingest run {attempt}:", end=" ")
            _print_summary(summary, runs[-1][1])
        stats = dict(server.stats)
    from monitor.reports.digest import busiest_week, write_digest
    from monitor.storage.warehouse import close, connect

    con = connect(db, read_only=True)
    try:
        week = busiest_week(con)
        written = []
        for fmt in ("md", "html"):
            path = out / f"digest-{week or 'empty'}.{fmt}"
            written.append(write_digest(con, week, fmt, path))
        totals = con.execute(
            "SELECT count(*) FILTER (kind='article'), count(*) FILTER (kind='reference'), "
            "(SELECT count(*) FROM stories), count(*) FILTER (duplicate_of IS NOT NULL), "
            "count(*) FILTER (kind='article' AND NOT relevant), (SELECT count(*) FROM sources) FROM articles"
        ).fetchall()[0]
        amplified = con.execute(
            "SELECT (SELECT count(*) FROM amplification), (SELECT count(*) FROM amplification WHERE attributed), "
            "(SELECT count(DISTINCT (source_a, source_b)) FROM source_links)").fetchall()[0]
    finally:
        close(con)
    second = runs[1][0]
    added = second.get("stories", 0) + second.get("duplicates", 0) + second.get("off_topic", 0)
    print()
    print(f"sources: {totals[5]}   articles: {totals[0]}   stories: {totals[2]}   copies: {totals[3]}   "
          f"off-topic: {totals[4]}   reference texts: {totals[1]}")
    print(f"amplification: {amplified[0]} copies of state-affiliated media ({amplified[1]} naming their origin); "
          f"{amplified[2]} pair(s) of sites sharing an operator id")
    print(f"second run: {second.get('feeds_not_modified', 0)} feeds answered 304, {added} articles added")
    print("loopback server, second run: " + ", ".join(f"{n} x HTTP {code}" for code, n in sorted(stats.items())))
    print(f"warehouse: {db}")
    for p in written:
        print(f"digest ({week}): {p}")
    print(f'try: monitor sql --db {db} "SELECT * FROM weekly_tag_counts ORDER BY articles DESC LIMIT 10"')
    print(f'     monitor sql --db {db} "SELECT outlet, origin_outlet, lag_hours, attributed FROM amplification"')
    print(f"     monitor runs --db {db}; monitor sources --status --db {db}")
    return 0 if added == 0 else 1


def cmd_import(args: argparse.Namespace) -> int:
    from monitor.runs.importer import import_paths
    from monitor.runs.ingest import IngestSession

    settings = _settings(args)
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        _err(f"no such file or directory: {', '.join(missing)}")
        return 2
    started = time.monotonic()
    with IngestSession.open(settings, kind="import", report=_say) as session:
        counts = import_paths(session, [Path(p) for p in args.paths], source=args.source, report=_say,
                              workers=args.workers)
    took = time.monotonic() - started
    # What the files were judged (already stored, errors) and, as `monitor runs` counts them,
    # what the warehouse gained (a story that became a copy in the same import is a copy).
    shown = {k: v for k, v in counts.items() if k not in ("stories", "duplicates", "off_topic")}
    shown.update({name.replace(" ", "_"): get(session.counts) for name, get in _RUN_COUNTS if name in _NET_COUNTS})
    print(f"imported in {took:.1f}s: " + " ".join(f"{k}={v}" for k, v in sorted(shown.items())))
    print(f"warehouse: {_label(settings)}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from monitor.runs.importer import check_path
    from monitor.runs.ingest import IngestSession

    settings = _settings(args)
    path = Path(args.path)
    if not path.is_file():
        _err(f"no such file: {path}")
        return 2
    # A reader: no writer lock, nothing stored, so it works while a run writes.
    with IngestSession.open(settings, kind="check", record=False, read_only=True) as session:
        result = check_path(session, path)
    if args.json:
        print(safe_json(result))
    else:
        for key in ("title", "relevant", "relevance", "duplicate_of", "duplicate_kind", "similarity", "tags"):
            print(f"{key:>15}: {safe(result[key])}")
        print(f"{'text':>15}: {safe(result['text'][:300])}…")
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from monitor.exceptions import WarehouseLockedError
    from monitor.reports.digest import build_digest, save_digest
    from monitor.storage.warehouse import close, refresh_rollups

    settings = _settings(args)
    snapshot = _as_of(args.as_of)
    if snapshot is None:
        # Make the trend tables current first if no run is writing (a run refreshes them
        # when it ends); never wait for one.
        try:
            writer = _connect(settings)
        except WarehouseLockedError:
            _say("a run is writing: the digest reads the last committed snapshot")
        else:
            try:
                refresh_rollups(writer)
            finally:
                close(writer)
    con = _connect(settings, read_only=True, snapshot=snapshot)
    try:
        # Without --week: the last complete week, or the last week with stories if it has none
        # (a warehouse filled from a past corpus, a paused schedule); the digest says which.
        digest = build_digest(con, args.week, latest_with_data=args.week is None)
    finally:
        close(con)
    # Given a directory, save_digest names the file after the week (digest-2026-W45.md).
    try:
        path = save_digest(digest, args.format, Path(args.out) if args.out else DEMO_OUT)
    except OSError as exc:  # /dev/full, a full disk: say where it was writing
        raise OSError(exc.errno, exc.strerror, args.out or str(DEMO_OUT)) from exc
    if digest.instead_of:
        print(f"{digest.instead_of}, the last complete week, has no stories: wrote {digest.week}, "
              "the last week that has some")
    print(f"digest: {path}")
    return 0


def cmd_retag(args: argparse.Namespace) -> int:
    from monitor.pipeline import make_judge
    from monitor.runs.retag import retag_articles
    from monitor.judging.taxonomy import save_taxonomy
    from monitor.storage.warehouse import close

    settings = _settings(args)
    judge = make_judge(settings.taxonomy_path)
    con = _connect(settings)
    try:
        save_taxonomy(con, judge.taxonomy)
        stats = retag_articles(con, judge.taxonomy, judge.matcher, force=args.force)
    finally:
        close(con)
    print(f"retag (taxonomy {judge.version}): {stats}")
    return 0


def cmd_reextract(args: argparse.Namespace) -> int:
    from monitor.runs.reextract import reextract_warehouse

    stats = reextract_warehouse(_settings(args), force=args.force, report=_say)  # no warehouse: exit 2
    failed = " ".join(f"{k}={v}" for k, v in stats.failed.items()) or "none"
    print(f"reextract ({stats.extractor}): examined={stats.examined} changed={stats.changed} "
          f"unchanged={stats.unchanged} up_to_date={stats.up_to_date} merged={stats.merged} "
          f"became_relevant={stats.became_relevant} became_irrelevant={stats.became_irrelevant} "
          f"failed: {failed}")
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    import duckdb

    from monitor.exceptions import QueryRefusedError
    from monitor.storage.console import checked_statement, open_console

    settings = _settings(args)
    query = args.query if args.query else sys.stdin.read()
    if not query.strip():
        _err("no query given (pass it as an argument or on standard input)")
        return 2
    try:
        statement = checked_statement(query)  # before opening: a refused query touches nothing
    except QueryRefusedError as exc:
        _err(str(exc))
        return 1
    # Read-only, lock-free (a run may be writing) and locked down; a missing warehouse: exit 2.
    con = open_console(settings.warehouse_target, data_path=settings.data_path, snapshot=_as_of(args.as_of))
    try:
        try:
            rel = con.execute(statement)
            columns = [d[0] for d in rel.description] if rel.description else []
            rows = rel.fetchall() if columns else []
        except duckdb.Error as exc:
            _err(str(exc))
            return 1
    finally:
        con.close()
    if args.format == "json":
        print(safe_json([dict(zip(columns, r, strict=True)) for r in rows]))
    elif args.format == "csv":
        import csv

        w = csv.writer(sys.stdout)
        w.writerow(columns)
        w.writerows([[safe(v) for v in r] for r in rows])
    elif columns:
        print(format_table(columns, rows))
    return 0


@contextmanager
def _existing_warehouse(args: argparse.Namespace) -> Iterator[Any]:
    """The warehouse read-only, for commands that only look: a missing warehouse is an error
    (exit 2), not a new empty one. No lock: it works while a run writes."""
    from monitor.storage import lake
    from monitor.storage.warehouse import close

    settings = _settings(args)
    if not lake.exists(lake.locate(settings.warehouse_target, settings.data_path)):
        hint = ""
        if not getattr(args, "db", None) and not os.environ.get("MONITOR_DB") and lake.exists(lake.locate(DEMO_DB)):
            # After `make demo` the default warehouse does not exist yet; the demo's does.
            hint = f" (the demo wrote {_shown(DEMO_DB)}: add --db {_shown(DEMO_DB)})"
        raise WarehouseError(f"no warehouse at {_label(settings)}{hint}")
    con = _connect(settings, read_only=True)
    try:
        yield con
    finally:
        close(con)


def cmd_page(args: argparse.Namespace) -> int:
    from monitor.storage import store

    with _existing_warehouse(args) as con:
        raw = store.read_page(con, args.article_id)
    if raw is None:
        _err(f"no raw page is kept for {args.article_id!r} (unknown id, a .txt import, a reference text, "
             "or a copy stored without its page)")
        return 1
    if args.out:
        Path(args.out).write_bytes(raw)
        print(f"{args.article_id}: {len(raw):,} bytes written to {args.out}")
    else:
        sys.stdout.buffer.write(raw)
        sys.stdout.flush()
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from monitor.reports.explain import explain_article, render_text

    with _existing_warehouse(args) as con:
        explanation = explain_article(con, args.article)
    if explanation is None:
        _err(f"no stored article has the id or URL {safe(args.article)!r}")
        return 1
    if args.json:
        print(safe_json(explanation.to_json()))
    else:
        print("\n".join(safe(line) for line in render_text(explanation).splitlines()))
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    from monitor.reports.events import load_events, render_events
    from monitor.reports.weeks import parse_week

    if args.week:
        parse_week(args.week)  # a clear error for a malformed week, before the warehouse is opened
    with _existing_warehouse(args) as con:
        found = load_events(con, week=args.week, relevant_only=not args.all, limit=args.limit)
    if args.json:
        print(json.dumps([e.to_json() for e in found], ensure_ascii=False))
    else:
        print("\n".join(safe(line) for line in render_events(found).splitlines()))
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from monitor.runs.sources import load_sources

    if (args.json or args.db) and not args.status:
        _err("--db and --json go with --status")
        return 2
    settings = _settings(args)
    sources = load_sources(settings.sources_path)
    if args.status:
        return _print_source_status(args, sources)
    print(format_table(
        ["name", "language", "country", "owner", "poll_minutes", "url"],
        [(s.name, s.language, s.country, s.owner, s.poll_minutes, s.url) for s in sources],
    ))
    print(f"{settings.sources_path}: {_count(len(sources), 'source')}, valid")
    return 0


def _minute(when: datetime | None) -> str:
    return "never" if when is None else f"{when.astimezone(UTC):%Y-%m-%d %H:%M}"


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat()


def _print_source_status(args: argparse.Namespace, sources: Sequence[Source]) -> int:
    """`monitor sources --status`: each source's last success and next poll, as the schedule sees them."""
    from monitor.runs.ingest import load_source_schedule
    from monitor.storage.store import last_loaded_sources

    with _existing_warehouse(args) as con:
        # No sources file named: the warehouse's own sources (those its last run polled), not
        # the bundled list, which a warehouse fed from another file (the demo's) never polled.
        stored = [] if args.sources or os.environ.get("MONITOR_SOURCES") else last_loaded_sources(con)
        rows = load_source_schedule(con, stored or sources, now=datetime.now(UTC))
    if args.json:
        # ASCII-only JSON: C1 controls and bidi overrides in a feed's error would pass
        # through ensure_ascii=False unescaped and reach the terminal.
        print(json.dumps([{
            "name": r.name, "poll_minutes": r.poll_minutes, "status": r.status,
            "last_success_at": _iso(r.last_success_at), "due": r.decision.due, "waits_for": r.decision.wait,
            "next_poll_at": _iso(r.decision.next_poll_at), "consecutive_failures": r.consecutive_failures,
            "current_error": r.current_error, "coverage_gaps": r.coverage_gaps,
        } for r in rows]))
        return 0
    print(format_table(  # format_table neutralises control characters and cuts cells at 60
        ["name", "poll_minutes", "status", "last success (UTC)", "next poll (UTC)", "failures", "current error"],
        [(r.name, r.poll_minutes, r.status, _minute(r.last_success_at),
          "due now" if r.decision.due else _minute(r.decision.next_poll_at)
          + (" (backoff)" if r.decision.wait == "backoff" else ""),
          r.consecutive_failures, r.current_error) for r in rows],
    ))
    due = sum(1 for r in rows if r.decision.due)
    backoff = sum(1 for r in rows if r.decision.wait == "backoff")
    gaps = sum(1 for r in rows if r.coverage_gaps)
    print(f"{_count(len(rows), 'source')}: {due} due now, {backoff} failing (backoff), "
          f"{gaps} with coverage gaps in the last 7 days")
    if stored:
        print("(the sources the warehouse's last run polled; --sources PATH shows those of a sources file)")
    return 0


#: `monitor runs` columns: (header, how a run's counters give it). "stories" is the net new
#: stories (a story that became a copy when its earlier original arrived is counted in
#: "repointed" and moves to "copies"), as in the run summary line.
_RUN_COUNTS: tuple[tuple[str, Callable[[dict[str, Any]], int]], ...] = (
    ("feeds ok", lambda s: s.get("feeds_ok", 0)),
    ("304", lambda s: s.get("feeds_not_modified", 0) + s.get("feeds_unchanged", 0)),
    ("feeds failed", lambda s: s.get("feeds_failed", 0)),
    # net_*: the warehouse's own count (store.article_totals) against the run's start; runs
    # recorded before it fall back to the old reckoning from the batches' counters.
    ("stories", lambda s: s.get("net_stories", s.get("stories", 0) - s.get("repointed", 0))),
    ("copies", lambda s: s.get("net_copies", s.get("duplicates", 0) + s.get("repointed", 0))),
    ("off topic", lambda s: s.get("net_off_topic", s.get("off_topic", 0))),
    ("page errors", lambda s: s.get("page_errors", 0)),
    ("gaps", lambda s: s.get("coverage_gaps", 0)),
)
#: The _RUN_COUNTS the run summary line shows too (the fetch ones have finer counters there).
_NET_COUNTS = ("stories", "copies", "off topic")
#: Runs that fetch or read articles, whose counters _RUN_COUNTS shows; the others (retag,
#: reextract) have counters of their own.
_FETCHING_KINDS = ("ingest", "import")


def cmd_runs(args: argparse.Namespace) -> int:
    from monitor.storage.store import RunRecord, recent_runs

    with _existing_warehouse(args) as con:
        runs = recent_runs(con, args.limit)
    if args.json:
        print(json.dumps([{
            "run_id": r.run_id, "kind": r.kind, "started_at": _iso(r.started_at), "finished_at": _iso(r.finished_at),
            "status": r.status, "stats": r.stats} for r in runs], default=str))
        return 0
    status = {"running": "unfinished"}  # killed, or running now: the warehouse cannot tell

    def fetch_counts(r: RunRecord) -> list[Any]:
        # An unfinished run's counters are those of its last saved batch (IngestSession).
        shown = r.kind in _FETCHING_KINDS and (r.finished_at is not None or bool(r.stats))
        return [get(r.stats) if shown else "-" for _, get in _RUN_COUNTS]

    def other(r: RunRecord) -> str:
        if r.kind in _FETCHING_KINDS:
            return ""
        return " ".join(f"{k}={v}" for k, v in r.stats.items() if isinstance(v, int) and v)

    print(format_table(
        ["started (UTC)", "kind", "status", "seconds", *(h for h, _ in _RUN_COUNTS), "run", "other counters"],
        [(_minute(r.started_at), r.kind, status.get(r.status, r.status),
          f"{(r.finished_at - r.started_at).total_seconds():.1f}" if r.finished_at else "-",
          *fetch_counts(r), r.run_id, other(r)) for r in runs],
    ))
    counts = {k: sum(1 for r in runs if r.status == k) for k in ("ok", "failed", "stopped", "running")}
    last_ok = next((r for r in runs if r.status == "ok"), None)
    stopped = f"{counts['stopped']} stopped (SIGTERM), " if counts["stopped"] else ""
    print(f"{len(runs)} run{'s' if len(runs) != 1 else ''}: {counts['ok']} ok, {counts['failed']} failed, {stopped}"
          f"{counts['running']} unfinished (killed, or running now; the next run of the same kind picks up what it left)"
          + (f"; last ok: {_minute(last_ok.started_at)} ({last_ok.kind})" if last_ok else "; none ok"))
    return 0


def cmd_maintain(args: argparse.Namespace) -> int:
    from monitor.storage.upkeep import maintain_apart

    settings = _settings(args)
    retention = args.retention_days if args.retention_days is not None else settings.snapshot_retention_days
    # In a child process that takes the writer lock: no run writes while files are merged
    # and removed (upkeep.maintain_apart says why apart).
    done = maintain_apart(settings.warehouse_target, data_path=settings.data_path, retention_days=retention)
    print(f"maintain {_label(settings)} (snapshots kept {retention} days):")
    for line in done.lines():
        print(f"  {line}")
    return 0


def cmd_migrate_warehouse(args: argparse.Namespace) -> int:
    from monitor.storage import lake
    from monitor.storage.upkeep import migrate_warehouse
    from monitor.storage.warehouse import close

    old = Path(args.old)
    if not old.exists():
        _err(f"no such file or folder: {old}")
        return 2
    settings = _settings(args)
    target = lake.locate(settings.warehouse_target, settings.data_path)
    if target.sqlite_path is not None and target.sqlite_path.resolve() == old.resolve():
        _err(f"{old} is the old warehouse: name the new lake with --db (e.g. --db {old.with_suffix('.ducklake')})")
        return 2
    con = _connect(settings)
    try:
        moved = migrate_warehouse(old, con, report=_say)
    finally:
        close(con)
    print(f"moved {old} into {target.label} (data in {target.root}):")
    for line in moved.lines():
        print(f"  {line}")
    return 0


def cmd_shell(args: argparse.Namespace) -> int:
    from monitor.storage import lake

    settings = _settings(args)
    location = lake.locate(settings.warehouse_target, settings.data_path)
    if not lake.exists(location):
        raise WarehouseError(f"no warehouse at {location.label}")
    snapshot = _as_of(args.as_of)
    setup = ["SET TimeZone = 'UTC'"]
    setup += [f"LOAD '{lake.extension_file(n)}'"
              for n in ("ducklake", "postgres" if location.kind == "postgres" else "sqlite")]
    setup += [lake.attach_sql(location, read_only=True, snapshot=snapshot), f"USE {lake.LAKE_ALIAS}"]
    cli = shutil.which("duckdb")
    if cli and not args.python and _cli_matches(cli):
        os.execv(cli, [cli, "-cmd", "; ".join(setup) + ";"])
    import code

    import duckdb

    con = duckdb.connect()
    for statement in setup:
        con.execute(statement)
    banner = (f"monitor shell: the warehouse {location.label} is attached read-only as `{lake.LAKE_ALIAS}`"
              f"{f' at snapshot {snapshot}' if snapshot is not None else ''}, views ready.\n"
              "con.sql(\"SELECT * FROM weekly_tag_counts ORDER BY articles DESC LIMIT 10\").show()")
    code.interact(banner=banner, local={"con": con, "duckdb": duckdb}, exitmsg="")
    return 0


def _cli_matches(cli: str) -> bool:
    """The DuckDB CLI loads these extension files only if it is the version they were built for."""
    import subprocess

    import duckdb

    try:
        out = subprocess.run([cli, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return f"v{duckdb.__version__}" in out


def cmd_serve(args: argparse.Namespace) -> int:
    from flows.local_server import ensure_api, quiet_prefect

    quiet_prefect()
    temporary = ensure_api()
    if temporary:
        # Prefect's banner says `prefect deployment run`; from another terminal that needs this URL.
        _say(f"monitor serve: on a temporary Prefect API at {temporary}, stopped with this process; to start a "
             f"run now from another shell: PREFECT_API_URL={temporary} .venv/bin/prefect deployment run ingest/ingest")
    from flows.serve import serve_all

    _stop_within(SERVE_STOP_GRACE_S)
    try:
        serve_all()  # returns, or raises KeyboardInterrupt, when Ctrl-C (SIGINT) stops the runner
    except KeyboardInterrupt:
        pass  # the way to stop it, not an error
    _say("monitor serve: stopped")
    return 0


#: Seconds `monitor serve` gives Prefect's runner to wind down after Ctrl-C before it ends
#: the process itself: twice in fresh-clone CI runs, one Ctrl-C left it waiting over a
#: minute after the runner was told to stop (a teardown waiting on a thread).
SERVE_STOP_GRACE_S = 20.0


def _stop_within(grace: float) -> None:
    """On Ctrl-C, raise KeyboardInterrupt as Python does, and end the process ``grace``
    seconds later if it is still winding down (atexit's handlers, the temporary Prefect
    server's stop among them, still run first)."""
    import signal
    import threading

    def on_sigint(signum: int, frame: object) -> None:
        def end() -> None:
            _say("monitor serve: stopped")
            _run_atexit()
            os._exit(0)

        timer = threading.Timer(grace, end)
        timer.daemon = True
        timer.start()
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C: Python's own
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)


def _run_atexit() -> None:
    """Run the atexit handlers now (os._exit skips them)."""
    import atexit

    atexit._run_exitfuncs()


def _positive(value: str) -> int:
    """argparse type: a whole number above 0 (`runs --limit -1` is a usage error, not a DuckDB one)."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number above 0, got {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the tests that check every command is documented)."""
    p = argparse.ArgumentParser(
        prog="monitor",
        description="Watch Russian influence in the Balkans: fetch news feeds and pages, keep the "
        "on-topic articles once, tag them with the shared taxonomy, store them in DuckDB, "
        "publish a weekly digest.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def db_arg(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--db", metavar="PATH", help="a local warehouse (DuckLake): its catalog, a SQLite file, at "
                        "PATH, its data (tables, raw pages) in PATH.data/ beside it (default: $MONITOR_WAREHOUSE, "
                        f"else $MONITOR_DB, else {_in_project(DEFAULT_DB)})")

    def as_of_arg(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--as-of", metavar="SNAPSHOT_OR_TIME",
                        help="read the warehouse as it was: a snapshot id (the digest names the one it read) or a "
                        "UTC date/time such as 2026-11-20 (its midnight) or '2026-11-20 12:00'")

    sp = sub.add_parser("demo", help="run the whole pipeline on the bundled recorded corpus (offline)",
                        description="Serve the bundled recorded corpus on a loopback HTTP server, run the "
                        "ingest flow on it twice (the second run must add nothing and get 304s), write "
                        "the digest of the busiest week, and print what happened and where the files are.")
    sp.add_argument("--db", metavar="PATH", help=f"warehouse file (default: {_in_project(DEMO_DB)}, emptied first)")
    sp.add_argument("--out", metavar="DIR", help=f"where the digest goes (default: {_in_project(DEMO_OUT)}/)")
    sp.add_argument("--keep", action="store_true", help="keep an existing demo warehouse instead of starting empty")
    sp.set_defaults(func=cmd_demo)

    sp = sub.add_parser("ingest", help="poll every source once and store new articles",
                        description="One ingest run (the Prefect flow `ingest`) over a sources file: "
                        "conditional GETs of each feed, new pages fetched, cleaned, tagged, deduplicated "
                        "and saved. Failures are recorded in fetch_log and the run goes on.")
    sp.add_argument("--sources", metavar="PATH", help=f"sources YAML (default: $MONITOR_SOURCES or the bundled {DEFAULT_SOURCES.name})")
    db_arg(sp)
    sp.add_argument("--workers", type=int, default=MAX_WORKERS, metavar="N", help=f"parallel fetch/extract tasks (default {MAX_WORKERS})")
    sp.add_argument("--task-runner", choices=TASK_RUNNERS, default="threads",
                    help="where fetch/extract tasks run: threads (default), processes (one per worker), "
                    "or dask (a local Dask cluster of --workers processes; needs the `dask` extra). "
                    "Saving always stays in this process (one writer); processes and dask get "
                    f"{PROCESS_PAGES_PER_TASK} pages a task unless MONITOR_PAGES_PER_TASK says otherwise")
    sp.add_argument("--due-only", action="store_true",
                    help="poll only the sources whose poll_minutes have passed since their last successful "
                    "poll (what the scheduled deployment does; without it every source is polled)")
    sp.set_defaults(func=cmd_ingest)

    sp = sub.add_parser("import", help="ingest local .html/.txt files (directories are searched)",
                        description="Put local files through the same clean, relevance, dedup, tag and "
                        "save path as fetched pages. For a .txt file the first non-empty line is the title.")
    sp.add_argument("paths", nargs="+", metavar="PATH")
    db_arg(sp)
    sp.add_argument("--source", metavar="NAME", help="source name to record on the imported articles")
    sp.add_argument("--workers", type=int, default=None, metavar="N",
                    help="processes that extract and judge files (default: one a core, at most "
                    f"{AUTO_MAX_WORKERS}, for {AUTO_WORKERS_MIN_FILES} files or more, else 1); saving stays in "
                    "one writer, in order, so the warehouse is the same whatever N")
    sp.set_defaults(func=cmd_import)

    sp = sub.add_parser("check", help="judge one .html/.txt file without storing it",
                        description="Clean, tag and dedup-check one file against the warehouse (and the "
                        "reference corpus) without storing it. With --json prints one object: relevant, "
                        "relevance, duplicate_of, duplicate_kind, similarity, tags, title, text.")
    sp.add_argument("path", metavar="PATH")
    db_arg(sp)
    sp.add_argument("--json", action="store_true", help="print one JSON object (the stable interface)")
    sp.set_defaults(func=cmd_check)

    sp = sub.add_parser("digest", help="write the weekly digest (Markdown or HTML)",
                        description="Write the digest of one ISO week: top stories with their copies, "
                        "stories by theme, rising and falling concepts, new names, source health, "
                        "what was filtered.")
    sp.add_argument("--week", metavar="YYYY-Www", help="ISO week, e.g. 2026-W45 (default: the last complete week, or the last week "
                    "with stories when it has none)")
    sp.add_argument("--format", choices=["md", "html"], default="md", help="output format (default md)")
    sp.add_argument("--out", metavar="PATH", help="output file or directory (default: out/digest-YYYY-Www.FORMAT)")
    db_arg(sp)
    as_of_arg(sp)
    sp.set_defaults(func=cmd_digest)

    sp = sub.add_parser("retag", help="re-tag stored articles after a taxonomy change (no fetching)",
                        description="Tag the stored articles again with the current taxonomy "
                        "(MONITOR_TAXONOMY), without fetching: tags, their evidence and relevance are "
                        "recomputed for articles tagged with an older taxonomy version (all of them with "
                        "--force), and the trend tables are refreshed.")
    db_arg(sp)
    sp.add_argument("--force", action="store_true", help="re-tag even articles already tagged with this taxonomy version")
    sp.set_defaults(func=cmd_retag)

    sp = sub.add_parser("reextract", help="extract stored articles again from their kept pages (no fetching)",
                        description="Run the current extractor and cleaning rules again over the raw pages kept "
                        "in the warehouse, for articles extracted by an older version (the `extractor` column). "
                        "Changed texts get new tags, relevance and dedup entries; a story whose new text copies "
                        "another stored story becomes its copy. Ids, URLs and dates never change. A page that "
                        "no longer extracts keeps its stored text and is counted by reason.")
    db_arg(sp)
    sp.add_argument("--force", action="store_true", help="extract again even articles already extracted by this version")
    sp.set_defaults(func=cmd_reextract)

    sp = sub.add_parser("sql", help="run SQL against the warehouse (read-only)",
                        description="Run one query (argument or standard input) that reads the warehouse: "
                        "SELECT, WITH, SHOW, DESCRIBE, SUMMARIZE, EXPLAIN, PRAGMA or CALL, one statement at a time. "
                        "The connection is read-only and locked down (DuckDB's enable_external_access=false, "
                        "lock_configuration=true, no extension loading): no file is written or read but the "
                        "warehouse, no database attached, no setting changed. A missing --db is an error. "
                        "Tables: sources, articles, article_tags, taxonomy, fetch_log, feed_state, pages, runs; "
                        "views: stories, weekly_tag_counts and more (see warehouse/views.sql).")
    sp.add_argument("query", nargs="?", metavar="QUERY")
    db_arg(sp)
    sp.add_argument("--format", choices=["table", "csv", "json"], default="table",
                    help="table (default; long cells cut, control characters shown as ?), csv or json (full values)")
    as_of_arg(sp)
    sp.set_defaults(func=cmd_sql)

    sp = sub.add_parser("shell", help="an interactive DuckDB session on the warehouse (read-only, views ready)",
                        description="Open the DuckDB CLI (if `duckdb` of the same version is on PATH) or else a Python "
                        "console with `con`, a DuckDB connection, the warehouse attached read-only as `lake` and "
                        "selected, so tables and views are named as in `monitor sql`. No lock: it works while a "
                        "run writes, and each query sees the last committed snapshot.")
    db_arg(sp)
    as_of_arg(sp)
    sp.add_argument("--python", action="store_true", help="the Python console even when the DuckDB CLI is there")
    sp.set_defaults(func=cmd_shell)

    sp = sub.add_parser("maintain", help="upkeep of the lake: merge small files, expire old snapshots, remove unused files",
                        description="DuckLake's maintenance, as the weekly `maintain` deployment runs it: flush rows "
                        "kept in the catalog into Parquet, merge small files, rewrite files with deleted rows, expire "
                        "snapshots older than the retention (MONITOR_SNAPSHOT_RETENTION days, default 30: --as-of "
                        "reaches back that far), and delete the files no snapshot references. Takes the writer "
                        "lock (a run writing meanwhile is refused, and so is this); readers go on.")
    db_arg(sp)
    sp.add_argument("--retention-days", type=int, metavar="DAYS",
                    help="keep snapshots this many days (default: $MONITOR_SNAPSHOT_RETENTION or 30)")
    sp.set_defaults(func=cmd_maintain)

    sp = sub.add_parser("migrate-warehouse", help="move an old DuckDB-file warehouse into the lake, every row",
                        description="Copy every row of a warehouse of the old format (one DuckDB file, with its "
                        "OLD.pages/ packs) into a new lake (--db, or MONITOR_WAREHOUSE), in one snapshot, and say "
                        "how many rows of each table moved. A file written by DuckDB 2.0 cannot be read by the "
                        "DuckDB 1.5 that DuckLake needs: export it with DuckDB 2.0 first (EXPORT DATABASE 'DIR' "
                        "(FORMAT parquet)) and pass DIR.")
    sp.add_argument("old", metavar="OLD", help="the old warehouse file (or its EXPORT DATABASE folder)")
    db_arg(sp)
    sp.set_defaults(func=cmd_migrate_warehouse)

    sp = sub.add_parser("page", help="the raw page an article was extracted from, as fetched",
                        description="Write the raw page kept for an article (`articles.id`) to standard "
                        "output or --out, byte for byte as it was fetched. The bytes live zstd-compressed "
                        "in pack files under the warehouse's data path (<db>.data/pages/); `pages` says where.")
    sp.add_argument("article_id", metavar="ARTICLE_ID")
    sp.add_argument("--out", metavar="PATH", help="write to this file instead of standard output")
    db_arg(sp)
    sp.set_defaults(func=cmd_page)

    sp = sub.add_parser("explain", help="why one stored article is counted, tagged and deduplicated as it is",
                        description="Everything the pipeline decided about one stored article: whether it is "
                        "counted and in which week, on which date; why it is on or off topic; what it is a copy "
                        "of, or which copies it has; for a copy, its origin (outlet, owner type, state), lag and whether it "
                        "names the origin (the passage that does), and whether it changed script, title or length; "
                        "each tag with the passage that earned it. Read-only.")
    sp.add_argument("article", metavar="ID_OR_URL", help="an article id (as in the warehouse), or its URL")
    db_arg(sp)
    sp.add_argument("--json", action="store_true", help="one JSON object instead of text")
    sp.set_defaults(func=cmd_explain)

    sp = sub.add_parser("events", help="the week's events: stories that report one happening, across outlets and languages",
                        description="Events first reported in a week (all weeks without --week), ranked by the "
                        "outlets and languages that carried them, then by their reports: the first report (outlet, "
                        "time), every story and copy by outlet and language, the concepts. On-topic events only "
                        "unless --all. Read-only: the events' counts and the stories assigned to them are as of the end of "
                        "the last writing run (kept by the writer, like the trend tables); their reports are read as "
                        "stored now.")
    sp.add_argument("--week", metavar="YYYY-Www", help="ISO week of the events' first reports, e.g. 2026-W43")
    sp.add_argument("--all", action="store_true", help="off-topic events too")
    sp.add_argument("--limit", type=int, metavar="N", help="at most N events")
    db_arg(sp)
    sp.add_argument("--json", action="store_true", help="one JSON array of event objects instead of text")
    sp.set_defaults(func=cmd_events)

    sp = sub.add_parser("sources", help="list and validate the sources file; --status: when each is polled",
                        description="List and validate a sources file. With --status, read the warehouse "
                        "(read-only; a missing one is an error) and show, for each source of the file in its "
                        "order (with no --sources or MONITOR_SOURCES: each source the warehouse's last run "
                        "polled, by name): its status over the last 7 days (source_activity), its last successful poll, "
                        "from when the scheduled ingest (every 15 minutes, respecting poll_minutes) polls it again "
                        "('due now', or a time, marked '(backoff)' when a failing feed waits out its backoff), "
                        "its consecutive failures and current error; then how many are due, backing off, or "
                        "had coverage gaps. Times are UTC.")
    sp.add_argument("--sources", metavar="PATH", help="sources YAML (default: $MONITOR_SOURCES or the bundled list)")
    sp.add_argument("--status", action="store_true",
                    help="show each source's last successful poll and next scheduled poll from the warehouse")
    db_arg(sp)
    sp.add_argument("--json", action="store_true",
                    help="with --status: a JSON list of objects (ISO timestamps; next_poll_at null when due now)")
    sp.set_defaults(func=cmd_sources)

    sp = sub.add_parser("runs", help="the last runs: when, how they ended, what each added",
                        description="List the last runs recorded in the warehouse (read-only; a missing one "
                        "is an error), newest first: kind (ingest, which the demo runs too, import, retag, "
                        "reextract), start "
                        "(UTC), how it ended (ok, failed, stopped by SIGTERM, or unfinished: killed, or running now), its "
                        "duration and its counters: feeds fetched, answered 304 or unchanged, failed; net new "
                        "stories, copies (including stories that became copies when their earlier original "
                        "arrived), off-topic articles, page errors and coverage gaps; for retag and reextract, the "
                        "articles they examined and changed. A killed run's work is "
                        "not lost: what it saved stays, and the next run fetches the rest.")
    sp.add_argument("--limit", type=_positive, default=20, metavar="N", help="how many runs (default 20)")
    db_arg(sp)
    sp.add_argument("--json", action="store_true", help="a JSON list with every counter of each run")
    sp.set_defaults(func=cmd_runs)

    sp = sub.add_parser("serve", help="run the scheduled deployments in this process (flow.serve)",
                        description="Serve the ingest (every 15 minutes, each source when its poll_minutes have "
                        "passed), digest (weekly), retag and reextract (manual) deployments from this process. "
                        "Without PREFECT_API_URL it runs on a temporary local Prefect server that lives and "
                        "stops with it; with PREFECT_API_URL the runs also show in that server's UI. "
                        "Ctrl-C stops it. See docs/deployments.md.")
    sp.set_defaults(func=cmd_serve)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `monitor` console script."""
    import duckdb

    from monitor.runs.lifeline import RunStopped, release_frames, stop_on_sigterm, watch_children

    args = build_parser().parse_args(argv)
    said: list[str] = []

    def stopped_line(reason: str = "stopped by signal SIGTERM") -> None:
        if not said:  # once, whether unwinding or the grace timer gets here first
            said.append(reason)
            _err(f"{reason}: the run is recorded as stopped with what it saved; the next run picks up the rest")

    try:
        with ExitStack() as stack:
            # The watchdog outside: a stop leaves the inner block as RunStopped, which keeps it.
            if args.command in _WITH_CHILDREN:
                stack.enter_context(watch_children())
            if args.command in _STOPPABLE:
                stack.enter_context(stop_on_sigterm(last_words=stopped_line))
            code: int = args.func(args)
            sys.stdout.flush()  # a closed pipe shows here, inside the try, not at interpreter exit
    except MonitorError as exc:
        _err(str(exc))
        return 2
    except RunStopped as exc:
        release_frames(exc)
        stopped_line(str(exc))
        return 143
    except KeyboardInterrupt:
        _err("interrupted; the next run resumes where this one stopped")
        return 130
    except BrokenPipeError:
        return _reader_went_away()
    except OSError as exc:  # a full disk, /dev/full, a read-only mount: the system's words, once
        _err(_os_error_line(exc))
        return 1
    except duckdb.Error as exc:  # a damaged warehouse file, a memory cap DuckDB cannot work under
        _err(_duckdb_error_line(exc))
        return 1
    return code


#: Commands whose runs are recorded through IngestSession: SIGTERM stops them within seconds
#: and the run is recorded as stopped (runs.lifeline). The others keep Python's default: a
#: SIGTERM ends them at once, which a DuckDB transaction survives as it survives kill -9.
_STOPPABLE = frozenset({"ingest", "import", "demo"})
#: Commands that start processes (Prefect's temporary server, process pools, Dask): a
#: watchdog kills them when this process ends, even by kill -9.
_WITH_CHILDREN = frozenset({"ingest", "import", "demo"})

#: What DuckDB says of a warehouse file cut short or overwritten, and what to do about it.
_DAMAGED = ("Could not read enough bytes", "not a valid DuckDB database file", "checksum",
            # a lake's SQLite catalog, and its Parquet files
            "database disk image is malformed", "file is not a database", "Invalid Input Error: No magic bytes",
            "Invalid Error: Parquet")


def _os_error_line(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def _duckdb_error_line(exc: Exception) -> str:
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if any(mark in first for mark in _DAMAGED):
        return f"the warehouse (its catalog or a data file) is damaged or cut short ({first}); restore it from a copy"
    if "No space left on device" in first:
        return f"no space left on device ({first}); what was committed stays, `monitor runs` says what"
    if type(exc).__name__ == "OutOfMemoryException":
        return f"DuckDB ran out of memory ({first}); raise MONITOR_WRITER_MEMORY or set it to auto"
    return f"DuckDB: {first}"


#: Exit status of a command whose reader closed the pipe (`monitor sources | head -2`):
#: what the shell reports for a tool killed by SIGPIPE (128 + 13), as `yes | head` does.
EXIT_BROKEN_PIPE = 141


def _reader_went_away() -> int:
    """Stop quietly when standard output's reader has gone, like any Unix tool.

    Python ignores SIGPIPE and raises BrokenPipeError instead; the output still buffered
    would raise again when the interpreter flushes it at exit, so standard output is
    pointed at /dev/null first (the recipe of Python's signal documentation).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file behind sys.stdout (captured in tests)
        pass
    finally:
        os.close(devnull)
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
