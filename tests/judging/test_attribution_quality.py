"""Attribution and site links on the labelled set (tests/amplification_labelled/, written by us).

The goals the benchmark reports (benchmarks/bench_amplification.py) hold here: attribution
precision >= 0.95 and recall >= 0.90 over ten languages and scripts, every decoy (photo
credit, another agency, the origin named mid-body, the credit removed) left unattributed,
and fingerprint links with precision 1.0 and none through an id many sites carry.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

from monitor.judging.attribution import credit_naming, find_credits
from monitor.reading.sitefingerprint import fingerprint_site
from monitor.storage import store
from monitor.storage.warehouse import connect

LABELLED = Path(__file__).resolve().parents[1] / "amplification_labelled"
sys.path.insert(0, str(LABELLED))

import build  # noqa: E402


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (LABELLED / name).read_text(encoding="utf-8").splitlines()]


def test_labelled_files_are_what_build_produces() -> None:
    for name, content in build.build().items():
        assert (LABELLED / name).read_text(encoding="utf-8") == content, f"run python {LABELLED / 'build.py'}"


def test_attribution_meets_its_goals_in_every_language_and_no_decoy_is_attributed() -> None:
    found: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for case in _rows("cases.jsonl"):
        predicted = credit_naming(find_credits(case["text"]), case["origin_names"]) is not None
        found[case["language"]].append((predicted, case["attributed"]))
        if not case["attributed"]:
            assert not predicted, case["id"]
    pairs = [p for rows in found.values() for p in rows]
    tp = sum(1 for p, g in pairs if p and g)
    recall = tp / sum(1 for _, g in pairs if g)
    precision = tp / sum(1 for p, _ in pairs if p)
    assert len(found) == 10 and precision >= 0.95 and recall >= 0.90, (precision, recall)
    for language, rows in found.items():  # no language left behind: at most one credit form missed in each
        assert sum(1 for p, g in rows if g and not p) <= 1, language


def test_site_links_are_exactly_the_operators_networks() -> None:
    pages = _rows("pages.jsonl")
    con = connect()
    at = datetime(2026, 11, 2, tzinfo=UTC)
    store.save_site_identifiers(con, [(p["site"], f"https://{p['site']}.example/", at,
                                       fingerprint_site(p["html"].encode())) for p in pages])
    operator = {p["site"]: p["operator"] for p in pages}
    gold = {pair for pair in combinations(sorted(operator), 2) if operator[pair[0]] == operator[pair[1]]}
    linked = {(a, b) for a, b in con.execute("SELECT DISTINCT source_a, source_b FROM source_links").fetchall()}
    assert linked == gold and len(gold) == 6
