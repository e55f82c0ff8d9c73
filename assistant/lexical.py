"""Lexical matching for Swedish and Finnish: word forms, stop words, BM25.

Why stemming: Finnish and Swedish inflect heavily ("kunnat", "kuntien",
"kunnissa"; "kommun", "kommunerna"), so exact word matching misses most
hits. Snowball stemmers for both languages reduce forms to a shared stem;
long compound words also contribute their leading part ("kranskommunerna"
→ "kranskommun" and "krans…") so that a question about "kranskommuner"
meets "kranskommunerna" and a Finnish compound meets its first element.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
import snowballstemmer

_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
_PREFIX_MIN_WORD = 9  # words at least this long also index their first part
_PREFIX_LEN = 6

STOPWORDS: dict[str, frozenset[str]] = {
    "sv": frozenset("""
        och i att det som en på är av för med till den har de inte om ett han men var
        jag sig från vi så kan man när år säga hon under också efter eller nu sin där
        vid mot ska skulle kommer ut får finns vara hur vad vem vilka vilken vilket varför
        sina sitt blir bli blev även dessa detta denna här då alla andra mer mycket
        du ni dig er min mitt mina oss vår våra era ert eller samt enligt ju bara
        någon något några hos inom utan över mellan sådan sådana berätta säger sägs
        """.split()),
    "fi": frozenset("""
        ja on ei se että oli ovat olla ole kuin mutta tai jos niin kun myös vain sekä
        mikä mitä miten miksi kuka ketkä missä mistä mihin milloin mikään minkä millainen
        millä mille minä sinä hän me te he tämä tuo nämä ne sen sitä siitä siihen niiden
        heidän meidän teidän minun sinun olen olet olemme onko eikö voi voiko
        kanssa mukaan kertoa kerro sanoo sanotaan entä entäs noin jo vielä sitten
        """.split()),
}
_STEMMERS_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def _stemmer(lang: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer({"sv": "swedish", "fi": "finnish"}.get(lang, "swedish"))


def _fold(text: str) -> str:
    """Lower-case and unify compatibility forms; å, ä, ö stay (they carry meaning)."""
    return unicodedata.normalize("NFKC", text).casefold()


def words(text: str) -> list[str]:
    return _WORD.findall(_fold(text))


def terms(text: str, languages: Iterable[str]) -> list[str]:
    """Index/query terms: stems in each given language, plus leading parts of long words."""
    langs = tuple(dict.fromkeys(languages))
    stop = frozenset().union(*(STOPWORDS.get(lang, frozenset()) for lang in langs))
    out: list[str] = []
    for word in words(text):
        if word in stop or (len(word) < 2 and not word.isdigit()):
            continue
        stems = set()
        with _STEMMERS_LOCK:  # snowball stemmer objects are not thread-safe
            for lang in langs:
                stems.add(_stemmer(lang).stemWord(word))
        out.extend(sorted(stems))
        if len(word) >= _PREFIX_MIN_WORD and not word.isdigit():
            out.append(word[:_PREFIX_LEN] + "…")
    return out


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

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        result = np.zeros(self.n, dtype=np.float32)
        if not self.n:
            return result
        norm = self.k1 * (1.0 - self.b + self.b * self.lengths / max(self.avg_length, 1e-9))
        for term in set(query_terms):
            for index, count in self.postings.get(term, ()):
                tf = float(count)
                result[index] += self.idf[term] * tf * (self.k1 + 1.0) / (tf + norm[index])
        return result


def overlap(query_terms: Sequence[str], text_terms: Sequence[str]) -> float:
    """Share of the distinct query terms found in a text (0..1)."""
    wanted = set(query_terms)
    if not wanted:
        return 0.0
    return len(wanted & set(text_terms)) / len(wanted)
