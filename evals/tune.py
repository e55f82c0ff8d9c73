"""Try constants of the assistant on development questions: how every constant was set.

The answer step's constants (``SENTENCE_MARGIN``, ``TITLE_WEIGHT``, ``PARAGRAPH_UNITS`` …,
module-level names in ``assistant/``) and any setting (``refusal_threshold`` …) can be
given several values; every combination is run on the development sets and fully right
is printed with its 95 % interval, so a flat region can be told from a peak. Held-out
sets are refused: a constant chosen on them would make their figures flatter.

    python -m evals.tune --grid '{"SENTENCE_MARGIN": [0.03, 0.05, 0.08]}'
    VISIO_CORPUS_DIR=var/gimp-manual VISIO_INDEX_DIR=var/gimp-manual-index \\
      python -m evals.tune --questions evals/sets/gimp-dev.jsonl evals/sets/gimp-dev2.jsonl \\
      --single-document gimp-manual --grid '{"PARAGRAPH_UNITS": [1, 2, 3]}'

Constants read when the index is built (``EMBEDDED_PATH_LEVELS``, chunk sizes) need an
index built with each value instead: set them, ``visio index build`` into another
``VISIO_INDEX_DIR``, and run this once per index.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.config import Settings
from evals.items import DEVELOPMENT_SET, SHIPPED_SET, EvalItem, load_sets, on_single_document
from evals.runner import run_eval


class HeldOutError(ValueError):
    """A held-out set was given: nothing may be tuned on it."""


def assistant_constants() -> dict[str, list[Any]]:
    """Every upper-case module-level number of the loaded ``assistant`` modules, by name."""
    importlib.import_module("assistant.assistant")  # loads every module of the answer step

    found: dict[str, list[Any]] = {}
    for name, module in list(sys.modules.items()):
        if name == "assistant" or name.startswith("assistant."):
            for key, value in vars(module).items():
                if key.isupper() and isinstance(value, int | float) and not isinstance(value, bool):
                    found.setdefault(key, []).append(module)
    return found


@contextmanager
def constants_set(values: Mapping[str, Any]) -> Iterator[None]:
    """Set module constants everywhere they are bound (importers hold their own name)."""
    modules = assistant_constants()
    saved: list[tuple[Any, str, Any]] = []
    try:
        for key, value in values.items():
            if key not in modules:
                raise KeyError(f"no constant {key!r} in assistant/")
            for module in modules[key]:
                saved.append((module, key, getattr(module, key)))
                setattr(module, key, value)
        yield
    finally:
        for module, key, value in reversed(saved):
            setattr(module, key, value)


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values (one point, no change, for an empty grid)."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(grid[key] for key in keys))]


def refuse_held_out(paths: Sequence[Path]) -> None:
    held_out = {path.resolve() for path in SHIPPED_SET}
    for path in paths:
        if path.resolve() in held_out or "heldout" in path.name:
            raise HeldOutError(f"{path} is a held-out set: tune on development sets only")


Grid = Mapping[str, Sequence[Any]]


def tune(settings: Settings, items: Sequence[EvalItem],
         grids: Sequence[Grid]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Fully right (with its interval) and refusal figures at every point of every grid."""
    from assistant.assistant import Assistant

    embedder = None
    results = []
    for point in (p for grid in grids for p in grid_points(grid)):
        setting_values = {key: value for key, value in point.items() if key.islower()}
        constants = {key: value for key, value in point.items() if not key.islower()}
        local = settings.replace(**setting_values) if setting_values else settings
        with constants_set(constants):
            answerer = Assistant(local, embedder=embedder)
            embedder = answerer.embedder
            run = run_eval(local, items, progress=False, label="tune", assistant=answerer)
        overall = run.summary["overall"]
        results.append((point, {
            "fully_right": overall["fully_right"],
            "interval": (overall["ci"]["fully_right"]["low"], overall["ci"]["fully_right"]["high"]),
            "refusal_precision": overall.get("refusal_precision"),
            "refusal_recall": overall.get("refusal_recall"),
            "n": overall["n_items"],
        }))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.tune", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", nargs="+", type=Path, default=list(DEVELOPMENT_SET),
                        help="development set(s); default: the shipped corpus's")
    parser.add_argument("--grid", action="append",
                        help="JSON: constant or setting name -> list of values to try "
                             "(repeatable: each grid is run on its own, one model load)")
    parser.add_argument("--single-document", metavar="ID",
                        help="the corpus is one document with this id (every answerable "
                             "item expects it), e.g. a manual converted as one file")
    args = parser.parse_args(argv)
    try:
        refuse_held_out(args.questions)
        grids = [json.loads(text) for text in args.grid or ["{}"]]
        if not all(isinstance(g, dict) and all(isinstance(v, list) for v in g.values())
                   for g in grids):
            raise ValueError("--grid must map names to lists of values")
        items = load_sets(args.questions)
        if args.single_document:
            items = on_single_document(items, args.single_document)
        settings = Settings.from_env()
        results = tune(settings, items, grids)
    except (HeldOutError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for point, figures in results:
        low, high = figures["interval"]
        print(f"{json.dumps(point, ensure_ascii=False)}  fully right "
              f"{figures['fully_right']:.3f} [{low:.3f}, {high:.3f}] of {figures['n']}; "
              f"refusal P {_fmt(figures['refusal_precision'])} R {_fmt(figures['refusal_recall'])}")
    return 0


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    raise SystemExit(main())
