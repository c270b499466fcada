"""The benchmarks at their smallest sizes, so they cannot rot: each writes figures that make sense."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_dedup_real  # noqa: E402
import bench_events  # noqa: E402
import bench_feeds  # noqa: E402
import bench_incremental  # noqa: E402
import bench_memory  # noqa: E402
import bench_pipeline  # noqa: E402
import bench_scaleout  # noqa: E402
import bench_warehouse  # noqa: E402
import common  # noqa: E402
import run_all  # noqa: E402


def _read(out: Path, name: str) -> dict:
    return json.loads((out / f"{name}.json").read_text(encoding="utf-8"))


def test_generated_pages_mix_stories_copies_and_off_topic_and_render_as_news_pages() -> None:
    pages = common.generate_pages(60, n_sources=3)
    kinds = {p.kind for p in pages}
    assert {"story", "copy", "off_topic"} <= kinds
    assert len({p.path for p in pages}) == 60
    copy = next(p for p in pages if p.kind == "copy")
    assert any(p.kind == "story" and p.paragraphs == copy.paragraphs for p in pages)
    html = common.render_page(pages[0])
    assert pages[0].paragraphs[0][:40].replace("'", "&#x27;") in html
    assert 25_000 < len(html) < 80_000  # a realistic page weight, not a bare fragment


@pytest.mark.skipif(not bench_feeds.DEFAULT_DATA.is_dir(), reason="../shared/data/real_feeds is not beside this checkout")
def test_feeds_benchmark_parses_every_feed_file_without_a_crash_and_scores_agreement(tmp_path: Path) -> None:
    assert bench_feeds.main(["--out", str(tmp_path)]) == 0
    d = _read(tmp_path, "feeds")
    data = bench_feeds.DEFAULT_DATA
    # Counted here independently: every file but licences and the reference outputs (a
    # fastfeedparser X.json beside its X.xml is one); JSON Feeds are feeds.
    feeds = [p for p in data.rglob("*") if p.is_file() and not p.name.startswith("LICENSE")
             and ".expected." not in p.name and not (p.suffix == ".json" and p.with_suffix(".xml").exists())]
    t = d["totals"]
    assert t["files"] == len(d["files"]) == len(feeds) > 0
    assert {r["file"] for r in d["files"]} == {p.relative_to(data).as_posix() for p in feeds}
    assert any(r["file"].endswith("json_feed_sample.json") and r["outcome"] == "parsed" for r in d["files"])
    # The real-world cases parse_feed repairs: a body gzipped inside the response, Italian dates.
    assert any(r.startswith("node-feedparser/compressed.xml: body was gzip-compressed") for r in d["repairs"])
    assert any(r.startswith("feed-rs/rss_2.0_ilmessaggero.xml: 1 date read by month") for r in d["repairs"])
    assert t["crashes"] == 0 and d["meets_goal_no_crash"]
    assert t["parsed"] + sum(t["errors"].values()) == t["files"]
    assert 0 < t["entries_dated"] <= t["entries"] and 0 < t["share_dated"] <= 1
    assert set(d["by_folder"]) == {"fastfeedparser", "feed-rs", "feedparser", "node-feedparser", "rss-parser"}
    agreement = d["agreement"]
    assert set(agreement) == {"feed-rs", "fastfeedparser", "total"}
    assert agreement["total"]["expected"] == agreement["feed-rs"]["expected"] + agreement["fastfeedparser"]["expected"] > 0
    for row in agreement.values():
        for key in ("share_links_found", "share_titles_equal", "share_dates_equal"):
            assert 0 <= row[key] <= 1, (key, row)
    total = agreement["total"]
    misses = total["expected"] - total["links_found"]
    assert sum(1 for x in d["disagreements"] if x["field"] == "link") == misses
    assert all({"file", "field", "expected", "ours"} <= set(x) for x in d["disagreements"])
    section = "\n".join(run_all.section_feeds(d))
    assert "| folder | files | parsed | errors | crashes | entries | dated |" in section
    assert "Disagreements with the reference parsers" in section


def test_feeds_benchmark_without_its_data_says_so_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_feeds.main(["--data", str(tmp_path / "absent"), "--out", str(tmp_path)]) != 0
    assert "no feed collection" in capsys.readouterr().err
    assert not (tmp_path / "feeds.json").exists()


def test_real_dedup_benchmark_edits_do_what_their_names_say() -> None:
    # On our own texts (the labelled set's negatives; the seeds are the benchmark's
    # commentary), so this runs without ../shared.
    negatives = Path(__file__).parent / "dedup_labelled" / "negatives"
    ours = [p.read_text(encoding="utf-8") for p in sorted(negatives.glob("n[1-4]_*.txt"))]
    body = ours[0]
    words = body.split()
    others = [*ours[1:], *ours[1:], body]
    rng = lambda: __import__("random").Random(3)  # noqa: E731
    replaced = bench_dedup_real.words_replaced(0.10)(body, 4, others, rng()).split()
    assert len(replaced) == len(words)
    assert 0.05 * len(words) < sum(a != b for a, b in zip(words, replaced, strict=True)) <= 0.10 * len(words) + 1
    assert bench_dedup_real.lead_kept(0.3)(body, 4, others, rng()).split() == words[: round(len(words) * 0.3)]
    cut = bench_dedup_real.sentences(bench_dedup_real.sentences_cut(0.5)(body, 4, others, rng()))
    assert set(cut) <= set(bench_dedup_real.sentences(body)) and len(cut) < len(bench_dedup_real.sentences(body))
    quoted = bench_dedup_real.quoted_whole(body, 4, others, rng())
    assert " ".join(words) in " ".join(quoted.split()) and len(quoted.split()) >= 1.5 * len(words)
    one = bench_dedup_real.one_sentence_quoted(body, 4, others, rng())
    assert sum(s in one for s in bench_dedup_real.sentences(body)) == 1 and len(one.split()) >= 500
    assert sorted(bench_dedup_real.retold_from_shuffled_words(body, 4, others, rng()).split()) == sorted(words)


@pytest.mark.skipif(not (common.ZYTE_DATA / "ground-truth.json").exists(), reason="../shared/data/zyte_aeb is not beside this checkout")
def test_real_dedup_benchmark_counts_every_copy_once_and_sees_where_matching_ends(tmp_path: Path) -> None:
    assert bench_dedup_real.main(["--out", str(tmp_path)]) == 0
    d = _read(tmp_path, "dedup_real")
    truth = json.loads((common.ZYTE_DATA / "ground-truth.json").read_text(encoding="utf-8"))
    assert 0 < d["bodies"] <= len(truth)
    assert d["distinct"]["pairs"] == d["bodies"] * (d["bodies"] - 1) // 2
    rows = {(r["edit"], r["level"]): r for r in d["edited"]}
    assert len(rows) == len(bench_dedup_real.GRADES)
    for r in d["edited"]:
        assert r["found"] + r["wrong"] + r["missed"] == r["copies"] == d["bodies"]
        assert sum(r["kinds"].values()) == r["found"]
    # An unchanged copy inside a byline and a footer is always found; a fifth of the words
    # replaced is past what shingles survive: the benchmark sees both ends.
    assert rows[("syndicated, partner's byline and footer", "-")]["recall"] == 1.0
    assert rows[("words replaced, scattered", "20%")]["recall"] < 0.5
    assert d["copies_within_goal"] == sum(r["copies"] for r in d["edited"] if r["goal"])
    section = "\n".join(run_all.section_dedup_real(d))
    assert "| edit | level | copies | found |" in section and "not its copies" in section


def test_real_dedup_benchmark_without_its_data_says_so_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench_dedup_real.main(["--data", str(tmp_path / "absent"), "--out", str(tmp_path)]) == 2
    assert "never copies it in" in capsys.readouterr().err
    assert not (tmp_path / "dedup_real.json").exists()


def test_pipeline_benchmark_reports_positive_throughput_and_every_stage(tmp_path: Path) -> None:
    # Three gzipped pages stand in for Zyte's real ones (read from ../shared in a full run).
    real = tmp_path / "real"
    real.mkdir()
    for i, generated in enumerate(common.generate_pages(3, seed=11)):
        (real / f"page{i}.html.gz").write_bytes(gzip.compress(common.render_page(generated).encode()))
    assert bench_pipeline.main(["--pages", "12", "--no-ingest", "--real-pages", str(real), "--out", str(tmp_path)]) == 0
    d = _read(tmp_path, "pipeline")
    assert d["real_pages"]["pages"] == 3 and d["real_pages"]["ratio_one_core_vs_bare"] > 0
    assert sum(d["real_pages"]["counts"].values()) == 3
    assert len(d["real_pages"]["round_ratios"]) == d["rounds"]
    assert d["pages"] == 12
    assert d["bare_extract"]["pages_per_s_one_core"] > 0
    assert d["import_one_worker"]["pages_per_s"] > 0 and d["import_two_workers"]["pages_per_s"] > 0
    # Both imports judged the same pages to the same outcome: workers change speed, not results.
    assert d["import_one_worker"]["counts"] == d["import_two_workers"]["counts"]
    counts = d["import_one_worker"]["counts"]
    assert sum(counts.get(k, 0) for k in ("stories", "duplicates", "off_topic")) == 12
    stages = d["stage_ms_per_page"]
    for stage in ("extract", "tag", "relevance", "fingerprint", "dedup: check", "dedup: index add", "save"):
        assert stages[stage] > 0, stage
    assert d["ratio_one_core_vs_bare"] > 0
    assert d["machine"]["nproc"] >= 1
    section = "\n".join(run_all.section_pipeline(d, None))
    assert "Time per stage" in section and "real pages: 3 news pages from `" in section


def test_warehouse_benchmark_times_every_view_and_the_digest(tmp_path: Path) -> None:
    assert bench_warehouse.main(["--articles", "3000", "--out", str(tmp_path)]) == 0
    d = _read(tmp_path, "warehouse")
    assert d["rows"]["articles"] == 3000
    assert d["rows"]["article_tags"] > 3000
    assert 0 < d["rows"]["stories"] < 3000
    assert set(bench_warehouse.QUERIES) <= set(d["queries"])
    assert any(k.startswith("build_digest(") for k in d["queries"])
    assert all(v["best_ms"] > 0 for v in d["queries"].values())
    assert d["digest_stories"] > 0  # the digest week is inside the synthetic history
    assert d["bytes_per_article"] > 0
    assert "bytes per article" in "\n".join(run_all.section_warehouse(d))


def test_memory_benchmark_measures_each_size_in_its_own_process(tmp_path: Path) -> None:
    assert bench_memory.main(["--sizes", "5", "10", "--out", str(tmp_path)]) == 0
    d = _read(tmp_path, "memory")
    assert [r["pages"] for r in d["rows"]] == [5, 10]
    assert [r["saved"] for r in d["rows"]] == [5, 10]
    assert all(r["peak_rss_mb"] > r["rss_after_imports_mb"] > 0 for r in d["rows"])
    assert all(r["peak_rss_mb"] >= r["rss_at_end_mb"] > 0 for r in d["rows"])
    assert all(r["packs_mb"] > 0 for r in d["rows"])  # the raw pages are in packs, counted apart
    assert d["growth_largest_vs_smallest"] > 0 and d["growth_at_end_largest_vs_smallest"] > 0
    for r in d["rows"]:  # where the peak is: the pages judged, the writer's batches
        phases = r["peak_rss_by_phase_mb"]
        assert phases["judging pages"] > 0 and phases["batch: other writes and commit"] > 0
        # Linux syncs per-thread RSS counters lazily: a sample may pass VmHWM by a few pages.
        assert max(phases.values()) <= r["peak_rss_mb"] + 1
    section = "\n".join(run_all.section_memory(d))
    assert "Between batches" in section and "| pages | judging pages | batch: dedup check |" in section


def test_phrase_recurrence_counts_anchors_that_several_texts_share() -> None:
    shared = ("Officials in Belgrade said the new gas contract with the Russian supplier would run for three "
              "more years, while the opposition asked parliament to publish every annex of the agreement. ")
    own = [" ".join(f"w{k}x{i}" for i in range(120)) for k in range(3)]  # words no other text has
    r = bench_memory.phrase_recurrence([own[0] + " " + shared * 2, own[1] + " " + shared * 2, own[2]])
    assert r["texts"] == 3 and r["most_texts_sharing_one_anchor"] == 2
    assert 0 < r["share_of_postings_in_2_or_more_texts"] < 1 and r["anchor_pairs_per_text"] > 0
    alone = bench_memory.phrase_recurrence(own)
    assert alone["share_of_postings_in_2_or_more_texts"] == 0 and alone["anchor_pairs_per_text"] == 0
    assert run_all._recurrence(None) == []


def test_incremental_benchmark_second_run_gets_only_304s(tmp_path: Path) -> None:
    assert bench_incremental.main(["--sources", "4", "--no-flow", "--out", str(tmp_path)]) == 0
    (row,) = _read(tmp_path, "incremental")["rows"]
    assert row["first_run_articles"] == 4 * bench_incremental.PAGES_PER_SOURCE
    assert row["feeds_not_modified"] == 4
    assert row["articles_added"] == 0
    assert row["http"] == {"304": 4}
    assert row["run_304_s"] > 0


@pytest.mark.slow
def test_scaleout_benchmark_runs_the_prefect_flow_on_threads(tmp_path: Path) -> None:
    assert bench_scaleout.main(["--pages", "10", "--only", "threads", "--out", str(tmp_path)]) == 0
    d = _read(tmp_path, "scaleout")
    assert [r["config"] for r in d["rows"]] == ["threads x1", "threads x4 (default)"]
    assert all(r["pages_saved"] > 0 and r["flow_s"] > 0 for r in d["rows"])
    assert d["rows"][0]["speedup_vs_1_worker"] == 1.0


@pytest.mark.skipif(not (common.ZYTE_DATA / "ground-truth.json").exists(), reason="../shared/data/zyte_aeb is not beside this checkout")
def test_syndication_benchmark_scores_every_text_and_every_mark_clears_the_bar(tmp_path: Path) -> None:
    import bench_syndication

    assert bench_syndication.main(["--out", str(tmp_path)]) == 0
    d = _read(tmp_path, "syndication")
    for method in ("monitor", "minhash_lsh"):
        total = d[method]["total"]
        assert total["texts"] == d["texts"] == sum(f["texts"] for f in d[method]["families"])
        assert total["found"] <= total["verbatim"] and total["false_merges"] <= total["marks"]
    assert d["monitor"]["total"]["sound"] == d["monitor"]["total"]["marks"]  # issue 26's target


@pytest.mark.skipif(not bench_events.REAL_NEWS.is_dir(), reason="../shared/data/real_news_dev is not beside this checkout")
def test_events_benchmark_scores_both_sets_and_splits_no_copy(tmp_path: Path) -> None:
    assert bench_events.main(["--copies", "1", "--out", str(tmp_path)]) == 0
    d = _read(tmp_path, "events")
    assert d["labelled"]["copies"] == d["labelled"]["passages"] and d["labelled"]["copies_split_from_their_story"] == 0
    assert d["real"]["items"] == 247 and 0 < d["real"]["with_ours"]["f1"] <= 1
    assert d["cost"]["stories"] == 247
