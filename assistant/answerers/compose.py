"""Answers made of fixed frames and verbatim quotes, with numbered citations.

The frames come from the asker's language file (``[texts]``); every other word
of an extractive answer is a corpus unit quoted exactly, so nothing is invented.
Shared by every answerer: the quotes and citations of an extractive answer, the
declines (with what is missing), and the collection's name in a frame.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from assistant import languages
from assistant.answerability import Verdict
from assistant.collection import CollectionInfo
from assistant.evidence import Selection
from assistant.retrieval import Snapshot
from assistant.types import Citation, Hit, Passage, Unit

#: Documents listed by title in a refusal at most (more say little to a resident).
MAX_LISTED_TOPICS = 12



def citation(n: int, passage: Passage, score: float, quoted: Sequence[Unit] = ()) -> Citation:
    """A numbered source: the passage verbatim, where it stands, and the quoted units."""
    source = passage.source
    return Citation(
        n=n, doc_id=source.doc_id, lang=source.lang, title=source.title,
        section=passage.section, text=passage.text, char_start=passage.char_start,
        char_end=passage.char_end, score=round(float(score), 6), source_url=source.source_url,
        translation=source.translation, highlights=tuple(u.span for u in quoted))


def quotes(selection: Selection, lang: str, first: int = 1) -> tuple[str, list[Citation]]:
    """The quoted units, one paragraph per source with its frame, numbered from ``first``.

    Sources come in order of relevance, but passages of one document in reading order.
    """
    language = languages.get(lang)
    doc_rank: dict[str, int] = {}
    for hit, _ in selection.groups:
        doc_rank.setdefault(hit.passage.source.key, len(doc_rank))
    groups = sorted(selection.groups, key=lambda g: (doc_rank[g[0].passage.source.key],
                                                     g[0].passage.char_start))
    parts: list[str] = []
    citations: list[Citation] = []
    for n, (hit, units) in enumerate(groups, start=first):
        source = hit.passage.source
        section = hit.passage.section
        named = source.is_long and section and section != source.title
        suffix = "_section" if named else ""
        if source.lang != lang:
            intro = language.text(f"other_language_intro{suffix}", title=source.title,
                                  section=section, language=language.name_of(source.lang))
        else:
            intro = language.text(("source_intro" if n == first else "more_intro") + suffix,
                                  title=source.title, section=section)
        parts.append(f"{intro}\n" + "\n".join(quote_lines(units)) + f" [{n}]")
        citations.append(citation(n, hit.passage, hit.score, units))
    return "\n\n".join(parts), citations


def quote_lines(units: Sequence[Unit]) -> list[str]:
    """Quoted lines: adjacent sentences of a paragraph read as one quote (a gap shows as
    …); the next paragraph, list items and line blocks each stand on their own line."""
    lines: list[str] = []
    prose: list[str] = []
    previous: Unit | None = None

    def flush() -> None:
        if prose:
            lines.append(f"”{''.join(prose)}”")
            prose.clear()

    for unit in units:
        if unit.form != "sentence":
            flush()
            lines.append(f"”{unit.text}”" if unit.form == "lines" else f"– ”{unit.text}”")
        else:
            adjacent = previous is not None and previous.form == "sentence" and (
                unit.ordinal == previous.ordinal + 1)
            if prose and adjacent and unit.block != previous.block:
                flush()  # the next paragraph: its own line, as in the source
            elif prose:
                prose.append(" " if adjacent else " … ")
            prose.append(unit.text)
        previous = unit
    flush()
    return lines


def collection_values(collection: CollectionInfo, lang: str) -> dict[str, str]:
    """The collection's name in the forms a language's frames use ({collection_in} …)."""
    language = languages.get(lang)
    name = collection.name(lang)
    prefix = "named" if name else "plain"
    return {key: language.text(f"collection_{prefix}_{key}", name=name) if name
            else language.text(f"collection_{prefix}_{key}")
            for key in ("in", "about")}


def refusal_text(lang: str, collection: CollectionInfo, library: Snapshot | None) -> str:
    """The polite "no answer in the sources", naming what they do cover (the collection's
    description, or its documents' titles when there are few)."""
    language = languages.get(lang)
    values = collection_values(collection, lang)
    text = language.text("refusal", collection_in=values["in"])
    topics = _topics(lang, collection, library)
    if topics:
        text = f"{text} {language.text('refusal_topics', topics=topics)}"
    return text


def _topics(lang: str, collection: CollectionInfo, library: Snapshot | None) -> str:
    if library is not None:
        titles = list(dict.fromkeys(s.title for s in library.documents(lang)))
        if 0 < len(titles) <= MAX_LISTED_TOPICS:
            return languages.get(lang).join([f"”{t}”" for t in titles])
    return collection.description(lang)


def task_refusal_text(lang: str, collection: CollectionInfo) -> str:
    values = collection_values(collection, lang)
    return languages.get(lang).text("task_refusal", collection_about=values["about"])


def decline_text(verdict: Verdict, lang: str, collection: CollectionInfo,
                 library: Snapshot | None, related: Selection | None,
                 threshold: float) -> tuple[str, list[Citation]]:
    """What a decline says: which names or what kind of information the sources lack,
    and, when the topic itself is covered, what they do say about it, clearly framed."""
    language = languages.get(lang)
    if verdict.reason == "unknown_names":
        opening = language.text("not_mentioned", names=language.join(
            [f"”{name}”" for name in verdict.missing]))
    elif verdict.reason == "not_given":
        opening = language.text("not_given", missing=missing_text(verdict.missing, lang))
    else:
        return refusal_text(lang, collection, library), []
    if related is None or not related or verdict.confidence < threshold:
        return opening, []
    quoted, citations = quotes(related, lang)
    return f"{opening}\n\n{language.text('related_intro')}\n{quoted}", citations


def missing_text(kinds: Sequence[str], lang: str) -> str:
    """"någon e-postadress och något telefonnummer" — what is missing, in words."""
    language = languages.get(lang)
    return language.join([language.text(f"missing_{kind}") for kind in kinds])


def stream_words(text: str) -> Iterator[str]:
    """An extractive answer streamed a few words at a time, as the UI expects."""
    for match in re.finditer(r"\S+\s*", text):
        yield match.group(0)


def retrieved_ids(hits: Sequence[Hit], citations: Sequence[Citation] = ()) -> tuple[str, ...]:
    """Document ids in rank order, each once, with every cited document among them."""
    ids = [h.passage.source.doc_id for h in hits] + [c.doc_id for c in citations]
    return tuple(dict.fromkeys(ids))
