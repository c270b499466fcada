"""Benchmark the warehouse dedup index against a plain in-memory datasketch MinHashLSH.

    python benchmarks/bench_dedup.py [--quick] [--new N]

Synthetic documents (300-500 words drawn from a 20k-word Zipf vocabulary) are stored
(100k and 1M; --quick: 10k and 100k), then N new documents (default 10k; --quick 2k)
are checked: 10% are near copies of stored ones (5% of words replaced), 5% teasers
(the first 40% of a stored one), the rest new. The warehouse index checks them as the
writer does, ``check_many`` in batches of ``SAVE_BATCH`` (time per document is the
batch's time shared), and a sample one by one with ``check`` (what `monitor check`
does); the warehouse runs under the writer's "auto" memory cap. Each size runs in its
own process so its peak memory is its own. Prints a Markdown table and writes benchmarks/results/dedup.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from monitor.judging.dedup import Fingerprint, _shingle_hashes, fingerprint_text
from monitor.storage.dedup_index import DedupIndex
from monitor.storage.store import transaction
from monitor.settings import SAVE_BATCH
from monitor.storage.warehouse import connect, fit_memory_limit

RESULTS = Path(__file__).resolve().parent / "results" / "dedup.json"
VOCAB_SIZE = 20_000
#: Documents checked one by one with ``check`` (each scans the postings).
SINGLE_CHECKS = 200
CHUNK = 5_000
NEAR_SHARE, TEASER_SHARE = 0.10, 0.05


def _vocabulary() -> list[str]:
    rng = np.random.default_rng(7)
    syll = ["ka", "ro", "vi", "ne", "sto", "bal", "mir", "gra", "do", "lje", "tu", "sen", "pol", "za", "ri"]
    words: set[str] = set()
    while len(words) < VOCAB_SIZE:
        words.add("".join(syll[i] for i in rng.integers(0, len(syll), rng.integers(2, 5))))
    return sorted(words)


VOCAB = _vocabulary()
_WEIGHTS = 1.0 / np.arange(1, VOCAB_SIZE + 1)
_WEIGHTS /= _WEIGHTS.sum()


def stored_text(i: int) -> str:
    rng = np.random.default_rng(1_000_000 + i)
    return " ".join(VOCAB[w] for w in rng.choice(VOCAB_SIZE, size=int(rng.integers(300, 501)), p=_WEIGHTS))


def new_text(j: int, stored: int) -> tuple[str, str, int | None]:
    """(text, plant kind, the stored doc it copies) for new document ``j``."""
    rng = np.random.default_rng(5_000_000 + j)
    r = rng.random()
    if r < NEAR_SHARE + TEASER_SHARE:
        target = int(rng.integers(0, stored))
        words = stored_text(target).split()
        if r < NEAR_SHARE:
            for k in rng.choice(len(words), size=len(words) // 20, replace=False):
                words[k] = VOCAB[int(rng.integers(0, VOCAB_SIZE))]
            return " ".join(words), "near", target
        return " ".join(words[: int(len(words) * 0.4)]), "teaser", target
    words = [VOCAB[w] for w in rng.choice(VOCAB_SIZE, size=int(rng.integers(300, 501)), p=_WEIGHTS)]
    return " ".join(words), "new", None


def _fingerprints(lo: int, hi: int) -> list[tuple[str, Fingerprint]]:
    return [(f"s{i}", fingerprint_text(stored_text(i))) for i in range(lo, hi)]


def _minhash(text: str) -> np.ndarray:
    from datasketch import MinHash

    m = MinHash(num_perm=128, hashfunc=int)
    shingles = np.unique(_shingle_hashes(text.split()))
    m.update_batch((shingles & np.uint64(0xFFFFFFFF)).tolist())  # affine32 wants 32-bit input
    return np.asarray(m.hashvalues)


def _minhashes(lo: int, hi: int) -> list[np.ndarray]:
    return [_minhash(stored_text(i)) for i in range(lo, hi)]


def _fingerprints_of(lo_hi: tuple[int, int]) -> list[tuple[str, Fingerprint]]:
    return _fingerprints(*lo_hi)


def _minhashes_of(lo_hi: tuple[int, int]) -> list[np.ndarray]:
    return _minhashes(*lo_hi)


def _chunks(n: int) -> Iterator[tuple[int, int]]:
    return ((lo, min(lo + CHUNK, n)) for lo in range(0, n, CHUNK))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _store(con: Any, index: DedupIndex, batch: list[tuple[str, Fingerprint]]) -> None:
    """One batch of stored documents: their article rows and their index entries, one transaction."""
    with transaction(con):
        con.execute(
            "INSERT INTO articles (id, content_hash, word_count) "
            "SELECT unnest($1::VARCHAR[]), unnest($2::VARCHAR[]), unnest($3::INTEGER[])",
            [[d for d, _ in batch], [f.content_hash for _, f in batch], [f.word_count for _, f in batch]],
        )
        index.add_many(batch)


def run_index(stored: int, new: int) -> dict[str, object]:
    """Build the warehouse index over ``stored`` docs, then check ``new`` ones."""
    with tempfile.TemporaryDirectory() as tmp, mp.get_context("fork").Pool(2) as pool:
        db = Path(tmp) / "bench.duckdb"
        con = connect(db)
        index = DedupIndex(con)
        t0 = time.perf_counter()
        # imap, not starmap: chunks stream in, so peak memory is the index's, not a
        # list of every stored fingerprint at once.
        for batch in pool.imap(_fingerprints_of, _chunks(stored)):
            _store(con, index, batch)
            fit_memory_limit(con)
        build_s = time.perf_counter() - t0
        # No CHECKPOINT here (there was one when the warehouse was a DuckDB file): on a lake
        # it merges the build's files, upkeep's work, and it ran out of memory under the
        # writer's cap at 100k stored; so, after it, did the anchor join of the checks (one
        # 128 MiB hash table). The checks run on the files as the batches wrote them, as a
        # writer's do between upkeeps. (A run's writer that runs out retries uncapped:
        # IngestSession._within_memory.)
        anchors = con.execute("SELECT count(*) FROM dedup_anchors").fetchall()[0][0]
        queries = [new_text(j, stored) for j in range(new)]
        t0 = time.perf_counter()
        fps = [fingerprint_text(text) for text, _, _ in queries]
        fp_ms = (time.perf_counter() - t0) / new * 1000
        times, found, false_pos = [], {"near": 0, "teaser": 0}, 0
        for lo in range(0, new, SAVE_BATCH):
            t = time.perf_counter()
            decisions = index.check_many([(fp, None) for fp in fps[lo:lo + SAVE_BATCH]])
            times.extend([(time.perf_counter() - t) / len(decisions)] * len(decisions))
            for decision, (_, plant, target) in zip(decisions, queries[lo:lo + SAVE_BATCH], strict=True):
                got = decision.match.duplicate_of if decision.match else None
                if target is not None and got == f"s{target}":
                    found[plant] += 1
                elif target is None and got is not None:
                    false_pos += 1
        single = []
        for fp in fps[:SINGLE_CHECKS]:
            t = time.perf_counter()
            index.check(canonical_url=None, fingerprint=fp)
            single.append(time.perf_counter() - t)
        con.close()
        ms = np.array(times) * 1000
        return {
            "method": "warehouse anchors (monitor.judging.dedup)",
            "stored": stored,
            "new": new,
            "build_s": round(build_s, 1),
            "fingerprint_ms": round(fp_ms, 3),
            "check_ms_mean": round(float(ms.mean()), 3),
            "check_ms_p95": round(float(np.percentile(ms, 95)), 3),
            "batch": SAVE_BATCH,
            "single_check_ms_mean": round(float(np.mean(single)) * 1000, 3),
            "index_rows": int(anchors),
            "db_mb": round(db.stat().st_size / 1e6, 1),
            "peak_rss_mb": round(_peak_mb(), 1),
            **_recall(found, false_pos, queries),
        }


def _recall(found: dict[str, int], false_pos: int, queries: list[tuple[str, str, int | None]]) -> dict[str, object]:
    planted = {k: sum(1 for _, p, _ in queries if p == k) for k in ("near", "teaser", "new")}
    return {
        "recall_near": round(found["near"] / max(planted["near"], 1), 3),
        "recall_teaser": round(found["teaser"] / max(planted["teaser"], 1), 3),
        "false_positives": false_pos,
    }


def run_datasketch(stored: int, new: int) -> dict[str, object]:
    """The same data in a plain in-memory datasketch MinHashLSH (threshold 0.5, 128 perms)."""
    from datasketch import LeanMinHash, MinHashLSH

    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    t0 = time.perf_counter()
    with mp.get_context("fork").Pool(2) as pool:
        for lo_hi, hvs in zip(_chunks(stored), pool.imap(_minhashes_of, _chunks(stored))):
            with lsh.insertion_session() as session:
                for i, hv in zip(range(*lo_hi), hvs):
                    session.insert(f"s{i}", LeanMinHash(seed=1, hashvalues=hv, scheme="affine32"), check_duplication=False)
    build_s = time.perf_counter() - t0
    queries = [new_text(j, stored) for j in range(new)]
    mins = [LeanMinHash(seed=1, hashvalues=_minhash(text), scheme="affine32") for text, _, _ in queries]
    times, found, false_pos = [], {"near": 0, "teaser": 0}, 0
    for m, (_, plant, target) in zip(mins, queries):
        t = time.perf_counter()
        got = lsh.query(m)
        times.append(time.perf_counter() - t)
        if target is not None and f"s{target}" in got:
            found[plant] += 1
        elif target is None and got:
            false_pos += 1
    ms = np.array(times) * 1000
    return {
        "method": "datasketch MinHashLSH (in memory)",
        "stored": stored,
        "new": new,
        "build_s": round(build_s, 1),
        "check_ms_mean": round(float(ms.mean()), 3),
        "check_ms_p95": round(float(np.percentile(ms, 95)), 3),
        "peak_rss_mb": round(_peak_mb(), 1),
        **_recall(found, false_pos, queries),
    }


def build_only(db: Path, stored: int) -> None:
    """Store ``stored`` synthetic documents in a warehouse file (for ``compare``)."""
    con = connect(db)
    index = DedupIndex(con)
    for lo, hi in _chunks(stored):
        batch = _fingerprints(lo, hi)
        _store(con, index, batch)
    con.execute("CHECKPOINT")
    con.close()


def time_checks(db: Path, stored: int, new: int) -> dict[str, float]:
    """Check ``new`` documents against the warehouse ``db`` as the writer does; ms a document."""
    con = connect(db)
    index = DedupIndex(con)
    fps = [fingerprint_text(new_text(j, stored)[0]) for j in range(new)]
    t = time.perf_counter()
    for lo in range(0, new, SAVE_BATCH):
        index.check_many([(fp, None) for fp in fps[lo:lo + SAVE_BATCH]])
    batch_ms = (time.perf_counter() - t) / new * 1000
    t = time.perf_counter()
    for fp in fps[:SINGLE_CHECKS]:
        index.check(canonical_url=None, fingerprint=fp)
    single_ms = (time.perf_counter() - t) / SINGLE_CHECKS * 1000
    con.close()
    return {"check_ms": round(batch_ms, 3), "single_check_ms": round(single_ms, 3)}


def compare(baseline: Path, sizes: tuple[int, ...], new: int, rounds: int = 5) -> None:
    """Check cost of this library against ``baseline`` (an older checkout's src/), on one
    warehouse built once (by this library: its extra columns do not bother the older code),
    timed in alternating processes so that the machine's load falls on both alike."""
    import os

    here = Path(__file__).resolve().parents[1] / "src"
    for stored in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "bench.duckdb"
            build_only(db, stored)
            got: dict[str, list[dict[str, float]]] = {"baseline": [], "current": []}
            for _ in range(rounds):
                for label, src in (("baseline", baseline), ("current", here)):
                    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
                    out = subprocess.run([sys.executable, __file__, "--time-checks", str(db), str(stored), str(new)],
                                         check=True, capture_output=True, text=True, env=env)
                    got[label].append(json.loads(out.stdout.strip().splitlines()[-1]))
        for label, runs in got.items():
            print(f"{label:8} stored={stored} new={new} check_ms=" + " / ".join(str(r["check_ms"]) for r in runs)
                  + " single_check_ms=" + " / ".join(str(r["single_check_ms"]) for r in runs))
        for key in ("check_ms", "single_check_ms"):
            best = {k: min(r[key] for r in v) for k, v in got.items()}
            mid = {k: sorted(r[key] for r in v)[len(v) // 2] for k, v in got.items()}
            print(f"{key}: current/baseline {best['current'] / best['baseline']:.2f}x best of {rounds}, "
                  f"{mid['current'] / mid['baseline']:.2f}x median")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k stored, 2k new")
    parser.add_argument("--new", type=int, default=None, help="new documents to check")
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "STORED", "NEW"), help=argparse.SUPPRESS)
    parser.add_argument("--time-checks", nargs=3, metavar=("DB", "STORED", "NEW"), help=argparse.SUPPRESS)
    parser.add_argument("--baseline", type=Path, default=None, metavar="SRC",
                        help="also run the index check with the library in SRC (e.g. an older checkout's src/), "
                             "alternating with this one, and print the cost ratio; writes no result file")
    args = parser.parse_args()
    if args.time_checks:
        print(json.dumps(time_checks(Path(args.time_checks[0]), int(args.time_checks[1]), int(args.time_checks[2]))))
        return
    if args.child:
        method, stored, new = args.child[0], int(args.child[1]), int(args.child[2])
        result = (run_index if method == "index" else run_datasketch)(stored, new)
        print(json.dumps(result))
        return
    if args.baseline:
        compare(args.baseline, (10_000,) if args.quick else (100_000,), args.new or 2_000)
        return
    sizes = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    new = args.new or (2_000 if args.quick else 10_000)
    rows = []
    for stored in sizes:
        for method in ("index", "datasketch"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", method, str(stored), str(new)],
                check=True, capture_output=True, text=True,
            )
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"done: {method} at {stored}", file=sys.stderr)
    cols = ["method", "stored", "new", "build_s", "check_ms_mean", "check_ms_p95", "single_check_ms_mean", "peak_rss_mb",
            "recall_near", "recall_teaser", "false_positives", "index_rows", "db_mb"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r.get(c, "-")) for c in cols) + " |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"benchmark": "dedup", "measured_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
                                   "quick": args.quick, "rows": rows}, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
