"""Article-body quality of our extractor on Zyte's article extraction benchmark.

Reads the benchmark from ../shared/data/zyte_aeb (181 pages, ground truth and the
stored outputs of published extractors; nothing of it is copied into this repo) and
scores with the benchmark's own method (zytedata/article-extraction-benchmark,
evaluate.py), re-implemented here:

* tokens: every match of the regex ``\\w+`` (Unicode word characters, case kept);
* shingles: all runs of 4 consecutive tokens, counted as a multiset; a text of 1-3
  tokens is one shorter shingle, an empty text has none;
* per page: TP = shared shingles (min of counts), FP = extra predicted, FN = missed,
  the three divided by their sum so long pages do not weigh more;
* precision is averaged over pages with TP+FP > 0 (an empty prediction costs recall
  only), recall over pages with TP+FN > 0; a page with FP = FN = 0 scores 1;
* F1 = harmonic mean of the *averaged* precision and recall.

The scorer is checked first by re-scoring the stored outputs against the published
figures (trafilatura 2.0.0 F1 0.958, AutoExtract and rs_trafilatura 0.970). Then it
runs bare ``trafilatura.extract`` (installed version, default options), trafilatura
with our options but without our cleaning, and ``monitor.reading.extract.extract_article``
(the same function ``monitor check`` uses), and prints a Markdown table.

    .venv/bin/python benchmarks/bench_extraction.py [--variants] [--workers 2]
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from multiprocessing import Pool
from pathlib import Path

import trafilatura

from monitor.exceptions import ExtractionError
from monitor.reading.extract import EXTRACTOR, ExtractOptions, extract_article

from common import ZYTE_DATA

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ZYTE_DATA
RESULTS = ROOT / "benchmarks" / "results" / "extraction.json"
SHINGLE_SIZE = 4
#: Stored outputs re-scored to validate the scorer, with the figures published for them.
PUBLISHED_F1 = {"trafilatura": 0.958, "AutoExtract": 0.970, "rs_trafilatura": 0.970}

_TOKEN_RE = re.compile(r"\w+")

Scores = tuple[float, float, float]  # normalised TP, FP, FN of one page


def shingles(text: str, n: int = SHINGLE_SIZE) -> Counter[tuple[str, ...]]:
    """Multiset of n-token shingles, as the benchmark counts them."""
    tokens = _TOKEN_RE.findall(text or "")
    if not tokens:
        return Counter()
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)))


def page_scores(truth: str, predicted: str) -> Scores:
    """Normalised (TP, FP, FN) of one page."""
    want, got = shingles(truth), shingles(predicted)
    tp = sum((want & got).values())
    fp = sum((got - want).values())
    fn = sum((want - got).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _precision(tp: float, fp: float, fn: float) -> float:
    return 1.0 if fp == fn == 0 else tp / (tp + fp)


def _recall(tp: float, fp: float, fn: float) -> float:
    return 1.0 if fp == fn == 0 else tp / (tp + fn)


def aggregate(pages: list[Scores]) -> dict[str, float]:
    """Mean precision and recall over pages, and F1 of the two means."""
    precision = statistics.mean(_precision(*s) for s in pages if s[0] + s[1] > 0)
    recall = statistics.mean(_recall(*s) for s in pages if s[0] + s[2] > 0)
    f1 = 2 * precision * recall / (precision + recall)
    accuracy = statistics.mean(1.0 if s[1] == s[2] == 0 else 0.0 for s in pages)
    return {"precision": precision, "recall": recall, "f1": f1, "exact_pages": accuracy}


def load_stored(path: Path) -> tuple[dict[str, str], str | None]:
    """A stored output file: {page id: articleBody} and the extractor version if given."""
    data = json.loads(path.read_text(encoding="utf-8"))
    version = data.get("version") if "output" in data else None
    items = data.get("output", data)
    return {k: (v or {}).get("articleBody") or "" for k, v in items.items()}, version


@dataclass
class Row:
    extractor: str
    precision: float
    recall: float
    f1: float
    ms_per_page: float | None
    failures: int
    exact_pages: float
    note: str = ""


# --------------------------------------------------------------------------- extractors
# Module-level so that multiprocessing can pickle them by name.


def run_trafilatura_default(raw: bytes, url: str) -> str:
    # As the benchmark's own runner feeds it: the page decoded as UTF-8.
    return str(trafilatura.extract(raw.decode("utf-8", errors="replace")) or "")


def run_trafilatura_no_comments(raw: bytes, url: str) -> str:
    return str(trafilatura.extract(raw.decode("utf-8", errors="replace"), include_comments=False) or "")


def run_trafilatura_our_options(raw: bytes, url: str) -> str:
    opts = ExtractOptions()
    html = raw.decode("utf-8", errors="replace")
    out = trafilatura.extract(
        html,
        include_comments=False,
        favor_precision=opts.favor_precision,
        favor_recall=opts.favor_recall,
        include_tables=opts.include_tables,
        fast=opts.fast,
    )
    return str(out or "")


def _ours(options: ExtractOptions) -> Callable[[bytes, str], str]:
    def run(raw: bytes, url: str) -> str:
        try:
            return extract_article(raw, url, options=options).text
        except ExtractionError:
            return ""

    return run


def run_ours(raw: bytes, url: str) -> str:
    return _ours(ExtractOptions())(raw, url)


def run_ours_no_precision(raw: bytes, url: str) -> str:
    return _ours(ExtractOptions(favor_precision=False))(raw, url)


def run_ours_recall(raw: bytes, url: str) -> str:
    return _ours(ExtractOptions(favor_precision=False, favor_recall=True))(raw, url)


def run_ours_no_tables(raw: bytes, url: str) -> str:
    return _ours(ExtractOptions(include_tables=False))(raw, url)


def run_ours_fast(raw: bytes, url: str) -> str:
    return _ours(ExtractOptions(fast=True))(raw, url)


def run_ours_no_retry(raw: bytes, url: str) -> str:
    return _ours(ExtractOptions(recall_retry=False))(raw, url)


def run_ours_chrome_kept(raw: bytes, url: str) -> str:
    return _ours(ExtractOptions(drop_chrome_first=False))(raw, url)


CHROME_KEPT = "ours, page chrome left in (drop_chrome_first off)"
MAIN_RUNS: dict[str, tuple[Callable[[bytes, str], str], str]] = {
    f"trafilatura {trafilatura.__version__} (default options)": (run_trafilatura_default, ""),
    f"trafilatura {trafilatura.__version__} (include_comments=False)": (
        run_trafilatura_no_comments,
        "",
    ),
    f"trafilatura {trafilatura.__version__} (our options, no post-cleaning)": (
        run_trafilatura_our_options,
        "favor_precision, no comments",
    ),
    f"monitor extract_article ({EXTRACTOR})": (run_ours, "what `monitor check` returns"),
    # A speed-only step must not change the text: main() counts the pages where it does.
    CHROME_KEPT: (run_ours_chrome_kept, "nav/aside/footer left to trafilatura's own cleaning"),
}
VARIANT_RUNS: dict[str, tuple[Callable[[bytes, str], str], str]] = {
    "ours, favor_precision off": (run_ours_no_precision, "ablation"),
    "ours, favor_recall": (run_ours_recall, "ablation"),
    "ours, include_tables off": (run_ours_no_tables, "ablation"),
    "ours, fast (no fallbacks)": (run_ours_fast, "ablation"),
    "ours, no recall retry": (run_ours_no_retry, "ablation"),
}


def _timed(job: tuple[Callable[[bytes, str], str], Path, str]) -> tuple[str, str, float]:
    func, path, url = job
    raw = gzip.decompress(path.read_bytes())
    # CPU time of this process: the figure stays honest when the machine is shared.
    start = time.process_time()
    text = func(raw, url)
    return path.name.split(".")[0], text, (time.process_time() - start) * 1000


def run_extractor(
    func: Callable[[bytes, str], str], data: Path, truth: dict[str, dict[str, str]], workers: int
) -> tuple[dict[str, str], float]:
    """Outputs per page id and mean CPU milliseconds per page (one call, one process)."""
    jobs = [(func, data / "html" / f"{key}.html.gz", truth[key].get("url", "")) for key in truth]
    # Each worker extracts one page before the clock: the first call of a process loads
    # lazy tables (trafilatura's, the language model's ~0.4 s), once per worker, which a
    # mean over ~90 pages a worker would count as ~4 ms a page.
    with Pool(workers, initializer=_timed, initargs=(jobs[0],)) as pool:
        results = pool.map(_timed, jobs, chunksize=4)
    return {key: text for key, text, _ in results}, statistics.mean(ms for *_, ms in results)


def score(name: str, truth: dict[str, dict[str, str]], outputs: dict[str, str], **extra: object) -> Row:
    pages = [page_scores(truth[k].get("articleBody", ""), outputs.get(k, "")) for k in truth]
    metrics = aggregate(pages)
    failures = sum(1 for k in truth if not outputs.get(k))
    return Row(
        extractor=name,
        precision=metrics["precision"],
        recall=metrics["recall"],
        f1=metrics["f1"],
        exact_pages=metrics["exact_pages"],
        failures=failures,
        ms_per_page=extra.get("ms"),  # type: ignore[arg-type]
        note=str(extra.get("note", "")),
    )


def markdown(rows: list[Row]) -> str:
    lines = [
        "| extractor | P | R | F1 | CPU ms/page | empty | note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ms = f"{r.ms_per_page:.1f}" if r.ms_per_page is not None else "-"
        lines.append(
            f"| {r.extractor} | {r.precision:.3f} | {r.recall:.3f} | {r.f1:.3f} | {ms} "
            f"| {r.failures} | {r.note} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchmark directory")
    parser.add_argument("--workers", type=int, default=2, help="processes (2 cores here)")
    parser.add_argument("--variants", action="store_true", help="also run option ablations")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)

    truth: dict[str, dict[str, str]] = json.loads(
        (args.data / "ground-truth.json").read_text(encoding="utf-8")
    )
    validation: list[dict[str, object]] = []
    stored_rows: list[Row] = []
    for name, published in PUBLISHED_F1.items():
        outputs, version = load_stored(args.data / "output" / f"{name}.json")
        row = score(f"{name} {version or ''} (stored output)".replace("  ", " "), truth, outputs)
        row.note = f"published F1 {published:.3f}"
        stored_rows.append(row)
        validation.append(
            {"extractor": name, "version": version, "published_f1": published, "our_f1": row.f1,
             "reproduced": round(row.f1, 3) == published}
        )

    runs = dict(MAIN_RUNS)
    if args.variants:
        runs.update(VARIANT_RUNS)
    live_rows: list[Row] = []
    texts: dict[str, dict[str, str]] = {}
    for name, (func, note) in runs.items():
        outputs, ms = run_extractor(func, args.data, truth, args.workers)
        texts[name] = outputs
        live_rows.append(score(name, truth, outputs, ms=ms, note=note))
        print(f"  done: {name} F1={live_rows[-1].f1:.4f}", flush=True)
    ours = texts[f"monitor extract_article ({EXTRACTOR})"]
    same = sum(texts[CHROME_KEPT].get(k) == ours.get(k) for k in truth)
    live_rows[list(runs).index(CHROME_KEPT)].note += f"; same text as ours on {same} of {len(truth)} pages"

    rows = stored_rows + live_rows
    print()
    print(markdown(rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "benchmark": "zytedata/article-extraction-benchmark (181 pages)",
                "scorer": "bag of 4-token shingles, tokens = \\w+; P, R averaged per page; F1 of the means",
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "python": platform.python_version(),
                "trafilatura": trafilatura.__version__,
                "workers": args.workers,
                "ms_per_page": "CPU time of one call in a worker process (time.process_time), mean over pages",
                "scorer_validation": validation,
                "chrome_kept_same_text_pages": same,
                "results": [asdict(r) for r in rows],
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"\nwrote {args.out}")
    return 0 if all(v["reproduced"] for v in validation) else 1


if __name__ == "__main__":
    raise SystemExit(main())
