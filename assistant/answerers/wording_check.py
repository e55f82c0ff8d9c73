"""Wording checks in the chat: "Står det 'hållbar tillväxt' någonstans?".

Staff checking a text want a yes or a no and the exact sentence, not the closest
paragraph. A question that quotes a phrase and asks whether it stands in the
text (the language file's "wording" expressions) is answered from the wording
search: yes with the sentences that hold it verbatim (failing that, inflected, saying
in which form; failing that, the titles or headings holding it as written), each
cited; or no, with the closest sentence clearly framed as such (and then the answer
is a decline).

A sentence found in another language than the question's comes with its counterpart
in the question's language, cited too: staff want both wordings, and a resident quoting
the other language's text ("Mitä ovat ne 'idémöten' …?") asks what it says in theirs.
Such a question is answered here even when it does not ask whether the phrase stands
there: the phrase stands only in the other language's text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from assistant import languages
from assistant.answerers.base import Context
from assistant.answerers.compose import citation, stream_words
from assistant.evidence import is_echo
from assistant.retrieval import Snapshot
from assistant.types import Answer, Citation, Unit
from assistant.understanding import Query
from assistant.wording import MIN_COUNTERPART_SIMILARITY, find_headings, find_units, phrase_pattern

#: Sentences quoted at most for a phrase that stands in many places.
MAX_QUOTED = 3


class WordingAnswerer:
    """Yes (with the exact sentences) or no (with the closest one)."""

    name: ClassVar[str] = "wording"
    needs_retrieval: ClassVar[bool] = False

    def __init__(self, context_terms: frozenset[str] = frozenset()) -> None:
        self.context_terms = context_terms

    def accepts(self, query: Query, library: Snapshot) -> bool:
        if not query.quoted:
            return False
        return "wording" in query.asks or _only_in_other_languages(
            library, query.quoted[0], query.lang)

    def answer(self, context: Context) -> Iterator[str | Answer]:
        query, library = context.query, context.library
        language = languages.get(query.lang)
        phrase = query.quoted[0]
        found = find_units(library, context.embedder, phrase)
        # As written; failing that, inflected ("kestävän kehityksen" for "kestävä kehitys").
        # A caption repeating only the title and the collection's name says nothing: after
        # the sentences of the text; for a question on what the phrase means (not whether
        # it stands there) after them even when they hold it inflected.
        exact = [f for f in found if f.exact] or [f for f in found if f.inflected]
        if "wording" not in query.asks:
            said = [f for f in found if (f.exact or f.inflected)
                    and not is_echo(f.unit, self.context_terms)]
            exact = said or exact
        exact.sort(key=lambda f: (f.unit.source.lang != query.lang,
                                  is_echo(f.unit, self.context_terms), -f.score))
        parts: list[str] = []
        citations: list[Citation] = []
        for f in exact[:MAX_QUOTED]:
            passage = library.passage_of(f.unit)
            if passage is None:
                continue
            n = len(citations) + 1
            # Not asked whether it stands there: no "yes", only where it stands.
            key = "wording_found" if "wording" in query.asks else "wording_stands"
            found = (language.text(f"{key}_inflected", phrase=phrase, form=f.form,
                                   title=f.unit.source.title) if f.inflected else
                     language.text(key, phrase=phrase, title=f.unit.source.title))
            parts.append(f"{found}\n”{f.unit.text}” [{n}]")
            citations.append(citation(n, passage, f.score, [f.unit]))
            twin = _twin(library, f.unit, query.lang)
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


def _twin(library: Snapshot, unit: Unit, lang: str) -> Unit | None:
    """The same sentence in ``lang``: the declared translation's, else the closest one."""
    if unit.source.lang == lang:
        return None
    twin = library.aligned_twin(unit, lang)
    if twin is not None:
        return twin
    closest = library.closest(unit, lang)
    return closest[0] if closest is not None and closest[1] >= MIN_COUNTERPART_SIMILARITY \
        else None


def _only_in_other_languages(library: Snapshot, phrase: str, lang: str) -> bool:
    """Whether the phrase stands, as written, in some unit, and in none of ``lang``."""
    pattern = phrase_pattern(phrase)
    langs = {u.source.lang for u in library.units if pattern.search(u.text)}
    return bool(langs) and lang not in langs
