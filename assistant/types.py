"""The data that flows along the pipeline: small frozen dataclasses.

Document → Chunk → (retrieval) ScoredChunk → Answer(Citation…). Each serialises
with ``to_dict()`` so the CLI, the UI and the evals share one JSON shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

LANGUAGES = ("sv", "fi")
KINDS = ("about", "vision", "goal", "publication", "agenda", "contact", "other")


@dataclass(frozen=True)
class Document:
    """One source text in one language, as loaded from ``corpus/``.

    ``text`` is the body after the front matter; chunk spans index into it.
    ``translation_of`` names the language of the original when this text is a
    translation (e.g. the Finnish versions of the Swedish programme page).
    """

    id: str
    lang: str
    title: str
    kind: str
    text: str
    source_url: str = ""
    translation_of: str = ""
    official: bool = True
    path: str = ""

    @property
    def is_translation(self) -> bool:
        return bool(self.translation_of)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Chunk:
    """A piece of a document sized for the embedding model.

    ``doc_text[char_start:char_end] == text`` always holds; ``sentences`` are the
    spans (document offsets) of the sentences the chunk is made of, so an answer
    can quote and highlight exact sentences.
    """

    id: str
    doc_id: str
    lang: str
    title: str
    kind: str
    section: str
    section_index: int
    ordinal: int
    text: str
    char_start: int
    char_end: int
    sentences: tuple[tuple[int, int], ...] = ()
    source_url: str = ""
    translation: bool = False
    official: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: a verbatim passage and where it stands."""

    n: int
    doc_id: str
    lang: str
    title: str
    section: str
    text: str
    char_start: int
    char_end: int
    score: float
    source_url: str = ""
    translation: bool = False
    # Document offsets of the sentences the answer quotes (inside char_start..char_end).
    highlights: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """What `Assistant.ask` returns."""

    answer: str
    language: str
    refused: bool
    citations: tuple[Citation, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    mode: str = "extractive"
    # Relevance of the best evidence (0..1); compared with the refusal threshold.
    confidence: float = 0.0
    notes: tuple[str, ...] = ()
    retrieved: tuple[str, ...] = ()  # doc ids in rank order, for evaluation

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["citations"] = [c.to_dict() for c in self.citations]
        data["notes"] = list(self.notes)
        data["retrieved"] = list(self.retrieved)
        return data


@dataclass(frozen=True)
class Counterpart:
    """The same passage in the other language (e.g. the Finnish translation of a sentence)."""

    lang: str
    text: str
    char_start: int
    char_end: int
    translation: bool
    official: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WordingMatch:
    """A verbatim passage found by the staff wording search.

    ``highlights`` are (start, end) offsets inside ``text`` that match the
    searched phrase or its words; ``exact`` says the whole phrase occurs.
    """

    doc_id: str
    lang: str
    title: str
    section: str
    text: str
    char_start: int
    char_end: int
    highlights: tuple[tuple[int, int], ...]
    exact: bool
    score: float
    source_url: str = ""
    translation: bool = False
    official: bool = True
    counterpart: Counterpart | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
