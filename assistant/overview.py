"""Overview questions: "Vilka visioner finns det?", "Mitä visioita ohjelmassa on?".

No passage answers them. The programme page never lists its visions in one
sentence, so retrieval quoted the two closest visions and the resident never
learnt that there are six. They are answered from the index's structure instead:
one line per vision document (``kind: vision``, so a vision a user adds is listed
too) with its title and first sentence, each cited. The answer stays extractive:
the frame is fixed text, titles and sentences are the documents' own.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from assistant.i18n import PROGRAMME
from assistant.lexical import terms, words
from assistant.retrieval import Snapshot
from assistant.types import LANGUAGES

#: Term prefixes (after stemming) of the word "vision" in either language.
VISION_PREFIXES = ("vision", "visio")
#: Words and phrases asking for a list or a count (regular expressions on the lower-cased
#: words). Finnish "mitä" is "what" in any question ("Mitä tarkoittaa …?"): only
#: "mitä visioita" asks for the visions.
LIST_WORDS = {
    "sv": ("vilka", "hur många", "alla", "lista", "räkna upp", "vilken sorts", "vilka typer",
           "olika"),
    "fi": ("mitkä", r"mitä visio\w*", "montako", "kuinka monta", "paljonko", "kaikki",
           "luettele", "millaisia", "minkälaisia", "eri", r"erilais\w*"),
}
VISION_KIND = "vision"
#: The programme's and its publisher's names: part of the question, not a topic.
NAMES = (*PROGRAMME.values(), "Kommunförbundet", "Kuntaliitto", "programmet", "ohjelmassa")
#: Ordinal words that number sections ("Femte visionen", "Viides visio"): page order.
ORDINALS = {word: n for words_ in (
    "första andra tredje fjärde femte sjätte sjunde åttonde nionde tionde",
    "ensimmäinen toinen kolmas neljäs viides kuudes seitsemäs kahdeksas yhdeksäs kymmenes",
) for n, word in enumerate(words_.split(), start=1)}


@dataclass(frozen=True)
class VisionEntry:
    """A vision document as listed: the row of its first sentence and of its chunk."""

    doc_id: str
    sentence_row: int
    chunk_row: int


def asks_for_overview(question: str, lang: str, snapshot: Callable[[], Snapshot]) -> bool:
    """Whether the question asks which (or how many) visions there are.

    Naming one kind of municipality ("Vilka mål har visionen för små kommuner?")
    makes it a question about that vision, and naming anything else the corpus
    speaks of ("Mitä visiot sanovat digitalisaatiosta?") a question on that topic:
    both are answered by retrieval as usual. ``snapshot`` is only called once the
    question's own words make it a candidate, so other questions never wait for it.
    """
    text = " ".join(words(question))
    question_terms = set(terms(question, [lang]))
    if not any(t.startswith(VISION_PREFIXES) for t in question_terms):
        return False
    found = [m.group(0) for pattern in LIST_WORDS.get(lang, ())
             if (m := re.search(rf"\b{pattern}\b", text))]
    if not found:
        return False
    snap = snapshot()
    ignored = set(terms(" ".join([*NAMES, *found]), LANGUAGES))
    # Names of a kind of municipality may come in the other language ("kranskommuner").
    if (set(terms(question, LANGUAGES)) - ignored) & _distinctive_title_terms(snap):
        return False
    topics = {t for t in question_terms - ignored
              if not t.startswith(VISION_PREFIXES) and t in snap.bm25.idf}
    return not topics


def _distinctive_title_terms(snap: Snapshot) -> set[str]:
    """Title terms that tell one vision from another ("små", "kehyskunt"), i.e. found in
    fewer than half of a language's vision titles ("vision", "kommun" are in most)."""
    distinctive: set[str] = set()
    for lang in LANGUAGES:
        titles = {str(m["title"]) for m in snap.metas
                  if m.get("kind") == VISION_KIND and m.get("lang") == lang}
        counts = Counter(t for title in titles for t in set(terms(title, LANGUAGES)))
        distinctive |= {t for t, n in counts.items() if n < len(titles) / 2}
    return distinctive


def vision_entries(snap: Snapshot, lang: str) -> list[VisionEntry]:
    """Each vision document once, in ``lang`` where it exists, in the order of the
    programme page (the ordinal word opening its section, then the document id)."""
    first: dict[tuple[str, str], int] = {}
    for row, meta in enumerate(snap.metas):
        if meta.get("kind") != VISION_KIND or meta.get("unit") != "sentence":
            continue
        if meta.get("form", "sentence") != "sentence":
            continue
        key = (str(meta["doc_id"]), str(meta["lang"]))
        if key not in first or int(meta["char_start"]) < int(snap.metas[first[key]]["char_start"]):
            first[key] = row
    entries: list[VisionEntry] = []
    preferred = [lang, *(x for x in LANGUAGES if x != lang)]
    for doc_id in {d for d, _ in first}:
        row = next(first[(doc_id, x)] for x in preferred if (doc_id, x) in first)
        chunk_row = snap.by_id[str(snap.metas[row]["chunk_id"])]
        entries.append(VisionEntry(doc_id, row, chunk_row))
    return sorted(entries, key=lambda e: (_page_position(snap, e.sentence_row), e.doc_id))


def _page_position(snap: Snapshot, row: int) -> int:
    section = words(str(snap.metas[row].get("section", "")))
    return ORDINALS.get(section[0], len(ORDINALS) + 1) if section else len(ORDINALS) + 1
