"""Answer test sets: the JSONL format, loaded and validated line by line.

Kept apart from the runner so a set can be checked (by tests, by CI, by an
evaluator writing their own) without importing anything heavy.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

SETS_DIR = Path(__file__).resolve().parent / "sets"
#: The held-out questions on the shipped corpus: nothing is tuned on them, the CI gate
#: runs on them. Their development twins (``*-dev.jsonl``) are what constants are fitted on.
SHIPPED_SET: tuple[Path, ...] = (SETS_DIR / "programme-heldout.jsonl",
                                 SETS_DIR / "fresh-heldout.jsonl")
DEVELOPMENT_SET: tuple[Path, ...] = (SETS_DIR / "programme-dev.jsonl",
                                     SETS_DIR / "fresh-dev.jsonl",
                                     SETS_DIR / "fresh-dev2.jsonl")

REQUIRED_KEYS = ("id", "lang", "question", "expected_doc_ids", "expect_refusal", "must_include")
OPTIONAL_KEYS = ("history", "category", "tags", "expect_partial", "expected_quote")
#: Read as ``category`` when an item has no ``category`` of its own and its value is a
#: label (sets written for other tools often say "kind"); otherwise an own key like any other.
CATEGORY_SYNONYMS = ("kind",)
HISTORY_ROLES = ("user", "assistant")
_LANG = re.compile(r"^[a-z]{2,3}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


class EvalSetError(ValueError):
    """A test set line that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class EvalItem:
    """One test question and what a correct answer must show."""

    id: str
    lang: str
    question: str
    expected_doc_ids: tuple[str, ...]
    expect_refusal: bool
    must_include: tuple[tuple[str, ...], ...]
    history: tuple[dict[str, str], ...] = ()
    category: str = ""
    # Free labels; an item counts in the breakdown of each of its tags.
    tags: tuple[str, ...] = ()
    # The answer must answer and say what the sources lack (Answer.missing not empty).
    expect_partial: bool = False
    # Verbatim sentences of which the answer must quote at least one.
    expected_quote: tuple[str, ...] = ()
    # The evaluator's own keys ("notes", "source" …), carried into the results untouched.
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    line: int = field(default=0, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("line")
        data.pop("extra")
        data["expected_doc_ids"] = list(self.expected_doc_ids)
        data["must_include"] = [list(g) for g in self.must_include]
        data["history"] = [dict(m) for m in self.history]
        data["expected_quote"] = list(self.expected_quote)
        data["tags"] = list(self.tags)
        return {**self.extra, **data}


def load_sets(paths: str | Path | Sequence[str | Path]) -> list[EvalItem]:
    """One or several JSONL sets as one list (ids must be unique across them)."""
    if isinstance(paths, str | Path):
        paths = [paths]
    items: list[EvalItem] = []
    seen: dict[str, str] = {}
    for path in paths:
        for item in _load_file(path):
            if item.id in seen:
                raise EvalSetError(f"{path}:{item.line}: id {item.id!r} already used in "
                                   f"{seen[item.id]}")
            seen[item.id] = str(path)
            items.append(item)
    return items


def on_single_document(items: Sequence[EvalItem], doc_id: str) -> list[EvalItem]:
    """The same questions for a collection converted as one document (a manual in one file).

    Every answerable item then expects that document; refusal items stay as they are.
    """
    return [replace(item, expected_doc_ids=(doc_id,)) if item.expected_doc_ids else item
            for item in items]


def unknown_keys(items: Sequence[EvalItem]) -> list[str]:
    """The evaluator's own keys found in a set (listed once, as a note, not an error)."""
    return sorted({key for item in items for key in item.extra})


def set_warnings(items: Sequence[EvalItem]) -> list[str]:
    """What an evaluator should know about a set that is valid but may not say what they meant:
    the own keys kept (once, with how many items carry each) and those that look like a
    misspelt known key (kept too, but not used for scoring)."""
    counts = Counter(key for item in items for key in item.extra)
    if not counts:
        return []
    known = (*REQUIRED_KEYS, *OPTIONAL_KEYS)
    warnings = ["own keys kept in the results, not used for scoring: "
                + ", ".join(f"{key} ({n} item{'s' if n != 1 else ''})"
                            for key, n in sorted(counts.items()))]
    for key in sorted(counts):
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
        if close:
            warnings.append(f"own key {key!r} looks like {close[0]!r}: if it was meant as "
                            f"{close[0]!r}, rename it (as it is, it is not used)")
    return warnings


def load_items(path: str | Path | Sequence[str | Path]) -> list[EvalItem]:
    """Read a JSONL test set (or several, as :func:`load_sets`); blank lines are skipped,
    anything malformed raises EvalSetError naming the file and line."""
    if not isinstance(path, str | Path):
        return load_sets(path)
    return _load_file(path)


def _load_file(path: str | Path) -> list[EvalItem]:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EvalSetError(f"{path}: cannot read the test set ({exc.strerror})") from exc
    return parse_items(raw, str(path))


def parse_items(data: bytes | str, source: str = "set") -> list[EvalItem]:
    """A whole JSONL set from its bytes or text (e.g. a file uploaded to a page);
    ``source`` names it in error messages ("<source>:<line>: …")."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise EvalSetError(f"{source}: not UTF-8 text (byte {exc.start})") from exc
    else:
        text = data.removeprefix("\ufeff")
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            decoded = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalSetError(f"{where}: not valid JSON ({exc.msg}, column {exc.colno})") from exc
        item = parse_item(decoded, where, number)
        if item.id in seen:
            raise EvalSetError(f"{where}: id {item.id!r} already used on line {seen[item.id]}")
        seen[item.id] = number
        items.append(item)
    if not items:
        raise EvalSetError(f"{source}: the test set has no items")
    return items


def parse_item(data: Any, where: str = "item", line: int = 0) -> EvalItem:
    """Validate one decoded JSON object; ``where`` prefixes every error message."""
    if not isinstance(data, Mapping):
        raise EvalSetError(f"{where}: each line must be a JSON object")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise EvalSetError(f"{where}: missing key(s) {', '.join(missing)}")
    known = REQUIRED_KEYS + OPTIONAL_KEYS
    synonym = next((k for k in CATEGORY_SYNONYMS if "category" not in data
                    and isinstance(data.get(k), str)), None)
    if synonym:
        known += (synonym,)
    extra = {k: v for k, v in data.items() if k not in known}

    item_id = data["id"]
    if not isinstance(item_id, str) or not _ID.match(item_id):
        raise EvalSetError(f"{where}: id must be a non-empty string of letters, digits, "
                           f"'-', '_', '.' or ':' (got {item_id!r})")
    where = f"{where} ({item_id})"
    lang = data["lang"]
    if not isinstance(lang, str) or not _LANG.match(lang):
        raise EvalSetError(f"{where}: lang must be an ISO 639 code such as 'sv' or 'fi'")
    question = data["question"]
    if not isinstance(question, str) or not question.strip():
        raise EvalSetError(f"{where}: question must be a non-empty string")
    expected = data["expected_doc_ids"]
    if not isinstance(expected, list) or not all(isinstance(d, str) and d for d in expected):
        raise EvalSetError(f"{where}: expected_doc_ids must be a list of document ids")
    refusal = data["expect_refusal"]
    if not isinstance(refusal, bool):
        raise EvalSetError(f"{where}: expect_refusal must be true or false")
    groups = data["must_include"]
    if not isinstance(groups, list) or not all(
            isinstance(g, list) and g and all(isinstance(a, str) and a.strip() for a in g)
            for g in groups):
        raise EvalSetError(f"{where}: must_include must be a list of groups, each a non-empty "
                           "list of non-empty strings, e.g. [[\"bibliotek\"], [\"lånar\", "
                           "\"lån\"]]")
    if refusal and (expected or groups):
        raise EvalSetError(f"{where}: an item that expects a refusal cannot also expect "
                           "documents or must_include words")
    history = data.get("history", [])
    if not isinstance(history, list):
        raise EvalSetError(f"{where}: history must be a list of {{role, content}} messages")
    for i, message in enumerate(history):
        if (not isinstance(message, Mapping) or set(message) != {"role", "content"}
                or message["role"] not in HISTORY_ROLES
                or not isinstance(message["content"], str)):
            raise EvalSetError(f"{where}: history[{i}] must be {{\"role\": \"user\" or "
                               "\"assistant\", \"content\": \"...\"}")
    category_key = synonym or "category"
    category = data.get(category_key, "")
    if not isinstance(category, str):
        raise EvalSetError(f"{where}: {category_key} must be a string")
    tags = data.get("tags", [])
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
        raise EvalSetError(f"{where}: tags must be a label or a list of labels")
    partial = data.get("expect_partial", False)
    if not isinstance(partial, bool) or (partial and refusal):
        raise EvalSetError(f"{where}: expect_partial must be true or false, and cannot go "
                           "with expect_refusal")
    quotes = data.get("expected_quote", [])
    if isinstance(quotes, str):
        quotes = [quotes]
    if not isinstance(quotes, list) or not all(isinstance(q, str) and q.strip() for q in quotes):
        raise EvalSetError(f"{where}: expected_quote must be a sentence or a list of sentences")
    return EvalItem(
        id=item_id, lang=lang, question=question,
        expected_doc_ids=tuple(expected), expect_refusal=refusal,
        must_include=tuple(tuple(g) for g in groups),
        history=tuple(dict(m) for m in history), category=category.strip(),
        tags=tuple(dict.fromkeys(t.strip() for t in tags)), expect_partial=partial,
        expected_quote=tuple(q.strip() for q in quotes), extra=extra, line=line)
