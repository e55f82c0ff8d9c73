"""Greetings, thanks and goodbyes: answered kindly, not searched for.

"Hej!" or "Kiitos!" asks nothing of the corpus, and searching it anyway finds
some loosely related passage to quote. A message made only of such words gets a
fixed friendly reply in its language instead.
"""

from __future__ import annotations

import re

#: word sequence → (language, kind); matched against the whole message.
PHRASES: dict[str, tuple[str, str]] = {
    **{p: ("sv", "greeting") for p in (
        "hej", "hejsan", "hallå", "tjena", "tja", "god dag", "god morgon", "god kväll",
        "hej hej")},
    **{p: ("sv", "thanks") for p in (
        "tack", "tack så mycket", "tackar", "stort tack", "tusen tack", "tack för hjälpen",
        "tack för svaret")},
    **{p: ("sv", "goodbye") for p in ("hej då", "hejdå", "adjö", "vi ses", "ha det bra")},
    **{p: ("fi", "greeting") for p in (
        "hei", "moi", "moikka", "terve", "päivää", "hyvää päivää", "huomenta",
        "hyvää huomenta", "iltaa", "hyvää iltaa", "hei hei")},
    **{p: ("fi", "thanks") for p in (
        "kiitos", "kiitti", "kiitoksia", "kiitos paljon", "paljon kiitoksia", "kiitos avusta",
        "kiitos vastauksesta")},
    **{p: ("fi", "goodbye") for p in ("näkemiin", "heippa", "hyvästi", "nähdään")},
}
_NOT_A_WORD = re.compile(r"[^\w\s]+")


def recognise(text: str) -> tuple[str, str] | None:
    """(language, kind) when the whole message is a greeting, thanks or goodbye."""
    words = " ".join(_NOT_A_WORD.sub(" ", text.casefold()).split())
    return PHRASES.get(words)
