"""Feed parsing on real-world feeds: does our feed parser survive them, and agree with others?

Reads the feeds collected from the test suites of five feed parsers (fastfeedparser,
feed-rs, feedparser, node-feedparser, rss-parser) from ../shared/data/real_feeds;
nothing of it is copied into this repo (their licences, and the project's rule). Real
news feeds sit next to deliberately broken ones (bad encodings, gzip bodies, illegal
nesting, JSON Feed where RSS is expected).

Every feed file is given, as raw bytes and without a content type, to
``monitor.reading.feeds.parse_feed`` (what ingest calls), with the URL
``https://feeds.invalid/<path under real_feeds>`` and the subfolder as source. Skipped:
LICENSE* files, the reference outputs (``*.expected.serde.json``, ``*.expected.json``)
and, in fastfeedparser's ``integration_tests_feeds_with_expected_json/``, an ``X.json``
that is the expected output of a sibling ``X.xml``. A ``.json`` that is itself a feed
(JSON Feed) is parsed. Each file ends as ``parsed`` (entries, dated entries, problem,
skipped items, version), ``error`` (a MonitorError: its reason) or ``crash`` (any other
exception, which is a bug: exceptions.py says expected failures are MonitorErrors).

Agreement with the reference parsers, where their expected output is stored: feed-rs's
``X.expected.serde.json`` and fastfeedparser's ``X.json`` (and
``json_feed_sample.expected.json``). Each expected entry is matched to one of ours by
link (whitespace stripped, scheme and host compared without case; feed-rs lists several links, any of them matches our
``entry.url``). Then, per reference set and in total:

* links found: expected entries matched (a file we failed to parse misses them all);
* titles equal: over expected entries with a title, after ``html.unescape`` and
  collapsing whitespace, an unmatched entry counts as unequal;
* dates equal: over expected entries with a date (``published``, else ``updated``, the
  same fallback as ours), the same instant within 1 s; ours None or unmatched is a miss.

Goals: **no crash** (every file parses or fails with a FeedError reason); **dates agree**
with the reference parsers on >= 95% of expected dated entries; **links found** >= 95%.
The share of our entries that carry a date, over all files, is reported (no goal).
Writes benchmarks/results/feeds.json; every disagreement is listed there.

    .venv/bin/python benchmarks/bench_feeds.py [--data DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, SHARED_DATA, write_result  # noqa: E402

from monitor.exceptions import MonitorError  # noqa: E402
from monitor.reading.feeds import parse_feed  # noqa: E402
from monitor.models import FeedEntry  # noqa: E402

DEFAULT_DATA = SHARED_DATA / "real_feeds"
#: The folder where fastfeedparser keeps each feed's expected output as a sibling X.json.
FFP_EXPECTED_DIR = "fastfeedparser/integration_tests_feeds_with_expected_json"
GOAL_DATES = 0.95
GOAL_LINKS = 0.95
#: Two dates agree when they are the same instant to this many seconds (ISO strings
#: carry whole seconds; feed dates are never finer).
DATE_TOLERANCE_S = 1.0
SHOWN_MESSAGE = 300  # characters of an error message kept per file


@dataclass(frozen=True)
class Expected:
    """One entry of a reference parser's expected output."""

    links: tuple[str, ...]
    title: str | None
    date: datetime | None


def is_feed_file(path: Path, data: Path) -> bool:
    """Whether ``path`` is a feed to parse rather than a licence or a reference output."""
    name = path.name
    if name.startswith("LICENSE") or name.endswith((".expected.serde.json", ".expected.json")):
        return False
    rel = path.relative_to(data).as_posix()
    # In fastfeedparser's integration folder, X.json beside X.xml is X.xml's expected
    # output; json_feed_sample.json has no X.xml and is a JSON Feed to parse.
    return not (rel.startswith(FFP_EXPECTED_DIR + "/") and path.suffix == ".json"
                and path.with_suffix(".xml").exists())


def feed_files(data: Path) -> list[Path]:
    """Every feed file under ``data``, in a stable order."""
    return sorted(p for p in data.rglob("*") if p.is_file() and is_feed_file(p, data))


def _iso(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def expected_for(feed: Path, data: Path) -> tuple[str, list[Expected]] | None:
    """The reference set and expected entries stored for ``feed``, or None when there are none."""
    serde = feed.with_name(feed.stem + ".expected.serde.json")
    if feed.relative_to(data).parts[0] == "feed-rs" and serde.exists():
        doc = json.loads(serde.read_text(encoding="utf-8"))
        return "feed-rs", [
            Expected(tuple(str(link.get("href") or "").strip() for link in e.get("links") or []),
                     (e.get("title") or {}).get("content"),
                     _iso(e.get("published")) or _iso(e.get("updated")))
            for e in doc.get("entries") or []
        ]
    if feed.parent.relative_to(data).as_posix() != FFP_EXPECTED_DIR:
        return None
    # X.xml -> X.json; a JSON Feed X.json -> X.expected.json.
    ref = feed.with_suffix(".json") if feed.suffix == ".xml" else feed.with_name(feed.stem + ".expected.json")
    if not ref.exists():
        return None
    doc = json.loads(ref.read_text(encoding="utf-8"))
    return "fastfeedparser", [
        Expected((str(e.get("link") or "").strip(),), e.get("title"),
                 _iso(e.get("published")) or _iso(e.get("updated")))
        for e in doc.get("entries") or []
    ]


def parse_one(path: Path, data: Path) -> tuple[dict[str, Any], list[FeedEntry]]:
    """Parse one file as ingest would; its record and our entries (none unless parsed)."""
    rel = path.relative_to(data).as_posix()
    folder = rel.split("/", 1)[0]
    body = path.read_bytes()
    row: dict[str, Any] = {"file": rel, "folder": folder, "bytes": len(body)}
    entries: list[FeedEntry] = []
    t0 = time.perf_counter()
    try:
        parsed = parse_feed(body, url=f"https://feeds.invalid/{rel}", source=folder)
    except MonitorError as exc:
        row.update(outcome="error", reason=exc.reason, message=str(exc)[:SHOWN_MESSAGE])
    except Exception as exc:  # noqa: BLE001 - a crash is a finding; the run must go on
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        row.update(outcome="crash", error_type=type(exc).__name__, message=str(exc)[:SHOWN_MESSAGE],
                   at=f"{Path(frame.filename).name}:{frame.lineno}")
    else:
        entries = list(parsed.entries)
        row.update(outcome="parsed", version=parsed.version, entries=len(entries),
                   dated=sum(1 for e in entries if e.published is not None),
                   problem=parsed.problem, skipped=len(parsed.skipped),
                   skipped_examples=list(parsed.skipped[:3]), notes=list(parsed.notes))
    row["ms"] = round((time.perf_counter() - t0) * 1000, 3)
    return row, entries


def _link_key(link: str) -> str:
    """A link as compared: scheme and host are case-insensitive (RFC 3986), the rest is not."""
    parts = urlsplit(link.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, parts.fragment))


def _norm_title(value: str | None) -> str:
    return " ".join(html.unescape(value or "").split())


def compare(rel: str, expected: list[Expected], ours: list[FeedEntry]) -> tuple[Counter[str], list[dict[str, Any]]]:
    """Counts of agreement with the expected entries, and one record per disagreement.

    An expected entry whose link we do not have is one disagreement (field "link"); its
    title and date then count as misses without a record of their own.
    """
    by_url: dict[str, FeedEntry] = {}
    for entry in ours:
        by_url.setdefault(_link_key(entry.url), entry)
    counts: Counter[str] = Counter()
    diffs: list[dict[str, Any]] = []
    for exp in expected:
        counts["expected"] += 1
        counts["with_title"] += exp.title is not None
        counts["dated"] += exp.date is not None
        mine = next((by_url[_link_key(link)] for link in exp.links if _link_key(link) in by_url), None)
        if mine is None:
            diffs.append({"file": rel, "field": "link", "expected": exp.links[0] if exp.links else None,
                          "ours": None, "title": exp.title})
            continue
        counts["links_found"] += 1
        if exp.title is not None:
            if _norm_title(exp.title) == _norm_title(mine.title):
                counts["titles_equal"] += 1
            else:
                diffs.append({"file": rel, "field": "title", "link": mine.url,
                              "expected": exp.title, "ours": mine.title})
        if exp.date is not None:
            if mine.published is not None and abs((mine.published - exp.date).total_seconds()) <= DATE_TOLERANCE_S:
                counts["dates_equal"] += 1
            else:
                diffs.append({"file": rel, "field": "date", "link": mine.url, "expected": exp.date.isoformat(),
                              "ours": mine.published.isoformat() if mine.published else None})
    return counts, diffs


def _share(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def agreement_row(files: int, c: Counter[str]) -> dict[str, Any]:
    return {"files": files, "expected": c["expected"], "links_found": c["links_found"],
            "with_title": c["with_title"], "titles_equal": c["titles_equal"],
            "dated": c["dated"], "dates_equal": c["dates_equal"],
            "share_links_found": _share(c["links_found"], c["expected"]),
            "share_titles_equal": _share(c["titles_equal"], c["with_title"]),
            "share_dates_equal": _share(c["dates_equal"], c["dated"])}


def run(data: Path) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    per_set: dict[str, Counter[str]] = {}
    set_files: Counter[str] = Counter()
    disagreements: list[dict[str, Any]] = []
    for path in feed_files(data):
        row, entries = parse_one(path, data)
        rows.append(row)
        ref = expected_for(path, data)
        if ref is not None:
            name, expected = ref
            counts, diffs = compare(row["file"], expected, entries)
            per_set.setdefault(name, Counter()).update(counts)
            set_files[name] += 1
            disagreements += diffs
    parsed = [r for r in rows if r["outcome"] == "parsed"]
    entries = sum(r["entries"] for r in parsed)
    dated = sum(r["dated"] for r in parsed)
    slowest = max(rows, key=lambda r: r["ms"])
    by_folder: dict[str, dict[str, int]] = {}
    for r in rows:
        f = by_folder.setdefault(r["folder"], dict.fromkeys(("files", "parsed", "errors", "crashes", "entries", "dated"), 0))
        f["files"] += 1
        f[{"parsed": "parsed", "error": "errors", "crash": "crashes"}[r["outcome"]]] += 1
        f["entries"] += r.get("entries", 0)
        f["dated"] += r.get("dated", 0)
    agreement = {name: agreement_row(set_files[name], c) for name, c in sorted(per_set.items())}
    agreement["total"] = agreement_row(sum(set_files.values()), sum(per_set.values(), Counter()))
    total = agreement["total"]
    crashes = sum(1 for r in rows if r["outcome"] == "crash")
    return {
        # Relative to the repo, so the committed results file names no machine's layout.
        "data": os.path.relpath(data, ROOT),
        "quick": False,  # one size: the whole collection takes about a second
        "goals": {"no_crash": "every file parses or fails with a FeedError reason",
                  "dates_agree": GOAL_DATES, "links_found": GOAL_LINKS},
        "totals": {
            "files": len(rows), "parsed": len(parsed),
            "errors": dict(sorted(Counter(r["reason"] for r in rows if r["outcome"] == "error").items())),
            "crashes": crashes, "entries": entries, "entries_dated": dated, "share_dated": _share(dated, entries),
            "parse_ms_total": round(sum(r["ms"] for r in rows), 1),
            "slowest": {"file": slowest["file"], "ms": slowest["ms"]},
        },
        "by_folder": by_folder,
        # What parse_feed repaired (ParsedFeed.notes), as "file: note".
        "repairs": [f"{r['file']}: {n}" for r in parsed for n in r["notes"]],
        "agreement": agreement,
        "meets_goal_no_crash": crashes == 0,
        "meets_goal_dates": (total["share_dates_equal"] or 0) >= GOAL_DATES,
        "meets_goal_links": (total["share_links_found"] or 0) >= GOAL_LINKS,
        "disagreements": disagreements,
        "files": rows,
    }


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the real_feeds directory")
    parser.add_argument("--out", type=Path, default=None, help="results directory")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        # The feeds are third-party data kept beside the repo, never in it: say so plainly.
        print(f"bench_feeds: no feed collection at {args.data} (expected ../shared/data/real_feeds "
              "beside the repository); nothing measured.", file=sys.stderr)
        return 2
    result = run(args.data)
    path = write_result("feeds", result, *([args.out] if args.out else []))
    t, a = result["totals"], result["agreement"]["total"]
    errors = ", ".join(f"{k} {v}" for k, v in t["errors"].items()) or "none"
    print(f"{t['files']} files: {t['parsed']} parsed, errors: {errors}, crashes: {t['crashes']}")
    print(f"{t['entries']} entries, {t['entries_dated']} dated ({_pct(t['share_dated'])}); "
          f"parsing {t['parse_ms_total']} ms in all, slowest {t['slowest']['file']} {t['slowest']['ms']:.1f} ms")
    for name, g in result["agreement"].items():
        print(f"{name:15} {g['expected']:4} expected: links {g['links_found']} ({_pct(g['share_links_found'])}), "
              f"titles {g['titles_equal']}/{g['with_title']} ({_pct(g['share_titles_equal'])}), "
              f"dates {g['dates_equal']}/{g['dated']} ({_pct(g['share_dates_equal'])})")
    for r in result["files"]:
        if r["outcome"] != "parsed":
            print(f"  {r['outcome']}: {r['file']}: {r.get('reason') or r.get('error_type')}: {r['message'][:120]}")
    for d in result["disagreements"]:
        print(f"  disagrees ({d['field']}): {d['file']}: expected {d['expected']!r}, ours {d['ours']!r}")
    verdict = {True: "met", False: "missed"}
    print(f"goals: no crash {verdict[result['meets_goal_no_crash']]}, dates >= {GOAL_DATES:.0%} "
          f"{verdict[result['meets_goal_dates']]}, links >= {GOAL_LINKS:.0%} {verdict[result['meets_goal_links']]}")
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
