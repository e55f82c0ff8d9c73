"""The data that flows along the pipeline: small frozen dataclasses.

Document → Chunk → (index) → retrieval: Hit(Passage(Unit…)) → Answer(Citation…).
Retrieval hands the answer step typed passages and units, never row numbers
into its own tables, so any retriever that can produce them (a LangChain
retriever over the same collection included) can feed any answerer. Each type
serialises with ``to_dict()`` so the CLI, the UI and the evals share one JSON shape.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

#: The kind of a document that declares none. Kinds are whatever a corpus declares
#: (`kind:` in front matter, a lower-case word); README "Adding documents" lists the
#: ones the shipped corpus uses.
DEFAULT_KIND = "other"
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
#: A document with this many sections (headings) is long: a manual, a report. Its title
#: alone does not say where a quote stands, and what belongs with an answer is in the
#: same section, not anywhere in it.
LONG_DOCUMENT_SECTIONS = 3


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
    # Declared in front matter (`aligned: true`): a sentence-by-sentence translation of the
    # same id in ``translation_of``, so units pair up across languages by position.
    aligned: bool = False

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
    path: str = ""  # the headings above the chunk, outermost first (chunking.PATH_SEPARATOR)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Source:
    """The document a passage or unit belongs to, as the index describes it.

    ``aligned`` is the document's own declaration that it is a sentence-by-sentence
    translation of the same id in ``translation_of``: only then are units paired
    across languages by position; otherwise a counterpart is found by similarity.
    """

    doc_id: str
    lang: str
    title: str
    kind: str = DEFAULT_KIND
    source_url: str = ""
    translation: bool = False
    official: bool = True
    aligned: bool = False
    sections: int = 1  # how many sections (headings) the document has

    @property
    def key(self) -> str:
        return f"{self.doc_id}:{self.lang}"

    @property
    def is_long(self) -> bool:
        return self.sections >= LONG_DOCUMENT_SECTIONS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class Unit:
    """The smallest quotable piece of a document: a sentence, a list item or a line block.

    ``block`` numbers the paragraph (or list item) in the document, ``group`` the run
    of list items it belongs to (its own block otherwise), so a procedure can be
    quoted whole and in order. ``vector`` is its e5 embedding, ``terms`` its
    stemmed words; both are what the answer step scores it by.
    """

    id: str
    source: Source
    text: str
    char_start: int
    char_end: int
    section: str
    section_index: int
    index_in_section: int
    ordinal: int
    form: str
    block: int
    group: int
    passage_id: str
    path: str = ""  # the headings above the unit, outermost first (chunking.PATH_SEPARATOR)
    terms: tuple[str, ...] = field(default=(), repr=False)
    vector: np.ndarray | None = field(default=None, repr=False)

    @property
    def span(self) -> tuple[int, int]:
        return self.char_start, self.char_end


@dataclass(frozen=True, eq=False)
class Passage:
    """A retrievable chunk of a document with the units it is made of, in order."""

    id: str
    source: Source
    section: str
    section_index: int
    text: str
    char_start: int
    char_end: int
    units: tuple[Unit, ...] = ()
    vector: np.ndarray | None = field(default=None, repr=False)

    @property
    def path(self) -> str:
        """The headings above the passage (those of its first unit)."""
        return self.units[0].path if self.units else self.section


@dataclass(frozen=True)
class Hit:
    """A passage as retrieval ranked it for a question.

    ``stands_for`` holds passages found in another language that this one, in the
    asker's language, replaced (their units may still match the question best).
    """

    passage: Passage
    score: float
    dense: float = 0.0
    lexical: float = 0.0
    sentence: float = 0.0
    via: tuple[str, ...] = ()
    stands_for: tuple[Passage, ...] = ()


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
    # What the question asked for that the sources do not give ("e-postadress", a name
    # the corpus never mentions): said in the answer, listed here for programs.
    missing: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["citations"] = [c.to_dict() for c in self.citations]
        data["notes"] = list(self.notes)
        data["retrieved"] = list(self.retrieved)
        data["missing"] = list(self.missing)
        return data


@dataclass(frozen=True)
class Counterpart:
    """The same passage in the other language (e.g. the Finnish translation of a sentence).

    ``declared`` is true when the document declares itself a sentence-aligned
    translation, so this is its counterpart by position; otherwise it is the closest
    unit by meaning (``similarity``), shown as such.
    """

    lang: str
    text: str
    char_start: int
    char_end: int
    translation: bool
    official: bool
    doc_id: str = ""
    title: str = ""
    declared: bool = True
    similarity: float | None = None
    heading: str = ""  # of a title or heading find: the same title or heading in ``lang``

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WordingMatch:
    """A verbatim passage found by the staff wording search.

    ``highlights`` are (start, end) offsets inside ``text`` that match the
    searched phrase or its words; ``exact`` says the whole phrase occurs, ``inflected``
    that it occurs with its words in other forms ("kestävän kehityksen").

    ``shape`` says where the phrase stands: in a "sentence" (``text``), or as written in
    the document's "title" or a section "heading" (``heading``, the phrase at
    ``heading_highlights``), which are not quotable units: ``text`` is then the first
    text under it, the place it names, and ``heading_path`` the headings down to it.
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
    inflected: bool = False  # the whole phrase in order, its words in other forms
    translation: bool = False
    official: bool = True
    counterpart: Counterpart | None = None
    shape: str = "sentence"  # sentence | title | heading
    heading: str = ""
    heading_highlights: tuple[tuple[int, int], ...] = ()
    # The headings above the sentence, or down to the heading found; outermost first,
    # joined by chunking.PATH_SEPARATOR ("" for a title). Not "path": gradio_client takes
    # any dict with a "path" string for a file to download, and the /wording call fails.
    heading_path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
