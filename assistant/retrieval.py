"""Hybrid retrieval: dense (e5 vectors in Chroma) + lexical (BM25), fused by rank.

The served index generation is read once into a :class:`Snapshot` (texts,
metadata, vectors, a BM25 table); it is shared by all requests and replaced
when a new generation is published. Dense search goes to Chroma, both over
chunks and over sentences (a precise sentence hit lifts its chunk); the
lexical list comes from BM25 over stemmed terms. The lists are fused with
reciprocal rank fusion, then each passage is shown once: in the asker's
language when the index has it in that language, else in its original.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from chromadb.api.models.Collection import Collection
from langchain_chroma import Chroma
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.config import Settings
from assistant.embeddings import E5Embeddings, Embedder
from assistant.lexical import BM25, terms
from assistant.store import Generation, IndexStore, IndexUnavailable
from assistant.types import LANGUAGES

PAGE = 2000

log = logging.getLogger(__name__)


@dataclass
class Snapshot:
    """Everything in one index generation, held in memory for fast lookups."""

    generation: str
    ids: list[str]
    texts: list[str]
    metas: list[dict[str, Any]]
    vectors: np.ndarray
    terms: list[list[str]]
    by_id: dict[str, int]
    chunk_rows: list[int]
    bm25: BM25
    sentences_in_chunk: dict[int, list[int]]
    chunks_in_section: dict[tuple[str, str, int], list[int]]
    sentence_at: dict[tuple[str, str, int, int], int]
    languages_of_doc: dict[str, set[str]]
    store: Chroma | None = None  # LangChain's view of the collection, for chains built on it
    collection: Collection | None = None  # searched directly: see Retriever._dense

    @classmethod
    def load(cls, generation: Generation, embedder: Embedder) -> Snapshot:
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
        record_terms = [terms(_lexical_text(m, t), [str(m["lang"])])
                        for t, m in zip(texts, metas, strict=True)]
        chunk_rows = [i for i, m in enumerate(metas) if m["unit"] == "chunk"]
        sentences_in_chunk: dict[int, list[int]] = defaultdict(list)
        chunks_in_section: dict[tuple[str, str, int], list[int]] = defaultdict(list)
        sentence_at: dict[tuple[str, str, int, int], int] = {}
        languages_of_doc: dict[str, set[str]] = defaultdict(set)
        chunk_spans: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        for row in chunk_rows:
            m = metas[row]
            chunks_in_section[(m["doc_id"], m["lang"], int(m["section_index"]))].append(row)
            chunk_spans[m["doc_key"]].append((int(m["char_start"]), int(m["char_end"]), row))
            languages_of_doc[m["doc_id"]].add(m["lang"])
        for row, m in enumerate(metas):
            if m["unit"] != "sentence":
                continue
            key = (m["doc_id"], m["lang"], int(m["section_index"]), int(m["index_in_section"]))
            sentence_at[key] = row
            start, end = int(m["char_start"]), int(m["char_end"])
            for c_start, c_end, c_row in chunk_spans[m["doc_key"]]:
                if c_start <= start and end <= c_end:
                    sentences_in_chunk[c_row].append(row)
        for rows in sentences_in_chunk.values():
            rows.sort(key=lambda r: int(metas[r]["char_start"]))
        for rows in chunks_in_section.values():
            rows.sort(key=lambda r: int(metas[r]["char_start"]))
        store = Chroma(client=generation.client, collection_name=generation.collection.name,
                       embedding_function=E5Embeddings(embedder))
        return cls(
            generation=generation.name, ids=ids, texts=texts, metas=metas, vectors=matrix,
            terms=record_terms, by_id={rid: i for i, rid in enumerate(ids)},
            chunk_rows=chunk_rows, bm25=BM25([record_terms[r] for r in chunk_rows]),
            sentences_in_chunk=dict(sentences_in_chunk),
            chunks_in_section=dict(chunks_in_section), sentence_at=sentence_at,
            languages_of_doc=dict(languages_of_doc), store=store,
            collection=generation.collection,
        )

    def sentence_spans(self, chunk_row: int) -> list[tuple[int, int]]:
        return [tuple(s) for s in json.loads(self.metas[chunk_row]["sentences"])]


def _lexical_text(meta: dict[str, Any], text: str) -> str:
    """Lexical search also sees the title and section, as the embeddings do."""
    return f"{meta.get('title', '')} {meta.get('section', '')} {text}"


@dataclass
class Hit:
    """A retrieved chunk with the evidence that ranked it."""

    row: int
    score: float
    dense: float = 0.0
    lexical: float = 0.0
    sentence: float = 0.0
    via: list[str] = field(default_factory=list)
    # Chunks in the other language that were found and replaced by this one.
    origins: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Query:
    """One formulation of what is asked, with its weight in the fusion."""

    text: str
    weight: float = 1.0


@dataclass
class Retrieval:
    queries: list[Query]
    lang: str | None
    query_vectors: np.ndarray  # one row per query
    query_terms: list[list[str]]
    hits: list[Hit]
    # The snapshot the hits' rows index into: use it, not a fresh ``snapshot()``, which
    # may already be a newer generation whose rows mean other records.
    snapshot: Snapshot


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
                    self._snapshot = Snapshot.load(generation, self.embedder)
                except IndexUnavailable:
                    raise
                except Exception as exc:  # damaged records: the remedy is a rebuild
                    raise IndexUnavailable(
                        f"The index generation {generation.name} cannot be read "
                        f"({type(exc).__name__}: {exc}). Run `visio index build` to rebuild it."
                    ) from exc
            return self._snapshot

    def search(self, queries: str | Sequence[Query], lang: str | None, *, k: int | None = None,
               mode: str | None = None) -> Retrieval:
        """Rank chunks for one or several weighted formulations of a question.

        A search that fails because a new generation was published meanwhile (the
        old one's files deleted or closed under it) is run again on the new one.
        """
        if isinstance(queries, str):
            queries = [Query(queries)]
        queries = list(queries)
        vectors = self.embedder.embed_queries([q.text for q in queries])
        query_langs = [lang] if lang in LANGUAGES else list(LANGUAGES)
        query_terms = [terms(q.text, query_langs) for q in queries]
        snap = self.snapshot()
        try:
            return self._search(snap, queries, lang, vectors, query_terms, k, mode)
        except IndexUnavailable:
            if not self._superseded(snap):
                raise
            log.info("search on %s raced a publish; searching the new generation",
                     snap.generation)
            return self._search(self.snapshot(), queries, lang, vectors, query_terms, k, mode)

    def _superseded(self, snap: Snapshot) -> bool:
        try:
            return self.store.live_name() not in (None, snap.generation)
        except IndexUnavailable:
            return False

    def _search(self, snap: Snapshot, queries: list[Query], lang: str | None,
                vectors: np.ndarray, query_terms: list[list[str]], k: int | None,
                mode: str | None) -> Retrieval:
        mode = mode or self.settings.retrieval_mode
        k = k or self.settings.top_k
        n = self.settings.candidates
        lists: list[tuple[str, float, list[tuple[int, float]]]] = []
        if mode in ("hybrid", "dense"):
            chunk_hits = self._dense(snap, vectors, "chunk", n)
            sentence_hits = self._dense(snap, vectors, "sentence", n)
        for i, (query, qterms) in enumerate(zip(queries, query_terms, strict=True)):
            if mode in ("hybrid", "dense"):
                lists.append(("dense", query.weight, chunk_hits[i]))
                lists.append(("sentence", query.weight,
                              _sentences_to_chunks(snap, sentence_hits[i])))
            if mode in ("hybrid", "lexical"):
                scores = snap.bm25.scores(qterms)
                order = np.argsort(-scores)[:n]
                lists.append(("lexical", query.weight, [(snap.chunk_rows[i], float(scores[i]))
                                                        for i in order if scores[i] > 0]))
        hits = _fuse(lists, self.settings.rrf_k)
        hits = _prefer_language(snap, hits, lang, vectors[0])
        return Retrieval(queries, lang, vectors, query_terms, hits[:k], snap)

    @staticmethod
    def _dense(snap: Snapshot, vectors: np.ndarray, unit: str,
               n: int) -> list[list[tuple[int, float]]]:
        """The ``n`` nearest records of ``unit`` for each query vector, in one Chroma call.

        A failing search (files damaged while being served) is reported as
        IndexUnavailable, so the user is told the index needs rebuilding.
        Only ids and distances are asked for: the snapshot already holds texts and
        metadata, and fetching them with every hit (as LangChain's vector store
        does) made a query cost 7-8 ms instead of 2-3 ms (benchmarks/load.py).
        """
        assert snap.collection is not None
        try:
            found = snap.collection.query(query_embeddings=vectors, n_results=n,
                                          where={"unit": unit}, include=["distances"])
        except Exception as exc:  # chromadb raises many types for damaged or vanished files
            raise IndexUnavailable(
                f"The index generation {snap.generation} cannot be searched "
                f"({type(exc).__name__}: {exc}). Run `visio index build` to rebuild it."
            ) from exc
        distances = found["distances"] or []
        result: list[list[tuple[int, float]]] = []
        for ids, dists in zip(found["ids"], distances, strict=True):
            hits = []
            for rid, distance in zip(ids, dists, strict=True):
                row = snap.by_id.get(str(rid))
                if row is not None:
                    hits.append((row, 1.0 - float(distance)))  # cosine space: d = 1 - cos
            result.append(hits)
        return result


def _sentences_to_chunks(snap: Snapshot, hits: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Rank chunks by their best sentence hit."""
    best: dict[int, float] = {}
    for row, score in hits:
        for chunk_row in _chunks_holding(snap, row):
            best[chunk_row] = max(best.get(chunk_row, -1.0), score)
    return sorted(best.items(), key=lambda item: -item[1])


def _chunks_holding(snap: Snapshot, sentence_row: int) -> list[int]:
    m = snap.metas[sentence_row]
    owner = snap.by_id.get(str(m.get("chunk_id", "")))
    return [owner] if owner is not None else []


def _fuse(lists: Sequence[tuple[str, float, list[tuple[int, float]]]], rrf_k: int) -> list[Hit]:
    """Weighted reciprocal rank fusion: robust to the different score scales of each list."""
    hits: dict[int, Hit] = {}
    for name, weight, ranked in lists:
        for rank, (row, score) in enumerate(ranked):
            hit = hits.setdefault(row, Hit(row=row, score=0.0))
            hit.score += weight / (rrf_k + rank + 1)
            if name not in hit.via:
                hit.via.append(name)
            if name == "dense":
                hit.dense = max(hit.dense, score)
            elif name == "sentence":
                hit.sentence = max(hit.sentence, score)
            else:
                hit.lexical = max(hit.lexical, score)
    return sorted(hits.values(), key=lambda h: (-h.score, h.row))


def _prefer_language(snap: Snapshot, hits: list[Hit], lang: str | None,
                     query_vector: np.ndarray) -> list[Hit]:
    """Show each passage once, in the asker's language where the index has it."""
    if lang not in LANGUAGES:
        return _dedupe(hits)
    moved: list[Hit] = []
    for hit in hits:
        m = snap.metas[hit.row]
        if m["lang"] != lang:
            twin = _counterpart_chunk(snap, hit.row, lang, query_vector)
            if twin is not None:
                hit = Hit(row=twin, score=hit.score, dense=hit.dense, lexical=hit.lexical,
                          sentence=hit.sentence, via=[*hit.via, "translated"],
                          origins=[hit.row])
        moved.append(hit)
    return _dedupe(moved)


def _dedupe(hits: list[Hit]) -> list[Hit]:
    seen: dict[int, Hit] = {}
    for hit in hits:
        if hit.row in seen:
            kept = seen[hit.row]
            kept.score = max(kept.score, hit.score)
            kept.dense = max(kept.dense, hit.dense)
            kept.sentence = max(kept.sentence, hit.sentence)
            kept.lexical = max(kept.lexical, hit.lexical)
            kept.origins.extend(r for r in hit.origins if r not in kept.origins)
        else:
            seen[hit.row] = hit
    return sorted(seen.values(), key=lambda h: (-h.score, h.row))


def _counterpart_chunk(snap: Snapshot, row: int, lang: str,
                       query_vector: np.ndarray) -> int | None:
    """The chunk of the same document section in ``lang`` closest to the query."""
    m = snap.metas[row]
    rows = snap.chunks_in_section.get((m["doc_id"], lang, int(m["section_index"])))
    if not rows:
        return None
    if len(rows) == 1:
        return rows[0]
    sims = snap.vectors[rows] @ query_vector
    return rows[int(np.argmax(sims))]


class VisioRetriever(BaseRetriever):
    """The LangChain face of :class:`Retriever`: a pluggable seam for chains."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any
    language: str | None = None
    k: int | None = None

    def _get_relevant_documents(self, query: str, *,
                                run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        result = self.retriever.search(query, self.language, k=self.k)
        return hits_to_documents(result.snapshot, result.hits)


def hits_to_documents(snap: Snapshot, hits: Sequence[Hit]) -> list[LCDocument]:
    return [
        LCDocument(
            id=snap.ids[h.row],
            page_content=snap.texts[h.row],
            metadata={**snap.metas[h.row], "score": h.score, "dense": h.dense,
                      "lexical": h.lexical, "sentence_score": h.sentence},
        )
        for h in hits
    ]
