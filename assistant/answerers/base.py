"""The one seam every way of answering implements.

An :class:`Answerer` gets a :class:`Context` (the understood question, the
index, and, for the answerers that quote retrieved text, the retrieval, the
scored evidence, the chosen units and the verdict on answerability) and yields
pieces of text as they are ready, then the final :class:`~assistant.types.Answer`.
Which answerer answers is decided in one place, :func:`assistant.answerers.choose`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from assistant.answerability import Verdict
from assistant.collection import CollectionInfo
from assistant.config import Settings
from assistant.embeddings import Embedder
from assistant.evidence import Scored, Selection
from assistant.retrieval import Retrieval, Snapshot
from assistant.types import Answer
from assistant.understanding import Query


@dataclass(frozen=True)
class Context:
    """Everything an answerer may use; retrieval-based fields are None for answerers that
    answer from the index's structure alone."""

    query: Query
    settings: Settings
    library: Snapshot
    collection: CollectionInfo
    embedder: Embedder
    started: float = field(default_factory=time.perf_counter)
    retrieval: Retrieval | None = None
    scored: Scored | None = None
    selection: Selection | None = None
    verdict: Verdict | None = None
    retrieved: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)

    def elapsed(self) -> dict[str, float]:
        return {**self.timings, "total": time.perf_counter() - self.started}


class Answerer(Protocol):
    """One way of answering: a mode (extractive, llm) or a question form (structure,
    wording) that needs its own answer."""

    name: ClassVar[str]
    #: Whether the answer needs retrieval (the assistant searches before calling it).
    needs_retrieval: ClassVar[bool]

    def accepts(self, query: Query, library: Snapshot) -> bool:
        """Whether this answerer is the one for this question."""
        ...

    def answer(self, context: Context) -> Iterator[str | Answer]:
        """Pieces of the answer text as they are ready, then the final Answer."""
        ...
