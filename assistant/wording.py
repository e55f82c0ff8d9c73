"""The staff view: find the exact official wording and its counterpart.

A phrase is looked up among the quotable units of the index: first where it
occurs verbatim (case and spacing ignored), then where it occurs inflected (its
words in the same order, each in another form: "kestävä kehitys" stands in
"kestävän kehityksen"), then where its words occur anywhere in a unit, then, if
little was found, the units closest in meaning. Titles and section headings are
not quotable units, so the staff view also looks there (:func:`find_headings`, as
the chat's wording check does): a phrase standing only in a heading is found
there, with the first text under it as its place. Each
match carries highlight offsets and the same unit in another language: by
position where a document declares itself a sentence-aligned translation, else
the closest unit by meaning, marked as such (a title's is the same document's
title, a heading's the aligned heading).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant import languages
from assistant.chunking import PATH_SEPARATOR
from assistant.embeddings import Embedder
from assistant.lexical import MIN_PREFIX_STEM, common_prefix, terms
from assistant.retrieval import Snapshot
from assistant.types import Counterpart, Unit, WordingMatch

_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
#: Base scores that rank the kinds of find: the phrase as written, then inflected, then
#: its words anywhere in a unit (plus their share), then closeness in meaning (below 1).
EXACT, INFLECTED, KEYWORDS = 3.0, 2.0, 1.0
#: A title or heading holding the phrase as written: after the sentences holding it, before
#: those only sharing its words (it ties the best of them and is listed first).
HEADING = INFLECTED
MIN_TERM_SHARE = 0.5  # keyword match: at least half of the phrase's terms
MIN_SIMILARITY = 0.80  # meaning match: e5 cosine floor for "closest" passages
CLOSEST = 5
#: A counterpart found by meaning (not declared) must be at least this close.
MIN_COUNTERPART_SIMILARITY = 0.85


@dataclass(frozen=True)
class Found:
    """A unit holding the phrase (``exact``), its words, or close to it in meaning."""

    unit: Unit
    score: float
    exact: bool
    highlights: tuple[tuple[int, int], ...]
    inflected: bool = False  # the whole phrase, in order, its words in other forms

    @property
    def form(self) -> str:
        """The phrase as it stands in the unit (its first highlight)."""
        if not self.highlights:
            return ""
        start, end = self.highlights[0]
        return self.unit.text[start:end]


def find_wording(library: Snapshot, embedder: Embedder, phrase: str, lang: str | None = None,
                 limit: int = 20) -> list[WordingMatch]:
    """Every unit holding ``phrase`` (exact first), then the titles and headings holding it
    as written, then the units sharing its words or closest in meaning; with counterparts.

    Sentences come first, as an exact quote is what staff look for; a heading comes
    before mere neighbours in meaning, which would otherwise hide that the phrase stands.
    """
    found = find_units(library, embedder, phrase, lang, limit)
    holding = [f for f in found if f.exact or f.inflected]
    ordered: list[Found | HeadingFind] = [
        *holding, *find_headings(library, phrase, lang),
        *(f for f in found if not (f.exact or f.inflected))]
    return [_heading_match(library, f) if isinstance(f, HeadingFind) else _match(library, f)
            for f in ordered[:limit]]


def find_units(library: Snapshot, embedder: Embedder, phrase: str, lang: str | None = None,
               limit: int = 20) -> list[Found]:
    """The units of :func:`find_wording`, best first."""
    phrase = phrase.strip()
    if not phrase:
        return []
    units = [u for u in library.units if lang is None or u.source.lang == lang]
    pattern = phrase_pattern(phrase)
    phrase_terms = set(terms(phrase, languages.codes()))
    found: dict[str, Found] = {}
    for unit in units:
        spans = [m.span() for m in pattern.finditer(unit.text)]
        if spans:
            found[unit.id] = Found(unit, EXACT + len(spans) * 0.01, True, tuple(spans))
            continue
        if not phrase_terms:
            continue
        inflected = inflected_spans(unit, phrase)
        if inflected:
            found[unit.id] = Found(unit, INFLECTED + len(inflected) * 0.01, False,
                                   tuple(inflected), inflected=True)
            continue
        shared = phrase_terms & set(unit.terms)
        share = len(shared) / len(phrase_terms)
        if share >= MIN_TERM_SHARE:
            found[unit.id] = Found(unit, KEYWORDS + share, False,
                                   tuple(_word_spans(unit.text, shared, unit.source.lang)))
    if len(found) < CLOSEST and units:
        vector = embedder.embed_query(phrase)
        sims = library.vectors(units) @ vector
        for index in np.argsort(-sims)[:CLOSEST]:
            unit = units[int(index)]
            if unit.id not in found and sims[index] >= MIN_SIMILARITY:
                found[unit.id] = Found(unit, float(sims[index]), False, ())
    return sorted(found.values(), key=lambda f: (-f.score, f.unit.id))[:limit]


@dataclass(frozen=True)
class HeadingFind:
    """A title or heading holding the phrase as written, with the first unit under it
    (what a citation of the heading points at) and where the phrase stands in it."""

    heading: str
    unit: Unit
    highlights: tuple[tuple[int, int], ...] = ()

    @property
    def shape(self) -> str:
        """"title" for the document's title, else "heading": answers name them differently."""
        return "title" if self.heading == self.unit.source.title else "heading"

    @property
    def path(self) -> str:
        """The headings down to this one, outermost first ("" for a title, which stands
        above them all), so staff see where in the document the heading is."""
        parts = self.unit.path.split(PATH_SEPARATOR) if self.unit.path else []
        if self.shape == "title" or self.heading not in parts:
            return ""
        return PATH_SEPARATOR.join(parts[:parts.index(self.heading) + 1])


def find_headings(library: Snapshot, phrase: str, lang: str | None = None) -> list[HeadingFind]:
    """Titles and headings holding ``phrase`` as written: staff check those words too
    ("FN:s Agenda 2030" may stand only in a title), and they are not quotable units."""
    phrase = phrase.strip()
    if not phrase:  # an empty pattern would match every heading
        return []
    pattern = phrase_pattern(phrase)
    finds: list[HeadingFind] = []
    for source in library.documents(lang):
        units = library.units_of(source)
        if not units:
            continue
        title_found = False
        for heading, unit in [(source.title, units[0]), *_first_under_headings(units)]:
            spans = tuple(m.span() for m in pattern.finditer(heading))
            if not spans or (title_found and heading == source.title):
                continue  # a top heading repeating the title is the title's find
            title_found = title_found or heading == source.title
            finds.append(HeadingFind(heading, unit, spans))
    return finds


def _first_under_headings(units: Sequence[Unit]) -> list[tuple[str, Unit]]:
    """Each heading of a document's sections with the first unit under it: a heading used
    in several sections ("Översikt" under every filter) is found in each."""
    firsts: dict[str, tuple[str, Unit]] = {}
    for unit in units:
        parts = unit.path.split(PATH_SEPARATOR) if unit.path else []
        for depth, heading in enumerate(parts):
            firsts.setdefault(PATH_SEPARATOR.join(parts[:depth + 1]), (heading, unit))
    return list(firsts.values())


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """The phrase as whole words, any run of spaces matching any whitespace,
    case-insensitive ("kunta" does not stand in "Kuntaliitto": that is another word)."""
    parts = [re.escape(p) for p in phrase.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)", re.IGNORECASE)


def inflected_spans(unit: Unit, phrase: str) -> list[tuple[int, int]]:
    """Where the phrase's words stand in the unit one after another, each as written or in
    another form of the same word (same stem, or a long common beginning, as Finnish
    inflection and consonant gradation need); words without a stem ("och", "ja") must
    stand as written."""
    lang = unit.source.lang
    wanted = [w.casefold() for w in _WORD.findall(phrase)]
    stems = [tuple(terms(w, [lang])) for w in wanted]
    own = unit.terms
    if not wanted or not all(any(_inflects(o, t) for o in own for t in st) for st in stems if st):
        return []
    tokens = list(_WORD.finditer(unit.text))
    spans = []
    for i in range(len(tokens) - len(wanted) + 1):
        window = tokens[i:i + len(wanted)]
        if all(_same_word(token.group(0), word, stem, lang)
               for token, word, stem in zip(window, wanted, stems, strict=True)):
            spans.append((window[0].start(), window[-1].end()))
    return spans


def _same_word(token: str, word: str, stems: tuple[str, ...], lang: str) -> bool:
    if token.casefold() == word:
        return True
    if not stems:
        return False
    return any(_inflects(t, stem) for t in terms(token, [lang]) for stem in stems)


def _inflects(term: str, stem: str) -> bool:
    """Whether ``term`` is a form of the word whose stem is ``stem``: it begins with all of
    the stem but its last two letters (consonant gradation: "kehity" / "kehityks"), so a
    compound with more after a shared beginning ("hyvinvointi" for "hyvinvointialue") is
    another word."""
    return term == stem or common_prefix(term, stem) >= max(MIN_PREFIX_STEM - 1, len(stem) - 2)


def _word_spans(text: str, shared: set[str], lang: str) -> list[tuple[int, int]]:
    spans = []
    for match in re.finditer(r"[^\W_]+(?:[-'’][^\W_]+)*", text):
        if set(terms(match.group(0), [lang])) & shared:
            spans.append(match.span())
    return spans


def _match(library: Snapshot, found: Found) -> WordingMatch:
    unit = found.unit
    source = unit.source
    return WordingMatch(
        doc_id=source.doc_id, lang=source.lang, title=source.title, section=unit.section,
        text=unit.text, char_start=unit.char_start, char_end=unit.char_end,
        highlights=tuple(found.highlights), exact=found.exact, inflected=found.inflected,
        score=round(found.score, 6),
        source_url=source.source_url, translation=source.translation, official=source.official,
        counterpart=counterpart(library, unit), heading_path=unit.path)


def _heading_match(library: Snapshot, find: HeadingFind) -> WordingMatch:
    """A title or heading find, placed at the first text under it; ``exact`` and
    ``highlights`` keep describing ``text`` (the phrase is in ``heading``)."""
    unit = find.unit
    source = unit.source
    return WordingMatch(
        doc_id=source.doc_id, lang=source.lang, title=source.title, section=unit.section,
        text=unit.text, char_start=unit.char_start, char_end=unit.char_end,
        highlights=(), exact=False, score=HEADING,
        source_url=source.source_url, translation=source.translation, official=source.official,
        counterpart=heading_counterpart(library, find), shape=find.shape,
        heading=find.heading, heading_highlights=find.highlights,
        heading_path=find.path)


def twin_in(library: Snapshot, unit: Unit, lang: str) -> tuple[Unit, float | None] | None:
    """The same sentence in ``lang``: the declared translation's (similarity None), else
    the closest one, with its similarity (at least ``MIN_COUNTERPART_SIMILARITY``)."""
    if unit.source.lang == lang:
        return None
    twin = library.aligned_twin(unit, lang)
    if twin is not None:
        return twin, None
    closest = library.closest(unit, lang)
    return closest if closest is not None and closest[1] >= MIN_COUNTERPART_SIMILARITY \
        else None


def translated(library: Snapshot, phrase: str, lang: str, limit: int = 1,
               skip: Callable[[Unit], bool] = lambda unit: False) -> list[Unit]:
    """What a phrase quoted from the other language's text says in ``lang``: the
    counterparts of the sentences holding it (as written or inflected), when it stands in
    no text of ``lang`` and in at most ``limit`` sentences ("Mitä ovat ne 'idémöten',
    joista ruotsinkielinen sivu puhuu?"). Units for which ``skip`` is true (a caption) do
    not count."""
    pattern = phrase_pattern(phrase)
    holding = [u for u in library.units
               if not skip(u) and (pattern.search(u.text) or inflected_spans(u, phrase))]
    if (not holding or len(holding) > limit
            or any(u.source.lang == lang for u in holding)):
        return []  # a phrase standing in many places names a topic the search finds
    twins: dict[str, Unit] = {}
    for unit in holding:
        found = twin_in(library, unit, lang)
        if found is not None:
            twins.setdefault(found[0].id, found[0])
    return list(twins.values())


def counterpart(library: Snapshot, unit: Unit) -> Counterpart | None:
    """The unit in another language: the declared translation's, else the closest one."""
    for lang in languages.codes():
        found = twin_in(library, unit, lang)
        if found is not None:
            return _counterpart_of(*found)
    return None


def heading_counterpart(library: Snapshot, find: HeadingFind) -> Counterpart | None:
    """The title or heading in another language, with the first text under it. Only what
    the documents declare pairs them (headings carry no embedding to compare)."""
    for lang in languages.codes():
        if lang == find.unit.source.lang:
            continue
        twin = _heading_twin(library, find, lang)
        if twin is not None:
            return _counterpart_of(twin[1], heading=twin[0])
    return None


def _heading_twin(library: Snapshot, find: HeadingFind, lang: str) -> tuple[str, Unit] | None:
    """A title's twin is the same document's title in ``lang`` (one id names all its
    language versions); a heading's, the one at the same depth above the unit aligned
    with the first one under it (a declared sentence-aligned translation only)."""
    if find.shape == "title":
        doc_id = find.unit.source.doc_id
        other = next((s for s in library.documents(lang) if s.doc_id == doc_id), None)
        units = library.units_of(other) if other is not None else ()
        return (other.title, units[0]) if other is not None and units else None
    twin = library.aligned_twin(find.unit, lang)
    if twin is None or not twin.path:
        return None
    depth = find.path.count(PATH_SEPARATOR)
    parts = twin.path.split(PATH_SEPARATOR)
    return (parts[depth], twin) if depth < len(parts) else None


def _counterpart_of(twin: Unit, similarity: float | None = None,
                    heading: str = "") -> Counterpart:
    """``twin`` as a counterpart: declared unless found by ``similarity``."""
    return Counterpart(
        lang=twin.source.lang, text=twin.text, char_start=twin.char_start,
        char_end=twin.char_end, translation=twin.source.translation,
        official=twin.source.official, doc_id=twin.source.doc_id, title=twin.source.title,
        declared=similarity is None,
        similarity=None if similarity is None else round(similarity, 4), heading=heading)
