"""The default answer: the chosen sentences quoted verbatim, with their sources.

Made only of the asker's language's fixed frames and corpus units quoted exactly
(see ``compose``), so an answer can always be checked against its sources. An
answer that gives part of what was asked ends by saying what the sources lack.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from assistant import languages
from assistant.answerers.base import Context
from assistant.answerers.compose import missing_text, quotes, retrieved_ids, stream_words
from assistant.retrieval import Snapshot
from assistant.types import Answer
from assistant.understanding import Query


class ExtractiveAnswerer:
    """Quotes (the default mode)."""

    name: ClassVar[str] = "extractive"
    needs_retrieval: ClassVar[bool] = True

    def accepts(self, query: Query, library: Snapshot) -> bool:
        return True

    def answer(self, context: Context, notes: tuple[str, ...] = ()) -> Iterator[str | Answer]:
        assert context.selection is not None and context.verdict is not None
        lang = context.query.lang
        text, citations = quotes(context.selection, lang)
        missing: tuple[str, ...] = ()
        if context.verdict.outcome == "partial":
            missing = context.verdict.missing
            partly = languages.get(lang).text("partly_given",
                                              missing=missing_text(missing, lang))
            text = f"{text}\n\n{partly}"
        if notes:
            text = "\n\n".join([*notes, text])
        yield from stream_words(text)
        hits = context.retrieval.hits if context.retrieval else ()
        yield Answer(answer=text, language=lang, refused=False, citations=tuple(citations),
                     timings=context.elapsed(), mode=self.name,
                     confidence=context.verdict.confidence,
                     retrieved=retrieved_ids(hits, citations), notes=notes,
                     missing=missing)
