"""Hybrid retrieval: dense (e5 vectors in Chroma) + lexical (BM25), fused by rank.

The served index generation is read once into a :class:`Snapshot`: every passage
and unit as a typed object (:class:`~assistant.types.Passage`,
:class:`~assistant.types.Unit`) with its vector and terms, a BM25 table, and the
lookups the answer step needs (a document's units, a unit's counterpart in
another language, whether a word occurs anywhere). It is shared by all requests
and replaced when a new generation is published.

Dense search goes to Chroma, over chunks and over sentences (a precise sentence
hit lifts its chunk); the lexical list comes from BM25 over stemmed terms. The
lists are fused with reciprocal rank fusion, then each passage is shown once:
in the asker's language when the index has the document in that language.

What leaves this module is a :class:`Retrieval` of :class:`~assistant.types.Hit`
objects, never row numbers; any LangChain retriever whose documents carry the
index's metadata can produce the same (:func:`hits_from_documents`).
"""

from __future__ import annotations

import bisect
import difflib
import json
import logging
import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from chromadb.api.models.Collection import Collection
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant import languages
from assistant.chunking import split_sentences
from assistant.config import Settings
from assistant.embeddings import Embedder
from assistant.lexical import BM25, named_parts, terms, words
from assistant.store import Generation, IndexStore, IndexUnavailable
from assistant.types import DEFAULT_KIND, Hit, Passage, Source, Unit

PAGE = 2000
#: A name this long with a typo ("Kuntalitto") still counts as mentioned when a word of
#: the index is this similar to it (difflib ratio).
MIN_FUZZY_CHARS = 6
FUZZY_CUTOFF = 0.85

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Formulation:
    """One way of putting the question to the index, with its weight in the fusion
    (a follow-up is searched alone and joined to the previous question; a question of
    several parts also part by part)."""

    text: str
    weight: float = 1.0
    role: str = "question"  # question | joined (with the previous question) | part


# --- the served index in memory ------------------------------------------------------------

class Snapshot:
    """One index generation, held in memory as typed passages and units.

    It is also the *library* the answer step consults beyond the retrieved
    passages: the units of a document or section in order, counterparts across
    languages, the documents there are, and whether a word occurs anywhere.
    """

    def __init__(self, generation: str, passages: Sequence[Passage], units: Sequence[Unit],
                 collection: Collection | None = None) -> None:
        self.generation = generation
        self.collection = collection
        # Things derived from the snapshot by other modules (it never changes once loaded).
        self.cache: dict[str, Any] = {}
        self.passages: tuple[Passage, ...] = tuple(passages)
        self.units: tuple[Unit, ...] = tuple(units)
        self.passage_by_id = {p.id: p for p in self.passages}
        self.unit_by_id = {u.id: u for u in self.units}
        self.unit_row = {u.id: row for row, u in enumerate(self.units)}
        self.unit_vectors = (np.vstack([u.vector for u in self.units]) if self.units
                             else np.zeros((0, 1), dtype=np.float32))
        self.passage_terms = [_passage_terms(p) for p in self.passages]
        self.bm25 = BM25(self.passage_terms)
        self.sources: dict[str, Source] = {}
        units_of: dict[str, list[Unit]] = defaultdict(list)
        for unit in self.units:
            self.sources.setdefault(unit.source.key, unit.source)
            units_of[unit.source.key].append(unit)
        for passage in self.passages:
            self.sources.setdefault(passage.source.key, passage.source)
        self._units_of = {k: tuple(sorted(v, key=lambda u: u.char_start))
                          for k, v in units_of.items()}
        self._position = {(u.source.doc_id, u.source.lang, u.section_index, u.index_in_section): u
                          for u in self.units}
        self._passages_of_doc: dict[tuple[str, str], list[Passage]] = defaultdict(list)
        for passage in self.passages:
            self._passages_of_doc[(passage.source.doc_id, passage.source.lang)].append(passage)
        self._languages_of_doc: dict[str, set[str]] = defaultdict(set)
        for source in self.sources.values():
            self._languages_of_doc[source.doc_id].add(source.lang)
        self._words = sorted({w for u in self.units for w in words(u.text)}
                             | {w for s in self.sources.values() for w in words(s.title)})
        self._words_by_start: dict[str, list[str]] = defaultdict(list)
        for w in self._words:
            self._words_by_start[w[:2]].append(w)

    @classmethod
    def load(cls, generation: Generation) -> Snapshot:
        """Read every record of a generation (texts, metadata, vectors)."""
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        vectors: list[np.ndarray] = []
        offset = 0
        while True:
            page = generation.collection.get(include=["documents", "metadatas", "embeddings"],
                                             limit=PAGE, offset=offset)
            if not page["ids"]:
                break
            ids += page["ids"]
            texts += page["documents"]
            metas += [dict(m) for m in page["metadatas"]]
            vectors.append(np.asarray(page["embeddings"], dtype=np.float32))
            offset += len(page["ids"])
        if not ids:
            raise IndexUnavailable("The index is empty. Run `visio index build`.")
        matrix = np.vstack(vectors)
        passages, units = records_to_objects(ids, texts, metas, matrix)
        return cls(generation.name, passages, units, generation.collection)

    # -- the library ----------------------------------------------------------------------
    def documents(self, lang: str | None = None) -> list[Source]:
        """Every document of the index (in ``lang`` only, when given), by id."""
        return sorted((s for s in self.sources.values() if lang is None or s.lang == lang),
                      key=lambda s: (s.doc_id, s.lang))

    def languages_of(self, doc_id: str) -> set[str]:
        return set(self._languages_of_doc.get(doc_id, ()))

    def units_of(self, source: Source | str) -> tuple[Unit, ...]:
        """A document's units in reading order."""
        key = source.key if isinstance(source, Source) else source
        return self._units_of.get(key, ())

    def section_units(self, unit: Unit) -> tuple[Unit, ...]:
        return tuple(u for u in self.units_of(unit.source)
                     if u.section_index == unit.section_index)

    def group_units(self, unit: Unit) -> tuple[Unit, ...]:
        """The list a list item belongs to (or the unit's paragraph), in order."""
        return tuple(u for u in self.units_of(unit.source) if u.group == unit.group)

    def block_units(self, unit: Unit) -> tuple[Unit, ...]:
        return tuple(u for u in self.units_of(unit.source) if u.block == unit.block)

    def neighbour(self, unit: Unit, step: int) -> Unit | None:
        """The unit ``step`` places before or after ``unit`` in its document."""
        units = self.units_of(unit.source)
        index = self._index_in_document(unit)
        if index is None or not 0 <= index + step < len(units):
            return None
        return units[index + step]

    def following(self, unit: Unit) -> tuple[Unit, ...]:
        """The units after ``unit`` in its document, in reading order."""
        index = self._index_in_document(unit)
        return () if index is None else self.units_of(unit.source)[index + 1:]

    def _index_in_document(self, unit: Unit) -> int | None:
        positions = self.cache.get("positions")
        if positions is None:
            positions = self.cache["positions"] = {
                u.id: i for units in self._units_of.values() for i, u in enumerate(units)}
        return positions.get(unit.id)

    def passage_of(self, unit: Unit) -> Passage | None:
        return self.passage_by_id.get(unit.passage_id)

    def passages_of(self, doc_id: str, lang: str) -> list[Passage]:
        return list(self._passages_of_doc.get((doc_id, lang), ()))

    def aligned_twin(self, unit: Unit, lang: str) -> Unit | None:
        """The unit at the same place of the same document in ``lang``, when one of the two
        documents declares itself a sentence-aligned translation of the other."""
        if lang == unit.source.lang:
            return None
        twin = self._position.get((unit.source.doc_id, lang, unit.section_index,
                                   unit.index_in_section))
        if twin is None:
            return None
        return twin if unit.source.aligned or twin.source.aligned else None

    def closest(self, unit: Unit, lang: str) -> tuple[Unit, float] | None:
        """The unit in ``lang`` closest in meaning, preferring the same document."""
        rows = [self.unit_row[u.id] for u in self.units
                if u.source.lang == lang and u.source.doc_id == unit.source.doc_id]
        if not rows:
            rows = [row for row, u in enumerate(self.units) if u.source.lang == lang]
        if not rows or unit.vector is None:
            return None
        sims = self.unit_vectors[rows] @ unit.vector
        best = int(np.argmax(sims))
        return self.units[rows[best]], float(sims[best])

    def mentions(self, name: str) -> bool:
        """Whether a name (or number) occurs in any text or title of the index, inflected
        or compounded ("Virtasen" → "Virtanen", "Tampereelle" → "Tampere").

        A hyphenated or multi-word name is mentioned when its capitalised parts are
        ("FN-dokument": "FN"); a number must occur as such.
        """
        named = named_parts(name) or [p for p in re.split(r"[\s\-–]+", name) if p]
        return all(self._knows(w) for part in named for w in words(part)
                   if len(w) > 1 or w.isdigit())

    def _knows(self, word: str) -> bool:
        if word.isdigit():
            index = bisect.bisect_left(self._words, word)
            return index < len(self._words) and self._words[index] == word
        candidates = {word, *terms(word, languages.codes())}
        if len(word) > 6:  # an inflected name: "Virtasen", "Tampereelle"
            candidates.add(word[:max(6, len(word) - 3)])
        for prefix in candidates:
            if len(prefix) < min(3, len(word)):
                continue
            index = bisect.bisect_left(self._words, prefix)
            if index < len(self._words) and self._words[index].startswith(prefix):
                return True
        return len(word) >= MIN_FUZZY_CHARS and bool(difflib.get_close_matches(
            word, self._words_by_start.get(word[:2], ()), n=1, cutoff=FUZZY_CUTOFF))

    def dense_matrix(self, unit: str) -> tuple[np.ndarray, list[str]]:
        """All vectors of one record type ("chunk" or "sentence") and their ids."""
        key = f"dense:{unit}"
        cached = self.cache.get(key)
        if cached is None:
            items: Sequence[Passage | Unit] = self.passages if unit == "chunk" else self.units
            matrix = (np.vstack([item.vector for item in items]).astype(np.float32)
                      if items else np.zeros((0, 1), dtype=np.float32))
            cached = self.cache[key] = (matrix, [item.id for item in items])
        return cached

    def vectors(self, units: Sequence[Unit]) -> np.ndarray:
        return self.unit_vectors[[self.unit_row[u.id] for u in units]]


def records_to_objects(ids: Sequence[str], texts: Sequence[str],
                       metas: Sequence[dict[str, Any]],
                       vectors: np.ndarray) -> tuple[list[Passage], list[Unit]]:
    """The index's records as typed passages (chunks) and units (sentences)."""
    sections: dict[str, set[int]] = defaultdict(set)
    for meta in metas:
        sections[str(meta["doc_key"])].add(int(meta["section_index"]))
    sources: dict[str, Source] = {}
    units: list[Unit] = []
    chunk_rows: list[int] = []
    for row, meta in enumerate(metas):
        source = sources.get(str(meta["doc_key"]))
        if source is None:
            source = sources[str(meta["doc_key"])] = replace(
                source_of(meta), sections=max(1, len(sections[str(meta["doc_key"])])))
        if meta["unit"] == "chunk":
            chunk_rows.append(row)
            continue
        unit = Unit(
            id=str(ids[row]), source=source, text=texts[row],
            char_start=int(meta["char_start"]), char_end=int(meta["char_end"]),
            section=str(meta.get("section", "")), section_index=int(meta["section_index"]),
            index_in_section=int(meta["index_in_section"]), ordinal=int(meta["ordinal"]),
            form=str(meta.get("form", "sentence")), block=int(meta.get("block", -1)),
            group=int(meta.get("group", meta.get("block", -1))),
            passage_id=str(meta.get("chunk_id", "")), path=str(meta.get("section_path", "")),
            terms=tuple(terms(texts[row], [source.lang])), vector=vectors[row])
        units.append(unit)
    units_of_document: dict[str, list[Unit]] = defaultdict(list)
    for unit in units:
        units_of_document[unit.source.key].append(unit)
    starts: dict[str, list[int]] = {}
    for key, members in units_of_document.items():
        members.sort(key=lambda u: u.char_start)
        starts[key] = [u.char_start for u in members]
    passages = []
    for row in chunk_rows:
        meta = metas[row]
        key = str(meta["doc_key"])
        start, end = int(meta["char_start"]), int(meta["char_end"])
        # Every unit inside the chunk's span: chunks overlap, a unit belongs to each.
        first = bisect.bisect_left(starts.get(key, []), start)
        last = bisect.bisect_left(starts.get(key, []), end)
        members = [u for u in units_of_document[key][first:last] if u.char_end <= end]
        passages.append(Passage(
            id=str(ids[row]), source=sources[str(meta["doc_key"])],
            section=str(meta.get("section", "")), section_index=int(meta["section_index"]),
            text=texts[row], char_start=int(meta["char_start"]), char_end=int(meta["char_end"]),
            units=tuple(members), vector=vectors[row]))
    return passages, units


def source_of(meta: dict[str, Any]) -> Source:
    return Source(doc_id=str(meta["doc_id"]), lang=str(meta["lang"]),
                  title=str(meta.get("title", "")), kind=str(meta.get("kind") or DEFAULT_KIND),
                  source_url=str(meta.get("source_url", "")),
                  translation=bool(meta.get("translation", False)),
                  official=bool(meta.get("official", True)),
                  aligned=bool(meta.get("aligned", False)))


def _passage_terms(passage: Passage) -> list[str]:
    """Lexical search also sees the title and section, as the embeddings do."""
    return terms(f"{passage.source.title} {passage.section} {passage.text}",
                 [passage.source.lang])


# --- search ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Retrieval:
    """Ranked passages for one question, with what the answer step scores units by."""

    formulations: tuple[Formulation, ...]
    lang: str | None
    query_vectors: np.ndarray  # one row per formulation
    query_terms: tuple[tuple[str, ...], ...]
    hits: tuple[Hit, ...]
    # The snapshot the hits come from: use it, not a fresh one, which may already be a
    # newer generation.
    library: Snapshot | None = field(default=None, repr=False)

    @property
    def question_terms(self) -> tuple[str, ...]:
        return self.query_terms[0] if self.query_terms else ()


class Retriever:
    """Hybrid search over a snapshot of the served index."""

    def __init__(self, settings: Settings, store: IndexStore, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        """The current snapshot; reloaded when a newer generation has been published."""
        live_name = self.store.live_name()
        current = self._snapshot
        if current is not None and current.generation == live_name:
            return current
        with self._lock:
            if self._snapshot is None or self._snapshot.generation != live_name:
                generation = self.store.live()
                try:
                    self._snapshot = Snapshot.load(generation)
                except IndexUnavailable:
                    raise
                except Exception as exc:  # damaged records: the remedy is a rebuild
                    raise IndexUnavailable(
                        f"The index generation {generation.name} cannot be read "
                        f"({type(exc).__name__}: {exc}). Run `visio index build` to rebuild it."
                    ) from exc
            return self._snapshot

    def search(self, formulations: str | Sequence[Formulation], lang: str | None, *,
               k: int | None = None, mode: str | None = None) -> Retrieval:
        """Rank passages for one or several weighted formulations of a question.

        A search that fails because a new generation was published meanwhile (the
        old one's files deleted or closed under it) is run again on the new one.
        """
        if isinstance(formulations, str):
            formulations = [Formulation(formulations)]
        formulations = tuple(formulations)
        if not formulations:
            raise ValueError("nothing to search for: give at least one formulation")
        vectors = self.embedder.embed_queries([f.text for f in formulations])
        codes = [lang] if lang in languages.registry() else list(languages.codes())
        query_terms = tuple(tuple(terms(f.text, codes)) for f in formulations)
        snap = self.snapshot()
        try:
            return self._search(snap, formulations, lang, vectors, query_terms, k, mode)
        except IndexUnavailable:
            if not self._superseded(snap):
                raise
            log.info("search on %s raced a publish; searching the new generation",
                     snap.generation)
            return self._search(self.snapshot(), formulations, lang, vectors, query_terms, k,
                                mode)

    def _superseded(self, snap: Snapshot) -> bool:
        try:
            return self.store.live_name() not in (None, snap.generation)
        except IndexUnavailable:
            return False

    def _search(self, snap: Snapshot, formulations: tuple[Formulation, ...], lang: str | None,
                vectors: np.ndarray, query_terms: tuple[tuple[str, ...], ...], k: int | None,
                mode: str | None) -> Retrieval:
        mode = mode or self.settings.retrieval_mode
        k = k or self.settings.top_k
        n = self.settings.candidates
        lists: list[tuple[str, float, list[tuple[Passage, float]]]] = []
        if mode in ("hybrid", "dense"):
            chunk_hits = _dense(snap, vectors, "chunk", n)
            sentence_hits = _dense(snap, vectors, "sentence", n)
        for i, (formulation, qterms) in enumerate(zip(formulations, query_terms, strict=True)):
            if mode in ("hybrid", "dense"):
                lists.append(("dense", formulation.weight,
                              [(snap.passage_by_id[rid], s) for rid, s in chunk_hits[i]
                               if rid in snap.passage_by_id]))
                lists.append(("sentence", formulation.weight,
                              _sentences_to_passages(snap, sentence_hits[i])))
            if mode in ("hybrid", "lexical"):
                scores = snap.bm25.scores(qterms)
                order = np.argsort(-scores)[:n]
                lists.append(("lexical", formulation.weight,
                              [(snap.passages[j], float(scores[j])) for j in order
                               if scores[j] > 0]))
        hits = _fuse(lists, self.settings.rrf_k)
        hits = _prefer_language(snap, hits, lang, vectors[0])
        return Retrieval(formulations, lang, vectors, query_terms, tuple(hits[:k]), snap)


def _dense(snap: Snapshot, vectors: np.ndarray, unit: str,
           n: int) -> list[list[tuple[str, float]]]:
    """The ``n`` records of ``unit`` ("chunk" or "sentence") closest to each query vector.

    Exact cosine over the snapshot's own vectors: the snapshot holds every vector
    anyway, and a product with all of them costs ~2 ms for a 6 000-record manual, where
    asking Chroma (HNSW with a metadata filter) cost 27 ms per list (benchmarks/).
    """
    matrix, ids = snap.dense_matrix(unit)
    if not ids:
        return [[] for _ in vectors]
    sims = vectors @ matrix.T
    result = []
    for row in sims:
        top = np.argpartition(-row, min(n, len(ids)) - 1)[:n] if len(ids) > n else \
            np.arange(len(ids))
        top = top[np.argsort(-row[top])]
        result.append([(ids[i], float(row[i])) for i in top])
    return result


def _sentences_to_passages(snap: Snapshot,
                           hits: list[tuple[str, float]]) -> list[tuple[Passage, float]]:
    """Rank passages by their best sentence hit."""
    best: dict[str, float] = {}
    for unit_id, score in hits:
        unit = snap.unit_by_id.get(unit_id)
        if unit is not None and unit.passage_id in snap.passage_by_id:
            best[unit.passage_id] = max(best.get(unit.passage_id, -1.0), score)
    return sorted(((snap.passage_by_id[pid], s) for pid, s in best.items()),
                  key=lambda item: -item[1])


def _fuse(lists: Sequence[tuple[str, float, list[tuple[Passage, float]]]],
          rrf_k: int) -> list[Hit]:
    """Weighted reciprocal rank fusion: robust to the different score scales of each list."""
    fused: dict[str, dict[str, Any]] = {}
    for name, weight, ranked in lists:
        for rank, (passage, score) in enumerate(ranked):
            entry = fused.setdefault(passage.id, {"passage": passage, "score": 0.0, "dense": 0.0,
                                                  "lexical": 0.0, "sentence": 0.0, "via": []})
            entry["score"] += weight / (rrf_k + rank + 1)
            if name not in entry["via"]:
                entry["via"].append(name)
            key = name if name in ("dense", "sentence") else "lexical"
            entry[key] = max(entry[key], score)
    hits = [Hit(passage=e["passage"], score=e["score"], dense=e["dense"], lexical=e["lexical"],
                sentence=e["sentence"], via=tuple(e["via"])) for e in fused.values()]
    return sorted(hits, key=lambda h: (-h.score, h.passage.id))


def _prefer_language(snap: Snapshot, hits: list[Hit], lang: str | None,
                     query_vector: np.ndarray) -> list[Hit]:
    """Show each passage once, in the asker's language where the index has its document."""
    if lang not in languages.registry():
        return _dedupe(hits)
    moved: list[Hit] = []
    for hit in hits:
        if hit.passage.source.lang != lang:
            twin = _counterpart_passage(snap, hit.passage, lang, query_vector)
            if twin is not None:
                hit = replace(hit, passage=twin, via=(*hit.via, "translated"),
                              stands_for=(hit.passage,))
        moved.append(hit)
    return _dedupe(moved)


def _dedupe(hits: list[Hit]) -> list[Hit]:
    seen: dict[str, Hit] = {}
    for hit in hits:
        kept = seen.get(hit.passage.id)
        if kept is None:
            seen[hit.passage.id] = hit
            continue
        known = {p.id for p in kept.stands_for}
        seen[hit.passage.id] = replace(
            kept, score=max(kept.score, hit.score), dense=max(kept.dense, hit.dense),
            sentence=max(kept.sentence, hit.sentence), lexical=max(kept.lexical, hit.lexical),
            stands_for=(*kept.stands_for, *(p for p in hit.stands_for if p.id not in known)))
    return sorted(seen.values(), key=lambda h: (-h.score, h.passage.id))


def _counterpart_passage(snap: Snapshot, passage: Passage, lang: str,
                         query_vector: np.ndarray) -> Passage | None:
    """The passage of the same document in ``lang`` closest to the query (in the same
    section when the translation declares itself aligned)."""
    candidates = snap.passages_of(passage.source.doc_id, lang)
    if not candidates:
        return None
    aligned = [p for p in candidates if p.section_index == passage.section_index]
    if aligned and (passage.source.aligned or aligned[0].source.aligned):
        candidates = aligned
    if len(candidates) == 1:
        return candidates[0]
    sims = np.vstack([p.vector for p in candidates]) @ query_vector
    return candidates[int(np.argmax(sims))]


# --- the LangChain seam ------------------------------------------------------------------------

class VisioRetriever(BaseRetriever):
    """The LangChain face of :class:`Retriever`: a pluggable seam for chains."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any
    language: str | None = None
    k: int | None = None

    def _get_relevant_documents(self, query: str, *,
                                run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        result = self.retriever.search(query, self.language, k=self.k)
        return hits_to_documents(result.hits)


def passage_metadata(passage: Passage) -> dict[str, Any]:
    """The metadata the index stores for a chunk, which :func:`hits_from_documents` reads."""
    source = passage.source
    return {"doc_id": source.doc_id, "lang": source.lang, "doc_key": source.key,
            "title": source.title, "kind": source.kind, "source_url": source.source_url,
            "translation": source.translation, "official": source.official,
            "aligned": source.aligned, "unit": "chunk", "section": passage.section,
            "section_index": passage.section_index, "char_start": passage.char_start,
            "char_end": passage.char_end,
            "sentences": json.dumps([list(u.span) for u in passage.units])}


def hits_to_documents(hits: Sequence[Hit]) -> list[LCDocument]:
    return [LCDocument(id=h.passage.id, page_content=h.passage.text,
                       metadata={**passage_metadata(h.passage), "score": h.score,
                                 "dense": h.dense, "lexical": h.lexical,
                                 "sentence_score": h.sentence})
            for h in hits]


def hits_from_documents(documents: Iterable[LCDocument], embedder: Embedder,
                        library: Snapshot | None = None) -> list[Hit]:
    """Hits for the answer step from any LangChain retriever's documents.

    A document whose id names a passage of ``library`` is that passage (with its
    units and vectors). Any other document carrying the index's chunk metadata
    (``doc_id``, ``lang``, ``title``, ``char_start`` …; ``sentences`` as JSON spans,
    else sentences are split here) becomes a passage whose units are embedded now.
    Documents without that metadata are skipped: their text could not be cited.
    """
    hits: list[Hit] = []
    documents = list(documents)
    for rank, document in enumerate(documents):
        known = library.passage_by_id.get(str(document.id)) if library is not None else None
        passage = known or _passage_from_document(document, embedder)
        if passage is None:
            continue
        score = float(document.metadata.get("score", 1.0 / (rank + 1)))
        hits.append(Hit(passage=passage, score=score, via=("external",)))
    return hits


def _passage_from_document(document: LCDocument, embedder: Embedder) -> Passage | None:
    meta = document.metadata or {}
    try:
        source = source_of({**meta, "doc_key": f"{meta['doc_id']}:{meta['lang']}"})
        start = int(meta["char_start"])
    except (KeyError, TypeError, ValueError):
        return None
    text = document.page_content
    try:
        spans = [tuple(s) for s in json.loads(str(meta.get("sentences", "[]")))]
    except (TypeError, ValueError):
        spans = []
    if not spans:
        spans = [(start + s, start + e) for s, e in split_sentences(text)]
    spans = [(s, e) for s, e in spans if start <= s < e <= start + len(text)]
    if not spans:
        return None
    pid = str(document.id or f"{source.key}:{start}")
    unit_texts = [text[s - start:e - start] for s, e in spans]
    vectors = embedder.embed_passages(unit_texts)
    units = tuple(
        Unit(id=f"{pid}:u{i}", source=source, text=t, char_start=s, char_end=e,
             section=str(meta.get("section", "")),
             section_index=int(meta.get("section_index", 0)), index_in_section=i, ordinal=i,
             form="sentence", block=i, group=i, passage_id=pid,
             terms=tuple(terms(t, [source.lang])), vector=vectors[i])
        for i, ((s, e), t) in enumerate(zip(spans, unit_texts, strict=True)))
    return Passage(id=pid, source=source, section=str(meta.get("section", "")),
                   section_index=int(meta.get("section_index", 0)), text=text,
                   char_start=start, char_end=start + len(text), units=units,
                   vector=embedder.embed_passages([text])[0])
