import pytest

from monitor.exceptions import ConfigError
from monitor.models import Source
from monitor.settings import DEFAULT_SOURCES
from monitor.runs.sources import dump_sources, load_sources, parse_sources


def test_bundled_sources_are_valid_and_cover_state_media_and_independent_press():
    sources = load_sources(DEFAULT_SOURCES)
    owners = {s.owner for s in sources}
    assert len(sources) >= 20
    assert {"independent", "state-affiliated", "think-tank"} <= owners
    assert {"balkan-insight", "sputnik-srbija", "euvsdisinfo", "tass"} <= {s.name for s in sources}
    assert all(s.language and s.country for s in sources)


def test_minimal_entry_gets_defaults():
    [s] = parse_sources("sources:\n  - {name: a, url: 'https://a.rs/feed'}\n")
    assert s == Source(name="a", url="https://a.rs/feed", poll_minutes=60)


@pytest.mark.parametrize(
    "text, message",
    [
        ("[]", "top-level 'sources:' list"),
        ("sources:\n  - {url: 'https://a.rs/feed'}", "'name' is required"),
        ("sources:\n  - {name: a, url: 'file:///etc/passwd'}", "must be an http(s) URL"),
        ("sources:\n  - {name: a, url: 'https://a.rs/f', langauge: sr}", "unknown keys ['langauge']"),
        ("sources:\n  - {name: a, url: 'https://a.rs/f'}\n  - {name: a, url: 'https://b.rs/f'}", "duplicate name 'a'"),
        ("sources:\n  - {name: a, url: 'https://a.rs/f', owner: kremlin}", "owner 'kremlin' is not one of"),
        ("sources:\n  - {name: a, url: 'https://a.rs/f', poll_minutes: 0}", "poll_minutes must be a positive integer"),
        ("sources: [", "not valid YAML"),
        ("sources:\n  - {name: a, url: 'https://a.rs/f', poll_minutes: true}",
         "s.yaml, line 2: source #1 (a): poll_minutes must be a positive integer, got True"),
        ("sources:\n  - {name: a, url: 'https://a.rs/f'}\n  - name: b\n    url: 'https://b.rs/f'\n"
         "    language: [1, 2]", "s.yaml, line 3: source #2 (b): language must be text, got [1, 2]"),
        ("sources:\n  - {name: a, url: 'https://a.rs/f', notes: {x: 1}}", "notes must be text, got {'x': 1}"),
    ],
)
def test_invalid_sources_files_get_a_clear_error(text, message):
    with pytest.raises(ConfigError) as exc:
        parse_sources(text, origin="s.yaml")
    assert message in str(exc.value)
    assert str(exc.value).startswith("s.yaml")


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="Cannot read sources file"):
        load_sources(tmp_path / "nope.yaml")


def test_dump_then_parse_round_trips():
    sources = [Source(name="a", url="https://a.rs/feed", language="sr", owner="independent", poll_minutes=30)]
    assert parse_sources(dump_sources(sources)) == sources


def test_a_sources_file_that_is_not_utf8_is_a_config_error_naming_the_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes("sources:\n  - name: a\n    url: 'https://a.rs/f'\n    notes: Beograd\n    country: Србија\n"
                     .encode("cp1251"))
    with pytest.raises(ConfigError) as exc:
        load_sources(path)
    assert str(exc.value) == f"{path}, line 5: not UTF-8 (byte 0xd1); save the sources file as UTF-8"


def test_default_registry_gives_every_label_a_reason_and_every_state_outlet_its_state() -> None:
    sources = load_sources(DEFAULT_SOURCES)
    assert all(s.owner and s.owner_reason and s.cited_as for s in sources)
    state = {s.name: s.state for s in sources if s.owner in ("state-affiliated", "state-funded")}
    assert state == {"rferl-balkan-service": "US", "rferl-english": "US", "tass": "RU", "ria-novosti": "RU",
                     "sputnik-srbija": "RU", "rt-balkan": "RU", "rtrs-republika-srpska": "BA"}


def test_cited_as_must_be_a_list_of_names() -> None:
    ok = parse_sources("sources:\n  - {name: a, url: 'https://a.rs/f', owner: party, cited_as: [A, А]}")
    assert ok[0].cited_as == ("A", "А") and ok[0].owner == "party"
    with pytest.raises(ConfigError, match="cited_as must be a list of names"):
        parse_sources("sources:\n  - {name: a, url: 'https://a.rs/f', cited_as: Sputnik}")
