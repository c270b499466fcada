"""Which stories report one happening: the evidence two reports share, and the event a story joins.

Dedup collapses copies of one text; an event gathers the stories that tell one happening
in their own words, across outlets and languages. The decision is made from evidence that
does not depend on the language a story is written in:

- **concepts**: the taxonomy ids its tags carry (the same ids in every language);
- **names**: capitalised words of its lead that no taxonomy concept covers (a place, a
  second actor, an outlet) and that the text does not also write in lower case, folded
  (``reading.normalize.fold``: Вучич, Vučić and Vucic are one word), spelled alike
  (Zakharova, Zaharova) and cut to a stem, so inflections meet (Harčenka, Харченко);
- **numbers**: the figures of its title and lead (a score, a count of jets or doses, an
  amount), thousands separators dropped; years apart, since they date rather than tell;
- **title terms**: the stems of its headline's longer words;
- **time**: two reports published the same day, or within two days.

What most of the stories at hand share (``common_words``: "President", a day of the
month, Russia and Serbia in a week of news about them) weighs nothing. Shared concepts
say the two stories are about the same actors, which many stories of one week are; they
never link two stories alone. A link needs occasion evidence (names,
numbers, title terms shared beyond the concepts) and enough of it, and the two stories
must fall within ``EVENT_WINDOW`` of each other: two deliveries of the same jets or two
meetings of the same leaders are told with other places, figures and dates.

Everything here is pure: the writer (``monitor.runs.ingest``) hands in the candidate
stories and saves what ``choose_event`` says (``monitor.storage.events``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import chain

from monitor.judging.taxonomy import Taxonomy
from monitor.reading.normalize import fold

__all__ = [
    "EVENT_WINDOW",
    "LEAD_WORDS",
    "STEM_LETTERS",
    "LINK_SCORE",
    "MIN_OCCASION_SCORE",
    "UNDATED_LINK_SCORE",
    "CLOSE_IN_TIME",
    "SAME_DAY",
    "WEIGHTS",
    "COMMON_SHARE",
    "COMMON_MIN_STORIES",
    "EventEvidence",
    "EventLink",
    "EventChoice",
    "covered_name_stems",
    "gather_evidence",
    "link_stories",
    "choose_event",
    "EventPool",
    "MERGE_SCORE",
    "common_words",
    "words_of",
    "occasion_words",
    "bcubed",
]

#: Two reports of one happening appear within this time of each other. Follow-ups of one
#: occasion run for days (the first jets land, the handover ceremony follows two weeks
#: later); a separate delivery or meeting of the same actors comes months apart.
EVENT_WINDOW = timedelta(days=21)
#: The title and this many words of the body: where a news story says who, what, where
#: and when. Further down come background and reader comments, shared by unrelated stories.
LEAD_WORDS = 90
#: ... and at most this many characters of it: a hostile or broken page can hold one
#: "word" of 100 KB, and the lead is read for every story.
MAX_LEAD_CHARS = 1500
#: How much of the text is read for words it also writes in lower case: about a thousand
#: words, enough to meet a heading word again (reading 20,000 characters cost 1 ms more a story).
MAX_TEXT_CHARS = 6_000
#: Words are compared on their first letters, so that the inflections of one name or word
#: meet (Vučić, Vučića, Vučiću; Harčenko, Harčenka) in the languages of the region.
STEM_LETTERS = 5
#: Shorter words are not names or terms worth comparing (articles, prepositions, "Mr").
MIN_WORD_LETTERS = 4
#: Weights of one shared item of each kind of evidence. Names and figures tell the
#: occasion; concepts tell the actors, and a country or theme is shared by a whole week.
WEIGHTS = {
    "name": 1.0,
    "number": 1.0,
    "year": 0.5,
    "day": 0.5,  # 10 to 31: a day of the month as often as a count
    "term": 0.5,
    "actor": 0.5,  # a person, organisation, weapon system or region concept
    "country": 0.5,  # one the stories at hand do not mostly share (common_words): Montenegro in a Serbian week
    "theme": 0.25,  # one the stories at hand do not mostly share
    "time": 1.0,  # published within CLOSE_IN_TIME of each other
    "same day": 1.5,  # within SAME_DAY
}
#: A story joins another's event when their shared evidence weighs this much ...
LINK_SCORE = 3.25
#: ... or this much when either is undated: no window then rules out another occasion of the
#: same actors, months or years apart (real news excerpts, 161 of 247 undated: at LINK_SCORE,
#: 9 of 26 links joined two occasions of the same actors, the same two players or leaders;
#: at this, 1 of 11).
UNDATED_LINK_SCORE = 5.5
#: ... of which at least this much is occasion evidence (names, figures, title terms):
#: shared concepts alone are a shared topic, never one happening.
MIN_OCCASION_SCORE = 1.0
#: A story that links this strongly to two events shows them to be one: they are merged.
#: Higher than LINK_SCORE, since a merge joins every story of both, not one.
MERGE_SCORE = 5.0
#: Two stories published this close count it as evidence ("time:within 2 days") ...
CLOSE_IN_TIME = timedelta(days=2)
#: ... and more so this close: the reports of one happening mostly come the same day.
SAME_DAY = timedelta(hours=24)
#: A stem or number shared by this share of the stories at hand (and at least
#: COMMON_MIN_STORIES of them) is the vocabulary of the news, not of one happening.
COMMON_SHARE = 0.03
COMMON_MIN_STORIES = 8

#: Numbers up to this are as often a day of the month as a count: they weigh as a term.
MAX_DAY = 31
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*|\d+(?:[.,  ]\d{3})*(?:[.,]\d+)?")
#: _WORD's words without its numbers: the same words, where only words are wanted (no
#: word starts inside a number, which holds digits and separators only).
_LETTER_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
#: Lower-case words whose stems are kept (``_spelled_stems``): a few MB, more than the
#: distinct words of months of news in one language.
SPELLED_WORDS_CACHED = 1 << 16
_SENTENCE_END = re.compile(r"[.!?:;«»\"“”„(\[—–-]\s*$")
#: Where a text's first LEAD_WORDS words end (``_lead_end``).
_LEAD = re.compile(rf"\s*(?:\S+\s+){{{LEAD_WORDS - 1}}}\S+")
_DOUBLED = re.compile(r"(.)\1")
_YEAR = re.compile(r"(?:19|20)\d\d")


@dataclass(frozen=True)
class EventEvidence:
    """What one story offers to be linked by: when, its concepts, names, numbers, title terms."""

    at: datetime | None
    concepts: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
    terms: frozenset[str] = frozenset()

    def features(self) -> list[str]:
        """The evidence as strings, kind first ("name:gramsh"): how the warehouse keeps it."""
        return ([f"concept:{c}" for c in sorted(self.concepts)] + [f"name:{n}" for n in sorted(self.names)]
                + [f"number:{n}" for n in sorted(self.numbers)] + [f"term:{t}" for t in sorted(self.terms)])

    @classmethod
    def from_features(cls, at: datetime | None, features: Iterable[str]) -> EventEvidence:
        """The evidence back from ``features()``."""
        kinds: dict[str, set[str]] = {"concept": set(), "name": set(), "number": set(), "term": set()}
        for f in features:
            kind, _, value = f.partition(":")
            kinds[kind].add(value)
        return cls(at, frozenset(kinds["concept"]), frozenset(kinds["name"]), frozenset(kinds["number"]),
                   frozenset(kinds["term"]))


@dataclass(frozen=True)
class EventLink:
    """Why two stories report one happening: the weight of what they share, and what it is."""

    score: float
    shared: tuple[str, ...]


@dataclass(frozen=True)
class EventChoice:
    """Where a story goes: an existing event (through the stored story it links to best), or a new one.

    ``also`` lists the other events the story links to as strongly: the story shows them
    to be one happening, and the writer merges them into ``event_id`` (the earliest).
    """

    event_id: str | None
    via: str | None = None
    link: EventLink | None = None
    also: tuple[str, ...] = field(default=())


#: English and the languages of the region spell one Cyrillic letter differently
#: (Zakharova / Zaharova, Botsan / Bocan, Nebenzya / Nebenzja): folded words are brought
#: to one spelling before they are cut to a stem. Longest first.
_SPELLINGS = (("tch", "c"), ("kh", "h"), ("ch", "c"), ("sh", "s"), ("zh", "z"), ("ts", "c"), ("dj", "dz"),
              ("y", "j"), ("w", "v"))
_SPELLING = re.compile("|".join(a for a, _ in _SPELLINGS))
_SPELLING_OF = dict(_SPELLINGS)


def _spell(words: str) -> str:
    """Words folded (``fold``) and brought to one spelling, not cut: one pass over many words at once."""
    folded = _SPELLING.sub(lambda m: _SPELLING_OF[m.group(0)], fold(words))
    return _DOUBLED.sub(r"\1", folded)


@lru_cache(maxsize=SPELLED_WORDS_CACHED)
def _stem(word: str) -> str:
    """One word's stem. Kept per process as ``_spelled_stems`` is, for the same reason: a
    story's title words and names come back in other stories (0.04 ms a story spelled)."""
    return _spell(word)[:STEM_LETTERS]


@lru_cache(maxsize=SPELLED_WORDS_CACHED)
def _spelled_stems(word: str) -> tuple[str, ...]:
    """The stems of one lower-case word's spelling: one, unless folding made it two.

    Kept per process because the same words come back in every story: spelled one at a
    time they cost 4 ms a story, all of a story's in one pass 0.14 ms, remembered 0.03 ms
    (the generated benchmark pages). A pure function's memo: it never changes an answer.
    """
    return tuple(w[:STEM_LETTERS] for w in _spell(word).split())


def covered_name_stems(taxonomy: Taxonomy) -> frozenset[str]:
    """Stems of every word of every concept alias: names the concepts already stand for.

    "Vučić" is ``person:aleksandar_vucic`` in every language; counted again as a name it
    would make the same actor look like occasion evidence.
    """
    stems = set()
    for concept in taxonomy.concepts:
        for alias in (*concept.aliases, *(c.alias for c in concept.contextual)):
            for word in _WORD.findall(alias.lstrip("=").replace("*", "").replace("+", "")):
                if len(word) >= MIN_WORD_LETTERS:
                    stems.add(_stem(word))
    return frozenset(stems)


def _number(token: str) -> str | None:
    digits = re.sub(r"[.,  ](?=\d{3}\b)", "", token)
    if not digits.isdigit():
        digits = digits.replace(",", ".")
    if len(digits.replace(".", "")) < 2:
        return None  # single digits: list numbers, days, "1 of 3": too common to tell
    return digits


def gather_evidence(
    title: str, text: str, concepts: Iterable[str], *, at: datetime | None, covered: frozenset[str] = frozenset()
) -> EventEvidence:
    """The evidence a story offers: the concept ids of its tags, names, numbers and terms of its title and lead.

    ``covered`` (``covered_name_stems``) are the names the taxonomy's concepts stand for.
    """
    numbers: set[str] = set()
    terms: set[str] = set()
    for m in _WORD.finditer(title[:MAX_LEAD_CHARS]):
        word = m.group(0)
        if word[0].isdigit():
            if (n := _number(word)) is not None:
                numbers.add(n)
        elif len(word) >= MIN_WORD_LETTERS:
            terms.add(_stem(word))
    lead = text[: min(_lead_end(text), MAX_LEAD_CHARS)]
    capitalised: set[str] = set()
    for m in _WORD.finditer(lead):
        word = m.group(0)
        if word[0].isdigit():
            if (n := _number(word)) is not None:
                numbers.add(n)
        elif (word[0].isupper() and len(word) >= MIN_WORD_LETTERS and not word.isupper()
              and not _SENTENCE_END.search(lead[max(0, m.start() - 3): m.start()]) and m.start() > 0):
            capitalised.add(word)
    # A word the text also writes in lower case is a word, capitalised for a title or a
    # heading ("the High Representative" and "high"), not a name.
    # (Asked only when there are names to test, with C-level set and map calls: a Python
    # loop over the text's words was half of this function's time.)
    names = {_stem(w) for w in capitalised} - covered
    if names:
        tokens = text[:MAX_TEXT_CHARS].split()
        names.difference_update(chain.from_iterable(map(_lower_word_stems, tokens)))
    terms -= covered
    return EventEvidence(at, frozenset(concepts), frozenset(names), frozenset(numbers),
                         frozenset(terms - names))


@lru_cache(maxsize=SPELLED_WORDS_CACHED)
def _lower_word_stems(token: str) -> tuple[str, ...]:
    """The stems (``_spelled_stems``) of the words of one white-space-separated token that
    start in lower case: "reporters'" and "(the" give theirs, "Serbia," none.

    No word spans white space, so a text's words are those of its tokens; a token of
    letters only is one word whole, the others (with punctuation or digits, a sixth of a
    news text's) are read by ``_LETTER_WORD``. Kept per process, as ``_spelled_stems`` is:
    tokens come back in every story, and a story's ~700 are then C-level lookups, not a
    set of its words and a Python test of each (0.13 -> 0.07 ms a story).
    """
    words = (token,) if token.isalpha() else _LETTER_WORD.findall(token)
    return tuple(chain.from_iterable(_spelled_stems(w) for w in words if w[0].islower()))


def _lead_end(text: str) -> int:
    # One match of LEAD_WORDS words, not a Python loop over them.
    lead = _LEAD.match(text)
    return lead.end() if lead is not None else len(text)


def _number_kind(n: str) -> str:
    if _YEAR.fullmatch(n):
        return "year"
    return "day" if n.isdigit() and int(n) <= MAX_DAY else "number"


def _concept_kind(concept_id: str) -> str:
    prefix = concept_id.partition(":")[0]
    return {"country": "country", "theme": "theme"}.get(prefix, "actor")


def common_words(
    pool: Sequence[EventEvidence], *, elsewhere: Mapping[str, int] | None = None, elsewhere_stories: int = 0
) -> frozenset[str]:
    """Name and term stems, numbers and concept ids that too many stories of ``pool`` share to tell one happening.

    Measured on the stories at hand, in whatever languages they are: "President" in
    English, "predsednik" in Serbian, a day of the month, "that" in a headline, Russia and
    Serbia in a week of news about them.

    ``elsewhere_stories`` more stories are at hand but not in ``pool``, and ``elsewhere``
    says in how many of them each word is (the writer counts them in the warehouse rather
    than load them). Given only for the words of ``pool``, it gives the same answer for
    those words as the whole pool would: the only ones a newcomer of ``pool`` is compared on.
    """
    df = Counter(w for ev in pool for w in words_of(ev))
    if elsewhere:
        df.update({w: n for w, n in elsewhere.items() if n})
    limit = max(COMMON_MIN_STORIES, COMMON_SHARE * (len(pool) + elsewhere_stories))
    return frozenset(w for w, n in df.items() if n >= limit)


def words_of(evidence: EventEvidence) -> frozenset[str]:
    """Every word ``common_words`` counts in one story: names, terms, numbers and concept ids."""
    return evidence.names | evidence.terms | evidence.numbers | evidence.concepts


def occasion_words(evidence: EventEvidence) -> frozenset[str]:
    """The words a story is found by in an ``EventPool`` (names, terms, numbers; not concepts)."""
    return evidence.names | evidence.terms | evidence.numbers


def link_stories(
    a: EventEvidence, b: EventEvidence, *, common: frozenset[str] = frozenset(), window: timedelta = EVENT_WINDOW
) -> EventLink | None:
    """The link between two stories when they report one happening, else None.

    ``common`` (``common_words``) are left out of the shared evidence.
    """
    if a.at is not None and b.at is not None and abs(a.at - b.at) > window:
        return None
    names = (a.names & b.names) - common
    numbers = (a.numbers & b.numbers) - common
    # A term is a word one story has as a term and the other as a term or a name. Three
    # intersections, not the intersection of two unions: most pairs a pool proposes share
    # too little to link, and this runs ~40 times a story (0.6 ms a story with the unions).
    terms = ((a.terms & b.terms) | (a.terms & b.names) | (a.names & b.terms)) - names - common
    occasion = (WEIGHTS["name"] * len(names) + WEIGHTS["term"] * len(terms)
                + sum(WEIGHTS[_number_kind(n)] for n in numbers))
    if occasion < MIN_OCCASION_SCORE:
        return None
    shared = [("name", n) for n in sorted(names)] + [(_number_kind(n), n) for n in sorted(numbers)] \
        + [("term", t) for t in sorted(terms)]
    if a.at is not None and b.at is not None and abs(a.at - b.at) <= CLOSE_IN_TIME:
        shared.append(("same day", "within 24 h") if abs(a.at - b.at) <= SAME_DAY else ("time", "within 2 days"))
    # A person or organisation is an actor however often it is named; a country or theme
    # the week's stories mostly share is their topic, not this happening's.
    shared += [(kind, c.partition(":")[2]) for c in sorted(a.concepts & b.concepts)
               if (kind := _concept_kind(c)) == "actor" or c not in common]
    score = sum(WEIGHTS[kind] for kind, _ in shared)
    if score < (LINK_SCORE if a.at is not None and b.at is not None else UNDATED_LINK_SCORE):
        return None
    return EventLink(round(score, 2), tuple(f"{kind}:{value}" for kind, value in shared))


class EventPool:
    """The stories a new story may join: their events and evidence, found through the words they share.

    Filled by the writer with the stored stories near the batch in time that share an
    uncommon word with one of its stories (``storage.events.stored_pool``: the others could
    never be candidates), then with each story of the batch as it is assigned. Only stories sharing a name, number or term
    with the newcomer are compared (postings), not all of them.
    """

    def __init__(self, common: frozenset[str] = frozenset()) -> None:
        self.common = common
        self._stories: list[tuple[str, str, EventEvidence]] = []
        self._postings: dict[str, list[int]] = {}
        #: event id -> (time of its earliest story, event id): the older event survives a merge
        self._started: dict[str, tuple[float, str]] = {}

    def __len__(self) -> int:
        return len(self._stories)

    def add(self, article_id: str, event_id: str, evidence: EventEvidence) -> None:
        """One more story of ``event_id`` to compare newcomers with."""
        position = len(self._stories)
        self._stories.append((article_id, event_id, evidence))
        for word in occasion_words(evidence):
            if word not in self.common:
                self._postings.setdefault(word, []).append(position)
        self.started(event_id, evidence.at)

    def started(self, event_id: str, at: datetime | None) -> None:
        """``event_id`` has a story at ``at`` that is not in the pool (the writer loads only the
        stored stories a newcomer can be compared with): the older event survives a merge."""
        started = (at.timestamp() if at is not None else float("inf"), event_id)
        self._started[event_id] = min(self._started.get(event_id, started), started)

    def merge(self, old: str, new: str) -> None:
        """Stories of ``old`` now belong to ``new``."""
        self._stories = [(a, new if e == old else e, ev) for a, e, ev in self._stories]
        if old in self._started:
            self._started[new] = min(self._started.pop(old), self._started.get(new, (float("inf"), new)))

    def candidates(self, story: EventEvidence) -> list[tuple[str, str, EventEvidence]]:
        """The stories sharing at least one uncommon name, number or term with ``story``."""
        found: set[int] = set()
        for word in occasion_words(story):
            found.update(self._postings.get(word, ()))
        return [self._stories[i] for i in sorted(found)]

    def choose(self, story: EventEvidence) -> EventChoice:
        """The event ``story`` joins (``choose_event`` over its candidates); merges go to the older event."""
        choice = choose_event(story, self.candidates(story), common=self.common)
        if choice.event_id is None or not choice.also:
            return choice
        events = (choice.event_id, *choice.also)
        survivor = min(events, key=lambda e: self._started.get(e, (float("inf"), e)))
        return EventChoice(survivor, choice.via, choice.link, tuple(e for e in events if e != survivor))


def choose_event(
    story: EventEvidence, candidates: Iterable[tuple[str, str, EventEvidence]], *, common: frozenset[str] = frozenset()
) -> EventChoice:
    """The event a story joins among candidate (article id, event id, evidence) stories, or none.

    The story links to an event through its best-linked member (a Russian report may share
    more with the Serbian one than with the English one that broke it); ties go to the
    earlier article id, so the choice does not depend on the order of the candidates.
    Other events it links to with at least MERGE_SCORE are in ``also``: the story shows
    them to be the same happening.
    """
    best: dict[str, tuple[EventLink, str]] = {}
    for article, event, evidence in candidates:
        link = link_stories(story, evidence, common=common)
        if link is None:
            continue
        held = best.get(event)
        if held is None or (link.score, held[1]) > (held[0].score, article):
            best[event] = (link, article)
    if not best:
        return EventChoice(None)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1][0].score, kv[1][1]))
    event, (link, via) = ranked[0]
    return EventChoice(event, via, link, tuple(e for e, (lk, _) in ranked[1:] if lk.score >= MERGE_SCORE))


def bcubed(predicted: dict[str, str], gold: dict[str, str]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 of ``predicted`` events against ``gold`` labels (item -> label).

    Each item's precision is the share of its predicted event that has its gold label, its
    recall the share of its gold event that the prediction put with it; both are averaged
    over the items (Bagga and Baldwin, 1998).
    """
    items = list(gold)
    if not items:
        return 1.0, 1.0, 1.0
    pred_groups: dict[str, set[str]] = {}
    gold_groups: dict[str, set[str]] = {}
    for i in items:
        pred_groups.setdefault(predicted[i], set()).add(i)
        gold_groups.setdefault(gold[i], set()).add(i)
    precision = recall = 0.0
    for i in items:
        p, g = pred_groups[predicted[i]], gold_groups[gold[i]]
        both = len(p & g)
        precision += both / len(p)
        recall += both / len(g)
    precision, recall = precision / len(items), recall / len(items)
    return precision, recall, 2 * precision * recall / (precision + recall)
