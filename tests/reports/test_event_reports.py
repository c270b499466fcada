"""The week's events as `monitor events`, `monitor explain` and the digest show them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.reports.digest import build_digest, render_html, render_markdown
from monitor.runs.ingest import decide_and_save
from monitor.storage.dedup_index import DedupIndex
from monitor.storage.warehouse import connect, refresh_rollups

from tests.storage.test_event_store import NAMES, PASSAGES, _doc


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    con = connect(path)
    at = PASSAGES["a-en"]["at"]
    docs = [_doc(p, source=s) for p, s in (("a-en", "Reuters"), ("a-sr", "RTS"), ("a-ru", "TASS"), ("a-mk", "MIA"),
                                           ("c-en", "BIRN"), ("c-sr", "Vijesti"))]
    docs.append(_doc("a-en", source="Portal", at=at + timedelta(hours=2), doc_id="a-copy"))
    decide_and_save(con, DedupIndex(con), sorted(docs, key=lambda d: d.published_at), run_id="r", event_names=NAMES)
    refresh_rollups(con)  # as a run does at its end: the events' summaries are kept rows
    con.close()
    return path


def test_monitor_events_lists_the_weeks_event_with_its_first_report_and_every_version(db: Path, capsys) -> None:
    assert main(["events", "--week", "2026-W11", "--db", str(db)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "ev_a-en  Russia hands four Mi-35 attack helicopters to Serbia",
        "  first: Reuters at 2026-03-14 10:00; 4 stories, 1 copy, 5 outlets, languages en, mk, ru, sr-Latn; span 25.0 h",
        "  - Reuters [en] 2026-03-14 10:00 story: Russia hands four Mi-35 attack helicopters to Serbia",
        "  - Portal [en] 2026-03-14 12:00 copy of a-en: Russia hands four Mi-35 attack helicopters to Serbia",
        "  - RTS [sr-Latn] 2026-03-14 13:30 story: Četiri helikoptera Mi-35 stigla u Batajnicu",
        "  - TASS [ru] 2026-03-15 08:00 story: Сербия получила четыре вертолета Ми-35 от России",
        "  - MIA [mk] 2026-03-15 11:00 story: Србија доби четири хеликоптери Ми-35 од Русија",
        "  concepts: country:russia, country:serbia, theme:arms_transfers, theme:diplomatic_support, "
        "theme:military_cooperation, weapon_system:mi35",
    ]


def test_monitor_events_json_ranks_by_outlets_and_languages(db: Path, capsys) -> None:
    assert main(["events", "--db", str(db), "--json"]) == 0
    events = json.loads(capsys.readouterr().out)
    assert [(e["event_id"], e["stories"], e["copies"], e["outlets"], e["languages"]) for e in events] == [
        ("ev_a-en", 4, 1, 5, ["en", "mk", "ru", "sr-Latn"]), ("ev_c-en", 2, 0, 2, ["en", "sr-Latn"])]
    assert events[0]["first_outlet"] == "Reuters" and events[0]["reports"][1]["copy_of"] == "a-en"


def test_a_malformed_week_is_a_clear_error(db: Path, capsys) -> None:
    assert main(["events", "--week", "2026-11", "--db", str(db)]) == 2
    assert "Not an ISO week" in capsys.readouterr().err


def test_explain_says_which_event_and_the_shared_evidence(db: Path, capsys) -> None:
    assert main(["explain", "a-mk", "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("event: "))
    assert lines[start] == ("event: ev_a-en: 4 stories, 1 copy, 5 outlets, languages en, mk, ru, sr-Latn; "
                            "first reported by Reuters (a-en)")
    assert lines[start + 1].startswith("  linked to a-") and lines[start + 1].endswith("sharing:")
    assert "name:bataj" in lines[start + 2] and "number:35" in lines[start + 2]
    assert main(["explain", "a-copy", "--db", str(db), "--json"]) == 0
    event = json.loads(capsys.readouterr().out)["event"]
    assert (event["event_id"], event["via"], event["first_article_id"]) == ("ev_a-en", None, "a-en")


def test_the_digest_lists_top_events_with_who_reported_first_and_versions_by_outlet(db: Path) -> None:
    con = connect(db)
    digest = build_digest(con, "2026-W11")
    md, page = render_markdown(digest), render_html(digest)
    con.close()
    assert [e.event_id for e in digest.top_events] == ["ev_a-en"]
    lines = md.splitlines()
    top = lines.index("## Top events")
    assert lines[top + 2].startswith("Stories that report one happening, across outlets and languages")
    assert lines[top + 4:top + 10] == [
        "1. [Russia hands four Mi-35 attack helicopters to Serbia](https://Reuters.example/a-en)  ",
        "   first: Reuters, Sat 14 Mar 10:00 UTC · 4 stories, 1 copy · 5 outlets · en, mk, ru, sr-Latn  ",
        "   - Reuters: [Russia hands four Mi-35 attack helicopters to Serbia](https://Reuters.example/a-en) (en)",
        "   - Portal: [Russia hands four Mi-35 attack helicopters to Serbia](https://Portal.example/a-copy) (en, copy)",
        "   - RTS: [Četiri helikoptera Mi-35 stigla u Batajnicu](https://RTS.example/a-sr) (sr-Latn)",
        "   - TASS: [Сербия получила четыре вертолета Ми-35 от России](https://TASS.example/a-ru) (ru)",
    ]
    assert "## Top stories" not in md
    assert "<h2>Top events</h2>" in page and "(mk)" in page
