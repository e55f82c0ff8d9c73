"""A tiny in-memory corpus and a small deterministic embedder, for fast unit tests.

The answer step (understanding, evidence, answerability, answerers) works from
typed passages and units; these helpers build them from a few Documents without
Chroma or a model, so its mechanisms are tested in milliseconds. The embedder
hashes word stems into a vector: texts sharing words are similar, others are
not, which is all the mechanisms need (the real model is tested elsewhere).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from assistant import languages
from assistant.assistant import Assistant
from assistant.config import Settings
from assistant.indexing import document_records
from assistant.lexical import terms, words
from assistant.retrieval import Retriever, Snapshot, records_to_objects
from assistant.types import Document

DIMENSION = 256


class HashingEmbedder:
    """Deterministic bag-of-stems vectors (queries and passages alike)."""

    name = "hashing-test-embedder"
    dimension = DIMENSION
    passage_prompt = ""
    query_prompt = ""
    max_tokens = 512

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(DIMENSION, dtype=np.float32)
        features = terms(text, languages.codes()) or words(text) or ["∅"]
        for feature in features:
            digest = hashlib.md5(feature.encode("utf-8")).digest()
            index = int.from_bytes(digest[:4], "little") % DIMENSION
            vector[index] += 1.0 if digest[4] % 2 else -1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.vstack([self._vector(t) for t in texts]) if texts else np.zeros((0, DIMENSION))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_queries(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


def document(doc_id: str, lang: str, title: str, text: str, kind: str = "other",
             **fields: object) -> Document:
    return Document(id=doc_id, lang=lang, title=title, kind=kind, text=text,
                    source_url=f"https://example.org/{doc_id}", **fields)  # type: ignore[arg-type]


def library(docs: Iterable[Document], settings: Settings,
            embedder: HashingEmbedder | None = None) -> Snapshot:
    """The documents as an in-memory index snapshot (no Chroma)."""
    embedder = embedder or HashingEmbedder()
    records = [r for doc in docs for r in document_records(doc, settings)]
    vectors = embedder.embed_passages([r.embed_text for r in records])
    passages, units = records_to_objects([r.id for r in records], [r.text for r in records],
                                         [r.metadata for r in records], vectors)
    return Snapshot("memory", passages, units, collection=None)


class MemoryRetriever(Retriever):
    """The hybrid retriever over a fixed in-memory snapshot."""

    def __init__(self, settings: Settings, snapshot: Snapshot, embedder: HashingEmbedder) -> None:
        super().__init__(settings, store=None, embedder=embedder)  # type: ignore[arg-type]
        self._fixed = snapshot

    def snapshot(self) -> Snapshot:
        return self._fixed


def memory_assistant(docs: Iterable[Document], tmp_path: Path, *,
                     collection_yaml: str = "", **overrides: object) -> Assistant:
    """An Assistant answering from ``docs`` held in memory."""
    corpus = tmp_path / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    if collection_yaml:
        (corpus / "collection.yaml").write_text(collection_yaml, encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index",
                        data_dir=tmp_path / "var", **overrides)
    embedder = HashingEmbedder()
    assistant = Assistant(settings, embedder=embedder)  # type: ignore[arg-type]
    assistant._retriever = MemoryRetriever(settings, library(docs, settings, embedder), embedder)
    return assistant
