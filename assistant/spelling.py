"""Respell a question's words against the words of the index.

Why: residents type on phones, often without å/ä/ö ("nappaimella", "sma kommuner")
and with a letter dropped ("tavote"). Such a word matches no indexed term and
embeds badly, so the question finds the wrong passages or none. A word the index
never uses is replaced by the index word it most plausibly stands for: the same
word with its diacritics, or else a word one typo away. Words the index knows,
numbers, and capitalised words inside a sentence (names, whose absence the
answer must report as typed) are left alone.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from assistant import languages
from assistant.lexical import terms, words
from assistant.retrieval import Snapshot

#: A word this long or longer may be corrected by one typo; shorter words are too
#: ambiguous ("sma" is only corrected through its diacritics).
MIN_TYPO_CHARS = 6
#: difflib similarity for a typo correction: one edit in a word of 6–12 letters.
TYPO_CUTOFF = 0.9
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def strip_marks(word: str) -> str:
    """The word without its diacritics ("näppäimellä" → "nappaimella")."""
    return "".join(ch for ch in unicodedata.normalize("NFD", word)
                   if not unicodedata.combining(ch))


@dataclass(frozen=True)
class Speller:
    """The index's words, looked up by their letters without diacritics."""

    known: frozenset[str]
    stems: frozenset[str]
    by_bare_form: dict[str, str]
    by_bare_stem: dict[str, str]
    by_start: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, library: Snapshot) -> Speller:
        cached = library.cache.get("speller")
        if cached is None:
            counts: Counter[str] = Counter()
            for unit in library.units:
                counts.update(words(unit.text))
            for source in library.sources.values():
                counts.update(words(source.title))
            for language in languages.registry():
                # The languages' own small words are known even where the texts lack them.
                counts.update({word: 0 for word in language.stop if word not in counts})
            codes = list(languages.codes())
            bare: dict[str, str] = {}
            bare_stem: dict[str, str] = {}
            stems: set[str] = set()
            for word, _ in counts.most_common():  # the commonest spelling wins
                bare.setdefault(strip_marks(word), word)
                for stem in terms(word, codes):
                    stems.add(stem)
                    bare_stem.setdefault(strip_marks(stem), word)
            starts: dict[str, list[str]] = {}
            for word in counts:
                starts.setdefault(strip_marks(word[:1]), []).append(strip_marks(word))
            cached = library.cache["speller"] = cls(
                frozenset(counts), frozenset(stems), bare, bare_stem,
                {k: tuple(dict.fromkeys(v)) for k, v in starts.items()})
        return cached

    def correct(self, word: str) -> str | None:
        """The index word a lower-case word stands for, or None when it is known or unclear."""
        if word in self.known:
            return None
        bare = strip_marks(word)
        found = self.by_bare_form.get(bare)
        if found is not None:
            return found if found != word else None
        stems = terms(word, languages.codes())
        if not stems or any(stem in self.stems for stem in stems):
            return None  # an inflected form of a known word, or a stop word
        for stem in stems:  # inflected and without diacritics: "naytolle" → "näytöllä"
            found = self.by_bare_stem.get(strip_marks(stem))
            if found is not None:
                return found
        if len(word) < MIN_TYPO_CHARS:
            return None
        for close in difflib.get_close_matches(bare, self.by_start.get(bare[:1], ()), n=3,
                                               cutoff=TYPO_CUTOFF):
            if not (close.startswith(bare) or bare.startswith(close)):  # not an inflection
                return self.by_bare_form[close]
        return None


def respell(text: str, library: Snapshot) -> str:
    """The text with the words the index never uses replaced by the ones they stand for."""
    speller = Speller.of(library)

    def fix(match: re.Match[str]) -> str:
        original = match.group(0)
        starts_sentence = not text[:match.start()].strip() or \
            text[:match.start()].rstrip()[-1:] in ".!?"
        if original[:1].isupper() and not starts_sentence:
            return original
        lowered = original.casefold()
        if lowered not in words(original) or len(lowered) < 2:
            return original
        corrected = speller.correct(lowered)
        if corrected is None:
            return original
        return corrected[:1].upper() + corrected[1:] if original[:1].isupper() else corrected

    return _WORD.sub(fix, text)
