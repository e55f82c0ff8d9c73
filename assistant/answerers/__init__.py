"""Ways of answering, behind one interface (:class:`~assistant.answerers.base.Answerer`).

Chosen in one place, :func:`choose`: a question form that needs its own answer
(which documents of a kind there are; whether a phrase stands in the text) goes
to its answerer; every other question to the configured mode, ``extractive``
(quotes) or ``llm`` (a language model writing from the quotes' passages). A new
mode is one module with one class, registered in ``MODES``.
"""

from __future__ import annotations

from assistant.answerers.base import Answerer, Context
from assistant.answerers.extractive import ExtractiveAnswerer
from assistant.answerers.llm import LlmAnswerer
from assistant.answerers.structure import StructureAnswerer
from assistant.answerers.wording_check import WordingAnswerer
from assistant.config import Settings
from assistant.retrieval import Snapshot
from assistant.understanding import Query

#: Answer modes by the name VISIO_ANSWER_MODE gives.
MODES: dict[str, type[Answerer]] = {"extractive": ExtractiveAnswerer, "llm": LlmAnswerer}


class Answerers:
    """The answerers of one assistant: the question forms, then the configured mode."""

    def __init__(self, settings: Settings, context_terms: frozenset[str] = frozenset()) -> None:
        self.mode: Answerer = MODES[settings.answer_mode]()
        self.forms: tuple[Answerer, ...] = (StructureAnswerer(context_terms),
                                             WordingAnswerer(context_terms))

    def choose(self, query: Query, library: Snapshot) -> Answerer:
        """The answerer for this question."""
        for answerer in self.forms:
            if answerer.accepts(query, library):
                return answerer
        return self.mode


__all__ = ["MODES", "Answerer", "Answerers", "Context", "ExtractiveAnswerer", "LlmAnswerer",
           "StructureAnswerer", "WordingAnswerer"]
