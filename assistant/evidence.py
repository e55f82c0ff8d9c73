"""Which sentences of the retrieved passages answer the question, and how many of them.

Every unit (sentence, list item, line block) of the top passages is scored
against the question: its e5 similarity (or its declared translation's, when
that matches better) plus a little lexical overlap. A unit that only repeats
its document's title, heading or the collection's name (an attribution line,
a caption) never anchors an answer: it says nothing the title does not.

The scope of the answer then follows the question:

- **whole** — the question names a document or section and asks nothing more
  ("Vad säger planen för parker?"): that section, from its beginning;
- **procedure** — the best unit is a step of a list (or introduces one): the
  whole list in order, with the sentence that introduces it;
- **lead** — the question asks what something is or does and a title or heading
  names it ("Vad gör filtret Gråskala?"): the opening paragraph under that heading;
- **comparison** — the question names two or more things that different
  documents are about: the best sentences of each, each cited;
- otherwise the best sentence and every sentence close to it, from at most two
  passages, a short paragraph whole.

Nothing here names a document, a kind or a phrase of any corpus.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise, takewhile

import numpy as np

from assistant.chunking import PATH_SEPARATOR, context_headings, count_tokens
from assistant.lexical import MIN_PREFIX_STEM, common_prefix, named_parts, overlap, terms, words
from assistant.retrieval import Retrieval, Snapshot
from assistant.types import Hit, Unit

#: Passages whose units are considered for an answer.
EVIDENCE_PASSAGES = 3
#: Passages (sources) one ordinary answer quotes at most.
MAX_SOURCES = 2
#: How far below the best unit another may score and still be quoted.
SENTENCE_MARGIN = 0.05
#: Weight of lexical overlap (IDF-weighted share of question terms present).
LEXICAL_WEIGHT = 0.1
#: Share of a unit's similarity taken from its passage's: a short unit ("– Lekplatser
#: i parkerna") alone matches many questions; read in its passage it does not.
PASSAGE_WEIGHT = 0.0
#: Weight of the share of the question's words that name the unit's document or section
#: (its title and heading): "Vad säger planen för parker?" names one plan.
TITLE_WEIGHT = 0.05
#: A paragraph this short (cl100k tokens) is quoted whole when one of its sentences is
#: chosen: two sentences of a short paragraph usually only make sense together.
SHORT_PARAGRAPH_TOKENS = 70
#: Units of a section left out between two quoted units of different paragraphs are
#: quoted too when there are at most this many: a problem's cause and solution stand
#: between the symptom and the outcome the question echoes, and an elided middle hides them.
GAP_SENTENCES = 2
#: A procedure or a whole section may take this many times the answer's token budget:
#: half a procedure is a wrong answer.
LONG_SCOPE_FACTOR = 3
#: How many of a paragraph's best units judge it as the start of a how-to walk.
PARAGRAPH_UNITS = 2
#: An earlier paragraph above the best one (its section's introduction) starts the walk
#: when it matches this nearly as well.
WALK_START_MARGIN = 0.0075
#: Documents compared at most in one answer.
MAX_COMPARED = 3
#: How close to the best unit another document's best unit must come to be listed when a
#: question asks which documents speak of something.
ACROSS_MARGIN = 0.02
#: Unit forms that are list members (an item, or a numbered step of a procedure).
LIST_FORMS = ("item", "step")
#: A line of at most this many words without closing punctuation, alone in its
#: paragraph, is a term whose description follows (0 turns the pairing off).
LABEL_WORDS = 6
#: A way through an interface: labels joined by arrows ("Suotimet → Kohina → Poista
#: kohina", "Asetukset ▸ Näyttö"), as software documentation writes how to reach a thing.
UI_PATH = re.compile(r"\w\S*\s*[→▸]\s*\w")
#: Questions that a way there completes: how to do something, whether it can be done,
#: where it is found.
WAY_ASKS = frozenset(("procedure", "ability", "finding"))
#: A heading recurring under this many sections names a facet ("Overview"), not a thing:
#: structural, not fitted (a thing's own heading stands once).
FACET_MIN_SECTIONS = 3
_NUMBERING = re.compile(r"^(?:[A-Za-z]\.)?(?:\d+\.)*\d*\.?\s+")


@dataclass(frozen=True)
class Evidence:
    """A unit scored against the question."""

    unit: Unit
    hit: int  # index of the hit whose passage holds it (or stands for it)
    similarity: float  # e5 cosine with the question (its declared translation's if higher)
    score: float  # similarity plus lexical overlap: ranks units for the answer
    echo: bool = False  # only repeats the title, heading or collection name
    # Cosine with each formulation of the question (the parts of a question of several).
    similarities: tuple[float, ...] = ()


@dataclass(frozen=True)
class Selection:
    """The units an answer quotes, grouped by the hit (source) they are cited from."""

    groups: tuple[tuple[Hit, tuple[Unit, ...]], ...]
    scope: str = "best"  # best | whole | procedure | comparison
    anchor: Evidence | None = None

    @property
    def units(self) -> tuple[Unit, ...]:
        return tuple(u for _, units in self.groups for u in units)

    def __bool__(self) -> bool:
        return bool(self.groups)


@dataclass(frozen=True)
class Scored:
    """All evidence for a question, best first, with what it was scored against."""

    items: tuple[Evidence, ...]
    retrieval: Retrieval
    context_terms: frozenset[str] = field(default=frozenset())

    @property
    def best(self) -> Evidence | None:
        return next((e for e in self.items if not e.echo), None)


def score(retrieval: Retrieval, context_terms: frozenset[str] = frozenset(),
          passages: int | None = None) -> Scored:
    """Score every unit of the top passages against the question, best first.

    ``context_terms`` are words that name the collection itself (its name in every
    language): a unit made only of them and its title's words is an echo, and they
    do not make a title match.
    """
    library = retrieval.library
    vectors = retrieval.query_vectors
    whole = [i for i, f in enumerate(retrieval.formulations) if f.role != "part"] or [0]
    idf = library.bm25.idf if library is not None else None
    question = [t for t in retrieval.question_terms if t not in context_terms]
    items: list[Evidence] = []
    seen: set[str] = set()
    for index, hit in enumerate(_scored_hits(retrieval, passages or EVIDENCE_PASSAGES)):
        context = (vectors @ hit.passage.vector if hit.passage.vector is not None
                   else np.zeros(len(vectors), dtype=np.float32))
        for unit in hit.passage.units:
            if unit.id in seen or unit.vector is None:
                continue
            seen.add(unit.id)
            per_row = vectors @ unit.vector
            twin = _translation_vector(library, unit)
            if twin is not None:
                per_row = np.maximum(per_row, vectors @ twin)
            per_row = (1.0 - PASSAGE_WEIGHT) * per_row + PASSAGE_WEIGHT * context
            similarity = float(per_row[whole].max())
            lexical = overlap(retrieval.question_terms, unit.terms, idf)
            title = _title_share(question, unit, idf)
            items.append(Evidence(unit, index, similarity,
                                  similarity + LEXICAL_WEIGHT * lexical + TITLE_WEIGHT * title,
                                  is_echo(unit, context_terms),
                                  tuple(float(x) for x in per_row)))
    items.sort(key=lambda e: (-e.score, e.hit, e.unit.char_start))
    return Scored(tuple(items), retrieval, context_terms)


def _scored_hits(retrieval: Retrieval, passages: int) -> list[Hit]:
    """The hits whose units are scored: the top ``passages`` (more for a question of
    several parts, so that every part can be answered)."""
    parts = sum(1 for f in retrieval.formulations if f.role == "part")
    return list(retrieval.hits[:passages + parts])


def _title_share(question: Sequence[str], unit: Unit, idf: dict[str, float] | None) -> float:
    """IDF-weighted share of the question's terms found in the unit's title or heading."""
    if not question:
        return 0.0
    named = standing_under(unit.source.title, unit.path or unit.section, unit.source.lang)
    ceiling = max(idf.values(), default=1.0) if idf else 1.0
    weights = {t: (idf.get(t, ceiling) if idf else 1.0) for t in question}
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if covered(t, named)) / total if total else 0.0


@lru_cache(maxsize=4096)
def heading_terms(title: str, section: str, lang: str) -> frozenset[str]:
    """The terms of a document's title and a section's heading."""
    return frozenset(terms(f"{title} {section}", [lang]))


@lru_cache(maxsize=4096)
def standing_under(title: str, path: str, lang: str) -> frozenset[str]:
    """The terms of the headings a text stands under (``chunking.context_headings``): in
    a long document its innermost sections, not the book's title."""
    return frozenset(terms(" ".join(context_headings(title, path)), [lang]))


def _translation_vector(library: Snapshot | None, unit: Unit) -> np.ndarray | None:
    """The vector of a unit's declared translation: it may match better (a Swedish
    question using Finnish names matches the Finnish wording best)."""
    if library is None:
        return None
    for lang in library.languages_of(unit.source.doc_id) - {unit.source.lang}:
        twin = library.aligned_twin(unit, lang)
        if twin is not None and twin.vector is not None:
            return twin.vector
    return None


def is_echo(unit: Unit, context_terms: frozenset[str]) -> bool:
    """Whether a unit says nothing but its document's title, its heading or the
    collection's name ("– Puistot / Ekbyn kaupungin palvelut", a caption)."""
    own = set(unit.terms)
    if not own:
        return True
    reference = heading_terms(unit.source.title, unit.section, unit.source.lang) | context_terms
    return all(covered(term, reference) for term in own)


def covered(term: str, reference: set[str] | frozenset[str]) -> bool:
    """A term equals one of ``reference``, or shares a long prefix with it (inflection and
    consonant gradation: "kaupung" / "kaupunk")."""
    if term in reference:
        return True
    if term.isdigit() or len(term) < MIN_PREFIX_STEM - 1:
        return False
    for other in reference:
        shortest = min(len(term), len(other))
        if shortest >= MIN_PREFIX_STEM - 1 and common_prefix(term, other) >= max(
                MIN_PREFIX_STEM - 1, shortest - 2):
            return True
    return False


# --- scope ---------------------------------------------------------------------------------

def select(scored: Scored, *, asks: frozenset[str], max_units: int,
           max_tokens: int, names: Sequence[str] = ()) -> Selection:
    """The units to quote, by the scope the question calls for (see the module notes);
    ``names`` are the names the question mentions (the thing a definition asks about)."""
    anchor = scored.best
    if anchor is None:
        return Selection(())
    retrieval = scored.retrieval
    library = retrieval.library
    if library is not None:
        compared = _comparison(scored, asks, max_tokens)
        if compared:
            return compared
        parts = _parts(scored, anchor, max_units, max_tokens)
        if parts:
            return parts
        if "definition" in asks:
            lead = _lead(scored, _defined_thing(scored, names), max_tokens * LONG_SCOPE_FACTOR)
            if lead:
                return lead
        walk = None
        if "procedure" in asks:
            start = _best_paragraph(scored) or anchor
            walk = _walk(scored, start, max_tokens * LONG_SCOPE_FACTOR)
            if walk and _passes_through(start, anchor):
                return walk
        wants_list = bool(asks & {"procedure", "enumeration"})
        if (wants_list and (anchor.unit.form in LIST_FORMS or _introduces_list(
                library, anchor.unit))) or anchor.unit.form == "step":
            procedure = _procedure(scored, anchor, max_tokens * LONG_SCOPE_FACTOR)
            if procedure:
                return procedure
        if walk:
            return walk
        if "whole" in asks or _names_only_its_document(scored, anchor):
            whole = _whole_section(scored, anchor, max_tokens * LONG_SCOPE_FACTOR)
            if whole:
                return whole
        if _found_by_translation(scored, anchor):
            return _paragraph(scored, anchor, max_tokens * LONG_SCOPE_FACTOR)
    if "enumeration" in asks and anchor.unit.form not in LIST_FORMS:
        across = _across(scored, anchor, max_tokens)
        if across:
            return across
    return _best(scored, anchor, max_units, max_tokens, names)


def _parts(scored: Scored, anchor: Evidence, max_units: int,
           max_tokens: int) -> Selection | None:
    """A question of several parts: the best units for each part, each cited."""
    rows = [i for i, f in enumerate(scored.retrieval.formulations) if f.role == "part"]
    if len(rows) < 2:
        return None
    chosen: list[Evidence] = [anchor]
    for row in rows:
        best = max((e for e in scored.items if not e.echo and len(e.similarities) > row),
                   key=lambda e: e.similarities[row] + (e.score - e.similarity), default=None)
        if best is not None and all(best.unit.id != c.unit.id for c in chosen):
            chosen.append(best)
    if len(chosen) < 2:
        return None
    budget = max_tokens * LONG_SCOPE_FACTOR
    units = _with_labels(scored, _with_short_paragraphs(scored, chosen[:max_units]), budget)
    kept = {u.id for u in _within_budget([u for _, u in units], budget)}
    return _grouped(scored.retrieval, [(i, u) for i, u in units if u.id in kept], "parts",
                    anchor)


def _found_by_translation(scored: Scored, anchor: Evidence) -> bool:
    """Whether the best unit is best as the counterpart of a sentence the question quotes
    from the other language (a "translation" formulation), not as an answer to it."""
    formulations = scored.retrieval.formulations
    rows = [i for i, f in enumerate(formulations) if f.role == "translation"]
    if not rows or len(anchor.similarities) < len(formulations):
        return False
    own = max((anchor.similarities[i] for i, f in enumerate(formulations)
               if f.role not in ("part", "translation")), default=0.0)
    return max(anchor.similarities[i] for i in rows) > own


def _paragraph(scored: Scored, anchor: Evidence, budget: int) -> Selection:
    """The anchor's whole paragraph: what a quoted phrase's sentence says, in context."""
    library = scored.retrieval.library
    assert library is not None
    units = _within_budget(library.block_units(anchor.unit) or (anchor.unit,), budget)
    return _grouped(scored.retrieval, [(anchor.hit, u) for u in units], "paragraph", anchor)


def _across(scored: Scored, anchor: Evidence, max_tokens: int) -> Selection | None:
    """Which documents (or sections) say something about a topic ("Missä visioissa
    puhutaan X:stä?"): the best unit of each that comes close to the best one."""
    best_of: dict[tuple[str, int], Evidence] = {}  # per section: a long document has many
    for item in scored.items:
        if item.echo or item.score < anchor.score - ACROSS_MARGIN:
            continue
        best_of.setdefault((item.unit.source.key, item.unit.section_index), item)
    if len(best_of) < 2:
        return None
    chosen = list(best_of.values())[:MAX_COMPARED + 1]
    kept = _within_budget([e.unit for e in chosen], max_tokens * LONG_SCOPE_FACTOR)
    return _grouped(scored.retrieval, [(e.hit, e.unit) for e in chosen if e.unit in kept],
                    "across", anchor)


def _best(scored: Scored, anchor: Evidence, max_units: int, max_tokens: int,
          names: Sequence[str] = ()) -> Selection:
    """The anchor and every unit within the margin of it, from at most MAX_SOURCES hits,
    completed to whole short paragraphs, with the terms the question names."""
    chosen: list[Evidence] = []
    hits: list[int] = []
    used = 0
    for item in scored.items:
        if item.echo:
            continue
        if item.score < anchor.score - SENTENCE_MARGIN or len(chosen) >= max_units:
            break
        cost = count_tokens(item.unit.text)
        if chosen and used + cost > max_tokens:
            continue
        if item.hit not in hits:
            if len(hits) >= MAX_SOURCES:
                continue
            hits.append(item.hit)
        chosen.append(item)
        used += cost
    units = _with_gaps(scored, _with_short_paragraphs(scored, chosen))
    units = _with_labels(scored, units, max_tokens * LONG_SCOPE_FACTOR)
    units = _with_named_labels(scored, units, names, max_tokens * LONG_SCOPE_FACTOR)
    units = _with_whole_lists(scored, units, max_tokens * LONG_SCOPE_FACTOR)
    units = _with_announced_lists(scored, units, max_tokens * LONG_SCOPE_FACTOR)
    return _grouped(scored.retrieval, units, "best", anchor)


def _with_announced_lists(scored: Scored, units: list[tuple[int, Unit]],
                          budget: int) -> list[tuple[int, Unit]]:
    """A chosen sentence ending in a colon promises what comes after it ("Tre saker är
    aldrig tillåtna:"): the list after it, or — where the promised things are terms with
    their descriptions, which Markdown has no list for — the paragraphs after it up to
    the next heading, within the budget."""
    library = scored.retrieval.library
    if library is None:
        return units
    result = list(units)
    taken = {u.id for _, u in units}
    for index, unit in units:
        announced = _announced(library, unit)
        for member in _within_budget(announced, budget):
            if member.id not in taken:
                taken.add(member.id)
                result.append((index, member))
    return result


def _announced(library: Snapshot, unit: Unit) -> tuple[Unit, ...]:
    """What a sentence ending in a colon at the end of its paragraph announces."""
    following = library.neighbour(unit, 1)
    if (not unit.text.rstrip().endswith(":") or following is None
            or following.block == unit.block):
        return ()
    if following.form in LIST_FORMS:
        return library.group_units(following)
    return tuple(takewhile(lambda u: u.section_index == unit.section_index,
                           library.following(unit)))


def is_label(library: Snapshot, unit: Unit) -> bool:
    """A term standing on its own line before its description ("Radie", "Stänga
    bilden"): a few words without closing punctuation, alone in its paragraph."""
    text = unit.text.strip()
    return (unit.form == "sentence" and 0 < len(text.split()) <= LABEL_WORDS
            and not text.endswith((".", "!", "?", ":", "…"))
            and len(library.block_units(unit)) == 1)


def _with_labels(scored: Scored, units: list[tuple[int, Unit]],
                 budget: int) -> list[tuple[int, Unit]]:
    """A term and its description read together: a chosen description brings the term
    above it, a chosen term the paragraph below it (Markdown has no list for them)."""
    library = scored.retrieval.library
    if not LABEL_WORDS or library is None:
        return units
    result = list(units)
    taken = {u.id for _, u in units}
    for index, unit in units:
        before = library.neighbour(unit, -1)
        if is_label(library, unit) and (described := _description(library, unit, budget)):
            extra = described
        elif (before is not None and before.block != unit.block
              and before.section_index == unit.section_index and is_label(library, before)):
            extra = [before]
        else:
            continue
        for member in extra:
            if member.id not in taken:
                taken.add(member.id)
                result.append((index, member))
    return result


def _description(library: Snapshot, label: Unit, budget: int) -> list[Unit]:
    """The paragraph under a label (what the term means), within ``budget``; [] when the
    label ends its paragraph's section."""
    after = library.neighbour(label, 1)
    if after is None or after.block == label.block or after.section_index != label.section_index:
        return []
    return _within_budget(library.block_units(after), budget)


def _with_named_labels(scored: Scored, units: list[tuple[int, Unit]], names: Sequence[str],
                       budget: int) -> list[tuple[int, Unit]]:
    """A question naming a term that stands as a label where the answer is quoted ("…
    om jag väljer Slinga under Kant …") asks what the text says under it: the term and
    its description are quoted, though the description need not repeat the question's
    words ("… bildpunkter på motsatt kant …")."""
    library = scored.retrieval.library
    wanted = {" ".join(words(name)) for name in names}
    if not LABEL_WORDS or library is None or not wanted:
        return units
    result = list(units)
    taken = {u.id for _, u in units}
    scopes = {scope_of(u): index for index, u in units}
    for (key, section), index in scopes.items():
        source = library.sources.get(key)
        if source is None:
            continue
        for unit in library.units_of(source):
            if ((section >= 0 and unit.section_index != section) or unit.id in taken
                    or " ".join(words(unit.text)) not in wanted
                    or not is_label(library, unit)):
                continue
            for member in (unit, *_description(library, unit, budget)):
                if member.id not in taken:
                    taken.add(member.id)
                    result.append((index, member))
    return result


def scope_of(unit: Unit) -> tuple[str, int]:
    """Where a unit stands for "belongs with the answer": its section in a long document,
    else its whole document (section -1)."""
    return unit.source.key, unit.section_index if unit.source.is_long else -1


def _with_whole_lists(scored: Scored, units: list[tuple[int, Unit]],
                      budget: int) -> list[tuple[int, Unit]]:
    """When two or more chosen units are items of one list, the question is about the
    list: all of it, in order."""
    library = scored.retrieval.library
    items = [(i, u) for i, u in units if u.form in LIST_FORMS]
    groups = {(u.source.key, u.group) for _, u in items}
    if library is None or len(items) < 2 or len(groups) == len(items):
        return units
    result = list(units)
    taken = {u.id for _, u in units}
    for index, unit in items:
        for member in _within_budget(library.group_units(unit), budget):
            if member.id not in taken:
                taken.add(member.id)
                result.append((index, member))
    return result


def _with_short_paragraphs(scored: Scored, chosen: list[Evidence]) -> list[tuple[int, Unit]]:
    """Chosen units, each with the rest of its paragraph when the paragraph is short."""
    result: list[tuple[int, Unit]] = [(e.hit, e.unit) for e in chosen]
    taken = {e.unit.id for e in chosen}
    for item in chosen:
        if item.unit.form != "sentence":
            continue
        siblings = [u for u in scored.retrieval.hits[item.hit].passage.units
                    if u.block == item.unit.block and u.form == "sentence"]
        if sum(count_tokens(u.text) for u in siblings) <= SHORT_PARAGRAPH_TOKENS:
            for sibling in siblings:
                if sibling.id not in taken:
                    taken.add(sibling.id)
                    result.append((item.hit, sibling))
    return result


def _with_gaps(scored: Scored, units: list[tuple[int, Unit]]) -> list[tuple[int, Unit]]:
    """Chosen units with the few units of their section that stand between two of them
    in different paragraphs. Within a paragraph a gap shows as … and the quote keeps to
    the sentences that answer; a gap across paragraphs hides where the next one begins."""
    library = scored.retrieval.library
    if library is None or GAP_SENTENCES <= 0:
        return units
    result = list(units)
    taken = {u.id for _, u in units}
    hit_of = {u.id: i for i, u in units}
    first_of: dict[tuple[str, int], Unit] = {}
    for _, unit in units:
        first_of.setdefault((unit.source.key, unit.section_index), unit)
    for first in first_of.values():
        section = library.section_units(first)
        quoted = [i for i, unit in enumerate(section) if unit.id in taken]
        for start, end in pairwise(quoted):
            if 0 < end - start - 1 <= GAP_SENTENCES and section[start].block != section[end].block:
                for unit in section[start + 1:end]:
                    taken.add(unit.id)
                    result.append((hit_of[section[start].id], unit))
    return result


def _names_only_its_document(scored: Scored, anchor: Evidence) -> bool:
    """Whether every word of the question names the anchor's document or section (its
    title, heading path) or the collection: "Vad säger planen för parker?" asks for
    the whole vision, not for one of its sentences."""
    question = set(scored.retrieval.question_terms)
    if not question:
        return False
    unit = anchor.unit
    reference = set(terms(f"{unit.source.title} {unit.section}", [unit.source.lang]))
    reference |= scored.context_terms
    named = {t for t in question if covered(t, reference)}
    own_title = set(terms(f"{unit.source.title} {unit.section}", [unit.source.lang]))
    return named == question and bool({t for t in question if covered(t, own_title)})


def _defined_thing(scored: Scored, names: Sequence[str]) -> frozenset[str]:
    """The terms of what a definition question asks about: its names' capitalised parts
    ("Vad gör filtret Sepia?": Sepia), else every term of the question but the
    collection's own name."""
    lang = scored.retrieval.lang
    codes = [lang] if lang else []
    named = [part for name in names for part in named_parts(name)]
    found = frozenset(t for part in named for t in terms(part, codes)) if codes else frozenset()
    if found:
        return found
    return frozenset(t for t in scored.retrieval.question_terms if t not in scored.context_terms)


def _lead(scored: Scored, thing: frozenset[str], budget: int) -> Selection | None:
    """What something is ("Vad gör filtret Sepia?", "Mitä Palauta-komento tekee?"): the
    opening paragraph of the document or section whose heading names it, not the sentence
    that happens to repeat its name (often where to find it in a menu)."""
    library = scored.retrieval.library
    if library is None or not thing:
        return None
    for item in scored.items:
        if item.echo:
            continue
        scope = _naming_scope(item.unit, thing)
        if scope is None:
            continue
        units = [u for u in library.units_of(item.unit.source)
                 if u.path.startswith(scope) and not is_echo(u, scored.context_terms)]
        if not units:
            continue
        first = units[0]  # its paragraph, or the list it opens
        together = (library.group_units(first) if first.form in LIST_FORMS
                    else library.block_units(first))
        kept = _within_budget([u for u in together if not is_echo(u, scored.context_terms)],
                              budget)
        return _grouped(scored.retrieval, [(item.hit, u) for u in kept], "lead", item)
    return None


def _naming_scope(unit: Unit, thing: frozenset[str]) -> str | None:
    """The heading path down to the innermost heading above a unit that names ``thing``
    ("" for the whole document when its title does), or None when no heading names it."""
    if all(covered(t, heading_terms(unit.source.title, "", unit.source.lang)) for t in thing):
        return ""
    levels = [p for p in unit.path.split(PATH_SEPARATOR) if p]
    for depth in range(len(levels), 0, -1):
        heading = frozenset(terms(levels[depth - 1], [unit.source.lang]))
        if all(covered(t, heading) for t in thing):
            return PATH_SEPARATOR.join(levels[:depth])
    return None


def _whole_section(scored: Scored, anchor: Evidence, budget: int) -> Selection | None:
    library = scored.retrieval.library
    assert library is not None
    units = [u for u in library.section_units(anchor.unit)
             if not is_echo(u, scored.context_terms)]
    kept = _within_budget(units, budget)
    if not kept:
        return None
    return _grouped(scored.retrieval, [(anchor.hit, u) for u in kept], "whole", anchor)


def _introduces_list(library: Snapshot, unit: Unit) -> bool:
    following = library.neighbour(unit, 1)
    return (unit.text.rstrip().endswith(":") and following is not None
            and following.form in LIST_FORMS)


def _procedure(scored: Scored, anchor: Evidence, budget: int) -> Selection | None:
    """A list whole and in order, with the sentence introducing it."""
    library = scored.retrieval.library
    assert library is not None
    unit = anchor.unit
    if unit.form not in LIST_FORMS:
        following = library.neighbour(unit, 1)
        if following is None or following.form not in LIST_FORMS:
            return None
        unit = following
    steps = list(library.group_units(unit))
    if len(steps) < 2:
        return None
    lead = library.neighbour(steps[0], -1)
    if lead is not None and lead.form == "sentence" and lead.text.rstrip().endswith(":"):
        steps.insert(0, lead)
    kept = _within_budget(steps, budget)
    return _grouped(scored.retrieval, [(anchor.hit, u) for u in kept], "procedure", anchor)


def _best_paragraph(scored: Scored) -> Evidence | None:
    """The best unit of the paragraph whose two best units match best — or of an earlier
    paragraph of the same section or one above it that matches within
    ``WALK_START_MARGIN``: the introduction of a how-to comes before the step that
    happens to match best.

    Where a walk starts decides what a how-to answer holds; one sentence's lead of a
    few thousandths over another paragraph's is noise, a paragraph matching as a
    whole is not.
    """
    by_paragraph: dict[tuple[str, int], list[Evidence]] = {}
    for item in scored.items:
        if not item.echo:
            by_paragraph.setdefault((item.unit.source.key, item.unit.block), []).append(item)
    if not by_paragraph:
        return None

    def strength(items: list[Evidence]) -> float:
        return sum(e.score for e in items[:PARAGRAPH_UNITS]) / min(len(items), PARAGRAPH_UNITS)

    best = max(by_paragraph.values(), key=strength)
    unit = best[0].unit
    earlier = [items for items in by_paragraph.values()
               if items[0].unit.source.key == unit.source.key
               and min(e.unit.char_start for e in items) < unit.char_start
               and unit.path.startswith(items[0].unit.path)
               and strength(items) >= strength(best) - WALK_START_MARGIN]
    if earlier:
        best = min(earlier, key=lambda items: min(e.unit.char_start for e in items))
    return best[0]


def _passes_through(start: Evidence, anchor: Evidence) -> bool:
    """Whether a how-to walk from ``start`` begins before the best unit and passes
    through it: the list of steps a subsection gives ("Gör så här för en enfärgad
    bakgrund: …") comes after the introduction of its section (which tools to select
    with first)."""
    return (start.unit.source.key == anchor.unit.source.key
            and start.unit.char_start < anchor.unit.char_start
            and start.unit.block != anchor.unit.block
            and anchor.unit.path.startswith(start.unit.path))


def _walk(scored: Scored, start: Evidence, budget: int) -> Selection | None:
    """How to do something, when the answer is prose and lists under one heading: from
    the paragraph of ``start`` (``_best_paragraph``) on, in reading order, through the
    subsections of its section (never into the next section), within the budget."""
    library = scored.retrieval.library
    assert library is not None
    unit = start.unit
    paragraph = [u for u in library.block_units(unit) if u.char_start <= unit.char_start]
    first = paragraph[0] if paragraph else unit
    scope = unit.path
    walk = [first]
    for following in library.following(first):
        if scope and not following.path.startswith(scope):
            break
        walk.append(following)
    kept = [u for u in _within_budget(walk, budget) if not is_echo(u, scored.context_terms)]
    if len(kept) < 2:
        return None
    return _grouped(scored.retrieval, [(start.hit, u) for u in kept], "procedure", start)


def _comparison(scored: Scored, asks: frozenset[str], max_tokens: int) -> Selection | None:
    """Both (or all) sides of a comparison, each from the document its words name.

    The question's terms are matched against the titles and headings of the retrieved
    documents; when two or more documents are named by different words of the
    question, and the question compares (or simply asks about both), each gets its
    own best sentences and its own citation.
    """
    question = set(scored.retrieval.question_terms)
    # (document, section) → (first hit, terms naming it): in a long document the sections
    # are what a question names.
    named: dict[tuple[str, int], tuple[int, set[str]]] = {}
    for index, hit in enumerate(scored.retrieval.hits[:EVIDENCE_PASSAGES + 2]):
        source = hit.passage.source
        title_terms = standing_under(source.title, hit.passage.path or hit.passage.section,
                                     source.lang)
        own = {t for t in question if covered(t, title_terms) and t not in scored.context_terms}
        key = (source.key, hit.passage.section_index)
        if own and key not in named:
            named[key] = (index, own)
    distinct = _distinctly_named(named)
    if len(distinct) < 2 or "comparison" not in asks:
        return None
    groups: list[tuple[int, Unit]] = []
    budget = max_tokens * LONG_SCOPE_FACTOR // len(distinct)
    retrieval = scored.retrieval
    for key in distinct[:MAX_COMPARED]:
        index = named[key][0]
        hit = retrieval.hits[index]
        units = [u for u in hit.passage.units if not is_echo(u, scored.context_terms)]
        ranked = sorted(units, key=lambda u: -_unit_score(scored, u))
        best = ranked[:1] + [u for u in ranked[1:] if _unit_score(scored, u)
                             >= _unit_score(scored, ranked[0]) - SENTENCE_MARGIN]
        paragraph = [u for u in units if u.block == best[0].block] if best else []
        pick = paragraph if sum(count_tokens(u.text) for u in paragraph) <= budget else best
        groups += [(index, u) for u in _within_budget(pick, budget)]
    anchor = scored.best
    return _grouped(retrieval, groups, "comparison", anchor) if groups else None


def _distinctly_named(named: dict[tuple[str, int], tuple[int, set[str]]]
                      ) -> list[tuple[str, int]]:
    """Documents each named by a word of the question that names no other of them."""
    keys = list(named)
    distinct = []
    for key in keys:
        others = set().union(*(named[k][1] for k in keys if k != key)) if len(keys) > 1 else set()
        if named[key][1] - others:
            distinct.append(key)
    return sorted(distinct, key=lambda k: named[k][0])


def _unit_score(scored: Scored, unit: Unit) -> float:
    found = next((e.score for e in scored.items if e.unit.id == unit.id), None)
    if found is not None:
        return found
    vectors = scored.retrieval.query_vectors
    return float((vectors @ unit.vector).max()) if unit.vector is not None else 0.0


def _within_budget(units: Sequence[Unit], budget: int) -> list[Unit]:
    kept: list[Unit] = []
    used = 0
    for unit in units:
        cost = count_tokens(unit.text)
        if kept and used + cost > budget:
            break
        kept.append(unit)
        used += cost
    return kept


def _grouped(retrieval: Retrieval, pairs: Sequence[tuple[int, Unit]], scope: str,
             anchor: Evidence | None) -> Selection:
    """Units grouped by the passage they are cited from, in the order the passages first
    appear, each passage's units in reading order, each unit once.

    A unit of a passage retrieval did not return (the rest of a long section or list)
    is cited from its own passage, ranked like the hit that brought it.
    """
    library = retrieval.library
    order: list[str] = []
    hits: dict[str, Hit] = {}
    members: dict[str, dict[str, Unit]] = {}
    for index, unit in pairs:
        hit = _holding_hit(retrieval, index, unit)
        if hit is None:
            passage = library.passage_by_id.get(unit.passage_id) if library else None
            if passage is None:
                continue
            brought_by = retrieval.hits[index] if index < len(retrieval.hits) else None
            hit = Hit(passage=passage, score=brought_by.score if brought_by else 0.0,
                      via=("scope",))
        if hit.passage.id not in members:
            order.append(hit.passage.id)
            hits[hit.passage.id] = hit
            members[hit.passage.id] = {}
        members[hit.passage.id].setdefault(unit.id, unit)
    groups = tuple((hits[pid], tuple(sorted(members[pid].values(), key=lambda u: u.char_start)))
                   for pid in order)
    return Selection(groups, scope, anchor)


def with_way_there(selection: Selection, scored: Scored, asks: frozenset[str]) -> Selection:
    """How to reach what the answer describes, when the question asks how or whether it
    can be done and its documentation gives a way through the interface that the
    quoted sentences do not: "Voiko kuvasta poistaa kohinaa?" wants the filter's menu
    path as well as what the filter does."""
    anchor = selection.anchor
    library = scored.retrieval.library
    if (library is None or anchor is None or not asks & WAY_ASKS
            or any(UI_PATH.search(u.text) for u in selection.units)):
        return selection
    unit = anchor.unit
    levels = [p for p in unit.path.split(PATH_SEPARATOR) if p]
    facets = _facet_headings(library)
    while levels and _bare_heading(levels[-1]) in facets:
        levels.pop()  # "Overview", "Options": a facet of the thing above it
    thing = {t for t in terms(levels[-1] if levels else unit.source.title, [unit.source.lang])
             if not t.isdigit()}
    prefix = PATH_SEPARATOR.join(levels)
    ways = [(sum(covered(t, set(u.terms)) for t in thing), u)
            for u in library.units_of(unit.source)
            if u.path.startswith(prefix) and UI_PATH.search(u.text)
            and not is_echo(u, scored.context_terms)]
    ways = [(named, u) for named, u in ways if named]  # a way to the thing, not elsewhere
    if not ways:
        return selection
    _, best = max(ways, key=lambda w: (w[0], -abs(w[1].char_start - unit.char_start)))
    return add_units(selection, scored.retrieval, [(anchor.hit, best)])


def _facet_headings(library: Snapshot) -> frozenset[str]:
    """Headings that recur under many sections ("Yleiskatsaus", "Asetukset", "Aktivera
    kommandot"): they name a facet of the thing their parent heading names."""
    cached = library.cache.get("facet_headings")
    if cached is None:
        sections = {(u.source.key, u.path) for u in library.units}
        counts = Counter(_bare_heading(path.split(PATH_SEPARATOR)[-1])
                         for _, path in sections if path)
        cached = library.cache["facet_headings"] = frozenset(
            heading for heading, n in counts.items() if n >= FACET_MIN_SECTIONS)
    return cached


def _bare_heading(heading: str) -> str:
    """A heading without its numbering ("12.7.1. Yleiskatsaus" → "yleiskatsaus")."""
    return _NUMBERING.sub("", heading).strip().casefold()


def add_units(selection: Selection, retrieval: Retrieval,
              pairs: Sequence[tuple[int, Unit]]) -> Selection:
    """The selection with more units (each with the index of the hit that brought it)."""
    anchor_hit = selection.anchor.hit if selection.anchor else 0
    positions = {hit.passage.id: i for i, hit in enumerate(retrieval.hits)}
    existing = [(positions.get(hit.passage.id, anchor_hit), unit)
                for hit, units in selection.groups for unit in units]
    return _grouped(retrieval, [*existing, *pairs], selection.scope, selection.anchor)


def _holding_hit(retrieval: Retrieval, index: int, unit: Unit) -> Hit | None:
    """The retrieved hit whose passage holds the unit (the one that brought it first)."""
    for hit in (*retrieval.hits[index:index + 1], *retrieval.hits):
        passage = hit.passage
        if (passage.source.key == unit.source.key and passage.char_start <= unit.char_start
                and unit.char_end <= passage.char_end):
            return hit
    return None
