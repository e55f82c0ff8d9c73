"""Build, inspect, verify and clear the Chroma index.

A build is incremental: every document carries a content hash; records of
unchanged documents are copied, with their stored embeddings, into the new
generation, and only new or changed documents are chunked and embedded. The
collection's metadata (the manifest) records the embedding model, its
dimension and the chunking settings; when they differ from the settings, the
whole corpus is embedded again. The new generation is published only once it
is complete (see ``assistant.store``).

Two kinds of records share the collection: ``chunk`` records (retrieval units)
and ``sentence`` records (the quotable units an extractive answer is made of).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from assistant.chunking import chunk_document, document_units, embedding_text
from assistant.config import Settings
from assistant.documents import CorpusLoad, Problem, document_hash, load_corpus
from assistant.embeddings import Embedder, get_embedder
from assistant.store import Generation, IndexStore, IndexUnavailable, open_store
from assistant.types import Document

log = logging.getLogger(__name__)

SCHEMA_VERSION = 4
CHUNKER_VERSION = "structure-sentences-tiktoken-5"
COPY_BATCH = 1000


class EmptyCorpus(IndexUnavailable):
    """The corpus yields no document: building would publish an empty index."""


@dataclass(frozen=True)
class Record:
    """One row of the collection, before it is embedded."""

    id: str
    text: str  # stored verbatim; doc_text[char_start:char_end] == text
    embed_text: str  # what the model reads (text with its document context)
    metadata: dict[str, str | int | float | bool]


@dataclass
class BuildReport:
    """What a build did, for the CLI, the UI and the tests."""

    generation: str | None = None
    published: bool = False
    full_rebuild_reason: str = ""
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    embedded_records: int = 0
    copied_records: int = 0
    total_records: int = 0
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def up_to_date(self) -> bool:
        return not self.published and not (self.added or self.changed or self.removed)

    def summary(self) -> str:
        if self.up_to_date:
            return f"Index is up to date ({len(self.unchanged)} documents)."
        parts = [f"Published {self.generation}: {self.total_records} records"]
        parts.append(f"{len(self.added)} added, {len(self.changed)} changed, "
                     f"{len(self.removed)} removed, {len(self.unchanged)} unchanged")
        parts.append(f"{self.embedded_records} embedded, {self.copied_records} copied "
                     f"in {self.seconds:.1f} s")
        if self.full_rebuild_reason:
            parts.insert(0, f"Full rebuild: {self.full_rebuild_reason}")
        return "\n".join(parts)


def doc_key(doc_id: str, lang: str) -> str:
    return f"{doc_id}:{lang}"


def expected_manifest(settings: Settings, embedder: Embedder) -> dict[str, Any]:
    """What the index must have been built with to be reused."""
    return {
        "visio_schema": SCHEMA_VERSION,
        "embedding_model": embedder.name,
        "embedding_dimension": embedder.dimension,
        "embedding_passage_prompt": embedder.passage_prompt,
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap_tokens": settings.chunk_overlap_tokens,
        "chunker": CHUNKER_VERSION,
    }


def manifest_mismatch(stored: dict[str, Any], expected: dict[str, Any]) -> str:
    """A human sentence naming what differs, or '' when the index fits the settings."""
    diffs = [f"{key} {stored.get(key)!r} → {value!r}"
             for key, value in expected.items() if stored.get(key) != value]
    return "; ".join(diffs)


def document_records(doc: Document, settings: Settings) -> list[Record]:
    """Chunk and sentence records of one document."""
    digest = document_hash(doc)
    base: dict[str, str | int | float | bool] = {
        "doc_id": doc.id,
        "lang": doc.lang,
        "doc_key": doc_key(doc.id, doc.lang),
        "doc_hash": digest,
        "title": doc.title,
        "kind": doc.kind,
        "source_url": doc.source_url,
        "translation": doc.is_translation,
        "official": doc.official,
        "aligned": doc.aligned,
        "path": doc.path,
    }
    records: list[Record] = []
    chunks = chunk_document(doc, settings.chunk_tokens, settings.chunk_overlap_tokens)
    for chunk in chunks:
        records.append(Record(
            id=chunk.id,
            text=chunk.text,
            embed_text=embedding_text(doc.title, chunk.path, chunk.text),
            metadata={**base, "unit": "chunk", "section": chunk.section,
                      "section_path": chunk.path,
                      "section_index": chunk.section_index, "ordinal": chunk.ordinal,
                      "char_start": chunk.char_start, "char_end": chunk.char_end,
                      "sentences": json.dumps(chunk.sentences)},
        ))
    for ordinal, unit in enumerate(document_units(doc)):
        text = doc.text[unit.start:unit.end]
        owner = next((c.id for c in chunks if c.char_start <= unit.start < c.char_end), "")
        records.append(Record(
            id=f"{doc.id}:{doc.lang}:s{ordinal}",
            text=text,
            embed_text=embedding_text(doc.title, unit.path, text),
            metadata={**base, "unit": "sentence", "section": unit.section,
                      "section_path": unit.path, "group": unit.group,
                      "section_index": unit.section_index,
                      "index_in_section": unit.index_in_section, "ordinal": ordinal,
                      "form": unit.form, "block": unit.block,
                      "char_start": unit.start, "char_end": unit.end, "chunk_id": owner},
        ))
    return records


def _stored_documents(generation: Generation) -> dict[str, str]:
    """doc_key → doc_hash of what a generation holds (read from its records)."""
    hashes: dict[str, str] = {}
    for metadatas in _batches(generation, include=["metadatas"]):
        for meta in metadatas["metadatas"]:
            hashes[str(meta["doc_key"])] = str(meta["doc_hash"])
    return hashes


def _batches(generation: Generation, include: list[str],
             where: dict[str, Any] | None = None) -> Iterable[dict[str, Any]]:
    offset = 0
    while True:
        page = generation.collection.get(include=include, where=where,  # type: ignore[arg-type]
                                         limit=COPY_BATCH, offset=offset)
        if not page["ids"]:
            return
        yield page
        offset += len(page["ids"])


def build_index(settings: Settings, *, force: bool = False, progress: bool = True,
                embedder: Embedder | None = None,
                on_embedded: Callable[[int], None] | None = None) -> BuildReport:
    """Bring the index up to date with the corpus; publish a new generation if anything changed.

    ``on_embedded`` is called with the running count of embedded records (used by
    the fault tests to interrupt a build half-way).
    """
    started = time.perf_counter()
    embedder = embedder or get_embedder(settings)
    corpus: CorpusLoad = load_corpus(settings.corpus_dir, max_bytes=settings.max_document_bytes)
    if not corpus.documents:
        # A wrong VISIO_CORPUS_DIR or an emptied folder must not replace a good index
        # with an empty one (`visio index clear` is the way to drop it).
        reasons = "; ".join(f"{p.path}: {p.reason}" for p in corpus.problems[:3])
        raise EmptyCorpus(f"No usable documents in {settings.corpus_dir}"
                          f"{f' ({reasons})' if reasons else ''}; the index was left as it is.")
    report = BuildReport(problems=list(corpus.problems))
    store = open_store(settings)
    with store.build_lock():
        live, stored, reason = _previous(store, settings, embedder, force)
        report.full_rebuild_reason = reason
        wanted = {doc_key(d.id, d.lang): d for d in corpus.documents}
        for key, doc in wanted.items():
            if key not in stored:
                report.added.append(key)
            elif stored[key] != document_hash(doc):
                report.changed.append(key)
            else:
                report.unchanged.append(key)
        report.removed = sorted(set(stored) - set(wanted))
        if live is not None and not (report.added or report.changed or report.removed):
            store.prune()  # what a killed build left behind
            report.seconds = time.perf_counter() - started
            return report

        manifest = expected_manifest(settings, embedder)
        generation = store.begin({**manifest, "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                  "documents": len(wanted)})
        report.generation = generation.name
        try:
            if live is not None and report.unchanged:
                report.copied_records = _copy_records(live, generation, report.unchanged)
            todo = [wanted[k] for k in report.added + report.changed]
            report.embedded_records = _embed_documents(todo, generation, settings, embedder,
                                                       progress, on_embedded)
            report.total_records = generation.collection.count()
            if report.total_records != report.copied_records + report.embedded_records:
                raise RuntimeError("record count mismatch after build")
            store.publish(generation)
            report.published = True
        except BaseException:
            store.discard(generation)
            raise
        store.prune()
    report.seconds = time.perf_counter() - started
    return report


def _previous(store: IndexStore, settings: Settings, embedder: Embedder,
              force: bool) -> tuple[Generation | None, dict[str, str], str]:
    """The live generation worth reusing, its document hashes, and why not if not."""
    if force:
        return None, {}, "requested (--force)"
    try:
        live = store.live()
    except IndexUnavailable as exc:
        try:
            never_built = store.live_name() is None
        except IndexUnavailable:
            never_built = False
        return None, {}, "" if never_built else f"previous index unusable: {exc}"
    mismatch = manifest_mismatch(live.collection.metadata or {},
                                 expected_manifest(settings, embedder))
    if mismatch:
        return None, {}, f"settings changed ({mismatch})"
    try:
        return live, _stored_documents(live), ""
    except Exception as exc:  # damaged records: start over rather than copy damage
        return None, {}, f"previous index unreadable: {exc}"


def _copy_records(source: Generation, target: Generation, keys: Sequence[str]) -> int:
    """Carry unchanged documents over with their embeddings (no model call)."""
    copied = 0
    wanted = set(keys)
    for page in _batches(source, include=["embeddings", "documents", "metadatas"]):
        rows = [i for i, meta in enumerate(page["metadatas"]) if meta["doc_key"] in wanted]
        if not rows:
            continue
        target.collection.add(
            ids=[page["ids"][i] for i in rows],
            embeddings=np.asarray([page["embeddings"][i] for i in rows], dtype=np.float32),
            documents=[page["documents"][i] for i in rows],
            metadatas=[page["metadatas"][i] for i in rows],
        )
        copied += len(rows)
    return copied


def _embed_documents(docs: Sequence[Document], generation: Generation, settings: Settings,
                     embedder: Embedder, progress: bool,
                     on_embedded: Callable[[int], None] | None) -> int:
    records = [r for doc in docs for r in document_records(doc, settings)]
    done = 0
    batch = max(1, settings.embedding_batch_size)
    with tqdm(total=len(records), desc="Embedding", unit="rec", disable=not progress,
              leave=False) as bar:
        for start in range(0, len(records), batch):
            part = records[start:start + batch]
            vectors = embedder.embed_passages([r.embed_text for r in part])
            generation.collection.add(
                ids=[r.id for r in part],
                embeddings=vectors,
                documents=[r.text for r in part],
                metadatas=[r.metadata for r in part],
            )
            done += len(part)
            bar.update(len(part))
            if on_embedded is not None:
                on_embedded(done)
    return done


# --- status, verify, clear -------------------------------------------------------------

@dataclass(frozen=True)
class IndexStatus:
    location: str
    generation: str | None
    manifest: dict[str, Any]
    documents: dict[str, int]  # per language
    chunks: int
    sentences: int
    stale: tuple[str, ...]  # corpus documents missing or different in the index
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": self.location, "generation": self.generation,
            "manifest": self.manifest, "documents": self.documents, "chunks": self.chunks,
            "sentences": self.sentences, "stale": list(self.stale), "error": self.error,
        }


def index_status(settings: Settings) -> IndexStatus:
    """What is being served, and whether it matches the corpus (no model is loaded)."""
    try:
        store = open_store(settings)
        live = store.live()
    except IndexUnavailable as exc:
        return IndexStatus(str(settings.chroma_url or settings.index_dir), None, {}, {}, 0, 0,
                           (), str(exc))
    counts = {"chunk": 0, "sentence": 0}
    docs: dict[str, set[str]] = {}
    hashes: dict[str, str] = {}
    for page in _batches(live, include=["metadatas"]):
        for meta in page["metadatas"]:
            counts[str(meta["unit"])] = counts.get(str(meta["unit"]), 0) + 1
            docs.setdefault(str(meta["lang"]), set()).add(str(meta["doc_id"]))
            hashes[str(meta["doc_key"])] = str(meta["doc_hash"])
    corpus = load_corpus(settings.corpus_dir, max_bytes=settings.max_document_bytes)
    wanted = {doc_key(d.id, d.lang): document_hash(d) for d in corpus.documents}
    stale = sorted(k for k in set(wanted) | set(hashes) if wanted.get(k) != hashes.get(k))
    return IndexStatus(
        location=store.description,
        generation=live.name,
        manifest=dict(live.collection.metadata or {}),
        documents={lang: len(ids) for lang, ids in sorted(docs.items())},
        chunks=counts["chunk"],
        sentences=counts["sentence"],
        stale=tuple(stale),
    )


def verify_index(settings: Settings, embedder: Embedder | None = None) -> list[str]:
    """Problems found in the served index; an empty list means it is sound."""
    status = index_status(settings)
    if status.error:
        return [status.error]
    problems: list[str] = []
    embedder = embedder or get_embedder(settings)
    mismatch = manifest_mismatch(status.manifest, expected_manifest(settings, embedder))
    if mismatch:
        problems.append(f"built with other settings: {mismatch}; run `visio index build`")
    if status.stale:
        problems.append(f"{len(status.stale)} documents differ from the corpus "
                        f"({', '.join(status.stale[:5])}…); run `visio index build`")
    live = open_store(settings).live()
    corpus = {doc_key(d.id, d.lang): d for d in
              load_corpus(settings.corpus_dir, max_bytes=settings.max_document_bytes).documents}
    for page in _batches(live, include=["embeddings", "documents", "metadatas"]):
        for rid, vector, text, meta in zip(page["ids"], page["embeddings"], page["documents"],
                                           page["metadatas"], strict=True):
            norm = float(np.linalg.norm(vector))
            if len(vector) != embedder.dimension or abs(norm - 1.0) > 1e-3:
                problems.append(f"record {rid}: embedding has dimension {len(vector)}, "
                                f"norm {norm:.3f}")
            doc = corpus.get(str(meta["doc_key"]))
            start, end = int(meta["char_start"]), int(meta["char_end"])
            if doc is not None and doc.text[start:end] != text:
                problems.append(f"record {rid}: stored text does not match its span in "
                                f"{doc.path}")
    probe = live.collection.get(limit=3, include=["embeddings"], where={"unit": "chunk"})
    for rid, vector in zip(probe["ids"], probe["embeddings"], strict=True):
        hit = live.collection.query(query_embeddings=[vector], n_results=1,
                                    where={"unit": "chunk"})
        if not hit["ids"] or not hit["ids"][0] or hit["ids"][0][0] != rid:
            problems.append(f"record {rid}: nearest neighbour of its own vector is not itself")
    return problems


def clear_index(settings: Settings) -> None:
    """Delete every generation and the pointer."""
    open_store(settings).clear()
