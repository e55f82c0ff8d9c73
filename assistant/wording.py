"""The staff view: find the exact official wording and its counterpart.

A phrase is looked up among the quotable units of the index: first where it
occurs verbatim (case and spacing ignored), then where its words occur in any
inflected form, then, if little was found, the units closest in meaning. Each
match carries highlight offsets and the same unit in another language: by
position where a document declares itself a sentence-aligned translation, else
the closest unit by meaning, marked as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from assistant import languages
from assistant.embeddings import Embedder
from assistant.lexical import terms
from assistant.retrieval import Snapshot
from assistant.types import Counterpart, Unit, WordingMatch

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


def find_wording(library: Snapshot, embedder: Embedder, phrase: str, lang: str | None = None,
                 limit: int = 20) -> list[WordingMatch]:
    """Every unit holding ``phrase`` (exact first), or the closest ones, with counterparts."""
    return [_match(library, f) for f in find_units(library, embedder, phrase, lang, limit)]


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
            found[unit.id] = Found(unit, 2.0 + len(spans) * 0.01, True, tuple(spans))
            continue
        if not phrase_terms:
            continue
        shared = phrase_terms & set(unit.terms)
        share = len(shared) / len(phrase_terms)
        if share >= MIN_TERM_SHARE:
            found[unit.id] = Found(unit, 1.0 + share, False,
                                   tuple(_word_spans(unit.text, shared, unit.source.lang)))
    if len(found) < CLOSEST and units:
        vector = embedder.embed_query(phrase)
        sims = library.vectors(units) @ vector
        for index in np.argsort(-sims)[:CLOSEST]:
            unit = units[int(index)]
            if unit.id not in found and sims[index] >= MIN_SIMILARITY:
                found[unit.id] = Found(unit, float(sims[index]), False, ())
    return sorted(found.values(), key=lambda f: (-f.score, f.unit.id))[:limit]


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """The phrase with any run of spaces matching any whitespace, case-insensitive."""
    parts = [re.escape(p) for p in phrase.split()]
    return re.compile(r"\s+".join(parts), re.IGNORECASE)


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
        highlights=tuple(found.highlights), exact=found.exact, score=round(found.score, 6),
        source_url=source.source_url, translation=source.translation, official=source.official,
        counterpart=counterpart(library, unit))


def counterpart(library: Snapshot, unit: Unit) -> Counterpart | None:
    """The unit in another language: the declared translation's, else the closest one."""
    for lang in languages.codes():
        if lang == unit.source.lang:
            continue
        twin = library.aligned_twin(unit, lang)
        similarity: float | None = None
        if twin is None:
            closest = library.closest(unit, lang)
            if closest is None or closest[1] < MIN_COUNTERPART_SIMILARITY:
                continue
            twin, similarity = closest
        return Counterpart(
            lang=lang, text=twin.text, char_start=twin.char_start, char_end=twin.char_end,
            translation=twin.source.translation, official=twin.source.official,
            doc_id=twin.source.doc_id, title=twin.source.title, declared=similarity is None,
            similarity=None if similarity is None else round(similarity, 4))
    return None
