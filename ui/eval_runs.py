"""Running a test set for the evaluator's page, and reading a finished run back.

Apart from the page because a run outlives it: one run at a time per server
(:class:`RunSlot`, shared with the quick evaluation tab of ``ui.admin``) in a background
thread the page only polls, and the files it leaves under ``<data_dir>/eval/``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from evals.items import EvalItem, EvalSetError
from evals.metrics import ItemRecord, item_checks
from evals.runs import new_run_dir
from ui.labels import label

log = logging.getLogger(__name__)


# --- one run at a time ------------------------------------------------------------------

@dataclass
class EvalJob:
    """One run in progress (or finished): what the progress bar and the status read."""

    total: int
    started_at: datetime = field(default_factory=lambda: datetime.now().astimezone())
    done: int = 0
    stop_requested: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    out_dir: Path | None = None
    stopped: bool = False
    duration: float = 0.0
    problem: str = ""  # the set or the corpus could not be used (the library's message)
    failed: bool = False  # anything else (logged with its traceback)

    def advance(self, done: int, total: int, _record: object = None) -> None:
        self.done, self.total = done, total

    def finish(self) -> None:
        self.finished.set()


class RunSlot:
    """At most one evaluation run per server: :meth:`claim` gives the job, or None while
    another runs. Shared by every page of one staff app."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._job: EvalJob | None = None

    def claim(self, total: int) -> EvalJob | None:
        with self._lock:
            if self._job is not None and not self._job.finished.is_set():
                return None
            self._job = EvalJob(total=total)
            return self._job

    def current(self) -> EvalJob | None:
        """The run in progress, if any."""
        with self._lock:
            job = self._job
        return job if job is not None and not job.finished.is_set() else None

    def stop(self) -> EvalJob | None:
        """Ask the run in progress to end after its current item; the job, or None."""
        job = self.current()
        if job is not None:
            job.stop_requested.set()
        return job


def run_job(job: EvalJob, settings: Any, assistant: Any, items: Sequence[EvalItem],
            questions: str, eval_root: Path, thresholds: Mapping[str, float] | None = None,
            by_keys: Sequence[str] = (), meta: Mapping[str, Any] | None = None) -> None:
    """The run itself (in a thread of its own): answers, files, and the job marked finished,
    whatever happens. ``questions`` names the set in the run's meta (as `visio eval` does),
    ``meta`` adds to it."""
    from evals.runner import run_eval, write_outputs

    try:
        run = run_eval(settings, items, progress=False, on_progress=job.advance,
                       should_stop=job.stop_requested.is_set, by_keys=by_keys,
                       assistant=assistant)
        job.stopped = bool(run.meta.get("stopped_early"))
        job.duration = float(run.meta.get("duration_s", 0.0))
        job.done = len(run.records)
        if run.records:  # named by when it started, as `visio eval` names its folders
            out_dir = new_run_dir(eval_root, job.started_at)
            run.meta.update(meta or {})
            run.meta["questions"] = questions
            run.meta["path"] = str(out_dir)
            write_outputs(out_dir, run, thresholds=thresholds)
            job.out_dir = out_dir
    except EvalSetError as exc:
        job.problem = str(exc)
    except Exception:
        log.exception("evaluation run failed")
        job.failed = True
    finally:
        job.finish()


def start_run(slot: RunSlot, settings: Any, assistant: Any, items: Sequence[EvalItem],
              questions: str, eval_root: Path, thresholds: Mapping[str, float] | None = None,
              by_keys: Sequence[str] = (), meta: Mapping[str, Any] | None = None
              ) -> EvalJob | None:
    """Claim the slot and start the run in a background thread; None while one runs.

    The thread is not tied to the page: closing the page does not lose the run, its
    results appear among the earlier runs."""
    job = slot.claim(len(items))
    if job is None:
        return None
    thread = threading.Thread(
        target=run_job, name="visio-eval-run", daemon=True,
        args=(job, settings, assistant, list(items), questions, eval_root, thresholds,
              tuple(by_keys), dict(meta or {})))
    try:
        thread.start()
    except RuntimeError:
        job.failed = True
        job.finish()
        raise
    return job


def busy_text(job: EvalJob, lang: str) -> str:
    return label(lang, "runs_busy", done=job.done, total=job.total,
                 time=job.started_at.strftime("%H:%M"))


# --- reading a finished run -----------------------------------------------------------

def read_summary(run_dir: Path) -> dict[str, Any]:
    import json

    return json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))


def read_records(run_dir: Path) -> list[ItemRecord]:
    """The records of a run with their checks (no figures recomputed: that is summary.json)."""
    import json

    records = []
    with (run_dir / "items.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = ItemRecord.from_dict(json.loads(line))
                record.checks = item_checks(record)
                records.append(record)
    return records


def run_files(run_dir: Path) -> dict[str, Path | None]:
    """The downloadable files of a run (None for one it lacks, e.g. an older run's CSV)."""
    names = {"items": "items.jsonl", "items_csv": "items.csv", "summary_md": "summary.md",
             "report_html": "report.html"}
    return {key: (run_dir / name if (run_dir / name).is_file() else None)
            for key, name in names.items()}


def ensure_csv(run_dir: Path) -> None:
    """Runs written before items.csv existed get one on first view."""
    from evals.export import write_csv

    target = run_dir / "items.csv"
    if not target.exists() and (run_dir / "items.jsonl").is_file():
        try:
            write_csv(target, read_records(run_dir))
        except (OSError, ValueError) as exc:
            log.warning("no items.csv for %s: %s", run_dir, exc)
