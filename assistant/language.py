"""Which language is a text written in? Shared by documents and questions.

lingua ships its statistical models inside the wheel, so nothing is downloaded.
The detector is built lazily, once per process, and only knows a small set of
languages: our two (Swedish, Finnish) and the ones people in Finland most often
write in or that lingua confuses with ours. Two adjustments make it fit this
assistant:

* **Scandinavian folding.** On short texts lingua often puts Norwegian or Danish
  above Swedish ("Vem är kontaktperson?" → nynorsk 0.24, Swedish 0.34). Our users
  write Finland-Swedish, so when Swedish is a plausible contender among the
  Scandinavian languages their confidence is counted as Swedish. A long Danish
  text, where Swedish scores near zero, stays Danish.
* **Ambiguity.** Very short or name-only texts ("Agenda 2030?", "ok", "Vision")
  give near-even scores. Then the caller's ``hint`` (e.g. the language of the
  conversation so far) is returned, or ``lang=None`` when there is no hint.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from assistant.types import LANGUAGES

#: The languages the detector chooses between.
_KNOWN = (
    Language.SWEDISH, Language.FINNISH, Language.ENGLISH, Language.GERMAN, Language.FRENCH,
    Language.SPANISH, Language.ITALIAN, Language.PORTUGUESE, Language.DUTCH, Language.POLISH,
    Language.ESTONIAN, Language.RUSSIAN, Language.BOKMAL, Language.NYNORSK, Language.DANISH,
)
#: Languages folded into Swedish when Swedish is close enough to them.
_SCANDINAVIAN = ("nb", "nn", "da")
#: Swedish must reach this share of the best other Scandinavian score to be folded.
_FOLD_RATIO = 0.3
#: Below this many letters a text says too little about its language.
MIN_LETTERS = 3
#: The winner needs at least this confidence and this lead over the runner-up.
MIN_CONFIDENCE = 0.15
MIN_LEAD = 2.0
#: Only the beginning of a long text is read: it decides the language as well as
#: the whole, and a 5 MB document must not cost seconds.
MAX_DETECT_CHARS = 4000

_URL_OR_EMAIL = re.compile(r"\b(?:https?://|www\.)\S+|\S+@\S+\.\w+")
_LETTER = re.compile(r"[^\W\d_]")

_detector: LanguageDetector | None = None
_detector_lock = threading.Lock()


@dataclass(frozen=True)
class LanguageGuess:
    """The detected language (ISO 639-1, e.g. "sv") or None when undecidable."""

    lang: str | None
    confidence: float
    supported: bool

    @classmethod
    def of(cls, lang: str | None, confidence: float) -> LanguageGuess:
        return cls(lang=lang, confidence=round(confidence, 4), supported=lang in LANGUAGES)


def detector() -> LanguageDetector:
    """The shared lingua detector (models load on first use, a few seconds)."""
    global _detector
    if _detector is None:
        with _detector_lock:
            if _detector is None:
                _detector = LanguageDetectorBuilder.from_languages(*_KNOWN).build()
    return _detector


def detect_language(text: str, *, hint: str | None = None) -> LanguageGuess:
    """Guess the language of ``text``; fall back on ``hint`` when the text is ambiguous.

    ``hint`` is an ISO 639-1 code the caller already believes in (the language
    of the conversation, a document's ``<html lang>``). It never overrides a
    clear detection: "What is the goal?" is English whatever the hint says.
    """
    sample = _URL_OR_EMAIL.sub(" ", text[:MAX_DETECT_CHARS])
    hint = hint.lower() if hint else None
    if len(_LETTER.findall(sample)) < MIN_LETTERS:
        return LanguageGuess.of(hint, 0.0)
    scores = {
        value.language.iso_code_639_1.name.lower(): value.value
        for value in detector().compute_language_confidence_values(sample)
    }
    scores = _fold_scandinavian(scores)
    best = max(scores, key=scores.__getitem__)
    contenders = [code for code, score in scores.items() if score * MIN_LEAD >= scores[best]]
    if contenders == [best] and scores[best] >= MIN_CONFIDENCE:
        return LanguageGuess.of(best, scores[best])
    # Undecided: the caller's belief, else one of our own languages if it alone
    # is in the running, breaks the tie.
    if hint:
        return LanguageGuess.of(hint, scores.get(hint, 0.0))
    ours = [code for code in contenders if code in LANGUAGES]
    if len(ours) == 1 and scores[ours[0]] >= MIN_CONFIDENCE:
        return LanguageGuess.of(ours[0], scores[ours[0]])
    return LanguageGuess.of(None, scores[best])


def _fold_scandinavian(scores: dict[str, float]) -> dict[str, float]:
    """Count Norwegian/Danish evidence as Swedish when Swedish is a close contender.

    Only when a Scandinavian language clearly leads the rest: otherwise the small
    Scandinavian scores of an English sentence, or of a near-uniform guess,
    would add up to a false Swedish.
    """
    leader = max(scores, key=scores.__getitem__)
    others = max(scores.get(code, 0.0) for code in _SCANDINAVIAN)
    swedish = scores.get("sv", 0.0)
    if (leader not in ("sv", *_SCANDINAVIAN) or scores[leader] < MIN_CONFIDENCE
            or swedish < _FOLD_RATIO * others):
        return scores
    folded = {code: score for code, score in scores.items() if code not in _SCANDINAVIAN}
    folded["sv"] = swedish + sum(scores.get(code, 0.0) for code in _SCANDINAVIAN)
    for code in _SCANDINAVIAN:
        folded[code] = 0.0
    return folded
