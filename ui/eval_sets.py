"""The test sets the evaluator's page offers: the shipped ones this server can run, and an
uploaded JSONL file read, checked against the corpus and summarised before anything runs.

Apart from the page so that choosing and checking a set are plain functions, read and
tested without building the page or opening a browser.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.items import SETS_DIR, SHIPPED_SET, EvalItem, EvalSetError, parse_items, set_warnings
from ui.labels import label

log = logging.getLogger(__name__)

#: The largest test set a page accepts (about 3 000 items; the shipped held-out sets are
#: 60 kB). Gradio itself refuses uploads over :data:`MAX_UPLOAD_BYTES`.
MAX_SET_BYTES = 2_000_000
MAX_UPLOAD_BYTES = 2 * MAX_SET_BYTES

UPLOAD = "upload"
HELDOUT = "heldout"
DEVELOPMENT = "development"


@dataclass(frozen=True)
class SetSummary:
    """What the page says about a set before it runs."""

    n_items: int
    by_language: dict[str, int]
    n_refusals: int
    own_keys: tuple[str, ...]
    warnings: tuple[str, ...]  # the loader's notes (English), shown as they are


@dataclass(frozen=True)
class SetChoice:
    """One entry of the set list: a shipped file, a shipped pair, or the uploaded file."""

    key: str
    kind: str  # "heldout", "development", "other" or "upload"
    paths: tuple[Path, ...] = ()
    summary: SetSummary | None = None
    gate: bool = False  # the shipped CI thresholds apply (the default held-out pair)

    @property
    def names(self) -> str:
        return " + ".join(path.name for path in self.paths)

    def title(self, lang: str) -> str:
        n = self.summary.n_items if self.summary else 0
        if self.kind == UPLOAD:
            return label(lang, "runs_set_upload")
        if len(self.paths) > 1:
            key = "runs_set_shipped" if self.kind == HELDOUT else "runs_set_development_all"
            return label(lang, key, names=self.names, n=n)
        key = {HELDOUT: "runs_set_heldout", DEVELOPMENT: "runs_set_development"}.get(
            self.kind, "runs_set_other")
        return label(lang, key, name=self.names, n=n)


def set_kind(path: Path) -> str:
    """"heldout" (``*-heldout*.jsonl``), "development" (``*-dev*.jsonl``) or "other"."""
    parts = path.stem.lower().split("-")
    if any(part.startswith("heldout") for part in parts[1:]):
        return HELDOUT
    if any(part.startswith("dev") for part in parts[1:]):
        return DEVELOPMENT
    return "other"


def summarize_set(items: Sequence[EvalItem], corpus: Mapping[tuple[str, str], str] | None = None
                  ) -> SetSummary:
    """Counts per language, refusals, own keys and the loader's notes on the set."""
    from evals.runner import quote_warnings

    notes = [*set_warnings(items), *(quote_warnings(items, corpus) if corpus else [])]
    return SetSummary(n_items=len(items), by_language=dict(Counter(i.lang for i in items)),
                      n_refusals=sum(1 for i in items if i.expect_refusal),
                      own_keys=tuple(dict.fromkeys(k for i in items for k in i.extra)),
                      warnings=tuple(notes))


def unknown_documents(items: Sequence[EvalItem], documents: set[str], source: str) -> list[str]:
    """One message per item naming documents the corpus does not have, in the loader's
    form ("<source>:<line> (<id>): …")."""
    out = []
    for item in items:
        missing = sorted(set(item.expected_doc_ids) - documents)
        if missing:
            out.append(f"{source}:{item.line} ({item.id}): expected_doc_ids name documents "
                       f"that are not in this server's corpus: {', '.join(missing)}")
    return out


def shipped_choices(documents: set[str] | None,
                    corpus: Mapping[tuple[str, str], str] | None = None,
                    sets_dir: Path = SETS_DIR) -> list[SetChoice]:
    """The shipped sets this server can run (every expected document in its corpus),
    held-out first; the default held-out pair and the development pair as one entry each,
    then every file on its own. Always ends with the upload entry."""
    from evals.items import DEVELOPMENT_SET, load_sets

    loaded: dict[Path, list[EvalItem]] = {}
    for path in sorted(sets_dir.glob("*.jsonl")) if sets_dir.is_dir() else []:
        try:
            items = load_sets(path)
        except EvalSetError as exc:  # a broken shipped file: say so in the log, list the rest
            log.warning("shipped test set not listed: %s", exc)
            continue
        if documents is not None and not {d for i in items for d in i.expected_doc_ids} \
                <= documents:
            continue  # written for another corpus (the GIMP sets on the shipped one …)
        loaded[path] = items

    def entry(key: str, kind: str, paths: Sequence[Path], gate: bool = False) -> SetChoice:
        items = [i for p in paths for i in loaded[p]]
        return SetChoice(key, kind, tuple(paths), summarize_set(items, corpus), gate)

    choices: list[SetChoice] = []
    pairs = {HELDOUT: tuple(SHIPPED_SET), DEVELOPMENT: tuple(DEVELOPMENT_SET)}
    for kind in (HELDOUT, DEVELOPMENT, "other"):
        pair = pairs.get(kind, ())
        if pair and all(p in loaded for p in pair):  # both halves there and fitting
            choices.append(entry(kind, kind, pair, gate=kind == HELDOUT))
        choices += [entry(f"set:{p.name}", kind, [p]) for p in loaded if set_kind(p) == kind]
    choices.append(SetChoice(UPLOAD, UPLOAD))
    return choices


class UploadProblem(ValueError):
    """An uploaded set that cannot be used: an interface text and, for a set the loader
    rejected, the loader's own message (naming the line and the problem)."""

    def __init__(self, key: str, detail: str = "", **values: object) -> None:
        super().__init__(detail or key)
        self.key, self.detail, self.values = key, detail, values

    def as_state(self) -> dict[str, Any]:
        return {"key": self.key, "values": self.values, "detail": self.detail}


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def read_upload(path: str | Path, documents: set[str] | None,
                limit: int = MAX_SET_BYTES) -> list[EvalItem]:
    """The items of an uploaded JSONL file, or :class:`UploadProblem`: too large, not
    readable, rejected by the loader, or naming documents the corpus does not have."""
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
        if size > limit:
            raise UploadProblem("runs_upload_too_large", name=name, size=megabytes(size),
                                limit=megabytes(limit))
        data = path.read_bytes()
    except OSError as exc:
        log.warning("uploaded set not readable: %s", exc)
        raise UploadProblem("runs_upload_unreadable", name=name) from exc
    try:
        items = parse_items(data, name)
    except EvalSetError as exc:
        raise UploadProblem("runs_upload_failed", str(exc), name=name) from exc
    if documents is not None:
        unknown = unknown_documents(items, documents, name)
        if unknown:
            raise UploadProblem("runs_upload_failed", "\n".join(unknown[:10]), name=name)
    return items


def forget_upload(path: object) -> None:
    """Delete an uploaded file once read: its items live on in the session (and in the
    results of a run), the copy in Gradio's upload folder is not needed."""
    from gradio.utils import get_upload_folder

    if not path:
        return
    target = Path(str(path)).resolve()
    if target.is_relative_to(Path(get_upload_folder()).resolve()):
        try:
            target.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("uploaded set not deleted: %s", exc)
