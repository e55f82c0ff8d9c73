"""Does the evidence hold what the question asks for? What is missing?

Three general checks, in both languages and for any corpus:

1. **Names and numbers the sources never mention.** "Har Norrby en simhall?"
   or "Vad säger planen om 2040?": a capitalised name or a number of the
   question that occurs nowhere in the index (inflected or compounded forms
   included) cannot be answered about; the answer says so.
2. **What kind of information is asked for** (an e-mail address, a phone number,
   an amount, a percentage, a count, a date, a person …, see
   ``understanding.asked_for``) and whether the chosen evidence holds that kind:
   an amount needs a number with a currency, a date a year or a month, a person
   a name. None of it there: the sources do not give it (the related text is
   offered, clearly framed). Part of it there: answered, with what is missing.
3. **Relevance.** The best evidence must be close enough to the question: its e5
   similarity (:func:`confidence`) above the index's level of chance
   (:func:`chance_level`) by the calibrated margin ``VISIO_REFUSAL_THRESHOLD``.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from assistant import languages
from assistant.config import Settings
from assistant.evidence import (
    LIST_FORMS,
    Scored,
    Selection,
    add_units,
    covered,
    is_echo,
    is_label,
    scope_of,
    standing_under,
)
from assistant.lexical import named_parts, overlap, part_of, terms, words
from assistant.retrieval import Snapshot
from assistant.types import Unit
from assistant.understanding import Query

#: How much less similar to the question than the best evidence a unit may be and still be
#: brought into an answer for holding what was asked (a phone number, a name).
HOLDING_MARGIN = 0.04
#: Kinds whose evidence (any proper noun, any number) is so common that the unit holding
#: it must also speak of what the question asks about (share a word with it).
CO_OCCURRING = frozenset(("agent", "place", "count", "value", "key", "version", "duration"))
#: Kinds whose evidence may stand in the paragraph (or list) that speaks of what is asked
#: rather than in the same sentence: a key combination is often a clause of its own ("…
#: Muokkaa → Peru. … kannattaa opetella sen pikavalinta, joka on Ctrl+Z.").
SAID_IN_PARAGRAPH = frozenset(("key",))
#: Kinds whose evidence must stand with a name the question gives, when it gives one: the
#: default of the setting "Tröskel" is a number beside "Tröskel", not beside any setting.
WITH_THE_NAME = frozenset(("value", "version"))
#: Information taken from outside the quoted paragraphs and sections must mention one of
#: the names the question gives ("Lomita"'s default does not answer for "Piirretty").
ELSEWHERE_NAMED = 1

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE = re.compile(r"(?<![\w.])\+?\d[\d ()\-/]{5,}\d(?![\w.])")
_URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|2[01]\d\d)(?!\d)")
# A day and month ("24.12.", "1. 3. 2024"), not a version number ("2.4.0").
_DATE = re.compile(r"(?<![\w./\-])(?:[0-2]?\d|3[01])\.\s?(?:0?[1-9]|1[0-2])\."
                   r"(?:\s?\d{4})?(?![\d.])")
_DIGITS = re.compile(r"\d")
# A time of day ("8.30", "16:00"), not a version ("gimp-2.10", "2.10.34").
_CLOCK = re.compile(r"(?<![\w./\-])(?:[01]?\d|2[0-3])[.:][0-5]\d(?![\d]|\.\d)")
_PERCENT_SIGN = re.compile(r"\d\s?%|%\s?\d")
_CURRENCY_SIGN = re.compile(r"[€$£]\s?\d|\d\s?[€$£]")
_POSTCODE = re.compile(r"(?<!\d)\d{5}(?!\d)")
_TOKEN = re.compile(r"[^\W_]+(?:[-'’:][^\W_]+)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n)\W*$")


@dataclass(frozen=True)
class Verdict:
    """Whether and how to answer: ``answer``, ``partial`` (some of it missing) or
    ``decline``; ``missing`` names what the sources lack (kinds, or names and numbers)."""

    outcome: str
    reason: str = ""  # unknown_names | not_given | low_confidence
    missing: tuple[str, ...] = ()
    confidence: float = 0.0


# --- relevance --------------------------------------------------------------------------

def confidence(scored: Scored, settings: Settings, asks: frozenset[str] = frozenset()) -> float:
    """How close the closest evidence is to the question (compared with the threshold).

    The e5 similarity decides: shared words alone are weak evidence that a text
    answers a question, since out-of-scope questions reuse the corpus's words as
    often as real ones do. A passage found in another language counts with its
    original units too, and a unit that exists only in another language gets
    ``cross_lingual_allowance`` back (e5 scores across languages systematically
    lower).

    Sharing no word at all is a strong hint the other way: e5 puts unrelated
    questions close to sentences on the corpus's general theme. Without a shared
    word, ``no_shared_words_penalty`` is subtracted, unless the question asks for a
    kind of information the evidence plainly holds (a phone number shares no word
    with "Whom do I call?").
    """
    retrieval = scored.retrieval
    library = retrieval.library
    best = 0.0
    for item in scored.items:
        similarity = item.similarity
        if item.unit.source.lang != retrieval.lang and not _has_translation(
                library, item.unit, retrieval.lang):
            similarity += settings.cross_lingual_allowance
        best = max(best, similarity)
    for hit in retrieval.hits[:3]:
        for original in hit.stands_for:
            for unit in original.units:
                if unit.vector is not None:
                    best = max(best, float((retrieval.query_vectors @ unit.vector).max()))
    if not shares_words(scored) and not _holds_what_is_asked(scored, asks):
        best -= settings.no_shared_words_penalty
    return max(0.0, min(1.0, best))


def _has_translation(library: Snapshot | None, unit: Unit, lang: str | None) -> bool:
    return library is not None and lang is not None and library.aligned_twin(unit, lang) is not None


def shares_words(scored: Scored) -> bool:
    """Whether an evidence unit, or the heading it stands under, contains a term of the
    question (of any formulation).

    Evidence that exists only in another language cannot be judged by its words,
    so it counts as sharing.
    """
    retrieval = scored.retrieval
    wanted = [t for formulation in retrieval.query_terms for t in formulation]
    for item in scored.items:
        if item.unit.source.lang != retrieval.lang and not _has_translation(
                retrieval.library, item.unit, retrieval.lang):
            return True
        unit = item.unit
        seen = (*unit.terms,
                *standing_under(unit.source.title, unit.path or unit.section, unit.source.lang))
        if overlap(wanted, seen) > 0:
            return True
    return False


def _holds_what_is_asked(scored: Scored, asks: frozenset[str]) -> bool:
    wanted = [k for k in asks if k in CHECKED_KINDS]
    known = _title_numbers(scored.retrieval.library)
    return bool(wanted) and any(holds(e.unit.text, kind, e.unit.source.lang, known)
                                for e in scored.items[:6] for kind in wanted)


def chance_level(library: Snapshot, lang: str, relevance: Callable[[str], float]) -> float:
    """How relevant questions that no document here answers still look to this index.

    e5 similarities are not comparable across collections: a large collection on one
    domain puts any question closer to some sentence than a small one does (here an
    unrelated question reached 0.75 on the programme's page and 0.80-0.83 on a software
    manual). So relevance is judged against this level: the median relevance of the
    language's probe questions (everyday matters, ``[probes]`` in its language file),
    measured once per index generation and language.
    """
    key = f"chance_level:{lang}"
    cached = library.cache.get(key)
    if cached is None:
        values = [relevance(question) for question in languages.get(lang).probes]
        cached = float(statistics.median(values)) if values else 0.0
        library.cache[key] = cached
    return cached


# --- what kind of information a text holds ----------------------------------------------

def holds(text: str, kind: str, lang: str, known: frozenset[str] = frozenset()) -> bool:
    """Whether ``text`` contains information of ``kind`` (see the module notes).

    ``known`` are words and numbers that do not count as the information asked for:
    those the question itself mentions, and numbers that are part of names (a year in
    a title such as "Ekby 2040" is not a date, nor a count).
    """
    check = _CHECKS.get(kind)
    return True if check is None else check(text, languages.get(lang), known)


def _words_of(text: str) -> list[str]:
    return words(text)


def _plain(text: str) -> str:
    """The text without e-mail and web addresses and phone numbers, whose digits are not
    counts, dates or amounts."""
    return _PHONE.sub(" ", _URL.sub(" ", _EMAIL.sub(" ", text)))


def _number(text: str, language: languages.Language, known: frozenset[str]) -> bool:
    return any(_is_number(w, language, known) for w in _words_of(_plain(text)))


def _is_number(word: str, language: languages.Language, known: frozenset[str]) -> bool:
    """A number the question does not give itself, in digits or in words ("tio")."""
    return (word.isdigit() and word not in known) or word in language.numbers


def proper_nouns(text: str) -> list[str]:
    """Capitalised words and acronyms that do not open a sentence: names of people,
    places, organisations ("Stadsbibliotekets", "Norrby", "EU"). Of a hyphenated word only
    its capitalised parts count ("GIMP-programmet" names GIMP)."""
    found = []
    for match in _TOKEN.finditer(text):
        if _SENTENCE_START.search(text[:match.start()]):
            continue
        for part in re.split(r"[-–]", match.group(0)):
            letters = [ch for ch in part if ch.isalpha()]
            if len(letters) >= 2 and part[:1].isupper():
                found.append(part)
    return found


def _person(text: str, language: languages.Language, known: frozenset[str]) -> bool:
    """A person's name: two capitalised words in a row (first and family name)."""
    tokens = list(_TOKEN.finditer(text))
    for first, second in itertools.pairwise(tokens):
        a, b = first.group(0), second.group(0)
        between = text[first.end():second.start()]
        if (between.strip() == "" and "\n" not in between and a[:1].isupper()
                and b[:1].isupper() and a[1:].islower() and b[1:].islower()):
            return True
    return False


def _named(text: str, language: languages.Language, known: frozenset[str]) -> bool:
    """A name the question does not already give, in any form ("GIMPs" is the question's
    "GIMP:s"): an organisation answers "who made it?", a town "where?"."""
    return any(not _known_name(noun, known) for noun in proper_nouns(text))


def _known_name(noun: str, known: frozenset[str]) -> bool:
    folded = " ".join(words(noun))
    return any(folded.startswith(k) or k.startswith(folded)
               for k in known if len(k) >= 3 and not k.isdigit()) or folded in known


def _amount(text: str, language: languages.Language, known: frozenset[str]) -> bool:
    if _CURRENCY_SIGN.search(text):
        return True
    return _number(text, language, known) and any(w in language.currency
                                                  for w in _words_of(text))


def _percentage(text: str, language: languages.Language, known: frozenset[str]) -> bool:
    return bool(_PERCENT_SIGN.search(text)) or (
        _number(text, language, known) and any(w in language.percent for w in _words_of(text)))


def _date(text: str, language: languages.Language, known: frozenset[str]) -> bool:
    """A year (not one of a name), a date, a month, a weekday or a time of day."""
    plain = _plain(text)
    if any(m.group(1) not in known for m in _YEAR.finditer(plain)):
        return True
    for match in (*_DATE.finditer(plain), *_CLOCK.finditer(plain)):
        if not all(part in known for part in words(match.group(0))):
            return True  # the question's own "2.10" is neither a date nor a time
    return any(_is_time_word(w, language) for w in _words_of(text))


#: A month or time word this long also matches its inflected forms ("tammikuussa");
#: shorter ones only as such ("kl" must not match "klicka", "maj" not "majoriteten").
MIN_TIME_PREFIX = 4


def _is_time_word(word: str, language: languages.Language) -> bool:
    return any(word == p or (len(p) >= MIN_TIME_PREFIX and word.startswith(p))
               for p in (*language.months, *language.times))


#: How many words before a unit of time its length may stand ("30 sekunder", "ett helt år").
DURATION_WINDOW = 2


def _duration(text: str, language: languages.Language, known: frozenset[str]) -> bool:
    """A length of time: a unit of time with a number or a quantity just before it."""
    tokens = _words_of(_plain(text))
    for i, word in enumerate(tokens):
        if word in language.durations and any(
                _is_number(w, language, known) or w in language.quantities
                for w in tokens[max(0, i - DURATION_WINDOW):i]):
            return True
    return False


def _address(text: str, language: languages.Language, known: frozenset[str]) -> bool:
    if _POSTCODE.search(text):
        return True
    tokens = _words_of(text)
    return any(w.endswith(language.streets) and i + 1 < len(tokens) and tokens[i + 1].isdigit()
               for i, w in enumerate(tokens)) if language.streets else False


_KEY = re.compile(r"\b(?:Ctrl|Shift|Alt|Cmd|Esc|Tab|Enter|Delete|Del|Home|End|"
                  r"Page ?(?:Up|Down)|F\d{1,2})\b|\b\w\+\w", re.IGNORECASE)

_CHECKS = {
    "key": lambda text, language, known: bool(_KEY.search(text)),
    "email": lambda text, language, known: bool(_EMAIL.search(text)),
    "phone": lambda text, language, known: bool(_PHONE.search(text)),
    "url": lambda text, language, known: bool(_URL.search(text)),
    "person": _person,
    "agent": _named,
    "place": _named,
    "amount": _amount,
    "percentage": _percentage,
    "count": _number,
    "value": _number,
    "version": _number,
    "duration": _duration,
    "date": _date,
    "address": _address,
}
#: The kinds whose presence in a text can be checked.
CHECKED_KINDS = frozenset(_CHECKS)


# --- the verdict ------------------------------------------------------------------------

def wanted_kinds(query: Query) -> list[str]:
    """The checkable kinds of information the question asks for. Naming a person
    ("Vem är Maja Berg?") asks about them, not for a name."""
    wanted = {k for k in query.wants if k in CHECKED_KINDS}
    if any(len(name.split()) > 1 for name in query.names):
        wanted.discard("person")
    return sorted(wanted)


def known_words(query: Query, library: Snapshot | None) -> frozenset[str]:
    """What does not count as the information asked for: the question's own words, and
    numbers that are parts of names (any number in a document title)."""
    return frozenset(words(query.text)) | _title_numbers(library)


def _title_numbers(library: Snapshot | None) -> frozenset[str]:
    if library is None:
        return frozenset()
    cached = library.cache.get("title_numbers")
    if cached is None:
        cached = frozenset(w for s in library.documents() for w in words(s.title) if w.isdigit())
        library.cache["title_numbers"] = cached
    return cached


def unknown_names(names: Iterable[str], library: Snapshot | None) -> tuple[str, ...]:
    """Names and numbers of the question that occur nowhere in the index."""
    if library is None:
        return ()
    return tuple(name for name in names
                 if not all(library.mentions(part) for part in name.split()))


def topic_terms(query: Query) -> set[str]:
    """The question's terms other than the names it mentions: what a unit naming someone
    must also speak of ("maskot" in "Vem har ritat GIMP:s maskot?", not "GIMP")."""
    text = query.text
    for name in query.names:
        text = text.replace(name, " ")
    return set(terms(text, [query.lang]))


def name_terms(query: Query, context_terms: frozenset[str]) -> frozenset[str]:
    """The terms of the names the question gives (their capitalised parts: "GIMP-version"
    names GIMP, not any version), the collection's own name left out."""
    return frozenset(t for name in query.names for part in named_parts(name)
                     for t in terms(part, [query.lang])
                     if t not in context_terms and not t.isdigit())


def _mentions(unit: Unit, named: frozenset[str]) -> bool:
    """Whether a unit mentions one of the question's names (``name_terms``)."""
    own = set(unit.terms)
    return any(covered(t, own) for t in named)


@dataclass(frozen=True)
class Asked:
    """What a question asks about, as the checks of a unit need it: ``known`` words and
    numbers that are not the information asked for (``known_words``), the ``topic`` terms
    a name or number must come with (``topic_terms``), the ``named`` terms it must stand
    beside (``name_terms``), what a count question counts (``Query.counted``, when the
    quoted text speaks of it: then its number must stand beside it) and the collection's
    own name (``context_terms``)."""

    known: frozenset[str]
    topic: frozenset[str]
    named: frozenset[str]
    context_terms: frozenset[str]
    library: Snapshot | None = None
    counted: tuple[str, ...] = ()

    @classmethod
    def of(cls, query: Query, scored: Scored, selection: Selection) -> Asked:
        library = scored.retrieval.library
        counted = query.counted if any(_names_thing(u, query.counted)
                                       for u in selection.units) else ()
        return cls(known=known_words(query, library), topic=frozenset(topic_terms(query)),
                   named=name_terms(query, scored.context_terms),
                   context_terms=scored.context_terms, library=library, counted=counted)


def answers(unit: Unit, kind: str, asked: Asked) -> bool:
    """Whether a unit holds the kind of information asked for, about what was asked (a name
    must come with a word of the question: see ``CO_OCCURRING``). A line that only repeats
    its title and the collection's name ("– Parker / Ekby stads tjänster") names
    no town and no maker: its names are the collection's own. A key combination may
    stand anywhere in the paragraph or list that speaks of the command (``SAID_IN_PARAGRAPH``),
    in any inflection ("pikanäppäimellä" / "pikanäppäintä"); a name or number must share
    a word with the question in its own sentence, since near words are so often loose."""
    if not holds(unit.text, kind, unit.source.lang, asked.known):
        return False
    if kind not in CO_OCCURRING:
        return True
    if is_echo(unit, asked.context_terms):
        return False
    if kind == "count" and asked.counted and not _counts(unit, asked):
        return False
    library = asked.library
    if kind in WITH_THE_NAME and asked.named and not any(
            _mentions(u, asked.named) for u in _described(library, unit)):
        return False
    if library is None or kind not in SAID_IN_PARAGRAPH:
        return bool(asked.topic & set(unit.terms))
    said = {t for u in _paragraph_of(library, unit) for t in u.terms}
    return any(covered(t, said) for t in asked.topic)


#: How many words from what a count question counts its number may stand ("256 färger",
#: "kymmenen erilaista sivellintä").
COUNT_WINDOW = 3


def _counts(unit: Unit, asked: Asked) -> bool:
    """Whether a number in the unit counts what the question counts: it stands within
    ``COUNT_WINDOW`` words of that word, in any form or compound ("perussiveltimiä")."""
    language = languages.get(unit.source.lang)
    tokens = _words_of(_plain(unit.text))
    return any(_is_the_thing(word, unit.source.lang, asked.counted) and any(
        _is_number(w, language, asked.known)
        for w in tokens[max(0, i - COUNT_WINDOW):i + COUNT_WINDOW + 1])
        for i, word in enumerate(tokens))


def _names_thing(unit: Unit, thing: tuple[str, ...]) -> bool:
    """Whether the unit speaks of the counted thing at all (then a count must stand by it)."""
    return bool(thing) and any(_is_the_thing(w, unit.source.lang, thing)
                               for w in _words_of(unit.text))


def _is_the_thing(word: str, lang: str, thing: tuple[str, ...]) -> bool:
    """Whether a word names the counted thing, in any form or as a compound's part."""
    stems = set(terms(word, [lang]))
    return any(covered(t, stems) or any(part_of(t, s) for s in stems) for t in thing)


def _described(library: Snapshot | None, unit: Unit) -> tuple[Unit, ...]:
    """The paragraph a unit stands in and the term it describes, when a label stands
    above it ("Nauhan leveys" / "… 30.0 pikseliä on asetettu oletuksena."): a setting's
    value is often said a sentence after its name, or under it."""
    if library is None:
        return (unit,)
    members = library.block_units(unit) or (unit,)
    before = library.neighbour(members[0], -1)
    if (before is not None and before.section_index == unit.section_index
            and is_label(library, before)):
        return (before, *members)
    return members


def _paragraph_of(library: Snapshot, unit: Unit) -> tuple[Unit, ...]:
    """The paragraph a unit stands in, or the list it is an item of with the sentence that
    introduces the list ("Löydät tämän komennon … Tiedosto → Vie," – "tai Shift+Ctrl+E")."""
    members = library.group_units(unit)
    if unit.form not in LIST_FORMS or not members:
        return members or (unit,)
    before = library.neighbour(members[0], -1)
    return members if before is None else (before, *members)


def with_what_is_asked(selection: Selection, scored: Scored, query: Query) -> Selection:
    """Bring a unit holding the asked kind of information into the answer when the
    retrieved passages (or the chosen documents) have one and the selection does not:
    asked for a phone number, the answer must show the line with the numbers."""
    wanted = wanted_kinds(query)
    if not wanted or not selection:
        return selection
    asked = Asked.of(query, scored, selection)
    extra: list[tuple[int, Unit]] = []
    for kind in wanted:
        if any(answers(u, kind, asked) for u in selection.units):
            continue
        found = _closest_holding(scored, kind, selection, asked)
        if found is not None:
            extra.append(found)
    return add_units(selection, scored.retrieval, extra) if extra else selection


def _closest_holding(scored: Scored, kind: str, selection: Selection,
                     asked: Asked) -> tuple[int, Unit] | None:
    """The unit holding ``kind`` that best belongs with the answer: in the paragraph of a
    quoted unit first, then in a quoted section, then anywhere in the retrieved passages;
    among those, the one most similar to the question. One from elsewhere must stay within
    ``HOLDING_MARGIN`` of the best evidence's similarity (a key combination for another
    command, three pages away, does not answer "which key does X?"), and a name (of an
    organisation or a place, so common in manuals) must come with a word of the question.
    """
    retrieval = scored.retrieval
    anchor = selection.anchor
    floor = (anchor.similarity if anchor else 0.0) - HOLDING_MARGIN
    vectors = retrieval.query_vectors
    quoted = selection.units
    blocks = {(u.source.key, u.block) for u in quoted}
    sections = {scope_of(u) for u in quoted}
    found: dict[str, tuple[tuple[int, float], int, Unit]] = {}

    def consider(index: int, unit: Unit) -> None:
        if unit.id in found or unit.vector is None:
            return
        if not answers(unit, kind, asked):
            return
        similarity = float((vectors @ unit.vector).max())
        closeness = (2 if (unit.source.key, unit.block) in blocks
                     else 1 if scope_of(unit) in sections else 0)
        if closeness == 0 and (similarity < floor
                               or (ELSEWHERE_NAMED and asked.named
                                   and not _mentions(unit, asked.named))):
            return  # from elsewhere: close to the question, and about what it names
        found[unit.id] = ((closeness, similarity), index, unit)

    for item in scored.items:
        if not item.echo:
            consider(item.hit, item.unit)
    for index, hit in enumerate(retrieval.hits):
        for unit in hit.passage.units:
            consider(index, unit)
    library = retrieval.library
    if library is not None:  # the rest of the quoted documents (a long one's sections)
        anchor_hit = anchor.hit if anchor else 0
        neighbourhood = (library.section_units(q) if q.source.is_long
                         else library.units_of(q.source) for q in quoted)
        for unit in dict.fromkeys(u for units in neighbourhood for u in units):
            consider(anchor_hit, unit)
    if not found:
        return None
    _, index, unit = max(found.values(), key=lambda f: f[0])
    return index, unit


def judge(query: Query, scored: Scored, selection: Selection, confidence_value: float,
          settings: Settings) -> Verdict:
    """Answer, answer in part, or decline — and why."""
    unknown = unknown_names(query.names, scored.retrieval.library)
    if unknown:
        return Verdict("decline", "unknown_names", unknown, confidence_value)
    if confidence_value < settings.refusal_threshold or not selection:
        return Verdict("decline", "low_confidence", (), confidence_value)
    wanted = wanted_kinds(query)
    if wanted:
        asked = Asked.of(query, scored, selection)
        missing = tuple(k for k in wanted
                        if not any(answers(u, k, asked) for u in selection.units))
        if missing and (len(missing) < len(wanted) or asks_more(query)):
            return Verdict("partial", "not_given", missing, confidence_value)
        if missing:
            return Verdict("decline", "not_given", missing, confidence_value)
    return Verdict("answer", "", (), confidence_value)


def asks_more(query: Query) -> bool:
    """Whether the question has a part asking for something else than the checkable
    kinds ("Vad heter rapporten och när kom den ut?"): then a missing kind leaves an
    answer to the rest, said in part."""
    language = languages.get(query.lang)
    if len(query.parts) < 2:
        return False
    for part in query.parts:
        kinds = {k for k, pattern in language.asks.items() if pattern.search(part.casefold())}
        if not kinds & CHECKED_KINDS and len(words(part)) >= 3:
            return True
    return False
