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
* **Function words.** A question such as "Vad säger Kuntaliitto om kehyskunnat?"
  is Swedish however Finnish its names are, and "Mikä on Agenda 2030?" is Finnish
  although lingua hesitates. Swedish and Finnish share no function words, so when
  only one of them has any in the text, that one wins over lingua's sv/fi guess
  (never over a clear third language such as English).
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

#: Short, frequent words of each language that the other never uses.
FUNCTION_WORDS = {
    "sv": frozenset("""
        och att det som är av för med till den har inte om ett men var jag sig från vi
        så kan man när vad vem vilka vilken vilket varför hur finns ska skulle också
        eller där här dessa detta denna på i en de du ni vår våra deras säger står
    """.split()),
    "fi": frozenset("""
        ja on ei se että oli ovat olla ole kuin mutta tai jos niin kun myös vain sekä
        mikä mitä miten miksi kuka ketkä missä mistä mihin milloin minkä millainen
        onko eikö entä entäs kuinka paljonko montako tämä tuo nämä ne sen sitä siitä
        hän he me te minä sinä minun sinun meidän teidän voi voiko kertoa kerro
    """.split()),
    "en": frozenset("""
        the is are was were what who how why when where which does do did of and to
        in for with about this that these those can could should would there their
    """.split()),
}
_WORD = re.compile(r"[^\W\d_]+")
#: lingua guesses a function-word vote may overrule: ours, or undecided. (A confident
#: Danish or Estonian text shares too many short words with ours to be overruled.)
_OVERRULABLE = (None, "sv", "fi")

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
    """The shared lingua detector, all its models loaded at once on first use.

    Lazily loaded models would load inside a detection call, holding the GIL: the
    first Finnish question after start froze the whole web server for ~14 s
    (measured on 2 busy cores), and each language met later for the first time
    froze it again. Preloading loads all models in parallel, once (~6 s there,
    about 450 MB); ``Assistant.warm_up`` does it before the server takes requests.
    """
    global _detector
    if _detector is None:
        with _detector_lock:
            if _detector is None:
                _detector = (LanguageDetectorBuilder.from_languages(*_KNOWN)
                             .with_preloaded_language_models().build())
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
    guess = _lingua_guess(scores, hint)
    vote = function_word_vote(sample)
    if vote is not None and vote != guess.lang and guess.lang in _OVERRULABLE:
        return LanguageGuess.of(vote, max(scores.get(vote, 0.0), MIN_CONFIDENCE))
    return guess


def function_word_vote(text: str) -> str | None:
    """sv, fi or en when only that language's function words occur in the text."""
    found = {lang: 0 for lang in FUNCTION_WORDS}
    for word in _WORD.findall(text.casefold()):
        for lang, vocabulary in FUNCTION_WORDS.items():
            if word in vocabulary:
                found[lang] += 1
    voting = [lang for lang, count in found.items() if count]
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
