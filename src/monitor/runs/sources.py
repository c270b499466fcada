"""The sources registry: a YAML file with a top-level ``sources:`` list.

Each entry needs ``name`` and ``url`` (the feed); ``language``, ``country``, ``owner``,
``poll_minutes``, ``homepage``, ``notes``, ``state`` (the state behind a state-affiliated
or state-funded outlet), ``owner_reason`` (why the owner label: what an analyst can
check) and ``cited_as`` (the names other outlets credit it by) are optional. Unknown keys are an error,
because a typo (``langauge``) would otherwise be silently ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from monitor.exceptions import ConfigError
from monitor.models import Source
from monitor.reading.urls import is_http_url

__all__ = ["load_sources", "parse_sources", "dump_sources", "OWNER_TYPES", "STATE_OWNER_TYPES"]

#: Who stands behind an outlet; analysts filter on it (state media vs independent press).
#: state-affiliated: the state controls what it publishes (state agency or broadcaster
#: under government editorial control); state-funded: paid for by a state with a charter
#: of editorial independence (RFE/RL, public broadcasters); party: owned by a party;
#: unknown: not established. The finer kinds of non-state owner (private, think-tank,
#: ngo, eu-institution) are kept: analysts filter on them too.
OWNER_TYPES = frozenset(
    {"state-affiliated", "state-funded", "independent", "party", "unknown",
     "public", "think-tank", "eu-institution", "ngo", "private", "demo"}
)
#: Owner types that need the state behind them (``state``).
STATE_OWNER_TYPES = frozenset({"state-affiliated", "state-funded"})
_FIELDS = {f.name for f in fields(Source)}
#: Optional fields that hold text: `language: [1, 2]` is refused, not stored as a list.
_TEXT_FIELDS = ("language", "country", "owner", "homepage", "notes")


def load_sources(path: Path) -> list[Source]:
    """Read and validate a sources file."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read sources file {path}: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}, line {line}: not UTF-8 (byte 0x{raw[exc.start]:02x}); "
                          "save the sources file as UTF-8") from exc
    return parse_sources(text, origin=str(path))


#: libyaml's parser when PyYAML has it (the wheels do): the file is read at every run,
#: twice (values, then lines for messages), 0.14 s for 100 sources in pure Python.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_sources(text: str, *, origin: str = "<sources>") -> list[Source]:
    """Validate the YAML text of a sources file into Source values."""
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise ConfigError(f"{origin}: expected a top-level 'sources:' list")
    lines = _item_lines(text)
    out: list[Source] = []
    seen: set[str] = set()
    for i, item in enumerate(data["sources"], start=1):
        line = lines[i - 1] if i <= len(lines) else None
        where = f"{origin}, line {line}: source #{i}" if line else f"{origin}: source #{i}"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected a mapping with at least name and url")
        unknown = set(item) - _FIELDS
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(_FIELDS)}")
        name, url = item.get("name"), item.get("url")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}: 'name' is required")
        if name in seen:
            raise ConfigError(f"{where}: duplicate name {name!r}")
        if not isinstance(url, str) or not is_http_url(url):
            raise ConfigError(f"{where} ({name}): 'url' must be an http(s) URL, got {url!r}")
        owner = item.get("owner")
        if owner is not None and owner not in OWNER_TYPES:
            raise ConfigError(f"{where} ({name}): owner {owner!r} is not one of {sorted(OWNER_TYPES)}")
        poll = item.get("poll_minutes", 60)
        # bool is an int to Python: `poll_minutes: true` would poll every minute.
        if isinstance(poll, bool) or not isinstance(poll, int) or poll < 1:
            raise ConfigError(f"{where} ({name}): poll_minutes must be a positive integer, got {poll!r}")
        cited = item.get("cited_as", [])
        if not isinstance(cited, list) or not all(isinstance(c, str) and c.strip() for c in cited):
            raise ConfigError(f"{where} ({name}): cited_as must be a list of names")
        for key in (*_TEXT_FIELDS, "state", "owner_reason"):
            if item.get(key) is not None and not isinstance(item[key], str):
                raise ConfigError(f"{where} ({name}): {key} must be text, got {item[key]!r}")
        seen.add(name)
        values: dict[str, Any] = {k: item[k] for k in item}
        values["poll_minutes"] = poll
        values["cited_as"] = tuple(cited)
        out.append(Source(**values))
    return out


def _item_lines(text: str) -> list[int]:
    """The line (1-based) where each entry of the ``sources:`` list starts, for error messages."""
    root = yaml.compose(text, Loader=_LOADER)  # nodes only: nothing is constructed
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "sources" and isinstance(value, yaml.SequenceNode):
            return [node.start_mark.line + 1 for node in value.value]
    return []


def dump_sources(sources: Iterable[Source]) -> str:
    """YAML text for a sources list (used by the demo to write its loopback sources)."""
    items = []
    for s in sources:
        item = {f: getattr(s, f) for f in sorted(_FIELDS) if getattr(s, f) not in (None, ())}
        if "cited_as" in item:
            item["cited_as"] = list(item["cited_as"])
        items.append(item)
    return yaml.safe_dump({"sources": items}, sort_keys=False, allow_unicode=True)
