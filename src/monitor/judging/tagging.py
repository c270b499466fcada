"""Tag a text with taxonomy concepts: names by alias, themes by weighted sentence rules.

``compile_matcher`` turns a Taxonomy into a Matcher once per taxonomy version: every
alias and theme term becomes a word pattern in a dictionary keyed by its first word
(folded: lower case, no diacritics, Cyrillic transliterated, so Serbian Latin and
Cyrillic spellings meet). Matching walks the words of a text once, so its cost grows
with the text, not with the number of aliases. The Matcher holds only plain dicts and
tuples, so it pickles to worker processes.

Names: the longest alias at a position wins and consumes its words ("Russian Orthodox
Church" is the church, not also Russia). Themes (EMM style): each sentence scores the
sum of the weights of the distinct terms in it; a theme is tagged when one sentence
reaches the theme's threshold, so a stray word does not make a theme. A word counts once
however many terms match it ("investors" is both ``invest*`` and ``investor*``;
"narrative" is ``narrative*`` and, transliterated, ``нарратив*``). Counted twice, one
ordinary word reached a threshold of 3 on its own: 16 of the 71 theme tags of 181 real
news articles on other topics (Zyte's benchmark bodies, ``benchmarks/bench_tagging.py``).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import accumulate, compress, repeat
from typing import NamedTuple

import simplemma

from monitor.models import Tag
from monitor.reading.language import identify_language, lemma_language
from monitor.reading.normalize import fold
from monitor.judging.taxonomy import Taxonomy

__all__ = ["Matcher", "TextAnalysis", "analyse_text", "compile_matcher", "fold", "tag_text", "EVIDENCE_MAX_CHARS"]

#: Evidence stored with a tag: the sentence that produced it, cut to this length.
EVIDENCE_MAX_CHARS = 300
#: Letters a word may add after an alias stem ("Srbij*" -> Srbijom): covers Serbian and
#: Russian case endings (-ima, -ami, -ogo) without reaching unrelated longer words.
MAX_SUFFIX = 4
#: Stems are looked up by prefix; a folded word is at most this much longer than the
#: raw stem when transliteration doubles letters (я -> ja, љ -> lj).
_PREFIX_SPAN = 2 * MAX_SUFFIX

_WORD_SPLIT = re.compile(r"([^\W_]+)")
_ALIAS_WORD = re.compile(r"([^\W_]+)([*+]?)")
_LAST_WORD = re.compile(r"([^\W_]+)$")
#: What a word cache answers for a word it has not seen: no word folds to it, nor is it a lemma.
_NOT_CACHED = "\0"
#: Between the words of one name: spaces, hyphens, quotes (at most 3 characters), or the
#: dot of an abbreviation ("U.S.").
_GAP_CHARS = " \t\r\n-\u2010\u2011\u2013'\u2019\"\u201c\u201d\u00ab\u00bb\u201e\u00a0"
#: A run of end marks, closing quotes and spaces, or a blank line. Written to begin with one
#: character class (the branch is chosen by that character): the regex engine then skips
#: to the next candidate character in C, where "[.!?]+...|\n\s*\n" tried a match at every
#: character; finding the sentence ends was two thirds of splitting sentences.
_SENTENCE_END = re.compile(r"[.!?\u2026\n](?:(?<=\n)\s*\n|(?<!\n)[.!?\u2026]*[\"'\u201d\u2019\u00bb)\]]*\s+)")
#: Abbreviations after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "st", "gen", "lt", "col", "prof", "no", "sen", "rep", "gov", "jr", "sr", "vs", "etc", "tzv", "npr", "str", "ул", "г", "им"})
_ABBREVIATION_MAX = max(map(len, _ABBREVIATIONS))


#: A place (a city or port, the taxonomy's ``places``) is matched like a name, longest
#: first, but makes no tag and no theme reference: it stands for its country's side in
#: relevance only (TextAnalysis.place_sentences).
_NAME, _TERM, _BLOCK, _PLACE = 0, 1, 2, 3

#: Serbian Cyrillic to Serbian Latin with its diacritics, for the lemmatiser: simplemma's
#: Serbo-Croatian dictionary is written in Latin letters ("ч" must become "č", not "c").
_SERBIAN_LATIN = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ђ": "đ", "е": "e", "ж": "ž", "з": "z", "и": "i",
    "ј": "j", "к": "k", "л": "l", "љ": "lj", "м": "m", "н": "n", "њ": "nj", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "ћ": "ć", "у": "u", "ф": "f", "х": "h", "ц": "c", "ч": "č", "џ": "dž", "ш": "š",
})


@dataclass(frozen=True)
class _Word:
    text: str  # folded, or raw when case-sensitive
    min_extra: int
    max_extra: int
    case: bool


@dataclass(frozen=True)
class _Pattern:
    words: tuple[_Word, ...]
    kind: int  # _NAME | _TERM | _BLOCK | _PLACE
    target: str  # concept id (names, places), term key (terms), "" (blockers)
    context: int = -1  # index into Matcher.contextual for ambiguous aliases
    lang: str = ""  # a name that counts only in a text read as this language (simplemma code)


@dataclass(frozen=True)
class _Context:
    needs: tuple[str, ...]
    unless: tuple[str, ...]
    not_before_name: bool


#: Distinct words remembered by the caches below before they start afresh, so that they
#: stay bounded however long an import runs: 200k words measured 40 MB, 100k ~20 MB.
#: Starting afresh costs one fold and one pattern lookup per word seen again.
WORD_CACHE_MAX = 100_000

#: Word patterns begun by one folded word: (one-word patterns it matches outright,
#: patterns to check at each position, patterns keyed by their plain second word,
#: case-sensitive one-word patterns keyed by the raw word they are).
_Begun = tuple[list["_Pattern"], list["_Pattern"], dict[str, list["_Pattern"]], dict[str, list["_Pattern"]]]


class _WordPatterns:
    """Per-process memory of what each word folds to and which patterns it begins.

    News vocabulary repeats from one article to the next, so after the first pages
    almost every word is a dictionary hit and a text's words are scanned by C-level
    set and map calls, not a Python loop. Pickles empty (workers fill their own).
    Full caches are replaced, not cleared, so a thread holding the old ones is safe.
    """

    def __init__(self) -> None:
        #: (raw word -> folded, folded word -> what it begins (only words that begin a
        #: pattern), every folded word decided): one attribute, read in one step.
        self.state: tuple[dict[str, str], dict[str, _Begun], set[str]] = ({}, {}, set())
        #: lemma language -> (raw word -> its lemma, folded)
        self.lemmas: dict[str, dict[str, str]] = {}
        #: language typed without diacritics -> folded form -> folded lemma (_folded_dictionary)
        self.folded_forms: dict[str, dict[str, str]] = {}

    def __reduce__(self) -> tuple[type[_WordPatterns], tuple[()]]:
        return (_WordPatterns, ())

    def current(self) -> tuple[dict[str, str], dict[str, _Begun], set[str]]:
        """The caches to use for one text; new empty ones once they are full."""
        folded, _, decided = self.state
        if len(folded) > WORD_CACHE_MAX or len(decided) > WORD_CACHE_MAX:
            self.state = ({}, {}, set())
        return self.state

    def lemmas_of(self, lang: str) -> dict[str, str]:
        """raw word -> folded lemma in ``lang``; a new empty map once it is full."""
        got = self.lemmas.get(lang)
        if got is None or len(got) > WORD_CACHE_MAX:
            got = self.lemmas[lang] = {}
        return got


#: Languages often typed without their diacritics: Romanian news sites write "rusi",
#: "tari", "alimenteaza" for "ruși", "țări", "alimentează", which simplemma does not know.
#: A word it does not know is looked up again among its dictionary's forms, folded.
UNDIACRITISED_LANGUAGES = frozenset({"ro"})


def _folded_dictionary(lang: str, wanted: Callable[[str], bool]) -> dict[str, str]:
    """Folded form -> folded lemma for the forms of simplemma's ``lang`` that have diacritics.

    Only lemmas ``wanted`` (those that begin a pattern) are kept: the whole Romanian map
    held 154k forms and 60 MB; a lemma no pattern begins would be dropped by the sweep
    anyway. A folded form shared by two lemmas is left out rather than guessed, and
    lower-case forms come first: a capitalised one is a name or a sentence start ("Ruși"
    is listed as its own lemma; "ruși" is the plural of "rus"). ~2 s once per process
    and language, on the first text in that language.
    """
    from simplemma.strategies.dictionaries.dictionary_factory import DefaultDictionaryFactory

    lower: dict[str, str] = {}
    upper: dict[str, str] = {}
    ambiguous: set[str] = set()
    verdict: dict[str, bool] = {}
    for form, lemma in DefaultDictionaryFactory().get_dictionary(lang).items():
        if form.isascii():
            continue
        key, value = fold(form), fold(lemma)
        if key == value:
            continue  # the lemma of its folded self: a lookup would change nothing
        into = lower if form.islower() else upper
        if into.setdefault(key, value) != value:
            ambiguous.add(key)
    got = {k: v for k, v in upper.items() if k not in ambiguous and k not in lower}
    got.update((k, v) for k, v in lower.items() if k not in ambiguous)
    for k, v in list(got.items()):
        ok = verdict.get(v)
        if ok is None:
            ok = verdict[v] = wanted(v)
        if not ok:
            del got[k]
    return got


def _lemma(word: str, lang: str, folded_forms: dict[str, str] | None = None) -> str:
    """The folded lemma of one word in simplemma's language ``lang`` (the word itself when unknown).

    ``folded_forms`` (see _folded_dictionary): where to look up a word simplemma does not know.
    """
    if lang == "hbs":
        word = word.lower().translate(_SERBIAN_LATIN)
    # Bulgarian reflexive verbs come as "срещна-(се)": the verb is what the taxonomy lists.
    lemma = simplemma.lemmatize(word, lang=lang).split("-(", 1)[0]
    if folded_forms is not None and word.isascii() and lemma.lower() == word.lower():
        return folded_forms.get(fold(word), fold(lemma))
    return fold(lemma)


@dataclass(frozen=True)
class Matcher:
    """A taxonomy compiled for matching; build with ``compile_matcher``. Picklable."""

    version: str
    exact: dict[str, tuple[_Pattern, ...]]
    stems: dict[str, tuple[_Pattern, ...]]
    stem_lengths: tuple[int, ...]
    contextual: tuple[_Context, ...]
    facets: dict[str, str]
    sides: dict[str, str]
    implies: dict[str, tuple[str, ...]]
    #: theme index -> (concept id, threshold)
    themes: tuple[tuple[str, float], ...]
    #: relation cue term key -> ((cue class, language or "" for any), ...)
    relation_terms: dict[str, tuple[tuple[str, str], ...]]
    #: languages (simplemma codes) that have cue lists of their own
    relation_languages: frozenset[str]
    #: term key or @reference -> ((theme index, weight), ...)
    weights: dict[str, tuple[tuple[int, float], ...]]
    facet_order: dict[str, int] = field(default_factory=dict)
    #: cue classes for theme rules only (the taxonomy's lexicon): never a relation
    lexical_classes: frozenset[str] = frozenset()
    #: theme terms that need all their parts in one sentence: (weight key, parts, parts
    #: that must be absent: "!~expel")
    conjunctions: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()
    #: theme index -> the terms or references one of which its sentence must hold
    theme_needs: dict[int, frozenset[str]] = field(default_factory=dict)
    #: theme index -> the terms or references none of which its sentence may hold
    theme_unless: dict[int, frozenset[str]] = field(default_factory=dict)
    #: What each folded word begins, decided once per process (see _WordPatterns).
    word_patterns: _WordPatterns = field(default_factory=_WordPatterns, compare=False, repr=False)


def _parse_alias(spec: str) -> tuple[_Word, ...]:
    case = spec.startswith("=")
    body = spec[1:] if case else spec
    words = []
    for m in _ALIAS_WORD.finditer(body):
        text, mark = m.group(1), m.group(2)
        lo, hi = {"": (0, 0), "*": (0, MAX_SUFFIX), "+": (1, MAX_SUFFIX)}[mark]
        words.append(_Word(text=text if case else fold(text), min_extra=lo, max_extra=hi, case=case))
    return tuple(words)


def _closure(concept_id: str, implies: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    out: list[str] = []
    stack = list(implies.get(concept_id, ()))
    while stack:
        c = stack.pop()
        if c not in out and c != concept_id:
            out.append(c)
            stack.extend(implies.get(c, ()))
    return tuple(out)


def compile_matcher(taxonomy: Taxonomy) -> Matcher:
    """Compile a taxonomy's aliases and theme rules into a Matcher (once per version)."""
    patterns: dict[tuple[tuple[_Word, ...], int, str, int, str], _Pattern] = {}
    contextual: list[_Context] = []

    def add(spec: str, kind: int, target: str, context: int = -1, lang: str = "") -> None:
        words = _parse_alias(spec)
        if words:
            patterns.setdefault((words, kind, target, context, lang), _Pattern(words, kind, target, context, lang))

    def add_terms(specs: Iterable[str]) -> None:
        for spec in specs:
            if " & " in spec:
                add_terms(p.strip().lstrip("!") for p in spec.split(" & "))
            elif not spec.startswith(("@", "~")):
                add(spec, _TERM, spec)

    for blocker in taxonomy.blockers:
        add(blocker, _BLOCK, "")
    themes: list[tuple[str, float]] = []
    weights: dict[str, list[tuple[int, float]]] = {}
    relation_terms: dict[str, list[tuple[str, str]]] = {}
    conjunctions: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    theme_needs: dict[int, frozenset[str]] = {}
    theme_unless: dict[int, frozenset[str]] = {}
    # not_<class> lists cancel <class> in their sentence (taxonomy.yaml, "relations").
    for cls, lang, specs in taxonomy.relations + taxonomy.lexicon:
        for spec in specs:
            relation_terms.setdefault(spec, []).append((cls, lang))
        add_terms(specs)
    for concept in taxonomy.concepts:
        for alias in concept.aliases:
            add(alias, _NAME, concept.id)
        for alias_lang, specs in concept.language_aliases:
            for alias in specs:
                add(alias, _NAME, concept.id, lang=alias_lang)
        for place in concept.places:
            add(place, _PLACE, concept.id)
        for ctx in concept.contextual:
            contextual.append(_Context(ctx.needs, ctx.unless, ctx.not_before_name))
            add(ctx.alias, _NAME, concept.id, len(contextual) - 1)
            add_terms(ctx.needs + ctx.unless)
        if concept.terms:
            index = len(themes)
            themes.append((concept.id, concept.threshold))
            for term, weight in concept.terms:
                weights.setdefault(term, []).append((index, weight))
                if " & " in term:
                    parts = [p.strip() for p in term.split(" & ")]
                    conjunctions.setdefault(term, (tuple(p for p in parts if not p.startswith("!")),
                                                   tuple(p[1:] for p in parts if p.startswith("!"))))
            add_terms(term for term, _ in concept.terms)
            if concept.needs:
                theme_needs[index] = frozenset(concept.needs)
                add_terms(concept.needs)
            if concept.unless:
                theme_unless[index] = frozenset(concept.unless)
                add_terms(concept.unless)

    exact: dict[str, list[_Pattern]] = {}
    stems: dict[str, list[_Pattern]] = {}
    for p in patterns.values():
        first = p.words[0]
        key = fold(first.text) if first.case else first.text
        (stems if first.max_extra else exact).setdefault(key, []).append(p)
    implies = {c.id: c.implies for c in taxonomy.concepts if c.implies}
    return Matcher(
        version=taxonomy.version,
        exact={k: tuple(v) for k, v in exact.items()},
        stems={k: tuple(v) for k, v in stems.items()},
        stem_lengths=tuple(sorted({len(k) for k in stems})),
        contextual=tuple(contextual),
        facets={c.id: c.facet for c in taxonomy.concepts},
        sides={c.id: c.side for c in taxonomy.concepts},
        implies={c: _closure(c, implies) for c in implies},
        themes=tuple(themes),
        relation_terms={k: tuple(v) for k, v in relation_terms.items()},
        relation_languages=frozenset(lang for _, lang, _ in taxonomy.relations if lang),
        weights={k: tuple(v) for k, v in weights.items()},
        facet_order={f: i for i, f in enumerate(("country", "region", "person", "organization", "weapon_system", "theme"))},
        lexical_classes=frozenset(cls for cls, _, _ in taxonomy.lexicon),
        conjunctions=tuple((k, yes, no) for k, (yes, no) in conjunctions.items()),
        theme_needs=theme_needs,
        theme_unless=theme_unless,
    )


class _Mention(NamedTuple):  # a NamedTuple: ~80 are made a page, 4x cheaper than a frozen dataclass
    concept_id: str
    start: int
    end: int
    sentence: int
    context: int


@dataclass(frozen=True)
class TextAnalysis:
    """What one pass over a text found: tags, and which sentences name which concepts."""

    text: str  # title + blank line + body, the string offsets refer to
    sentences: tuple[tuple[int, int], ...]
    #: concept id -> sentence indexes that name it (names, implied concepts included)
    concept_sentences: dict[str, tuple[int, ...]]
    #: theme id -> (best sentence score, best sentence index)
    theme_scores: dict[str, tuple[float, int]]
    tags: tuple[Tag, ...]
    #: the language the text was read in (given, or identified), None when unknown
    language: str | None = None
    #: theme id -> every sentence whose score reaches the theme's threshold
    theme_sentences: dict[str, tuple[int, ...]] = field(default_factory=dict)
    #: sentence index -> the relation cue classes in it (meet, supply, expel ...)
    relation_sentences: dict[int, tuple[str, ...]] = field(default_factory=dict)
    #: country id -> sentences naming one of its places (cities, ports), implied countries
    #: included; a place tags nothing but stands for its country's side
    place_sentences: dict[str, tuple[int, ...]] = field(default_factory=dict)


def _split_sentences(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        end, stop, mark = m.end(), m.start(), m.group(0)
        # Without a line break the mark cannot be a paragraph break ("\n\n" or "\r\n\r\n").
        if "\n" not in mark or ("\n\n" not in mark.replace("\r", "") and not mark.startswith("\n")):
            nxt = text[end:end + 1]
            if nxt and not (nxt.isupper() or nxt.isdigit() or nxt in "\"'\u201c\u201e\u00ab(["):
                continue
            # Most sentences end with a word longer than any abbreviation: no search for it.
            before = stop - _ABBREVIATION_MAX - 1
            if before < start or not text[before:stop].isalnum():
                word = _LAST_WORD.search(text, max(start, stop - 12), stop)
                if word and (len(word.group(1)) == 1 or word.group(1).lower() in _ABBREVIATIONS):
                    continue
        if text[start:stop].strip():
            spans.append((start, stop + len(mark.rstrip())))
        start = end
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans


def _trim(text: str, start: int, end: int, focus: int) -> str:
    """The sentence text[start:end], cut to EVIDENCE_MAX_CHARS around ``focus``."""
    sentence = " ".join(text[start:end].split())
    if len(sentence) <= EVIDENCE_MAX_CHARS:
        return sentence
    raw = text[start:end]
    half = EVIDENCE_MAX_CHARS // 2
    lo = max(0, focus - start - half)
    piece = " ".join(raw[lo:lo + EVIDENCE_MAX_CHARS * 2].split())
    piece = ("\u2026" if lo else "") + piece
    return piece[: EVIDENCE_MAX_CHARS - 1] + "\u2026" if len(piece) > EVIDENCE_MAX_CHARS else piece


def _patterns_begun(matcher: Matcher, f: str) -> _Begun | None:
    """The patterns the folded word ``f`` begins, grouped for the sweep; None for most words.

    One-word, case-blind patterns it matches are decided here for good. Patterns whose
    second word is a plain word are keyed by it: "the" begins dozens of names ("the
    Kremlin", "the West", ...) and is in every sentence, so checking only those whose
    second word is the next word cut the checks from ~480 to ~100 a page.
    """
    cands = list(matcher.exact.get(f, ()))
    lengths, lf = matcher.stem_lengths, len(f)
    for L in lengths[bisect_left(lengths, lf - _PREFIX_SPAN):bisect_right(lengths, lf)]:
        got = matcher.stems.get(f[:L])
        if got:
            cands.extend(got)
    if not cands:
        return None
    static = [p for p in cands if len(p.words) == 1 and not p.words[0].case and _word_matches(p.words[0], f)]
    anywhere: list[_Pattern] = []
    by_second: dict[str, list[_Pattern]] = {}
    by_raw: dict[str, list[_Pattern]] = {}
    # Case-sensitive one-word patterns ("NATO", "BE", "ОН": a third of the checks) are
    # looked up by the raw word. Only when all of them are exact: a stem among them stays
    # checked in place, so that they keep their order (the first of equal length wins).
    one_word_case = [p for p in cands if len(p.words) == 1 and p.words[0].case]
    exact_case = all(not p.words[0].max_extra for p in one_word_case)
    for p in cands:
        if len(p.words) == 1:
            if p.words[0].case:
                if exact_case:
                    by_raw.setdefault(p.words[0].text, []).append(p)
                else:
                    anywhere.append(p)
            continue
        second = p.words[1]
        if second.max_extra or second.case:
            anywhere.append(p)
        else:
            by_second.setdefault(second.text, []).append(p)
    return (static, anywhere, by_second, by_raw) if static or anywhere or by_second or by_raw else None


def analyse_text(matcher: Matcher, title: str, text: str, language: str | None = None) -> TextAnalysis:
    """Match names, theme terms and relation cues in title + text in one pass; the title is its own sentence.

    Words match an alias or a term by their own form or by their lemma in the text's
    language (``language``, else identified from the text), so a term listed once as a
    lemma ("среща", "sastanak") finds its inflections ("срещата", "sastanku").
    """
    full = f"{title.strip()}\n\n{text}" if title.strip() else text
    if language is None:
        language = identify_language(full)
    sentences = _split_sentences(full)
    # One C-level pass: [gap, word, gap, word, ..., gap]. Word i is parts[2i + 1], the
    # gap before it parts[2i], and it spans offsets[2i]:offsets[2i + 1] of ``full``.
    parts = _WORD_SPLIT.split(full)
    raws = parts[1::2]
    offsets = list(accumulate(map(len, parts)))
    n = len(raws)
    # Fold each word and decide what it begins once per process: C-level set and map
    # calls over the text, Python only for words never seen before.
    # A word already folded had its fold decided with it (the three caches start afresh
    # together), so only new words are decided: no second pass over the text's folds.
    # Looked up with a default that no cached value is (a word folds to a word, a lemma is
    # a word or ""), not through a set of the text's words: that set, made for every text
    # to find its few new words, was a tenth of the tagging.
    fold_of, begun, decided = matcher.word_patterns.current()
    folded = list(map(fold_of.get, raws, repeat(_NOT_CACHED)))
    if _NOT_CACHED in folded:
        for r in {r for r, f in zip(raws, folded) if f is _NOT_CACHED}:
            f = fold(r)
            if f not in decided:
                entry = _patterns_begun(matcher, f)
                if entry is not None:
                    begun[f] = entry
                decided.add(f)  # after begun: another thread that sees it decided finds the entry
            fold_of[r] = f  # after decided: another thread that finds the fold finds it decided
        folded = list(map(fold_of.__getitem__, raws))
    # Lemmas in the text's language, kept only where they differ from the word and begin
    # a pattern: "" for nearly every word, so the sweep below stays on the words that
    # matter (all lemmas kept made tagging 1.6x slower).
    lang = lemma_language(language)
    alt: list[str] | None = None
    if lang is not None:
        lemma_of = matcher.word_patterns.lemmas_of(lang)
        folded_forms: dict[str, str] | None = None
        if lang in UNDIACRITISED_LANGUAGES:
            folded_forms = matcher.word_patterns.folded_forms.get(lang)
            if folded_forms is None:
                folded_forms = matcher.word_patterns.folded_forms[lang] = _folded_dictionary(
                    lang, lambda lemma: _patterns_begun(matcher, lemma) is not None)
        alt = list(map(lemma_of.get, raws, repeat(_NOT_CACHED)))
        if _NOT_CACHED in alt:
            for r in {r for r, a in zip(raws, alt) if a is _NOT_CACHED}:
                lemma = _lemma(r, lang, folded_forms)
                if lemma == fold_of[r]:
                    lemma_of[r] = ""
                    continue
                if lemma not in decided:
                    entry = _patterns_begun(matcher, lemma)
                    if entry is not None:
                        begun[lemma] = entry
                    decided.add(lemma)
                lemma_of[r] = lemma if lemma in begun else ""
            alt = list(map(lemma_of.__getitem__, raws))
        if not any(alt):
            alt = None
        else:
            # The word caches may have started afresh since a lemma was decided.
            for lemma in set(alt).difference(decided):
                if lemma:
                    entry = _patterns_begun(matcher, lemma)
                    if entry is not None:
                        begun[lemma] = entry
                    decided.add(lemma)

    # The sentence of each word: the last sentence starting at or before it (the first, for
    # words before any). Made once a text from the sentence starts, not looked up per word.
    word_starts = offsets[0:2 * n:2]
    bounds = [0, *(bisect_left(word_starts, a) for a, _ in sentences[1:]), n]
    sent_of: list[int] = []
    for s, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
        sent_of += [s] * (hi - lo)

    mentions: list[_Mention] = []
    terms_in: list[set[str]] = [set() for _ in sentences] or [set()]
    #: per sentence, (the words a term matched, the term): a word counts once for a theme
    term_words: list[set[tuple[str, str]]] = [set() for _ in terms_in]
    term_hits: list[tuple[int, int, str]] = []  # (first word, last word, term key)
    named: list[tuple[int, int]] = []  # word ranges of names, places and blockers
    places: list[tuple[str, int]] = []  # (country id, sentence) of each place named
    consumed = 0
    no_patterns: list[_Pattern] = []
    # The form each word's patterns are found by: its fold, or its lemma where only the lemma
    # begins one ("countries" -> country; the lemma's case-sensitive names are never the raw
    # word, which would fold to the lemma). Both forms are gathered (_lemma_candidates) only
    # where that can give other hits: a word whose fold and lemma both begin patterns, and a
    # word before a lemma whose patterns are keyed by the next word or are case-sensitive
    # names (ordered apart there). Half as many words as every word read by a lemma and the
    # word before it, and one look-up a word to find where patterns begin, not three.
    forms = folded
    by_lemma: set[int] = set()
    if alt is not None:
        forms = folded.copy()
        lemma_at = list(compress(range(n), alt))
        for i in lemma_at:
            if folded[i] in begun:
                by_lemma.add(i)
            else:
                forms[i] = alt[i]
        for i in lemma_at:
            entry = begun.get(forms[i - 1]) if i else None
            if entry is not None and (entry[2] or entry[3]):
                by_lemma.add(i - 1)
    for i in compress(range(n), map(begun.__contains__, forms)):
        if i in by_lemma:
            static, dynamic = _lemma_candidates(begun, raws, folded, alt or [], i)
        else:
            static, dynamic, by_second, by_raw = begun[forms[i]]
            if by_second and i + 1 < n:
                dynamic = dynamic + by_second.get(folded[i + 1], no_patterns)
            if by_raw:
                static = static + by_raw.get(raws[i], no_patterns)
        if dynamic:
            hits = static + [q for q in dynamic if _matches_at(q.words, i, raws, folded, alt, parts, sent_of)]
        elif static:
            hits = static
        else:
            continue  # "the", not before a word that makes a name with it
        best: _Pattern | None = None
        for p in hits:
            if p.kind == _TERM:
                term_hits.append((i, i + len(p.words) - 1, p.target))
            elif p.lang and p.lang != lang:
                continue  # a name of one language's texts only ("rusi" is Romanian, "ruši" Serbian)
            elif i >= consumed and (best is None or len(p.words) > len(best.words)):
                best = p
        if best is not None:
            last = i + len(best.words) - 1
            consumed = last + 1
            named.append((i, last))
            if best.kind == _NAME:
                mentions.append(_Mention(best.target, offsets[2 * i], offsets[2 * last + 1], sent_of[i], best.context))
            elif best.kind == _PLACE:
                places.append((best.target, sent_of[i]))

    # A term inside a longer matched term is not counted again ("jets" in "fighter jets"),
    # nor a term inside a name ("north" in "North Macedonia", "security" in "UN Security Council").
    name_end = [-1] * n  # for each word inside a name: the name's last word
    for na, nb in named:
        for k in range(na, nb + 1):
            name_end[k] = nb
    phrase_end: dict[int, int] = {}  # first word of a multi-word term -> its furthest last word
    longest = 0
    for a, b, _ in term_hits:
        if b > a and b > phrase_end.get(a, -1):
            phrase_end[a] = b
            longest = max(longest, b - a)
    in_phrase = [False] * n
    for pa, pb in phrase_end.items():
        for k in range(pa, pb + 1):
            in_phrase[k] = True
    for a, b, key in term_hits:
        if name_end[a] >= b and name_end[a] == name_end[b]:
            continue
        if in_phrase[a] and any(
            phrase_end.get(pa, -1) >= b and phrase_end[pa] - pa > b - a for pa in range(a - longest, a + 1)
        ):
            continue
        s = sent_of[a]
        terms_in[s].add(key)
        term_words[s].add((folded[a] if a == b else " ".join(folded[a:b + 1]), key))

    # Ambiguous aliases count only with support: the concept named plainly elsewhere,
    # or a needed term in the same sentence; a vetoing term or a following name drops them.
    plain = {m.concept_id for m in mentions if m.context < 0}
    kept: list[_Mention] = []
    for m in mentions:
        if m.context >= 0:
            ctx = matcher.contextual[m.context]
            terms = terms_in[m.sentence]
            if any(t in terms for t in ctx.unless):
                continue
            if m.concept_id not in plain and not any(t in terms for t in ctx.needs):
                continue
            if ctx.not_before_name and _name_follows(full, m.end, sentences[m.sentence][1]):
                continue
        kept.append(m)

    concept_sentences: dict[str, list[int]] = {}
    first: dict[str, _Mention] = {}
    count: dict[str, int] = {}
    for m in kept:
        for cid in (m.concept_id, *matcher.implies.get(m.concept_id, ())):
            concept_sentences.setdefault(cid, []).append(m.sentence)
            first.setdefault(cid, m)
            count[cid] = count.get(cid, 0) + 1

    # Theme scores, sentence by sentence: distinct terms plus the concepts named there.
    weights, facets = matcher.weights, matcher.facets
    best_theme: dict[int, tuple[float, int]] = {}
    reaching: dict[int, list[int]] = {}
    refs_in: list[set[str]] = [set() for _ in terms_in]
    # Relation cues by class, per sentence: for relevance, and as theme terms ("~meet").
    relation_sentences: dict[int, tuple[str, ...]] = {}
    if matcher.relation_terms:
        cues = matcher.relation_terms
        # A language's cue words count in its own texts only; a text in another language
        # (or none identified) is read with every list.
        own = lang if lang in matcher.relation_languages else None
        for s, keys in enumerate(terms_in):
            if not keys:
                continue
            found = {cls for k in keys if k in cues for cls, cue_lang in cues[k]
                     if own is None or cue_lang in ("", own)}
            classes = [] if "not_all" in found else sorted(
                c for c in found if not c.startswith("not_") and "not_" + c not in found)
            if classes:
                linking = tuple(c for c in classes if c not in matcher.lexical_classes)
                if linking:
                    relation_sentences[s] = linking
                # As theme terms, tied to the words that made them: a word counts once
                # ("narrative" is a theme term and a broadcast cue: one cue, not two).
                term_words[s].update(
                    (word, "~" + cls) for word, k in list(term_words[s]) if k in cues
                    for cls, _ in cues[k] if cls in classes)
    for cid, sents in concept_sentences.items():
        # Made once per concept, not once per mention (4 mentions a concept on a page).
        concept_refs = ("@" + cid, "@facet:" + facets[cid], "@side:" + matcher.sides[cid])
        for s in sents:
            refs_in[s].update(concept_refs)
    place_sentences: dict[str, list[int]] = {}
    for cid, s in places:
        for c in (cid, *matcher.implies.get(cid, ())):
            place_sentences.setdefault(c, []).append(s)
    # @link: the sentence names the Russia side and a Balkan side (relevance's two sides).
    for refs in refs_in:
        if "@side:russia" in refs and "@side:balkans" in refs:
            refs.add("@link")
    conjunctions, needs, unless = matcher.conjunctions, matcher.theme_needs, matcher.theme_unless
    # A sentence is checked against the conjunctions only when it holds the first part one
    # of them needs (a fifth of sentences): 25 set tests in every sentence took 40% of the
    # scoring. None: a conjunction needs no part, so every sentence is checked.
    openers = None if any(not needed for _, needed, _ in conjunctions) else {
        needed[0] for _, needed, _ in conjunctions}
    for s, pairs in enumerate(term_words):
        refs = refs_in[s]
        if not (pairs or refs):
            continue
        keys = {k for _, k in pairs}
        score = _term_points(pairs, keys, weights) if pairs else {}
        for key in refs:
            for theme, w in weights.get(key, ()):
                score[theme] = score.get(theme, 0.0) + w
        if conjunctions or needs or unless:
            present = keys | refs
            if openers is None or not present.isdisjoint(openers):
                for joined, needed, barred in conjunctions:
                    # Set methods, not all()/any() over generators: 25 conjunctions a sentence.
                    if present.issuperset(needed) and present.isdisjoint(barred):
                        for theme, w in weights[joined]:
                            score[theme] = score.get(theme, 0.0) + w
            for theme in [t for t in score if (t in needs and needs[t].isdisjoint(present))
                          or (t in unless and not unless[t].isdisjoint(present))]:
                del score[theme]
        for theme, value in score.items():
            if value > best_theme.get(theme, (0.0, -1))[0]:
                best_theme[theme] = (value, s)
            if value >= matcher.themes[theme][1]:
                reaching.setdefault(theme, []).append(s)

    tags: list[Tag] = []
    # A sentence short enough to quote whole is the same evidence for every concept it
    # names (the title names several), so it is made once.
    whole: dict[int, str] = {}
    for cid, m in first.items():
        # More mentions, more confidence: 1 -> 0.4, 2 -> 0.64, 3 -> 0.78 ...
        evidence = whole.get(m.sentence)
        if evidence is None:
            s0, s1 = sentences[m.sentence]
            evidence = _trim(full, s0, s1, m.start)
            if s1 - s0 <= EVIDENCE_MAX_CHARS:  # quoted whole, wherever the name is
                whole[m.sentence] = evidence
        tags.append(Tag(cid, round(1.0 - 0.6 ** count[cid], 3), evidence))
    theme_scores: dict[str, tuple[float, int]] = {}
    for theme, (value, s) in best_theme.items():
        cid, threshold = matcher.themes[theme]
        theme_scores[cid] = (value, s)
        # One tag per concept (article_tags has no key to enforce it): a concept named
        # outright keeps its name tag.
        if value >= threshold and cid not in first:
            s0, s1 = sentences[s]
            tags.append(Tag(cid, round(min(1.0, value / (2 * threshold)), 3), _trim(full, s0, s1, s0)))
    order = matcher.facet_order
    tags.sort(key=lambda t: (order.get(facets.get(t.concept_id, ""), 99), t.concept_id))
    return TextAnalysis(
        text=full,
        sentences=tuple(sentences),
        concept_sentences={k: tuple(v) for k, v in concept_sentences.items()},
        theme_scores=theme_scores,
        tags=tuple(tags),
        language=language,
        theme_sentences={matcher.themes[t][0]: tuple(v) for t, v in reaching.items()},
        relation_sentences=relation_sentences,
        place_sentences={k: tuple(v) for k, v in place_sentences.items()},
    )


def _lemma_candidates(begun: dict[str, _Begun], raws: list[str], folded: list[str], alt: list[str], i: int) -> tuple[list[_Pattern], list[_Pattern]]:
    """(patterns matched outright, patterns to check) at word i, begun by its form or its lemma."""
    static: list[_Pattern] = []
    dynamic: list[_Pattern] = []
    nxt = (folded[i + 1], alt[i + 1]) if i + 1 < len(folded) else ()
    for key in (folded[i], alt[i]):
        entry = begun.get(key) if key else None
        if entry is None:
            continue
        static += entry[0]
        dynamic += entry[1]
        # Checked in place (they are the raw word or not), in their order among this form's.
        dynamic += entry[3].get(raws[i], ())
        for k2 in nxt:
            if k2:
                dynamic += entry[2].get(k2, ())
    return static, dynamic


def _matches_at(words: tuple[_Word, ...], i: int, raws: list[str], folded: list[str], alt: list[str] | None,
                parts: list[str], sent_of: list[int]) -> bool:
    """The pattern of ``words`` matches the text's words from word i, within one sentence.

    One function, no closures: ~100 patterns are checked a page, two in three in vain. Last
    word first: the first word is nearly always the one the pattern was found by.
    """
    if i + len(words) > len(raws):
        return False
    for k in range(len(words) - 1, -1, -1):
        w, j = words[k], i + k
        if k:
            # Between two words of one name: a short gap of spaces, hyphens or quotes, or an
            # abbreviation's dot, and no sentence end.
            gap = parts[2 * j]
            if len(gap) > 3 or (gap != "." and gap.strip(_GAP_CHARS)) or sent_of[j] != sent_of[j - 1]:
                return False
        if w.case:
            if not _word_matches(w, raws[j]):
                return False
        elif not (_word_matches(w, folded[j]) or (alt is not None and alt[j] and _word_matches(w, alt[j]))):
            return False
    return True


def _word_matches(w: _Word, s: str) -> bool:
    """``s`` (raw when the word is case-sensitive, else folded) is the word, or its stem plus an allowed ending."""
    if not w.max_extra:
        return s == w.text
    extra = len(s) - len(w.text)
    return w.min_extra <= extra <= w.max_extra and s.startswith(w.text)


def _term_points(pairs: set[tuple[str, str]], terms: set[str],
                 weights: dict[str, tuple[tuple[int, float], ...]]) -> dict[int, float]:
    """Theme points of one sentence's terms (``terms``: those of ``pairs``): each term counts once, and each word once.

    Terms that share a word form a group; a group scores, per theme, its best weights,
    as many as it has distinct words ("investors ... investment" is two cues, "investors"
    alone one, though three terms match them).
    """
    score: dict[int, float] = {}
    if len(pairs) == 1 or len(terms) == len(pairs) == len({w for w, _ in pairs}):
        # Most sentences: every term on words of its own, once.
        for _, key in pairs:
            for theme, weight in weights.get(key, ()):
                score[theme] = score.get(theme, 0.0) + weight
        return score
    keys_of: dict[str, list[str]] = {}
    for word, key in pairs:
        keys_of.setdefault(word, []).append(key)
    if len(terms) == len(pairs):
        # Each term on one word (a word with a cue class, or with two terms, is the usual
        # case): each word scores, per theme, its best weight.
        for keys in keys_of.values():
            if len(keys) == 1:
                for theme, weight in weights.get(keys[0], ()):
                    score[theme] = score.get(theme, 0.0) + weight
                continue
            best: dict[int, float] = {}
            for key in keys:
                for theme, weight in weights.get(key, ()):
                    if weight > best.get(theme, 0.0):
                        best[theme] = weight
            for theme, weight in best.items():
                score[theme] = score.get(theme, 0.0) + weight
        return score
    words_of: dict[str, set[str]] = {}
    for word, key in pairs:
        words_of.setdefault(key, set()).add(word)
    group: dict[str, str] = {}  # key -> its group's first key
    owner: dict[str, str] = {}  # word -> the first key that has it
    for key, words in words_of.items():
        joined = {group[owner[w]] for w in words if w in owner}
        root = min(joined) if joined else key
        for k, g in group.items():
            if g in joined:
                group[k] = root
        group[key] = root
        for w in words:
            owner.setdefault(w, key)
    members: dict[str, list[str]] = {}
    for key, root in group.items():
        members.setdefault(root, []).append(key)
    for keys in members.values():
        n_words = len(set().union(*(words_of[k] for k in keys)))
        by_theme: dict[int, list[float]] = {}
        for k in keys:
            for theme, weight in weights.get(k, ()):
                by_theme.setdefault(theme, []).append(weight)
        for theme, ws in by_theme.items():
            score[theme] = score.get(theme, 0.0) + sum(sorted(ws, reverse=True)[:n_words])
    return score


def _name_follows(text: str, end: int, sentence_end: int) -> bool:
    """True when the next word, in the same sentence after a space, is capitalised."""
    m = re.match(r"[ \u00a0]+([^\W_])", text[end:sentence_end])
    return bool(m and m.group(1).isupper())


def tag_text(matcher: Matcher, title: str, text: str, language: str | None = None) -> tuple[Tag, ...]:
    """The taxonomy concepts named in (or themes of) a title and text, with evidence."""
    return analyse_text(matcher, title, text, language).tags

