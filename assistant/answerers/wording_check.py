"""Wording checks in the chat: "Står det 'hållbar tillväxt' någonstans?".

Staff checking a text want a yes or a no and the exact sentence, not the closest
paragraph. A question that quotes a phrase and asks whether it stands in the
text (the language file's "wording" expressions) is answered from the wording
search: yes with the sentences that hold it verbatim (failing that, inflected, saying
in which form; failing that, the titles or headings holding it as written), each
cited; or no, with the closest sentence clearly framed as such (and then the answer
is a decline).

A sentence found in another language than the question's comes with its counterpart
in the question's language, cited too: staff want both wordings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from assistant import languages
from assistant.answerers.base import Context
from assistant.answerers.compose import citation, stream_words
from assistant.evidence import is_echo
from assistant.retrieval import Snapshot
from assistant.types import Answer, Citation
from assistant.understanding import Query
from assistant.wording import find_headings, find_units, twin_in

#: Sentences quoted at most for a phrase that stands in many places.
MAX_QUOTED = 3


class WordingAnswerer:
    """Yes (with the exact sentences) or no (with the closest one)."""

    name: ClassVar[str] = "wording"
    needs_retrieval: ClassVar[bool] = False

    def __init__(self, context_terms: frozenset[str] = frozenset()) -> None:
        self.context_terms = context_terms

    def accepts(self, query: Query, library: Snapshot) -> bool:
        return bool(query.quoted) and "wording" in query.asks

    def answer(self, context: Context) -> Iterator[str | Answer]:
        query, library = context.query, context.library
        language = languages.get(query.lang)
        phrase = query.quoted[0]
        found = find_units(library, context.embedder, phrase)
        # As written; failing that, inflected ("kestävän kehityksen" for "kestävä kehitys").
        # A caption repeating only the title and the collection's name comes after the
        # sentences of the text.
        exact = [f for f in found if f.exact] or [f for f in found if f.inflected]
        exact.sort(key=lambda f: (f.unit.source.lang != query.lang,
                                  is_echo(f.unit, self.context_terms), -f.score))
        parts: list[str] = []
        citations: list[Citation] = []
        for f in exact[:MAX_QUOTED]:
            passage = library.passage_of(f.unit)
            if passage is None:
                continue
            n = len(citations) + 1
            found = (language.text("wording_found_inflected", phrase=phrase, form=f.form,
                                   title=f.unit.source.title) if f.inflected else
                     language.text("wording_found", phrase=phrase, title=f.unit.source.title))
            parts.append(f"{found}\n”{f.unit.text}” [{n}]")
            citations.append(citation(n, passage, f.score, [f.unit]))
            twin, _ = twin_in(library, f.unit, query.lang) or (None, None)
            twin_passage = library.passage_of(twin) if twin is not None else None
            if twin is not None and twin_passage is not None:
                n = len(citations) + 1
                frame = language.text("wording_counterpart", language=language.name_of(
                    query.lang), title=twin.source.title)
                parts.append(f"{frame}\n”{twin.text}” [{n}]")
                citations.append(citation(n, twin_passage, f.score, [twin]))
        if not citations:
            headings = sorted(find_headings(library, phrase),
                              key=lambda h: h.unit.source.lang != query.lang)
            for heading in headings[:MAX_QUOTED]:
                passage = library.passage_of(heading.unit)
                if passage is None:
                    continue
                n = len(citations) + 1
                parts.append(language.text(f"wording_found_{heading.shape}", phrase=phrase,
                                           heading=heading.heading,
                                           title=heading.unit.source.title) + f" [{n}]")
                citations.append(citation(n, passage, 1.0))
        refused = not citations
        if refused:
            parts = [language.text("wording_missing", phrase=phrase)]
            closest = next((f for f in found if f.unit.source.lang == query.lang), None)
            passage = library.passage_of(closest.unit) if closest is not None else None
            if closest is not None and passage is not None:
                frame = language.text("wording_closest", title=closest.unit.source.title)
                parts.append(f"{frame}\n”{closest.unit.text}” [1]")
                citations = [citation(1, passage, closest.score, [closest.unit])]
        text = "\n\n".join(parts)
        yield from stream_words(text)
        yield Answer(answer=text, language=query.lang, refused=refused,
                     citations=tuple(citations), timings=context.elapsed(), mode="extractive",
                     confidence=0.0 if refused else 1.0,
                     retrieved=tuple(dict.fromkeys(c.doc_id for c in citations)),
                     notes=("wording",), missing=(phrase,) if refused else ())
