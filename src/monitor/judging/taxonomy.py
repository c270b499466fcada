"""The project's taxonomy: concepts, their aliases and theme rules, loaded and validated once.

The file (``data/taxonomy.yaml``) holds every concept id of the shared contract
(``../shared/taxonomy.yaml``) with the project's matching rules; its header documents
the alias syntax. The taxonomy version stored with every tag is
``"<version>+r<revision>.<sha8>"``: the shared contract version, the file's revision
(bumped on purpose) and a content hash, so an edit that forgets the bump still makes
``retag`` re-tag stored articles.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

import duckdb
import yaml

from monitor import settings
from monitor.exceptions import ConfigError

__all__ = [
    "FACETS",
    "SIDES",
    "Concept",
    "ContextAlias",
    "Side",
    "Taxonomy",
    "facet_of",
    "load_taxonomy",
    "parse_taxonomy",
    "save_taxonomy",
]

Side = Literal["russia", "balkans", "other"]
SIDES: tuple[Side, ...] = ("russia", "balkans", "other")
#: Concept-id prefix -> facet, as in the shared contract.
FACETS: Mapping[str, str] = {
    "country": "country",
    "region": "region",
    "person": "person",
    "org": "organization",
    "weapon_system": "weapon_system",
    "theme": "theme",
}


@dataclass(frozen=True)
class ContextAlias:
    """An ambiguous alias (Sofia, Wagner, "the bloc") that counts only with support."""

    alias: str
    needs: tuple[str, ...] = ()  # terms, one of which must be in the same sentence
    unless: tuple[str, ...] = ()  # terms that veto the match in the same sentence
    not_before_name: bool = False  # "Sofia Petrova": a capitalised word follows


@dataclass(frozen=True)
class Concept:
    """One taxonomy concept with its matching rules."""

    id: str
    facet: str
    label: str
    description: str | None = None
    aliases: tuple[str, ...] = ()
    implies: tuple[str, ...] = ()
    side: Side = "other"
    contextual: tuple[ContextAlias, ...] = ()
    #: theme rules: term (alias syntax, or @concept_id / @facet:name / @side:name / @link, or ~cue class,
    #: or several of these joined by " & ": all of them in the sentence, none of those marked "!") -> weight
    terms: tuple[tuple[str, float], ...] = ()
    threshold: float = 0.0
    #: theme actors: a sentence counts for the theme only when one of these (terms or
    #: references, as in ``terms``) is in it ("tensions" make Kosovo-Serbia only with Kosovo)
    needs: tuple[str, ...] = ()
    #: a sentence holding one of these does not count for the theme (Schengen entry is
    #: not EU accession)
    unless: tuple[str, ...] = ()
    #: aliases that count only in a text read as one language: (simplemma code, aliases);
    #: the Romanian "rusi" (Russians, written without diacritics) is the Serbian "ruši"
    language_aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: cities and ports of a country (alias syntax): they put the country's side in play for
    #: relevance (a text on a Russian spy at Durrës port is on Albania's side) but tag
    #: nothing, since a country is tagged by its name, capital or demonym
    places: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    """A loaded, validated taxonomy; ``version`` is stored with every tag."""

    version: str
    concepts: tuple[Concept, ...]
    blockers: tuple[str, ...] = ()
    #: relation cues: (class ("meet", "supply", "expel" ...), language (simplemma's code,
    #: "" for every language), terms (alias syntax, lemmas))
    relations: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    #: word classes for theme rules only (``~class`` terms), in the relations' format; they
    #: link nothing for relevance ("gas" is what a deal is about, not a relation)
    lexicon: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    shared_version: int = 1
    revision: int = 0
    content_hash: str = ""

    def concept(self, concept_id: str) -> Concept:
        """The concept with this id (KeyError if unknown)."""
        for c in self.concepts:
            if c.id == concept_id:
                return c
        raise KeyError(concept_id)

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(c.id for c in self.concepts)


def facet_of(concept_id: str) -> str:
    """The facet named by a concept id's prefix ("org:nato" -> "organization")."""
    prefix, sep, rest = concept_id.partition(":")
    if not sep or not rest or prefix not in FACETS:
        raise ConfigError(f"Concept id {concept_id!r} must look like <facet>:<name>, facet one of {sorted(FACETS)}")
    return FACETS[prefix]


def _strings(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise ConfigError(f"{where} must be a list of strings")
    return tuple(str(v) for v in value)


def _context_alias(raw: object, where: str) -> ContextAlias:
    if not isinstance(raw, dict) or not isinstance(raw.get("alias"), str):
        raise ConfigError(f"{where}: a contextual alias needs an 'alias' string")
    unknown = set(raw) - {"alias", "needs", "unless", "not_before_name"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    return ContextAlias(
        alias=raw["alias"],
        needs=_strings(raw.get("needs"), f"{where}.needs"),
        unless=_strings(raw.get("unless"), f"{where}.unless"),
        not_before_name=bool(raw.get("not_before_name", False)),
    )


def _concept(raw: object, index: int) -> Concept:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise ConfigError(f"concepts[{index}] needs an 'id' string")
    cid: str = raw["id"]
    facet = facet_of(cid)
    if raw.get("facet") not in (None, facet):
        raise ConfigError(f"{cid}: facet {raw.get('facet')!r} does not match its id prefix ({facet})")
    label = raw.get("label")
    if not isinstance(label, str) or not label:
        raise ConfigError(f"{cid}: a label is required")
    side = raw.get("side", "other")
    if side not in SIDES:
        raise ConfigError(f"{cid}: side must be one of {SIDES}, not {side!r}")
    terms_raw = raw.get("terms") or {}
    if not isinstance(terms_raw, dict):
        raise ConfigError(f"{cid}: terms must be a mapping of term -> weight")
    terms: list[tuple[str, float]] = []
    for term, weight in terms_raw.items():
        if not isinstance(weight, (int, float)):
            raise ConfigError(f"{cid}: weight of term {term!r} must be a number")
        terms.append((str(term), float(weight)))
    threshold = raw.get("threshold", 0)
    if not isinstance(threshold, (int, float)):
        raise ConfigError(f"{cid}: threshold must be a number")
    if (raw.get("needs") or raw.get("unless")) and facet != "theme":
        raise ConfigError(f"{cid}: only a theme has needs or unless")
    if facet == "theme" and (not terms or threshold <= 0):
        raise ConfigError(f"{cid}: a theme needs weighted terms and a positive threshold")
    contextual_raw = raw.get("contextual") or []
    if not isinstance(contextual_raw, list):
        raise ConfigError(f"{cid}: contextual must be a list")
    if raw.get("places") and facet != "country":
        raise ConfigError(f"{cid}: only a country has places")
    description = raw.get("description")
    by_language = raw.get("aliases_in") or {}
    if not isinstance(by_language, dict):
        raise ConfigError(f"{cid}: aliases_in must map a language code to a list of aliases")
    return Concept(
        id=cid,
        facet=facet,
        label=label,
        description=str(description) if description is not None else None,
        aliases=_strings(raw.get("aliases"), f"{cid}.aliases"),
        implies=_strings(raw.get("implies"), f"{cid}.implies"),
        side=cast(Side, side),
        contextual=tuple(_context_alias(c, f"{cid}.contextual[{i}]") for i, c in enumerate(contextual_raw)),
        terms=tuple(terms),
        threshold=float(threshold),
        needs=_strings(raw.get("needs"), f"{cid}.needs"),
        unless=_strings(raw.get("unless"), f"{cid}.unless"),
        language_aliases=tuple((str(lang), _strings(a, f"{cid}.aliases_in.{lang}")) for lang, a in by_language.items()),
        places=_strings(raw.get("places"), f"{cid}.places"),
    )


def _check_references(concepts: Sequence[Concept], cue_classes: frozenset[str]) -> None:
    ids = {c.id for c in concepts}
    facets = set(FACETS.values())
    for c in concepts:
        for target in c.implies:
            if target not in ids:
                raise ConfigError(f"{c.id} implies unknown concept {target}")
        parts = [p.strip().lstrip("!") for term, _ in c.terms for p in term.split(" & ")] + list(c.needs) + list(c.unless)
        for term in parts:
            if term.startswith("~") and term[1:] not in cue_classes:
                raise ConfigError(f"{c.id}: term {term} names an unknown relation cue class (nor a lexicon class)")
            if term.startswith("@facet:"):
                if term[len("@facet:"):] not in facets:
                    raise ConfigError(f"{c.id}: term {term} names an unknown facet")
            elif term.startswith("@side:"):
                if term[len("@side:"):] not in SIDES:
                    raise ConfigError(f"{c.id}: term {term} names an unknown side")
            elif term.startswith("@") and term != "@link" and term[1:] not in ids:
                raise ConfigError(f"{c.id}: term {term} names an unknown concept")


def _relations(raw: object, source: str) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """The relation cues: class -> list of terms, or class -> language -> list of terms."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: 'relations' must map a cue class to terms, or to languages and their terms")
    out: list[tuple[str, str, tuple[str, ...]]] = []
    for cls, terms in raw.items():
        if isinstance(terms, dict):
            out += [(str(cls), str(lang), _strings(t, f"relations.{cls}.{lang}")) for lang, t in terms.items()]
        else:
            out.append((str(cls), "", _strings(terms, f"relations.{cls}")))
    return tuple(out)


def parse_taxonomy(text: str, *, source: str = "<taxonomy>") -> Taxonomy:
    """Build a Taxonomy from the YAML text of a taxonomy file (raises ConfigError)."""
    try:
        # The C loader when PyYAML has it: 10x faster on this 900-line file.
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("concepts"), list):
        raise ConfigError(f"{source} needs a top-level 'concepts' list")
    shared_version = data.get("version")
    revision = data.get("revision", 0)
    if not isinstance(shared_version, int) or not isinstance(revision, int):
        raise ConfigError(f"{source}: 'version' and 'revision' must be integers")
    concepts = tuple(_concept(raw, i) for i, raw in enumerate(data["concepts"]))
    seen: set[str] = set()
    for c in concepts:
        if c.id in seen:
            raise ConfigError(f"{source}: concept {c.id} is defined twice")
        seen.add(c.id)
    relations = _relations(data.get("relations"), source)
    lexicon = _relations(data.get("lexicon"), source)
    if {cls for cls, _, _ in relations} & {cls for cls, _, _ in lexicon}:
        raise ConfigError(f"{source}: a lexicon class has the name of a relation class")
    _check_references(concepts, frozenset(cls for cls, _, _ in relations + lexicon))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Taxonomy(
        version=f"{shared_version}+r{revision}.{digest[:8]}",
        concepts=concepts,
        blockers=_strings(data.get("blockers"), "blockers"),
        relations=relations,
        lexicon=lexicon,
        shared_version=shared_version,
        revision=revision,
        content_hash=digest,
    )


def load_taxonomy(path: Path = settings.DEFAULT_TAXONOMY) -> Taxonomy:
    """Load and validate a taxonomy file (raises ConfigError)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read the taxonomy {path}: {exc}") from exc
    return parse_taxonomy(text, source=str(path))


def save_taxonomy(con: duckdb.DuckDBPyConnection, taxonomy: Taxonomy) -> None:
    """Write every concept to the ``taxonomy`` table, one row an id (ids are never dropped).

    One MERGE (the warehouse has no key to replace rows by), and none when the table
    already holds this version of every concept: in a lake each write is a snapshot.
    """
    cs = taxonomy.concepts
    current = con.execute(
        "SELECT count(*) FILTER (version = $v AND list_contains($ids, concept_id)) FROM taxonomy",
        {"v": taxonomy.version, "ids": [c.id for c in cs]},
    ).fetchall()
    if current and current[0][0] == len(cs):
        return
    con.execute(
        """
        MERGE INTO taxonomy USING (
            SELECT unnest($ids) AS concept_id, unnest($facets) AS facet, unnest($labels) AS label,
                   unnest($descriptions) AS description, unnest($implies) AS implies,
                   unnest($sides) AS side, $version AS version
        ) AS s ON taxonomy.concept_id = s.concept_id
        WHEN MATCHED THEN UPDATE SET facet = s.facet, label = s.label, description = s.description,
            implies = s.implies, side = s.side, version = s.version
        WHEN NOT MATCHED THEN INSERT (concept_id, facet, label, description, implies, side, version)
            VALUES (s.concept_id, s.facet, s.label, s.description, s.implies, s.side, s.version)
        """,
        {
            "ids": [c.id for c in cs],
            "facets": [c.facet for c in cs],
            "labels": [c.label for c in cs],
            "descriptions": [c.description for c in cs],
            "implies": [list(c.implies) for c in cs],
            "sides": [c.side for c in cs],
            "version": taxonomy.version,
        },
    ).fetchall()
