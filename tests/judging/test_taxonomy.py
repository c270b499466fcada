"""The project taxonomy keeps the shared contract and loads into the warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.exceptions import ConfigError
from monitor.settings import DEFAULT_TAXONOMY, PROJECT_ROOT
from monitor.judging.tagging import compile_matcher, tag_text
from monitor.judging.taxonomy import facet_of, load_taxonomy, parse_taxonomy, save_taxonomy

SHARED = PROJECT_ROOT.parent / "shared" / "taxonomy.yaml"


def _shared_concepts() -> list[dict[str, object]]:
    # The shared file's `facets:` block is not valid YAML (an unquoted ": " in a value),
    # so read the contract from its `concepts:` list onwards.
    text = SHARED.read_text(encoding="utf-8")
    concepts = yaml.safe_load(text[text.index("\nconcepts:"):])["concepts"]
    assert isinstance(concepts, list)
    return concepts


@pytest.mark.skipif(not SHARED.exists(), reason="the shared contract is not next to this checkout")
def test_every_shared_concept_is_present_with_the_same_facet_and_label() -> None:
    ours = {c.id: c for c in load_taxonomy().concepts}
    shared = _shared_concepts()
    assert len(shared) >= 80
    for c in shared:
        cid = str(c["id"])
        assert cid in ours, f"{cid} dropped or renamed"
        assert ours[cid].label == c["label"], cid
        assert ours[cid].facet == facet_of(cid)
        assert tuple(c.get("implies") or ()) == ours[cid].implies or set(c.get("implies") or ()) <= set(ours[cid].implies)


@pytest.mark.skipif(not SHARED.exists(), reason="the shared contract is not next to this checkout")
def test_every_shared_alias_still_names_its_concept() -> None:
    t = load_taxonomy()
    matcher = compile_matcher(t)
    for c in _shared_concepts():
        concept = t.concept(str(c["id"]))
        contextual = {x.alias for x in concept.contextual}
        for alias in c.get("aliases") or ():
            if str(alias) in contextual:
                continue  # ambiguous alone by design (Sofia, Wagner, the Alliance): see test_tagging
            found = {tag.concept_id for tag in tag_text(matcher, "", f"Reports mention {alias} today.")}
            assert concept.id in found, (concept.id, alias, found)


def test_version_is_shared_version_plus_revision_plus_content_hash() -> None:
    t = load_taxonomy()
    assert t.version == f"1+r{t.revision}.{t.content_hash[:8]}"
    assert t.shared_version == 1 and t.revision >= 1


def test_changing_the_file_changes_the_version() -> None:
    text = DEFAULT_TAXONOMY.read_text(encoding="utf-8")
    assert parse_taxonomy(text).version != parse_taxonomy(text + "\n# edited\n").version


def test_every_concept_has_a_side_and_themes_have_rules() -> None:
    t = load_taxonomy()
    assert t.concept("country:russia").side == "russia"
    assert t.concept("country:serbia").side == "balkans"
    assert t.concept("country:ukraine").side == "other"
    assert all(c.terms and c.threshold > 0 for c in t.concepts if c.facet == "theme")
    assert len([c for c in t.concepts if c.facet == "theme"]) == 15


def test_save_taxonomy_writes_one_row_per_concept(con) -> None:  # type: ignore[no-untyped-def]
    t = load_taxonomy()
    save_taxonomy(con, t)
    save_taxonomy(con, t)  # re-runnable
    assert con.execute("SELECT count(*) FROM taxonomy").fetchall() == [(len(t.concepts),)]
    rows = con.execute(
        "SELECT * FROM taxonomy WHERE concept_id IN ('country:republika_srpska', 'theme:energy') ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("country:republika_srpska", "country", "Republika Srpska", None, ["country:bosnia_herzegovina"],
         "balkans", t.version),
        ("theme:energy", "theme", "Energy",
         "Oil, gas, pipelines, nuclear or power deals, energy dependence, energy companies.", [], "other", t.version),
    ]


def test_unknown_implied_concept_is_a_config_error() -> None:
    text = "version: 1\nconcepts:\n  - {id: 'country:x', label: X, implies: ['country:nowhere']}\n"
    with pytest.raises(ConfigError, match="implies unknown"):
        parse_taxonomy(text)


def test_theme_without_rules_and_bad_ids_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="theme needs"):
        parse_taxonomy("version: 1\nconcepts:\n  - {id: 'theme:x', label: X}\n")
    with pytest.raises(ConfigError, match="facet"):
        parse_taxonomy("version: 1\nconcepts:\n  - {id: 'planet:mars', label: Mars}\n")
    with pytest.raises(ConfigError, match="twice"):
        parse_taxonomy("version: 1\nconcepts:\n  - {id: 'country:x', label: X}\n  - {id: 'country:x', label: Y}\n")


def test_missing_or_broken_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_taxonomy(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("facets:\n  country: a: b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_taxonomy(bad)


def test_relation_cues_are_read_per_class_and_language() -> None:
    taxonomy = parse_taxonomy(
        "version: 1\nrevision: 1\n"
        "relations:\n  meet:\n    en: [meet]\n    bg: [среща]\n  veto: [veto]\n"
        "concepts:\n  - {id: 'theme:diplomatic_support', label: D, threshold: 2, terms: {'~meet': 2}}\n")
    assert taxonomy.relations == (("meet", "en", ("meet",)), ("meet", "bg", ("среща",)), ("veto", "", ("veto",)))


def test_a_theme_term_naming_an_unknown_relation_class_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown relation cue class"):
        parse_taxonomy(
            "version: 1\nrevision: 1\nrelations: {meet: [meet]}\n"
            "concepts:\n  - {id: 'theme:diplomatic_support', label: D, threshold: 2, terms: {'~greet': 2}}\n")


def test_language_aliases_are_read_per_language_and_must_be_a_mapping() -> None:
    taxonomy = parse_taxonomy(
        "version: 1\nconcepts:\n  - {id: 'country:russia', label: Russia, aliases: [Russia], aliases_in: {ro: [rus, rusi]}}\n")
    assert taxonomy.concept("country:russia").language_aliases == (("ro", ("rus", "rusi")),)
    with pytest.raises(ConfigError, match="aliases_in"):
        parse_taxonomy("version: 1\nconcepts:\n  - {id: 'country:x', label: X, aliases_in: [rus]}\n")


def test_places_are_read_for_a_country_and_refused_elsewhere() -> None:
    taxonomy = parse_taxonomy(
        "version: 1\nconcepts:\n  - {id: 'country:albania', label: Albania, side: balkans, places: [Durrës*, Vlor+]}\n")
    assert taxonomy.concept("country:albania").places == ("Durrës*", "Vlor+")
    with pytest.raises(ConfigError, match="only a country has places"):
        parse_taxonomy("version: 1\nconcepts:\n  - {id: 'org:x', label: X, places: [Durrës]}\n")
