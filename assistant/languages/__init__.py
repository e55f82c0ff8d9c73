"""Languages as data: one resource file per language, read by one registry.

Everything language-specific (stop words, stemmer, function and question words,
follow-up cues, small talk, task requests, answer frames, notices, prompts and
interface labels) lives in ``<code>.toml`` next to this module. Code asks the
registry for a :class:`Language` and never spells a word of one, so a third
language is one more file (plus ``VISIO_LANGUAGES``), and a deployment can put
its own files in ``VISIO_LANGUAGE_DIR``.

The registry is process-wide because the lowest layers (stemming, sentence
splitting, language detection) need it as much as the assistant does; the
:class:`~assistant.assistant.Assistant` configures it from its settings.
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_LANGUAGES = ("sv", "fi")

#: What a question can ask for; each language file gives expressions for each kind.
ASK_KINDS = ("email", "phone", "address", "url", "amount", "percentage", "count", "date",
             "person", "agent", "place", "key", "value", "version", "duration", "reason",
             "procedure", "enumeration", "comparison", "wording", "whole", "definition",
             "ability", "finding")
#: The kinds whose presence in a text is checked; each language names them in ``[missing]``.
CHECKED_ASKS = ("email", "phone", "address", "url", "amount", "percentage", "count", "date",
                "person", "agent", "place", "key", "value", "version", "duration")
#: Kinds of request that are not questions about the sources.
TASK_KINDS = ("create", "translate", "roleplay", "override", "invent", "opinion")
SMALLTALK_KINDS = ("greeting", "thanks", "goodbye")


class LanguageError(ValueError):
    """A language file is missing, malformed or lacks a key every language must have."""


def _words(value: Any) -> frozenset[str]:
    return frozenset(str(value or "").casefold().split())


def _alternation(patterns: Iterable[str], where: str) -> re.Pattern[str] | None:
    patterns = [p for p in patterns if p]
    if not patterns:
        return None
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
    except re.error as exc:
        raise LanguageError(f"{where}: bad regular expression ({exc})") from exc


@dataclass(frozen=True)
class Language:
    """One language's resources, compiled once."""

    code: str
    name: str
    lingua: str
    snowball: str
    folds: tuple[str, ...]
    stop: frozenset[str]
    function: frozenset[str]
    abbreviations: frozenset[str]
    numbers: frozenset[str]
    conjunctions: frozenset[str]
    question: frozenset[str]
    currency: frozenset[str]
    percent: frozenset[str]
    months: tuple[str, ...]
    times: tuple[str, ...]
    durations: frozenset[str]
    quantities: frozenset[str]
    streets: tuple[str, ...]
    ordinals: Mapping[str, int]
    asks: Mapping[str, re.Pattern[str]]
    tasks: Mapping[str, re.Pattern[str]]
    counted: re.Pattern[str] | None  # a count question names what it counts after this
    connectives: re.Pattern[str] | None
    anaphora: frozenset[str]
    smalltalk: Mapping[str, str]  # whole message (normalised) → kind
    names: Mapping[str, str]  # language code → its name in this language
    probes: tuple[str, ...]  # everyday questions no collection of ours answers
    texts: Mapping[str, str] = field(repr=False)
    ui: Mapping[str, Any] = field(repr=False)
    path: str = ""

    def text(self, key: str, **values: object) -> str:
        """The fixed sentence ``key``, with ``values`` filled in."""
        template = self.texts[key]
        return template.format(**values) if values else template

    def label(self, key: str, **values: object) -> str:
        """An interface text."""
        template = str(self.ui[key])
        return template.format(**values) if values else template

    def name_of(self, code: str) -> str:
        """The name of language ``code`` in this language (the code when unknown)."""
        return self.names.get(code, code)

    def join(self, items: Sequence[str]) -> str:
        """"a, b och c" — a list as this language writes it."""
        items = list(items)
        if len(items) <= 1:
            return "".join(items)
        return f"{', '.join(items[:-1])} {self.texts['and']} {items[-1]}"


_REQUIRED_TEXTS = (
    "source_intro", "more_intro", "other_language_intro", "source_intro_section",
    "more_intro_section", "other_language_intro_section", "structure_intro", "refusal",
    "refusal_topics", "task_refusal", "not_mentioned", "not_given", "partly_given",
    "related_intro", "wording_found", "wording_missing", "wording_closest",
    "wording_counterpart", "and",
    "empty_question", "smalltalk_greeting", "smalltalk_thanks", "smalltalk_goodbye",
    "question_too_long", "index_missing", "internal_error", "unsupported_language",
    "llm_fallback", "llm_no_citation",
)
_REQUIRED_COLLECTION = ("named_in", "named_about", "plain_in", "plain_about")


def load_language(path: Path) -> Language:
    """Read and compile one language file; LanguageError names what is wrong."""
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LanguageError(f"{where}: cannot be read ({exc})") from exc
    try:
        words = data["words"]
        texts = {**data["texts"], **{f"collection_{k}": v for k, v in data["collection"].items()},
                 **{f"missing_{k}": v for k, v in data["missing"].items()},
                 **{f"llm_{k}": v for k, v in data.get("llm", {}).items()}}
        missing = [k for k in _REQUIRED_TEXTS if k not in data["texts"]]
        missing += [f"missing.{k}" for k in CHECKED_ASKS if k not in data["missing"]]
        missing += [f"collection.{k}" for k in _REQUIRED_COLLECTION if k not in data["collection"]]
        if missing:
            raise LanguageError(f"{where}: missing text(s) {', '.join(missing)}")
        smalltalk = {" ".join(phrase.casefold().split()): kind
                     for kind in SMALLTALK_KINDS for phrase in data["smalltalk"].get(kind, [])}
        ordinals = {w: n for n, w in enumerate(str(words.get("ordinals", "")).split(), start=1)}
        followup = data.get("followup", {})
        connectives = [re.escape(c) for c in followup.get("connectives", [])]
        return Language(
            code=str(data["code"]), name=str(data["name"]), lingua=str(data["lingua"]),
            snowball=str(data["snowball"]), folds=tuple(data.get("folds", ())),
            stop=_words(words.get("stop")), function=_words(words.get("function")),
            abbreviations=_words(words.get("abbreviations")),
            numbers=_words(words.get("numbers")), currency=_words(words.get("currency")),
            conjunctions=_words(words.get("conjunctions")),
            question=_words(words.get("question")),
            percent=_words(words.get("percent")),
            months=tuple(sorted(_words(words.get("months")))),
            times=tuple(sorted(_words(words.get("times")))),
            durations=_words(words.get("durations")),
            quantities=_words(words.get("quantities")),
            streets=tuple(sorted(_words(words.get("streets")))),
            ordinals=MappingProxyType(ordinals),
            asks=MappingProxyType({k: p for k in ASK_KINDS if (p := _alternation(
                data.get("asks", {}).get(k, []), f"{where} asks.{k}")) is not None}),
            tasks=MappingProxyType({k: p for k in TASK_KINDS if (p := _alternation(
                data.get("tasks", {}).get(k, []), f"{where} tasks.{k}")) is not None}),
            counted=_alternation(data.get("counted", {}).get("after", []),
                                 f"{where} counted.after"),
            connectives=_alternation([rf"^\W*(?:{'|'.join(connectives)})\b"] if connectives
                                     else [], f"{where} followup.connectives"),
            anaphora=_words(followup.get("anaphora")),
            smalltalk=MappingProxyType(smalltalk),
            names=MappingProxyType(dict(data.get("names", {}))),
            probes=tuple(str(q) for q in data.get("probes", {}).get("questions", [])),
            texts=MappingProxyType(texts), ui=MappingProxyType(dict(data.get("ui", {}))),
            path=where,
        )
    except KeyError as exc:
        raise LanguageError(f"{where}: missing key {exc}") from exc


class Registry:
    """The languages the assistant answers in, in order of preference (first = default)."""

    def __init__(self, enabled: Sequence[str] = DEFAULT_LANGUAGES,
                 folders: Sequence[Path] = ()) -> None:
        self.folders = (*(Path(f) for f in folders), PACKAGE_DIR)
        loaded: dict[str, Language] = {}
        for code in dict.fromkeys(c.strip().lower() for c in enabled if c.strip()):
            path = next((f / f"{code}.toml" for f in self.folders
                         if (f / f"{code}.toml").is_file()), None)
            if path is None:
                raise LanguageError(f"no language file {code}.toml in "
                                    f"{', '.join(str(f) for f in self.folders)}")
            language = load_language(path)
            if language.code != code:
                raise LanguageError(f"{path}: declares code {language.code!r}")
            loaded[code] = language
        if not loaded:
            raise LanguageError("no language enabled")
        self._languages = loaded

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self._languages)

    @property
    def default(self) -> Language:
        return next(iter(self._languages.values()))

    def __contains__(self, code: object) -> bool:
        return code in self._languages

    def __iter__(self):
        return iter(self._languages.values())

    def get(self, code: str | None) -> Language:
        """The language ``code``, or the default language when it is not enabled."""
        return self._languages.get(code or "", self.default)


_registry: Registry | None = None
_lock = threading.Lock()


def registry() -> Registry:
    """The process-wide registry (the default languages until ``configure`` is called)."""
    global _registry
    if _registry is None:
        with _lock:
            if _registry is None:
                _registry = Registry()
    return _registry


def configure(enabled: Sequence[str], folders: Sequence[Path] = ()) -> Registry:
    """Enable these languages for the process (the Assistant does it from its settings)."""
    global _registry
    wanted = Registry(enabled, folders)
    with _lock:
        current = _registry
        if current is None or (current.codes, current.folders) != (wanted.codes, wanted.folders):
            _registry = wanted
        return _registry


def codes() -> tuple[str, ...]:
    """The codes of the enabled languages."""
    return registry().codes


def get(code: str | None) -> Language:
    return registry().get(code)
