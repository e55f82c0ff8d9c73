"""The finished runs kept under ``<data_dir>/eval/``: listing them and naming a new one.

A run is a folder holding ``items.jsonl`` (and, when `visio eval` or the staff page wrote
it, ``summary.json`` with its time, set and item count). Comparison folders
(``diff-…``, no ``items.jsonl``) are not runs. Nothing here loads a model.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)

#: The folder name of a run written at a given time (as `visio eval` names it).
TIME_FORMAT = "%Y%m%d-%H%M%S"
#: Folder names a page may pass back (a listed run, never a path).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}$")
_TIMESTAMPED = re.compile(r"^\d{8}-\d{6}(-\d+)?$")


@dataclass(frozen=True)
class RunInfo:
    """One finished run, as a list of earlier runs shows it."""

    name: str  # the folder's name under the eval folder
    path: Path
    started_at: datetime | None
    questions: str  # the set's file names, joined with " + "
    n_items: int  # items answered
    n_items_in_set: int
    stopped_early: bool
    label: str

    @property
    def title(self) -> str:
        """"2026-11-29 10:15:03 · programme-heldout.jsonl + fresh-heldout.jsonl · n = 158"
        (no words, so it reads the same in every interface language)."""
        when = self.started_at.strftime("%Y-%m-%d %H:%M:%S") if self.started_at else "?"
        count = f"n = {self.n_items}"
        if self.stopped_early:
            count += f"/{self.n_items_in_set}"
        parts = [when, self.questions or "?", count]
        if not _TIMESTAMPED.match(self.name):
            parts.append(self.name)  # a folder named by hand (`visio eval --out …`) says more
        return " · ".join(parts)


def set_names(questions: str) -> str:
    """The file names of a run's ``questions`` ("/a/x.jsonl, /b/y.jsonl" → "x.jsonl + y.jsonl")."""
    names = [Path(part.strip()).name or part.strip() for part in questions.split(", ")
             if part.strip()]
    return " + ".join(names)


def read_run_info(path: Path) -> RunInfo | None:
    """What the list shows of one run folder; None when it is not a run."""
    items = path / "items.jsonl"
    if not items.is_file():
        return None
    meta: dict = {}
    summary = path / "summary.json"
    if summary.is_file():
        try:
            meta = dict(json.loads(summary.read_text(encoding="utf-8")).get("meta") or {})
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("run %s: summary.json not readable (%s)", path, exc)
    started = None
    if meta.get("started_at"):
        try:
            started = datetime.fromisoformat(str(meta["started_at"]))
        except ValueError:
            started = None
    if started is None:
        started = datetime.fromtimestamp(items.stat().st_mtime).astimezone()
    n_items = meta.get("n_items")
    if not isinstance(n_items, int):
        try:
            with items.open(encoding="utf-8") as handle:
                n_items = sum(1 for line in handle if line.strip())
        except (OSError, UnicodeDecodeError):
            n_items = 0
    in_set = meta.get("n_items_in_set")
    return RunInfo(name=path.name, path=path, started_at=started,
                   questions=set_names(str(meta.get("questions") or "")), n_items=n_items,
                   n_items_in_set=in_set if isinstance(in_set, int) else n_items,
                   stopped_early=bool(meta.get("stopped_early")),
                   label=str(meta.get("label") or ""))


def list_runs(root: Path) -> list[RunInfo]:
    """Every run folder directly under ``root``, newest first (by the time it started)."""
    if not root.is_dir():
        return []
    runs = []
    for path in root.iterdir():
        if not path.is_dir() or not _NAME.match(path.name):
            continue
        info = read_run_info(path)
        if info is not None:
            runs.append(info)

    def started(info: RunInfo) -> float:
        return info.started_at.timestamp() if info.started_at else 0.0

    return sorted(runs, key=lambda info: (started(info), info.name), reverse=True)


def folder(root: Path, name: object) -> Path | None:
    """The folder ``<root>/<name>`` when ``name`` is a plain folder name (never a path:
    no separators, no leading dot) and the folder exists; else None. What a page passes
    back is checked with this before anything is read."""
    if not isinstance(name, str) or not _NAME.match(name):
        return None
    path = root / name
    return path if path.is_dir() else None


def find_run(root: Path, name: object) -> RunInfo | None:
    """The run called ``name`` under ``root`` (a folder name, never a path), or None."""
    path = folder(root, name)
    return read_run_info(path) if path is not None else None


def new_run_dir(root: Path, now: datetime | None = None, prefix: str = "") -> Path:
    """A new, empty folder ``<root>/<prefix><YYYYmmdd-HHMMSS>`` (``-2``, ``-3`` … when a run
    of the same second exists). Created here, so two writers never share one."""
    stamp = prefix + (now or datetime.now()).strftime(TIME_FORMAT)
    root.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        path = root / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"no free run folder for {stamp} in {root}")
