"""The staff view: find the exact official wording and its counterpart.

A phrase is looked up among the quotable units (sentences, list items) of the
index: first where it occurs verbatim (case and spacing ignored), then where
its words occur in any inflected form, then, if little was found, the units
closest in meaning. Each match carries highlight offsets and the same unit
in the other language (documents keep one sentence per sentence across
languages, so units align by section and position).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from assistant.lexical import terms
from assistant.retrieval import Retriever, Snapshot
from assistant.types import LANGUAGES, Counterpart, WordingMatch

MIN_TERM_SHARE = 0.5  # keyword match: at least half of the phrase's terms
MIN_SIMILARITY = 0.80  # meaning match: e5 cosine floor for "closest" passages
CLOSEST = 5


@dataclass
class _Found:
    row: int
    score: float
    exact: bool
    highlights: list[tuple[int, int]]


def find_wording(retriever: Retriever, phrase: str, lang: str | None = None,
                 limit: int = 20) -> list[WordingMatch]:
    phrase = phrase.strip()
    if not phrase:
        return []
    snap = retriever.snapshot()
    rows = [r for r, m in enumerate(snap.metas)
            if m["unit"] == "sentence" and (lang is None or m["lang"] == lang)]
    pattern = _phrase_pattern(phrase)
    phrase_terms = set(terms(phrase, list(LANGUAGES)))
    found: dict[int, _Found] = {}
    for row in rows:
        text = snap.texts[row]
        spans = [m.span() for m in pattern.finditer(text)]
        if spans:
            found[row] = _Found(row, 2.0 + len(spans) * 0.01, True, spans)
            continue
        if not phrase_terms:
            continue
        shared = phrase_terms & set(snap.terms[row])
        share = len(shared) / len(phrase_terms)
        if share >= MIN_TERM_SHARE:
            found[row] = _Found(row, 1.0 + share, False,
                                _word_spans(text, shared, str(snap.metas[row]["lang"])))
    if len(found) < CLOSEST:
        vector = retriever.embedder.embed_query(phrase)
        sims = snap.vectors[rows] @ vector if rows else np.zeros(0)
        for index in np.argsort(-sims)[:CLOSEST]:
            row = rows[int(index)]
            if row not in found and sims[index] >= MIN_SIMILARITY:
                found[row] = _Found(row, float(sims[index]), False, [])
    ranked = sorted(found.values(), key=lambda f: (-f.score, f.row))[:limit]
    return [_match(snap, f) for f in ranked]


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    """The phrase with any run of spaces matching any whitespace, case-insensitive."""
    parts = [re.escape(p) for p in phrase.split()]
    return re.compile(r"\s+".join(parts), re.IGNORECASE)


def _word_spans(text: str, shared: set[str], lang: str) -> list[tuple[int, int]]:
    spans = []
    for match in re.finditer(r"[^\W_]+(?:[-'’][^\W_]+)*", text):
        if set(terms(match.group(0), [lang])) & shared:
            spans.append(match.span())
    return spans


def _match(snap: Snapshot, found: _Found) -> WordingMatch:
    meta = snap.metas[found.row]
    return WordingMatch(
        doc_id=str(meta["doc_id"]),
        lang=str(meta["lang"]),
        title=str(meta["title"]),
        section=str(meta["section"]),
        text=snap.texts[found.row],
        char_start=int(meta["char_start"]),
        char_end=int(meta["char_end"]),
        highlights=tuple(found.highlights),
        exact=found.exact,
        score=round(found.score, 6),
        source_url=str(meta.get("source_url", "")),
        translation=bool(meta.get("translation", False)),
        official=bool(meta.get("official", True)),
        counterpart=counterpart(snap, found.row),
    )


def counterpart(snap: Snapshot, row: int) -> Counterpart | None:
    """The aligned unit of the same document in the other language, if there is one."""
    meta = snap.metas[row]
    for other in LANGUAGES:
        if other == meta["lang"]:
            continue
        key = (meta["doc_id"], other, int(meta["section_index"]), int(meta["index_in_section"]))
        twin = snap.sentence_at.get(key)
        if twin is not None:
            tmeta = snap.metas[twin]
            return Counterpart(
                lang=other, text=snap.texts[twin], char_start=int(tmeta["char_start"]),
                char_end=int(tmeta["char_end"]), translation=bool(tmeta.get("translation")),
                official=bool(tmeta.get("official", True)),
            )
    return None

