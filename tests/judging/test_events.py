"""The event decision (pure): what two reports of one happening share, in any language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from monitor.judging.events import (
    _LETTER_WORD,
    _WORD,
    LEAD_WORDS,
    EVENT_WINDOW,
    STEM_LETTERS,
    EventEvidence,
    EventPool,
    bcubed,
    common_words,
    covered_name_stems,
    gather_evidence,
    link_stories,
    _lead_end,
    _lower_word_stems,
    _spell,
    _spelled_stems,
)
from monitor.pipeline import make_judge, tag_and_judge
from monitor.settings import DEFAULT_TAXONOMY

PASSAGES = yaml.safe_load((Path(__file__).resolve().parents[1] / "events_labelled" / "passages.yaml")
                          .read_text(encoding="utf-8"))["passages"]
JUDGE = make_judge(DEFAULT_TAXONOMY)
NAMES = covered_name_stems(JUDGE.taxonomy)
DAY = datetime(2026, 5, 20, 9, tzinfo=UTC)


def _evidence(title: str, text: str, at: datetime | None = DAY) -> EventEvidence:
    tags, _ = tag_and_judge(JUDGE, title, text)
    return gather_evidence(title, text, [t.concept_id for t in tags], at=at, covered=NAMES)


def test_names_meet_across_scripts_spellings_and_inflections() -> None:
    en = _evidence("Talks in Batajnica", "The new envoy, Aleksandr Botsan-Kharchenko, met Maria Zakharova in Batajnica.")
    sr = _evidence("Разговори у Батајници", "Нови амбасадор Боцан-Харченко и Марија Захарова састали су се у Батајници.")
    assert {"bocan", "zahar", "bataj"} <= en.names & sr.names


def test_a_name_a_concept_stands_for_is_not_counted_again_as_a_name() -> None:
    ev = _evidence("Talks", "On Monday Aleksandar Vučić met Vladimir Putin in Sochi.")
    assert "vucic" not in ev.names and "putin" not in ev.names
    assert {"person:aleksandar_vucic", "person:vladimir_putin"} <= ev.concepts


def test_a_capitalised_word_the_text_also_writes_in_lower_case_is_no_name_in_any_spelling() -> None:
    ev = _evidence("Talks", "Officials met at the Zharkov plant. The zarkov line and the Reporters' union agreed. "
                   "A Gorbenko spokesman said reporters' questions could wait.")
    assert "gorbe" in ev.names
    assert not {"zarko", "repor"} & ev.names  # "Zharkov" spelled as "zarkov"; "Reporters'" as "reporters'"


def test_lower_case_words_spelled_one_at_a_time_give_the_stems_of_one_pass() -> None:
    # gather_evidence remembers each word's stems (_spelled_stems) instead of spelling all
    # of a story's lower-case words in one pass: the same stems, in every script.
    texts = [f"{p['title']} {p['text']}" for p in PASSAGES]
    words = sorted({w for t in texts for w in _LETTER_WORD.findall(t) if w[0].islower()})
    assert len(words) > 300
    assert set().union(*(_spelled_stems(w) for w in words)) == {
        s[:STEM_LETTERS] for s in _spell(" ".join(words)).split()}
    # The words without numbers are _WORD's words that are not numbers.
    for t in texts:
        assert _LETTER_WORD.findall(t) == [w for w in _WORD.findall(t) if not w[0].isdigit()]


def test_lower_case_words_read_by_token_are_those_of_one_pass() -> None:
    # _lower_word_stems reads only tokens with punctuation or digits with _LETTER_WORD; a
    # token of letters only is one word. Tricky tokens: inflections after a hyphen or apostrophe,
    # digits and underscores inside words, combining marks, superscripts, no-break spaces.
    texts = [f"{p['title']} {p['text']}" for p in PASSAGES] + [
        "Vučić-a O'Neill’s x--y a-'b 3abc a_b e\u0301t x²y Ⅻ\xa0word\u2003Ђ «Квадрат», (RT)- İstanbul ΣΑΣ (the"
        " reporters' «zakharova» Zharkov-zarkov"]
    for t in texts:
        by_token = {s for token in t.split() for s in _lower_word_stems(token)}
        assert by_token == {s for w in _LETTER_WORD.findall(t) if w[0].islower() for s in _spelled_stems(w)}


def test_the_lead_ends_after_lead_words_words() -> None:
    words = [f"w{i}" for i in range(LEAD_WORDS + 5)]
    text = "  " + " \n".join(words)
    assert text[:_lead_end(text)].split() == words[:LEAD_WORDS]
    short = " ".join(words[:LEAD_WORDS - 1]) + "  "
    assert _lead_end(short) == len(short)


def test_figures_are_read_whatever_the_thousands_separator() -> None:
    assert _evidence("50,000 doses", "It said 2.2 billion and 50 000 more.").numbers == {"50000", "2.2"}
    assert _evidence("50.000 doza", "Stiglo je 50.000 doza.").numbers == {"50000"}


def test_shared_concepts_alone_never_link_two_stories() -> None:
    a = _evidence("Russia and Serbia", "Officials of Russia and Serbia discussed gas, NATO and Kosovo at length.")
    b = _evidence("Serbia and Russia", "Serbia and Russia discussed gas supplies, Kosovo and NATO again.")
    assert len(a.concepts & b.concepts) >= 4
    assert link_stories(a, b) is None


def test_reports_further_apart_than_the_window_never_link() -> None:
    text = "Minister Gašić thanked Moscow at Batajnica; 12 pilots trained in Torzhok for 4250 hours."
    a, b = _evidence("Helicopters", text), _evidence("Helicopters", text, at=DAY + EVENT_WINDOW + timedelta(hours=1))
    assert link_stories(a, _evidence("Helicopters", text, at=DAY + timedelta(days=3))) is not None
    assert link_stories(a, b) is None


def test_words_most_stories_share_are_not_evidence() -> None:
    pool = [EventEvidence(DAY, names=frozenset({"presi", f"n{i}"})) for i in range(40)]
    assert common_words(pool) == {"presi"}
    assert common_words(pool[:5]) == set()  # too few stories to tell what is common


def test_the_labelled_events_are_found_and_no_distractor_joins_them() -> None:
    pool = EventPool(common_words([_evidence(p["title"], p["text"], p["at"]) for p in PASSAGES]))
    predicted: dict[str, str] = {}
    for p in sorted(PASSAGES, key=lambda p: (p["at"], p["id"])):
        ev = _evidence(p["title"], p["text"], p["at"])
        predicted[p["id"]] = pool.choose(ev).event_id or p["id"]
        pool.add(p["id"], predicted[p["id"]], ev)
    gold = {p["id"]: p["event"] for p in PASSAGES}
    precision, recall, _ = bcubed(predicted, gold)
    assert (precision, recall) == (1.0, 1.0), sorted(predicted.items())
    languages = {e: {p["language"] for p in PASSAGES if predicted[p["id"]] == e} for e in set(predicted.values())}
    assert max(len(langs) for langs in languages.values()) == 4


def test_bcubed_scores_a_split_and_a_merge() -> None:
    gold = {"a": "1", "b": "1", "c": "2"}
    assert bcubed({"a": "x", "b": "x", "c": "y"}, gold) == (1.0, 1.0, 1.0)
    p, r, _ = bcubed({"a": "x", "b": "y", "c": "z"}, gold)
    assert (p, round(r, 3)) == (1.0, 0.667)
    p, r, _ = bcubed({"a": "x", "b": "x", "c": "x"}, gold)
    assert (round(p, 3), r) == (0.556, 1.0)


def test_a_story_takes_the_older_event_when_it_shows_two_to_be_one() -> None:
    pool = EventPool()
    shared = frozenset({"torzo", "batai", "gasic", "kralj", "jovan", "rosto"})
    pool.add("s1", "ev_s1", EventEvidence(DAY, names=frozenset({"torzo", "batai", "march", "pilot"})))
    pool.add("s2", "ev_s2", EventEvidence(DAY + timedelta(hours=1), names=frozenset({"gasic", "kralj", "jovan", "rosto"})))
    choice = pool.choose(EventEvidence(DAY + timedelta(hours=2), names=shared | {"march", "pilot"}))
    assert (choice.event_id, choice.also) == ("ev_s1", ("ev_s2",))


def test_words_counted_in_the_warehouse_make_the_same_common_words_for_the_batch() -> None:
    # 300 stored stories and 10 newcomers: the writer counts the stored ones' words in the
    # warehouse (only those of the newcomers) instead of loading them.
    stored = [EventEvidence(DAY, names=frozenset({"presi", f"n{i % 7}", f"s{i}"}), concepts=frozenset({"country:rs"}))
              for i in range(300)]
    batch = [EventEvidence(DAY, names=frozenset({"presi", f"n{i}", f"b{i}"}), terms=frozenset({"s1"}))
             for i in range(10)]
    whole = common_words(stored + batch)
    batch_words = {w for ev in batch for w in ev.names | ev.terms | ev.numbers | ev.concepts}
    counted = {w: sum(w in ev.names | ev.concepts for ev in stored) for w in batch_words}
    assert common_words(batch, elsewhere=counted, elsewhere_stories=len(stored)) == whole & batch_words
    # n7..n9 are in one newcomer each; s1 is one stored story's name and every newcomer's term
    assert whole & batch_words == {"presi", "n0", "n1", "n2", "n3", "n4", "n5", "n6", "s1"}
