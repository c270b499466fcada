"""Amplification: attribution detection and site-fingerprint links, measured.

1. Attribution, on the labelled set ``tests/amplification_labelled/cases.jsonl`` (written by
   us: a news passage in each of ten languages and scripts of the region, credited to its
   state-media origin by each class of cue, the same passage with the credit removed, and
   decoys: a photo credit, another agency credited, the origin named mid-body). A case is
   called attributed when a credit found by ``find_credits`` names one of the origin's names
   (``credit_naming``), as the ``amplification`` view decides. Baseline (what "does the copy
   name its origin" was before: a text search): any of the origin's names anywhere in the text.
2. Fingerprint links, on ``pages.jsonl`` (four operators' sites sharing one identifier
   kind each, six sites alone, twelve unrelated sites carrying the same theme id, Facebook's
   public app id and unfilled snippets), through the real save path into a DuckDB
   warehouse and the ``source_links`` view. Baseline: every id-looking string the same
   regular expressions find, with no placeholder, public-id or carried-by-many rule.
3. When ``../shared/data/zyte_aeb`` is beside the checkout (read there, never copied): the
   identifiers on Zyte's 181 real news pages (126 sites, nearly all of different owners)
   and the links they make, with the owner of each linked group as publicly known.

    .venv/bin/python benchmarks/bench_amplification.py [--zyte DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS_DIR, ROOT, ZYTE_DATA, machine  # noqa: E402

from monitor.judging.attribution import credit_naming, find_credits  # noqa: E402
from monitor.reading.normalize import fold  # noqa: E402
from monitor.reading.sitefingerprint import fingerprint_site  # noqa: E402
from monitor.storage import store  # noqa: E402
from monitor.storage.warehouse import connect  # noqa: E402

LABELLED = ROOT / "tests" / "amplification_labelled"
RESULTS = RESULTS_DIR / "amplification.json"
#: Goals of issue 31, ours: attribution precision and recall, fingerprint link precision.
GOAL_PRECISION = 0.95
GOAL_RECALL = 0.90
GOAL_LINK_PRECISION = 1.0

#: Owners of the real sites that share an identifier, as publicly known (the groups'
#: own "about" pages); a group we could not establish is left None and counted apart.
KNOWN_OWNERS = {
    "chron.com": "Hearst", "ctpost.com": "Hearst", "mysanantonio.com": "Hearst", "sfgate.com": "Hearst",
    "timesunion.com": "Hearst",
    "theverge.com": "Vox Media", "vox.com": "Vox Media", "dawgsbynature.com": "Vox Media (SB Nation)",
    "livescience.com": "Future", "space.com": "Future",
    "foxnews.com": "Fox Corporation", "foxbusiness.com": "Fox Corporation",
}


def _score(pairs: list[tuple[bool, bool]]) -> dict[str, Any]:
    tp = sum(1 for pred, gold in pairs if pred and gold)
    fp = sum(1 for pred, gold in pairs if pred and not gold)
    fn = sum(1 for pred, gold in pairs if not pred and gold)
    return {"cases": len(pairs), "tp": tp, "fp": fp, "fn": fn,
            "precision": round(tp / (tp + fp), 3) if tp + fp else None,
            "recall": round(tp / (tp + fn), 3) if tp + fn else None}


def attribution() -> dict[str, Any]:
    cases = [json.loads(line) for line in (LABELLED / "cases.jsonl").read_text(encoding="utf-8").splitlines()]
    ours: list[tuple[bool, bool]] = []
    naive: list[tuple[bool, bool]] = []
    by_language: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    by_family: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    errors = []
    t0 = time.process_time()
    for c in cases:
        credits = find_credits(c["text"])
        predicted = credit_naming(credits, c["origin_names"]) is not None
        pair = (predicted, c["attributed"])
        ours.append(pair)
        by_language[c["language"]].append(pair)
        by_family[c["family"]].append(pair)
        if predicted != c["attributed"]:
            errors.append({"id": c["id"], "expected": c["attributed"], "credits": [x.name for x in credits]})
        words = set(re.findall(r"[^\W_]+(?:-[^\W_]+)?", fold(c["text"])))
        naive.append((any(fold(n) in words or fold(n) in fold(c["text"]).split() for n in c["origin_names"]),
                      c["attributed"]))
    took_ms = (time.process_time() - t0) * 1000 / len(cases)
    return {
        "ours": _score(ours),
        "baseline_name_anywhere": _score(naive),
        "by_language": {k: _score(v) for k, v in by_language.items()},
        "by_family": {k: _score(v) for k, v in by_family.items()},
        "errors": errors,
        "ms_per_text": round(took_ms, 3),
    }


def _naive_ids(html: bytes) -> set[str]:
    """Every id-looking string, with none of the rules that drop placeholders and public ids."""
    pattern = rb"UA-[\dX]+|G-[A-Z0-9]{8,12}|GTM-[A-Z0-9]{4,9}|pub-\d{10,20}|ym\(\s*(\d+)|watch/(\d+)|init['\"],\s*['\"](\d+)|content=\"([\w-]{6,})\""
    found = set()
    for m in re.finditer(pattern, html):
        found.add(next((g for g in m.groups() if g), m.group(0)).decode())
    return found


def fingerprints() -> dict[str, Any]:
    pages = [json.loads(line) for line in (LABELLED / "pages.jsonl").read_text(encoding="utf-8").splitlines()]
    operator = {p["site"]: p["operator"] for p in pages}
    gold = {tuple(sorted(pair)) for pair in combinations(operator, 2) if operator[pair[0]] == operator[pair[1]]}
    con = connect()
    at = datetime(2026, 11, 2, tzinfo=UTC)
    store.save_site_identifiers(con, [(p["site"], f"https://{p['site']}.example/", at,
                                       fingerprint_site(p["html"].encode())) for p in pages])
    rows = con.execute("SELECT source_a, source_b, identifier FROM source_links").fetchall()
    linked = {(a, b) for a, b, _ in rows}
    common = con.execute("SELECT count(*) FROM source_links WHERE carried_by > 8").fetchall()[0][0]
    by_id: dict[str, set[str]] = defaultdict(set)
    for p in pages:
        for ident in _naive_ids(p["html"].encode()):
            by_id[ident].add(p["site"])
    naive = {tuple(sorted(pair)) for sites in by_id.values() for pair in combinations(sorted(sites), 2)}

    def score(pred: set[tuple[str, str]]) -> dict[str, Any]:
        tp = len(pred & gold)
        return {"links": len(pred), "correct": tp, "precision": round(tp / len(pred), 3) if pred else None,
                "recall": round(tp / len(gold), 3) if gold else None}

    return {"sites": len(operator), "gold_links": len(gold), "ours": score(linked), "baseline_every_id": score(naive),
            "links_through_ids_carried_by_many": common,
            "identifiers_stored": con.execute("SELECT count(*) FROM site_identifiers").fetchall()[0][0]}


def real_pages(zyte: Path) -> dict[str, Any] | None:
    truth = zyte / "ground-truth.json"
    if not truth.exists():
        return None
    gt = json.loads(truth.read_text(encoding="utf-8"))
    by_id: dict[str, set[str]] = defaultdict(set)
    kinds: Counter[str] = Counter()
    pages = 0
    seconds = 0.0
    for key, value in gt.items():
        path = zyte / "html" / f"{key}.html.gz"
        if not path.exists():
            continue
        host = (urlsplit(value["url"]).hostname or "").removeprefix("www.")
        raw = gzip.decompress(path.read_bytes())
        t0 = time.process_time()  # CPU: the machine is shared, wall time is noisy
        identifiers = fingerprint_site(raw)
        seconds += time.process_time() - t0
        for ident in identifiers:
            by_id[ident.key].add(host)
            kinds[ident.kind] += 1
        pages += 1
    took_ms = seconds * 1000 / max(pages, 1)
    hosts = {h for sites in by_id.values() for h in sites}
    groups = []
    pairs: dict[tuple[str, str], bool | None] = {}
    for ident, sites in sorted(by_id.items()):
        if len(sites) < 2 or len(sites) > 8:  # the view's carried-by-many rule
            continue
        owners = {KNOWN_OWNERS.get(s, "").split(" (")[0] or None for s in sites}
        same = None if None in owners else len(owners) == 1
        groups.append({"identifier": ident, "sites": sorted(sites), "owner": sorted(o or "?" for o in owners),
                       "same_owner": same})
        for pair in combinations(sorted(sites), 2):
            pairs[pair] = same if pairs.get(pair) is None else pairs[pair]
    established = [v for v in pairs.values() if v is not None]
    return {
        "pages": pages, "sites_with_identifiers": len(hosts), "identifiers_by_kind": dict(kinds.most_common()),
        "ms_per_page": round(took_ms, 2), "linked_groups": groups, "linked_pairs": len(pairs),
        "pairs_same_owner": sum(1 for v in established if v), "pairs_other_owner": sum(1 for v in established if not v),
        "pairs_owner_not_established": len(pairs) - len(established),
    }


def stage_cost(n: int = 150) -> dict[str, Any]:
    """What amplification adds to each page of the pipeline, against bare extraction of the
    same pages: the generated news pages of the pipeline benchmark (~40 KB each)."""
    import trafilatura
    from common import generate_pages, render_page

    pages = [render_page(p).encode("utf-8") for p in generate_pages(n)]
    texts = []
    t0 = time.process_time()
    for page in pages:
        texts.append(trafilatura.extract(page) or "")
    bare = time.process_time() - t0
    t0 = time.process_time()
    for page in pages:
        fingerprint_site(page)
    sites = time.process_time() - t0
    t0 = time.process_time()
    for text in texts:
        find_credits(text)
    credits = time.process_time() - t0
    return {"pages": n, "mean_page_kb": round(sum(map(len, pages)) / n / 1024, 1),
            "bare_extract_ms": round(1000 * bare / n, 2), "fingerprint_site_ms": round(1000 * sites / n, 3),
            "find_credits_ms": round(1000 * credits / n, 3),
            "share_of_bare_extract": round((sites + credits) / bare, 3) if bare else None}


def markdown(d: dict[str, Any]) -> str:
    a, f = d["attribution"], d["fingerprints"]
    o, b = a["ours"], a["baseline_name_anywhere"]
    lines = [
        f"Attribution on {o['cases']} labelled cases (ten languages and scripts; written by us): precision "
        f"**{o['precision']}**, recall **{o['recall']}** (goals {GOAL_PRECISION} / {GOAL_RECALL}: "
        f"{'met' if d['meets_goals'] else 'missed'}); a search for the origin's name anywhere in the text: "
        f"precision {b['precision']}, recall {b['recall']}. {a['ms_per_text']} ms a text.",
        "",
        "| family | cases | precision | recall |",
        "|---|---|---|---|",
        *(f"| {k} | {v['cases']} | {v['precision'] if v['precision'] is not None else '-'} | "
          f"{v['recall'] if v['recall'] is not None else '-'} |" for k, v in a["by_family"].items()),
        "",
        "Missed or wrong: " + ("; ".join(f"{e['id']} (credits found: {', '.join(e['credits']) or 'none'})"
                                         for e in a["errors"]) or "none") + ".",
        "",
        f"Fingerprint links on {f['sites']} labelled sites ({f['gold_links']} true links): precision "
        f"**{f['ours']['precision']}**, recall {f['ours']['recall']} ({f['ours']['links']} links); "
        f"links through an id carried by many sites: {f['links_through_ids_carried_by_many']}. Every id-looking "
        f"string linked as is: {f['baseline_every_id']['links']} links, precision {f['baseline_every_id']['precision']}.",
        "",
    ]
    c = d.get("stage_cost")
    if c:
        lines += [
            f"Cost in the pipeline, on {c['pages']} generated news pages of {c['mean_page_kb']} KB (CPU): reading the "
            f"identifiers {c['fingerprint_site_ms']} ms and the credits {c['find_credits_ms']} ms a page, "
            f"{c['share_of_bare_extract']:.0%} of a bare extraction of the same page ({c['bare_extract_ms']} ms).",
            "",
        ]
    r = d.get("real_pages")
    if r:
        lines += [
            f"Zyte's {r['pages']} real news pages: identifiers on {r['sites_with_identifiers']} sites "
            f"({', '.join(f'{k} {v}' for k, v in r['identifiers_by_kind'].items())}), {r['ms_per_page']} ms of CPU a page. "
            f"Linked pairs: {r['linked_pairs']}, of which {r['pairs_same_owner']} under one publicly known owner, "
            f"{r['pairs_other_owner']} under different owners, {r['pairs_owner_not_established']} not established:",
            "",
            "| identifier | sites | owner |",
            "|---|---|---|",
            *(f"| `{g['identifier']}` | {', '.join(g['sites'])} | {', '.join(g['owner'])} |" for g in r["linked_groups"]),
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zyte", type=Path, default=ZYTE_DATA, help="Zyte's benchmark folder (read, never copied)")
    args = parser.parse_args()
    result: dict[str, Any] = {"machine": machine(), "attribution": attribution(), "fingerprints": fingerprints(),
                              "stage_cost": stage_cost(), "real_pages": real_pages(args.zyte)}
    o = result["attribution"]["ours"]
    result["meets_goals"] = bool(o["precision"] is not None and o["precision"] >= GOAL_PRECISION
                                 and o["recall"] is not None and o["recall"] >= GOAL_RECALL
                                 and result["fingerprints"]["ours"]["precision"] == GOAL_LINK_PRECISION
                                 and result["fingerprints"]["links_through_ids_carried_by_many"] == 0)
    print(markdown(result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
