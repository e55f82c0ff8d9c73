"""Questions about the collection's structure: "Vilka planer finns det?", "Montako suunnitelmaa?".

No passage answers them: a collection rarely lists its own documents in one
sentence, so retrieval would quote the two closest and the asker would never learn
of the others. They are answered from the index instead, for any kind a corpus
declares: the documents of one ``kind`` whose titles share a word (their *group
word*: "vision" in six vision titles) form a group; a question asking for a list
or a count ("enumeration" in the language file) that names a group word and no
other topic gets one cited line per document, with its heading and first
sentence. The frame is fixed text; headings and sentences are the documents' own.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from assistant import languages
from assistant.answerers.base import Context
from assistant.answerers.compose import citation, stream_words
from assistant.evidence import covered, is_echo
from assistant.lexical import terms, words
from assistant.retrieval import Snapshot
from assistant.types import Answer, Citation, Source, Unit
from assistant.understanding import Query

#: A group needs this many documents (in one language) of one kind.
MIN_GROUP = 3


@dataclass(frozen=True)
class Group:
    """Documents of one kind whose titles share ``words``."""

    kind: str
    words: frozenset[str]
    distinctive: frozenset[str]  # title words naming one member, not the group


def groups(library: Snapshot) -> list[Group]:
    """The groups of an index (cached on the snapshot: it never changes)."""
    cached = library.cache.get("structure_groups")
    if cached is not None:
        return cached
    by_kind: dict[tuple[str, str], list[Source]] = defaultdict(list)
    for source in library.documents():
        by_kind[(source.kind, source.lang)].append(source)
    found: dict[str, tuple[set[str], set[str]]] = {}
    for (kind, lang), sources in by_kind.items():
        if len(sources) < MIN_GROUP:
            continue
        counts = Counter(t for s in sources for t in set(terms(s.title, [lang])))
        shared = {t for t, n in counts.items() if n > len(sources) / 2}
        rare = {t for t, n in counts.items() if n < len(sources) / 2}
        if shared:
            group_words, distinctive = found.setdefault(kind, (set(), set()))
            group_words |= shared
            distinctive |= rare
    result = [Group(kind, frozenset(w), frozenset(d)) for kind, (w, d) in sorted(found.items())]
    library.cache["structure_groups"] = result
    return result


def matching_group(query: Query, library: Snapshot, context_terms: frozenset[str]) -> Group | None:
    """The group a list-or-count question asks about, if it asks about nothing else."""
    if "enumeration" not in query.asks:
        return None
    asked = set(terms(query.text, languages.codes()))
    for group in groups(library):
        named = {t for t in asked if covered(t, group.words)}
        if not named:
            continue
        rest = {t for t in asked - named if not covered(t, context_terms)}
        if {t for t in rest if covered(t, group.distinctive)}:
            return None  # names one member: a question about it
        if {t for t in rest if t in library.bm25.idf}:
            return None  # a topic the collection speaks of: retrieval answers it
        return group
    return None


class StructureAnswerer:
    """One cited line per document of the group the question asks about."""

    name: ClassVar[str] = "structure"
    needs_retrieval: ClassVar[bool] = False

    def __init__(self, context_terms: frozenset[str] = frozenset()) -> None:
        self.context_terms = context_terms

    def accepts(self, query: Query, library: Snapshot) -> bool:
        return matching_group(query, library, self.context_terms) is not None

    def answer(self, context: Context) -> Iterator[str | Answer]:
        query, library = context.query, context.library
        group = matching_group(query, library, self.context_terms)
        assert group is not None
        entries = self._entries(library, group, query.lang)
        vector = context.embedder.embed_query(query.text)
        language = languages.get(query.lang)
        lines = [language.text("structure_intro", count=len(entries))]
        citations: list[Citation] = []
        for n, unit in enumerate(entries, start=1):
            lines.append(f"– {unit.section} – ”{unit.text}” [{n}]")
            similarity = float(unit.vector @ vector) if unit.vector is not None else 0.0
            passage = library.passage_of(unit)
            if passage is not None:
                citations.append(citation(n, passage, similarity, [unit]))
        text = "\n".join(lines)
        yield from stream_words(text)
        yield Answer(answer=text, language=query.lang, refused=False,
                     citations=tuple(citations), timings=context.elapsed(),
                     mode="extractive",  # in llm mode too: the list needs no model
                     confidence=max((c.score for c in citations), default=0.0),
                     retrieved=tuple(u.source.doc_id for u in entries), notes=("structure",))

    def _entries(self, library: Snapshot, group: Group, lang: str) -> list[Unit]:
        """Each document of the group once, in ``lang`` where it exists, in the order its
        headings number them (ordinal words), then by id."""
        rank = {code: i for i, code in enumerate(dict.fromkeys([lang, *languages.codes()]))}
        by_doc: dict[str, Source] = {}
        for source in library.documents():
            if source.kind != group.kind:
                continue
            current = by_doc.get(source.doc_id)
            if current is None or rank.get(source.lang, 99) < rank.get(current.lang, 99):
                by_doc[source.doc_id] = source
        entries = []
        for source in by_doc.values():
            first = next((u for u in library.units_of(source)
                          if u.form == "sentence" and not is_echo(u, self.context_terms)), None)
            if first is not None:
                entries.append(first)
        return sorted(entries, key=lambda u: (_position(u), u.source.doc_id))


def _position(unit: Unit) -> int:
    """Where an ordinal word opening the heading puts the unit ("Femte kapitlet" → 5)."""
    heading = words(unit.section)
    if heading:
        for language in languages.registry():
            if heading[0] in language.ordinals:
                return language.ordinals[heading[0]]
    return 1000
