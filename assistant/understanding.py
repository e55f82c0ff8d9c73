"""Understand a message before searching: what it is and what it asks for.

Once per message: the text is cleaned, its language decided, and its intent
told apart: a question about the sources, small talk, or a request for some
other task (write a poem, translate, play a role, obey "new rules"). For a
question it notes what kind of information is asked for (a number, a date, a
person, contact details, a procedure …; see ``languages.ASK_KINDS``), the
names and numbers it mentions, phrases it quotes, and how to search for it
when it leans on the conversation (a follow-up). Every word list comes from
the language files; the mechanisms here hold for any corpus.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from assistant import languages
from assistant.language import detect_language
from assistant.lexical import terms, words
from assistant.retrieval import Formulation
from assistant.text import clean_text

Message = Mapping[str, str]

#: Kinds of question form (how to answer) rather than of information (what must be there).
FORMS = frozenset(("enumeration", "comparison", "wording", "procedure", "reason", "whole",
                   "definition"))
#: A follow-up this short (in terms) leans on the conversation even without a cue.
SHORT_QUESTION_TERMS = 3
#: Search weights (joined with the previous question, alone) of a follow-up that points
#: back with a pronoun (the earlier topic holds) or names a new topic ("and X?").
ANAPHORA_WEIGHTS = (1.0, 0.6)
ELLIPSIS_WEIGHTS = (0.8, 1.0)
#: Search weight of each part of a question of several parts (the whole weighs 1).
PART_WEIGHT = 0.5
#: A part needs this many terms of its own to be searched for on its own.
MIN_PART_TERMS = 2
#: Numbers this short are counts the sources may write in words ("6" / "sex"); longer ones
#: (years, amounts) must occur as such.
MIN_NUMBER_DIGITS = 3

_QUOTED = re.compile(r"[\"“”„«»‘’']([^\"“”„«»‘’']{2,120})[\"“”„«»‘’']")
_TOKEN = re.compile(r"[^\W_]+(?:[-'’:][^\W_]+)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n)\W*$")


@dataclass(frozen=True)
class Query:
    """A message as the rest of the pipeline sees it."""

    text: str
    lang: str
    intent: str = "question"  # question | smalltalk | task | empty | unsupported
    detail: str = ""  # the small-talk or task kind, or the unsupported language's code
    asks: frozenset[str] = frozenset()
    names: tuple[str, ...] = ()  # names and numbers the question mentions
    quoted: tuple[str, ...] = ()  # phrases in quotation marks
    formulations: tuple[Formulation, ...] = ()
    followup: bool = False
    parts: tuple[str, ...] = ()  # the parts of a question asking several things
    terms: tuple[str, ...] = field(default=(), repr=False)
    counted: tuple[str, ...] = ()  # the terms of what a count question counts

    @property
    def wants(self) -> frozenset[str]:
        """The kinds of information the answer must contain (not question forms)."""
        return self.asks - FORMS


def understand(question: str, history: Sequence[Message] = (), *,
               hint: str | None = None) -> Query:
    """Read one message; ``hint`` (the conversation's or the interface's language) breaks
    ties when the message alone does not tell its language."""
    text = clean_text(question)
    registry = languages.registry()
    fallback = hint if hint in registry else registry.default.code
    if not any(ch.isalnum() for ch in text):
        return Query(text, fallback, "empty")
    small = smalltalk(text)
    if small is not None:
        return Query(text, small[0], "smalltalk", small[1])
    guess = detect_language(text, hint=hint)
    if guess.lang is not None and not guess.supported:
        return Query(text, fallback, "unsupported", guess.lang)
    lang = guess.lang or fallback
    task = task_request(text)
    if task is not None:
        return Query(text, lang, "task", task)
    previous = previous_question(history)
    followup = previous is not None and is_followup(text, lang)
    parts = question_parts(text, lang)
    searches = formulations(text, previous if followup else None, lang)
    searches += tuple(Formulation(part, PART_WEIGHT, "part") for part in parts)
    asks = asked_for(text, lang).union(*(asked_for(part, lang) for part in parts))
    return Query(
        text=text, lang=lang, asks=asks, names=mentioned_names(text),
        quoted=quoted_phrases(text), formulations=searches, followup=followup, parts=parts,
        terms=tuple(terms(text, [lang])),
        counted=counted_thing(text, lang) if "count" in asks else ())


#: How many words after "how many" a count question names what it counts ("hur många
#: olika färger"): stop words are skipped, the first other word is the thing.
COUNTED_WORDS = 2


def counted_thing(text: str, lang: str) -> tuple[str, ...]:
    """The terms of what a count question counts ("färger" in "Hur många färger kan en
    gif-bild ha?"); () when it does not say."""
    pattern = languages.get(lang).counted
    folded = " ".join(text.casefold().split())
    match = pattern.search(folded) if pattern else None
    if match is None:
        return ()
    following = re.split(r"[,;:.!?]", folded[match.end():])[0]
    for word in words(following)[:COUNTED_WORDS]:
        found = terms(word, [lang])
        if found:
            return tuple(found)
    return ()


def question_parts(text: str, lang: str) -> tuple[str, ...]:
    """The parts of a question that asks two or more things ("Varför … och vad ska …?"),
    each with terms of its own; () for a question of one part."""
    language = languages.get(lang)
    pieces: list[list[str]] = [[]]
    for token in re.findall(r"[^\s,;]+|[,;]", text):
        if token in ",;" or token.casefold() in language.conjunctions:
            pieces.append([])
        else:
            pieces[-1].append(token)
    # A piece not opening with a question word ("… små och stora städer", "…, som står
    # bakom …") continues the part before it: it lists things or qualifies them, it does
    # not ask anew.
    parts: list[list[str]] = []
    for piece in pieces:
        if not piece:
            continue
        if parts and piece[0].casefold().strip("?!.") not in language.question:
            parts[-1].extend(piece)
        else:
            parts.append(list(piece))
    texts = [" ".join(p) for p in parts]
    opening = {t.casefold().strip("?!.") for t in parts[0]} if parts else set()
    if (len(texts) < 2 or not language.question & opening
            or any(len(words(t)) < MIN_PART_TERMS for t in texts)):
        return ()  # one question (a first piece asking nothing sets the scene)
    return tuple(texts)


def smalltalk(text: str) -> tuple[str, str] | None:
    """(language, kind) when the whole message is a greeting, thanks or goodbye."""
    key = " ".join(words(text))
    for language in languages.registry():
        kind = language.smalltalk.get(key)
        if kind is not None:
            return language.code, kind
    return None


def task_request(text: str) -> str | None:
    """The kind of task when the message asks for something other than an answer from
    the sources (any enabled language's patterns: an instruction may be written in
    another language than the question around it)."""
    folded = text.casefold()
    for language in languages.registry():
        for kind, pattern in language.tasks.items():
            if pattern.search(folded):
                return kind
    return None


def asked_for(text: str, lang: str) -> frozenset[str]:
    """The kinds of information and question forms the question asks for."""
    folded = " ".join(text.casefold().split())
    language = languages.get(lang)
    found = {kind for kind, pattern in language.asks.items() if pattern.search(folded)}
    if "email" in found:
        found.discard("address")  # an e-mail address is not a postal one
    if found & {"percentage", "amount", "duration"}:
        found.discard("count")  # "how many per cent", "how much money" ask for those
    if found & set(languages.CHECKED_ASKS):
        found.discard("definition")  # "Vad är bibliotekets e-postadress?" asks for an address
    return frozenset(found)


def mentioned_names(text: str) -> tuple[str, ...]:
    """Names (capitalised words not opening a sentence, joined when consecutive) and
    numbers of ``MIN_NUMBER_DIGITS`` or more digits, as written; quoted phrases aside.

    These are what a question can ask about that the sources may simply not mention
    ("Norrby", "Maja Berg", "2040"): checked against the index, not guessed.
    """
    unquoted = _QUOTED.sub(lambda m: " " * len(m.group(0)), text)
    letters = [ch for ch in unquoted if ch.isalpha()]
    shouting = sum(ch.isupper() for ch in letters) > len(letters) / 2
    names: list[str] = []
    current: list[str] = []
    for match in _TOKEN.finditer(unquoted):
        token = match.group(0)
        opening = bool(_SENTENCE_START.search(unquoted[:match.start()]))
        digits = sum(ch.isdigit() for ch in token)
        if digits >= MIN_NUMBER_DIGITS:
            _flush(current, names)
            names.append(token)
            continue
        if not opening and not shouting and _is_name(token):
            current.append(token)
            continue
        _flush(current, names)
    _flush(current, names)
    return tuple(dict.fromkeys(names))


def _is_name(token: str) -> bool:
    letters = [ch for ch in token if ch.isalpha()]
    if len(letters) < 2 or not token[0].isupper():
        return False
    return any(ch.islower() for ch in letters) or len(letters) <= 6  # "Norrby", "EU", "YK:n"


def _flush(current: list[str], names: list[str]) -> None:
    if current:
        names.append(" ".join(current))
        current.clear()


def quoted_phrases(text: str) -> tuple[str, ...]:
    """Phrases the question puts in quotation marks (a wording check)."""
    return tuple(dict.fromkeys(m.group(1).strip() for m in _QUOTED.finditer(text)
                               if m.group(1).strip()))


# --- follow-ups ----------------------------------------------------------------------------

def previous_question(history: Sequence[Message]) -> str | None:
    """The latest real question of the conversation (a "thanks!" is not one)."""
    for message in reversed(list(history)):
        content = str(message.get("content", "")).strip()
        if message.get("role") == "user" and content and smalltalk(content) is None:
            return content
    return None


def is_followup(text: str, lang: str | None) -> bool:
    """Whether a question leans on the one before: it opens with a connective ("Och …?",
    "Entä …?"), points back with a pronoun, or is very short."""
    language = languages.get(lang)
    if language.connectives is not None and language.connectives.search(text.casefold()):
        return True
    if language.anaphora & set(words(text)):
        return True
    codes = [lang] if lang else list(languages.codes())
    return len(terms(text, codes)) <= SHORT_QUESTION_TERMS


def formulations(text: str, previous: str | None, lang: str | None) -> tuple[Formulation, ...]:
    """What to search for: the question, and for a follow-up also the joined question.

    A pronoun means the earlier topic still holds, so the joined form weighs more; a
    bare "and what about X?" names a new topic, so the question alone weighs more.
    """
    if previous is None:
        return (Formulation(text),)
    anaphoric = bool(languages.get(lang).anaphora & set(words(text)))
    joined_weight, alone_weight = ANAPHORA_WEIGHTS if anaphoric else ELLIPSIS_WEIGHTS
    return (Formulation(text, alone_weight),
            Formulation(f"{previous} {text}", joined_weight, "joined"))
