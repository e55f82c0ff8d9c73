"""Lexical matching: word forms, stop words, BM25 (each language's words and stemmer
come from its resource file, see ``assistant.languages``).

Why stemming: Finnish and Swedish inflect heavily ("kunnat", "kuntien",
"kunnissa"; "kommun", "kommunerna"), so exact word matching misses most
hits. Snowball stemmers for both languages reduce forms to a shared stem.
Both languages also build compounds, so a query stem of some length also
matches the longer terms it begins ("kontakt" meets "kontaktperson",
"kirjasto" meets "kirjastokortti").
"""

from __future__ import annotations

import bisect
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache

import numpy as np
import snowballstemmer

from assistant import languages

_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
#: A query stem at least this long also matches the terms it is the beginning of.
MIN_PREFIX_STEM = 5
#: A query stem at least this long also matches the compounds it ends ("ikkuna" meets
#: "kuvaikkuna", "lager" meets "textlager"): a compound's last part says what it is.
#: 0 turns compound heads off.
MIN_HEAD_STEM = 6

_STEMMERS_LOCK = threading.Lock()


@lru_cache(maxsize=16)
def _stemmer(algorithm: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(algorithm)


def _fold(text: str) -> str:
    """Lower-case and unify compatibility forms; å, ä, ö stay (they carry meaning)."""
    return unicodedata.normalize("NFKC", text).casefold()


def words(text: str) -> list[str]:
    return _WORD.findall(_fold(text))


def terms(text: str, codes: Iterable[str]) -> list[str]:
    """Index/query terms: the words' stems in each given language, stop words left out."""
    langs = [languages.get(code) for code in dict.fromkeys(codes)]
    stop = frozenset().union(*(lang.stop for lang in langs))
    algorithms = tuple(dict.fromkeys(lang.snowball for lang in langs))
    out: list[str] = []
    for word in words(text):
        if word in stop or (len(word) < 2 and not word.isdigit()):
            continue
        stems = set()
        with _STEMMERS_LOCK:  # snowball stemmer objects are not thread-safe
            for algorithm in algorithms:
                stems.add(_stemmer(algorithm).stemWord(word))
        out.extend(sorted(stems))
    return out


class Vocabulary:
    """Sorted distinct terms, to find the compounds a query stem begins or ends."""

    def __init__(self, terms_: Iterable[str]) -> None:
        self.sorted = sorted(set(terms_))
        self.reversed = sorted(t[::-1] for t in self.sorted)

    def expand(self, query_terms: Iterable[str]) -> dict[str, str]:
        """Each matching vocabulary term → the query term it stands for."""
        matched: dict[str, str] = {}
        for term in dict.fromkeys(query_terms):
            matched.setdefault(term, term)
            if term.isdigit():
                continue
            if len(term) >= MIN_PREFIX_STEM:
                for candidate in _starting_with(self.sorted, term):
                    matched.setdefault(candidate, term)
            if MIN_HEAD_STEM and len(term) >= MIN_HEAD_STEM:
                for candidate in _starting_with(self.reversed, term[::-1]):
                    matched.setdefault(candidate[::-1], term)
        return matched


def _starting_with(sorted_terms: Sequence[str], prefix: str) -> Iterator[str]:
    start = bisect.bisect_left(sorted_terms, prefix)
    for candidate in sorted_terms[start:]:
        if not candidate.startswith(prefix):
            return
        yield candidate


class BM25:
    """Okapi BM25 over a fixed list of term lists (rebuilt with each index snapshot)."""

    def __init__(self, documents: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.n = len(documents)
        self.lengths = np.asarray([len(d) for d in documents], dtype=np.float32)
        self.avg_length = float(self.lengths.mean()) if self.n else 0.0
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for index, doc in enumerate(documents):
            for term, count in Counter(doc).items():
                self.postings.setdefault(term, []).append((index, count))
        self.idf = {
            term: math.log(1.0 + (self.n - len(p) + 0.5) / (len(p) + 0.5))
            for term, p in self.postings.items()
        }
        self.vocabulary = Vocabulary(self.postings)

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 per document; a compound matched through a query stem counts for that stem
        (once per document, with the larger of the matches)."""
        result = np.zeros(self.n, dtype=np.float32)
        if not self.n:
            return result
        norm = self.k1 * (1.0 - self.b + self.b * self.lengths / max(self.avg_length, 1e-9))
        per_stem: dict[str, np.ndarray] = {}
        for term, stem in self.vocabulary.expand(query_terms).items():
            for index, count in self.postings.get(term, ()):
                tf = float(count)
                value = self.idf[term] * tf * (self.k1 + 1.0) / (tf + norm[index])
                column = per_stem.setdefault(stem, np.zeros(self.n, dtype=np.float32))
                column[index] = max(column[index], value)
        for column in per_stem.values():
            result += column
        return result


def named_parts(name: str) -> list[str]:
    """The parts of a name that carry it: its capitalised words and those with digits
    ("FN-dokument" → "FN", "filtret Sepia" → "Sepia", "GIMP 2.10" → "GIMP", "2.10")."""
    return [p for p in re.split(r"[\s\-–]+", name)
            if p and (p[:1].isupper() or any(ch.isdigit() for ch in p))]


def common_prefix(a: str, b: str) -> int:
    """How many letters two terms share from their start (stems of inflected forms)."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def part_of(query_term: str, term: str) -> bool:
    """Whether a compound ``term`` begins or ends with a long enough ``query_term``
    (the linear form of ``Vocabulary.expand``, for one text's few terms)."""
    if query_term.isdigit():
        return False
    return ((len(query_term) >= MIN_PREFIX_STEM and term.startswith(query_term))
            or bool(MIN_HEAD_STEM and len(query_term) >= MIN_HEAD_STEM
                    and term.endswith(query_term)))


def overlap(query_terms: Sequence[str], text_terms: Sequence[str],
            idf: dict[str, float] | None = None) -> float:
    """Share of the query's terms found in a text (0..1), each weighted by its IDF.

    With weights, a word found everywhere (the programme's own name) counts for
    little and a rare one for much; a term the corpus never uses gets the highest
    weight, since it is exactly what a text would have to mention.
    """
    wanted = set(query_terms)
    if not wanted:
        return 0.0
    present = set(text_terms)
    hits = {q for q in wanted if q in present or any(part_of(q, t) for t in present)}
    if idf is None:
        return len(hits) / len(wanted)
    ceiling = max(idf.values(), default=1.0)
    weights = {term: idf.get(term, ceiling) for term in wanted}
    total = sum(weights.values())
    return sum(weights[q] for q in hits) / total if total > 0 else 0.0
