"""Which language is a text written in? Shared by documents and questions.

lingua ships its statistical models inside the wheel, so nothing is downloaded.
The detector is built lazily, once per process, and only knows a small set of
languages: our two (Swedish, Finnish) and the ones people in Finland most often
write in or that lingua confuses with ours. Two adjustments make it fit this
assistant:

* **Folding close languages** (a language file's ``folds``). On short texts lingua
  often puts Norwegian or Danish above Swedish ("Vem är kontaktperson?" → nynorsk
  0.24, Swedish 0.34). Our users
  write Finland-Swedish, so when Swedish is a plausible contender among the
  Scandinavian languages their confidence is counted as Swedish. A long Danish
  text, where Swedish scores near zero, stays Danish.
* **Function words.** A question such as "Vad säger Kaupunginkirjasto om e-kirjat?"
  is Swedish however Finnish its names are, and "Mikä on Ekby 2040?" is Finnish
  although lingua hesitates. Swedish and Finnish share no function words (each
  language file lists its own), so when only one of them has any in the text,
  that one wins over lingua's guess among ours (never over a clear third
  language such as English).
* **Ambiguity.** Very short or name-only texts ("Ekby 2040?", "ok", "Plan")
  give near-even scores. Then the caller's ``hint`` (e.g. the language of the
  conversation so far) is returned, or ``lang=None`` when there is no hint.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from assistant import languages

#: Languages the detector also knows, besides the enabled ones: those people in Finland
#: most often write in, and those lingua confuses with ours. A question in one of them
#: gets the "I answer in …" notice instead of a guess.
OTHER_LANGUAGES = (
    "ENGLISH", "GERMAN", "FRENCH", "SPANISH", "ITALIAN", "PORTUGUESE", "DUTCH", "POLISH",
    "ESTONIAN", "RUSSIAN", "BOKMAL", "NYNORSK", "DANISH", "SWEDISH", "FINNISH",
)
#: A language must reach this share of the best folded score to take it over.
_FOLD_RATIO = 0.3
#: Below this many letters a text says too little about its language.
MIN_LETTERS = 3
#: The winner needs at least this confidence and this lead over the runner-up.
MIN_CONFIDENCE = 0.15
MIN_LEAD = 2.0
#: Only the beginning of a long text is read: it decides the language as well as
#: the whole, and a 5 MB document must not cost seconds.
MAX_DETECT_CHARS = 4000

_WORD = re.compile(r"[^\W\d_]+")
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
        return cls(lang=lang, confidence=round(confidence, 4),
                   supported=lang in languages.registry())


_detectors: dict[frozenset[str], LanguageDetector] = {}


def detector() -> LanguageDetector:
    """The shared lingua detector for the enabled languages, all models loaded at once.

    Lazily loaded models would load inside a detection call, holding the GIL: the
    first Finnish question after start froze the whole web server for ~14 s
    (measured on 2 busy cores), and each language met later for the first time
    froze it again. Preloading loads all models in parallel, once (~6 s there,
    about 450 MB); ``Assistant.warm_up`` does it before the server takes requests.
    """
    names = frozenset((*OTHER_LANGUAGES, *(lang.lingua for lang in languages.registry())))
    found = _detectors.get(names)
    if found is None:
        with _detector_lock:
            found = _detectors.get(names)
            if found is None:
                known = [getattr(Language, name) for name in sorted(names)]
                found = (LanguageDetectorBuilder.from_languages(*known)
                         .with_preloaded_language_models().build())
                _detectors[names] = found
    return found


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
    for language in languages.registry():
        scores = _fold(scores, language.code, language.folds)
    guess = _lingua_guess(scores, hint)
    vote = function_word_vote(sample)
    if vote is not None and vote != guess.lang and (guess.lang is None or guess.supported):
        return LanguageGuess.of(vote, max(scores.get(vote, 0.0), MIN_CONFIDENCE))
    return guess


def function_word_vote(text: str) -> str | None:
    """The enabled language whose function words alone occur in the text, if there is one."""
    found = {language.code: 0 for language in languages.registry()}
    vocabularies = [(language.code, language.function) for language in languages.registry()]
    for word in _WORD.findall(text.casefold()):
        for code, vocabulary in vocabularies:
            if word in vocabulary:
                found[code] += 1
    voting = [code for code, count in found.items() if count]
    return voting[0] if len(voting) == 1 else None


def _lingua_guess(scores: dict[str, float], hint: str | None) -> LanguageGuess:
    best = max(scores, key=scores.__getitem__)
    contenders = [code for code, score in scores.items() if score * MIN_LEAD >= scores[best]]
    if contenders == [best] and scores[best] >= MIN_CONFIDENCE:
        return LanguageGuess.of(best, scores[best])
    # Undecided: the caller's belief, else one of our own languages if it alone
    # is in the running, breaks the tie.
    if hint:
        return LanguageGuess.of(hint, scores.get(hint, 0.0))
    ours = [code for code in contenders if code in languages.registry()]
    if len(ours) == 1 and scores[ours[0]] >= MIN_CONFIDENCE:
        return LanguageGuess.of(ours[0], scores[ours[0]])
    return LanguageGuess.of(None, scores[best])


def _fold(scores: dict[str, float], code: str, folds: tuple[str, ...]) -> dict[str, float]:
    """Count close languages' evidence as ``code`` when ``code`` is a close contender
    (Norwegian and Danish as Swedish: see the module notes).

    Only when one of them clearly leads the rest: otherwise the small scores of an
    English sentence, or of a near-uniform guess, would add up to a false ``code``.
    """
    if not folds:
        return scores
    leader = max(scores, key=scores.__getitem__)
    others = max(scores.get(other, 0.0) for other in folds)
    own = scores.get(code, 0.0)
    if (leader not in (code, *folds) or scores[leader] < MIN_CONFIDENCE
            or own < _FOLD_RATIO * others):
        return scores
    folded = {c: score for c, score in scores.items() if c not in folds}
    folded[code] = own + sum(scores.get(other, 0.0) for other in folds)
    for other in folds:
        folded[other] = 0.0
    return folded
