"""Precision and recall of the dedup thresholds on the labelled set (tests/dedup_labelled).

Run ``python tests/test_dedup_quality.py`` to print the per-family table and the
similarity ranges that the thresholds in monitor.judging.dedup were chosen from.
"""

from __future__ import annotations

import importlib.util
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from monitor.judging.dedup import fingerprint_text, similarity
from monitor.storage.dedup_index import DedupIndex
from monitor.storage.warehouse import connect

LABELLED = Path(__file__).resolve().parents[1] / "dedup_labelled"


@dataclass(frozen=True)
class Outcome:
    case_id: str
    family: str
    expected: str | None
    got: str | None
    kind: str | None
    similarity: float | None
    best_jaccard: float
    best_containment: float


def load_cases() -> list[dict[str, str | None]]:
    lines = (LABELLED / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def seeded_index(con: duckdb.DuckDBPyConnection) -> DedupIndex:
    """The reference corpus stored as the lead stores it: rows in articles, then indexed."""
    for path in sorted((LABELLED.parents[1] / "src" / "monitor" / "data" / "seeds").glob("*.txt")):
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        fp = fingerprint_text(body)
        con.execute(
            "INSERT INTO articles (id, kind, title, text, content_hash, word_count) "
            "VALUES (?, 'reference', ?, ?, ?, ?)",
            [path.stem, title.strip(), body, fp.content_hash, fp.word_count],
        )
    index = DedupIndex(con)
    index.index_missing()
    return index


def evaluate(con: duckdb.DuckDBPyConnection) -> list[Outcome]:
    index = seeded_index(con)
    refs = {doc_id: fingerprint_text(text) for doc_id, text in con.execute("SELECT id, text FROM articles").fetchall()}
    outcomes = []
    for case in load_cases():
        fp = fingerprint_text(str(case["text"]))
        decision = index.check(canonical_url=None, fingerprint=fp)
        pairs = [
            similarity(len(set(fp.anchors) & set(r.anchors)), len(fp.anchors), len(r.anchors))
            for r in refs.values()
        ]
        outcomes.append(
            Outcome(
                case_id=str(case["id"]),
                family=str(case["family"]),
                expected=case["expected"],
                got=decision.match.duplicate_of if decision.match else None,
                kind=decision.match.kind if decision.match else None,
                similarity=decision.match.similarity if decision.match else None,
                best_jaccard=max(j for j, _ in pairs),
                best_containment=max(c for _, c in pairs),
            )
        )
    return outcomes


def per_family(outcomes: list[Outcome]) -> dict[str, dict[str, float | int | str]]:
    """family -> cases, true positives, false positives, false negatives, precision, recall."""
    table: dict[str, dict[str, float | int | str]] = {}
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[o.family].append(o)
    for family, rows in groups.items():
        tp = sum(1 for o in rows if o.expected is not None and o.got == o.expected)
        fp = sum(1 for o in rows if o.got is not None and o.got != o.expected)
        fn = sum(1 for o in rows if o.expected is not None and o.got != o.expected)
        table[family] = {
            "label": "positive" if rows[0].expected else "negative",
            "cases": len(rows),
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0,
            "kinds": ",".join(sorted({o.kind for o in rows if o.kind})) or "-",
            "jaccard": f"{min(o.best_jaccard for o in rows):.2f}-{max(o.best_jaccard for o in rows):.2f}",
            "containment": f"{min(o.best_containment for o in rows):.2f}-{max(o.best_containment for o in rows):.2f}",
        }
    return table


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    con = connect(":memory:")
    try:
        return evaluate(con)
    finally:
        con.close()


def test_labelled_set_is_what_build_py_generates() -> None:
    spec = importlib.util.spec_from_file_location("dedup_labelled_build", LABELLED / "build.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert build.render() == (LABELLED / "cases.jsonl").read_text(encoding="utf-8")


def test_labelled_set_has_every_family_with_negatives_written_for_it() -> None:
    families = {str(c["family"]) for c in load_cases()}
    assert families == {
        "syndicated", "typos", "normalisation", "teaser", "abridged", "reordered_wrapped",
        "paraphrased", "html_page", "quoted_in_commentary", "exact_copy",
        "same_topic", "same_headline", "one_quoted_sentence", "retold",
    }


def test_no_negative_case_is_marked_as_a_copy(outcomes: list[Outcome]) -> None:
    false_positives = [(o.case_id, o.got, o.kind, o.similarity) for o in outcomes if o.expected is None and o.got]
    assert false_positives == []


def test_every_positive_case_is_found_as_a_copy_of_its_seed(outcomes: list[Outcome]) -> None:
    missed = [(o.case_id, o.got, o.best_jaccard, o.best_containment) for o in outcomes if o.expected and o.got != o.expected]
    assert missed == []


def test_every_family_has_precision_and_recall_one(outcomes: list[Outcome]) -> None:
    table = per_family(outcomes)
    assert {f: (row["precision"], row["recall"]) for f, row in table.items()} == {f: (1.0, 1.0) for f in table}


def test_copies_are_recorded_with_the_kind_their_family_implies(outcomes: list[Outcome]) -> None:
    kinds: dict[str, set[str | None]] = defaultdict(set)
    for o in outcomes:
        if o.expected:
            kinds[o.family].add(o.kind)
    assert kinds["exact_copy"] == {"exact"}
    assert kinds["normalisation"] == {"exact"}
    assert kinds["teaser"] == {"contained"}
    assert kinds["quoted_in_commentary"] <= {"contained", "near"}  # near when the seed is most of it
    assert kinds["typos"] == {"near"}
    assert kinds["reordered_wrapped"] <= {"near", "exact"}


def main() -> None:
    con = connect(":memory:")
    outcomes = evaluate(con)
    table = per_family(outcomes)
    print("| family | label | cases | TP | FP | FN | precision | recall | kinds | best Jaccard | best containment |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for family, r in table.items():
        print(
            f"| {family} | {r['label']} | {r['cases']} | {r['tp']} | {r['fp']} | {r['fn']} | "
            f"{float(r['precision']):.2f} | {float(r['recall']):.2f} | {r['kinds']} | {r['jaccard']} | {r['containment']} |"
        )
    for o in outcomes:
        if o.got != o.expected:
            print("WRONG", o)


if __name__ == "__main__":
    main()
