"""The evaluator's page of the staff area: run a test set, read the figures, download the
results, compare two runs.

1. **Set**: one of the shipped sets in ``evals/sets/`` whose expected documents are all in
   the corpus this server answers from (the held-out ones first and by default, the
   development ones labelled as such), or an uploaded JSONL file (at most
   :data:`MAX_SET_BYTES`; a malformed one gets the loader's message naming the line and the
   problem). The set's notes (own keys kept, likely misspellings, quotes found in no
   expected document) are shown before anything runs.
2. **Run**: the server's own assistant answers every item in a background thread; the page
   shows a progress bar (items done / total) and can stop the run after the current item.
   One run at a time per server (:class:`RunSlot`, shared with the quick evaluation tab):
   a second request is told that a run is in progress. Results go to
   ``<data_dir>/eval/<YYYYmmdd-HHMMSS>/`` as `visio eval` writes them (items.jsonl,
   items.csv, summary.json, summary.md, report.html).
3. **Results**: the headline figures with their 95 % intervals and n, the same per
   language, the items not fully right; downloads of the per-item JSONL and CSV, the
   summary and the full report, which can also be read in the page (a sandboxed frame).
4. **Compare**: any two finished runs under ``<data_dir>/eval/`` (listed by time, set and
   item count): newly failing and newly passing items, every figure's B − A with its
   paired interval, settings that differ; the comparison is downloadable.

Every text is in the interface language (``[ui]`` of the language files); the library's
own messages (the loader's, the run's notes) are shown as they are, marked as English.
The functions before the page builder are plain and tested without a browser.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from assistant import languages
from evals.items import SETS_DIR, SHIPPED_SET, EvalItem, EvalSetError, parse_items, set_warnings
from evals.metrics import METRICS, ItemRecord, item_checks
from evals.runs import find_run, folder, list_runs, new_run_dir, set_names
from ui import render
from ui.labels import default_language, label, language_name, metric_labels, ui_language

if TYPE_CHECKING:
    from ui.admin import AdminContext, Relabel

log = logging.getLogger(__name__)

#: The largest test set a page accepts (about 3 000 items; the shipped held-out sets are
#: 60 kB). Gradio itself refuses uploads over :data:`MAX_UPLOAD_BYTES`.
MAX_SET_BYTES = 2_000_000
MAX_UPLOAD_BYTES = 2 * MAX_SET_BYTES
#: Items not fully right listed in the page (all of them are in the report).
MAX_LISTED_ITEMS = 50
#: How often the progress bar is redrawn while nothing else happens (seconds).
POLL_SECONDS = 0.5

UPLOAD = "upload"
HELDOUT = "heldout"
DEVELOPMENT = "development"


# --- the sets ---------------------------------------------------------------------------

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


def _megabytes(size: int) -> str:
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
            raise UploadProblem("runs_upload_too_large", name=name, size=_megabytes(size),
                                limit=_megabytes(limit))
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


# --- HTML -------------------------------------------------------------------------------

esc = render.esc


def _lang_order(codes: Sequence[str]) -> list[str]:
    order = languages.codes()
    return sorted(codes, key=lambda c: (c not in order, order.index(c) if c in order else 0, c))


def metric_names(lang: str) -> dict[str, str]:
    """Every figure of the report, named in the interface language."""
    names = metric_labels(lang)
    return {key: names.get(key, spec.label) for key, spec in METRICS.items()}


def notes_html(heading: str, notes: Sequence[str]) -> str:
    """The library's own messages (English), under a heading in the interface language."""
    if not notes:
        return ""
    return (f'<div class="visio-notes"><p>{esc(heading)}</p><ul>'
            + "".join(f'<li lang="en">{esc(n)}</li>' for n in notes) + "</ul></div>")


def problem_html(text: str, detail: str = "") -> str:
    body = f"<p>{esc(text)}</p>"
    if detail:
        body += "".join(f'<p class="visio-loader-message" lang="en"><code>{esc(line)}</code></p>'
                        for line in detail.splitlines() if line.strip())
    return f'<div class="visio-notice visio-problem">{body}</div>'


def set_info_html(choice: SetChoice | None, lang: str, upload: Mapping[str, Any] | None = None,
                  problem: Mapping[str, Any] | None = None) -> str:
    """What the chosen set is: its size per language, whether it is held out, its notes."""
    if choice is None:
        return ""
    parts = []
    summary = choice.summary
    if choice.kind == UPLOAD:
        if problem:
            return problem_html(label(lang, problem["key"], **problem.get("values", {})),
                                str(problem.get("detail", "")))
        if not upload:
            return f"<p>{esc(label(lang, 'runs_upload_none'))}</p>"
        summary = upload["summary"]
        parts.append(f"<p>{esc(label(lang, 'runs_upload_ok', name=upload['name']))}</p>")
    if summary is None:
        return ""
    per_language = ", ".join(f"{language_name(lang, code)} {summary.by_language[code]}"
                             for code in _lang_order(list(summary.by_language)))
    parts.append(f"<p>{esc(label(lang, 'runs_set_count', n=summary.n_items, per_language=per_language, refusals=summary.n_refusals))}</p>")  # noqa: E501
    if choice.kind == DEVELOPMENT:
        parts.append(f"<p>{esc(label(lang, 'runs_set_development_note'))}</p>")
    elif choice.kind == HELDOUT:
        parts.append(f"<p>{esc(label(lang, 'runs_set_heldout_note'))}</p>")
    if choice.gate:
        parts.append(f"<p>{esc(label(lang, 'runs_set_gate_note'))}</p>")
    parts.append(notes_html(label(lang, "runs_warnings"), summary.warnings))
    return '<div class="visio-set-info">' + "".join(parts) + "</div>"


def progress_html(done: int, total: int, lang: str) -> str:
    total = max(total, 1)
    text = label(lang, "runs_progress_text", done=done, total=total)
    return (f'<div class="visio-progress"><label for="visio-runs-bar">'
            f'{esc(label(lang, "runs_progress"))}</label> '
            f'<progress id="visio-runs-bar" max="{total}" value="{min(done, total)}">'
            f"{done} / {total}</progress> <span>{esc(text)}</span></div>")


def _table(caption: str, head: Sequence[str], rows: Sequence[Sequence[str]],
           css: str = "visio-scores") -> str:
    """A table whose cells are already HTML; the first cell of each row heads the row."""
    body = "".join("<tr>" + "".join(
        (f'<th scope="row">{cell}</th>' if i == 0 else f"<td>{cell}</td>")
        for i, cell in enumerate(row)) + "</tr>" for row in rows)
    return (f'<table class="{css}"><caption>{esc(caption)}</caption><thead><tr>'
            + "".join(f'<th scope="col">{esc(h)}</th>' for h in head)
            + f"</tr></thead><tbody>{body}</tbody></table>")


def _value_cell(name: str, group: Mapping[str, Any]) -> str:
    from evals import report

    value = report.fmt(name, group.get(name))
    interval = report.fmt_interval(name, (group.get("ci") or {}).get(name))
    return esc(value) + (f" <small>{esc(interval)}</small>" if interval else "")


def _n_text(name: str, ci: Mapping[str, Any] | None, lang: str) -> str:
    if not ci:
        return ""
    text = str(ci.get("n", ""))
    unit = METRICS[name].unit if name in METRICS else "items"
    if unit == "citations":
        text += " (" + label(lang, "runs_units_citations", n=int(ci.get("units") or 0)) + ")"
    elif unit == "quoted sentences":
        text += " (" + label(lang, "runs_units_sentences", n=int(ci.get("units") or 0)) + ")"
    return text


def headline_sentence(overall: Mapping[str, Any], lang: str) -> str:
    from evals import report

    ci = (overall.get("ci") or {}).get("fully_right")
    value = report.fmt("fully_right", overall.get("fully_right"))
    if not ci or ci.get("low") is None:
        return label(lang, "runs_headline_plain", value=value, n=overall.get("n_items", 0))
    return label(lang, "runs_headline", value=value,
                 interval=report.fmt_interval("fully_right", ci), method=ci.get("method", ""),
                 n=ci.get("n", overall.get("n_items", 0)))


def figures_html(document: Mapping[str, Any], records: Sequence[ItemRecord], lang: str,
                 title: str = "") -> str:
    """A finished run: headline with intervals, the same per language (and per own key when
    asked for), the run's notes and the items not fully right."""
    from evals import report

    meta = document.get("meta") or {}
    overall = document.get("overall") or {}
    thresholds = document.get("thresholds") or {}
    names = metric_names(lang)
    ci = overall.get("ci") or {}
    parts = []
    if title:
        parts.append(f'<p class="visio-run-title">{esc(title)}</p>')
    parts.append(f'<p class="visio-headline"><strong>{esc(headline_sentence(overall, lang))}'
                 "</strong></p>")
    if meta.get("stopped_early"):
        parts.append(f"<p>{esc(label(lang, 'runs_stopped_note', n=meta.get('n_items', 0), total=meta.get('n_items_in_set', 0)))}</p>")  # noqa: E501
    failing_metrics = []
    head = [label(lang, "eval_metric"), label(lang, "eval_value"), label(lang, "runs_interval"),
            label(lang, "runs_n")]
    if thresholds:
        head += [label(lang, "eval_minimum"), label(lang, "eval_verdict")]
    rows = []
    for name in report.HEADLINE:
        if name not in overall:
            continue
        value = overall.get(name)
        row = [esc(names[name]), esc(report.fmt(name, value)),
               esc(report.fmt_interval(name, ci.get(name))), esc(_n_text(name, ci.get(name), lang))]
        if thresholds:
            minimum = thresholds.get(name)
            outcome = render.gate_outcome(value, minimum)
            verdict = label(lang, f"eval_{outcome}") if outcome else ""
            css = "ok" if outcome == "ok" else "fail" if outcome else "none"
            if css == "fail":  # a figure the set cannot measure fails the gate too
                failing_metrics.append(names[name])
            row += [esc("" if minimum is None else f"≥ {minimum:.2f}"),
                    f'<span class="visio-{css}">{esc(verdict)}</span>']
        rows.append(row)
    if thresholds:
        gate = (label(lang, "runs_gate_failed", metrics=", ".join(failing_metrics))
                if failing_metrics else label(lang, "runs_gate_passed"))
        parts.append(f'<p class="visio-{"fail" if failing_metrics else "ok"}">{esc(gate)}</p>')
    parts.append(_table(label(lang, "runs_headline_caption"), head, rows))

    by_language = document.get("by_language") or {}
    codes = _lang_order(list(by_language))
    head = [label(lang, "eval_metric"),
            f"{label(lang, 'runs_all')} (n = {overall.get('n_items', 0)})",
            *(f"{language_name(lang, code)} (n = {by_language[code].get('n_items', 0)})"
              for code in codes)]
    rows = [[esc(names[name]), _value_cell(name, overall),
             *(_value_cell(name, by_language[code]) for code in codes)]
            for name in report.HEADLINE if name in overall]
    parts.append(_table(label(lang, "runs_by_language"), head, rows))

    for key, groups in (document.get("by_key") or {}).items():
        head = [key, "n", names["fully_right"]]
        rows = [[esc(value), esc(str(group.get("n_items", 0))), _value_cell("fully_right", group)]
                for value, group in groups.items()]
        parts.append(_table(label(lang, "runs_by_key", name=key), head, rows))

    parts.append(notes_html(label(lang, "runs_notes"), meta.get("warnings") or []))
    failing = [r for r in records if r.error or not (r.checks or item_checks(r)).get("fully_right")]
    if failing:
        head = [label(lang, k) for k in ("runs_col_id", "runs_col_lang", "runs_col_category",
                                         "runs_col_failed", "runs_col_question")]
        rows = [[esc(r.id), esc(r.lang), esc(r.category), esc(" ".join(report.failed_checks(r))),
                 esc(_clip(r.question, 140))] for r in failing[:MAX_LISTED_ITEMS]]
        parts.append(_table(label(lang, "runs_failing", n=len(failing)), head, rows))
        if len(failing) > MAX_LISTED_ITEMS:
            parts.append(f"<p>{esc(label(lang, 'runs_failing_more', n=len(failing) - MAX_LISTED_ITEMS))}</p>")  # noqa: E501
    return '<div class="visio-run-figures">' + "".join(parts) + "</div>"


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def side_title(side: Mapping[str, Any]) -> str:
    """"2026-11-29 10:15:03 · x.jsonl · n = 158 · <folder>" for one side of a comparison."""
    started = str(side.get("started_at") or "")
    try:
        when = datetime.fromisoformat(started).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        when = started or "?"
    folder = Path(str(side.get("path") or "")).name
    return " · ".join(p for p in (when, set_names(str(side.get("questions") or "")) or "?",
                                  f"n = {side.get('n_items', '?')}", folder) if p)


def comparison_html(d: Mapping[str, Any], lang: str) -> str:
    """Two runs side by side: counts, significant changes, settings that differ, every
    figure's B − A with its paired interval, newly failing and newly passing items."""
    from evals import report

    names = metric_names(lang)
    counts = d.get("counts") or {}
    parts = [f"<p>{esc(label(lang, 'runs_side_a', run=side_title(d.get('a') or {})))}<br>"
             f"{esc(label(lang, 'runs_side_b', run=side_title(d.get('b') or {})))}</p>",
             f"<p>{esc(label(lang, 'runs_paired', n=d.get('n_paired', 0)))}</p>",
             f'<p class="visio-headline"><strong>{esc(label(lang, "runs_counts", **{k: counts.get(k, 0) for k in ("newly_failing", "newly_passing", "checks_changed", "changed", "unchanged")}))}'  # noqa: E501
             "</strong></p>"]
    regressions = [names.get(n, n) for n in d.get("regressions") or []]
    improvements = [names.get(n, n) for n in d.get("improvements") or []]
    if regressions:
        parts.append(f'<p class="visio-fail">{esc(label(lang, "runs_regressions", metrics=", ".join(regressions)))}</p>')  # noqa: E501
    if improvements:
        parts.append(f'<p class="visio-ok">{esc(label(lang, "runs_improvements", metrics=", ".join(improvements)))}</p>')  # noqa: E501
    if not regressions and not improvements:
        parts.append(f"<p>{esc(label(lang, 'runs_no_significant'))}</p>")
    parts.append(notes_html(label(lang, "runs_notes"), d.get("warnings") or []))
    settings = d.get("settings_changed") or {}
    if settings:
        parts.append(_table(label(lang, "runs_settings_changed"),
                            [label(lang, "runs_col_setting"), "A", "B"],
                            [[esc(k), esc(a), esc(b)] for k, (a, b) in settings.items()]))
    verdicts = {"better": ("runs_verdict_better", "ok"), "worse": ("runs_verdict_worse", "fail"),
                "not significant": ("runs_verdict_not_significant", "none"),
                "unchanged": ("runs_verdict_unchanged", "none"),
                "n/a": ("runs_verdict_na", "none")}
    rows = []
    for name, x in (d.get("metrics") or {}).items():
        key, css = verdicts.get(x.get("verdict", ""), ("runs_verdict_na", "none"))
        rows.append([esc(names.get(name, name)), esc(report.fmt(name, x.get("a"))),
                     esc(report.fmt(name, x.get("b"))), esc(report.fmt_delta(name, x.get("delta"))),
                     esc(report.fmt_delta_interval(name, x)), esc(str(x.get("n", ""))),
                     f'<span class="visio-{css}">{esc(label(lang, key))}</span>'])
    parts.append(_table(label(lang, "runs_figures_delta"),
                        [label(lang, "eval_metric"), "A", "B", "B − A",
                         label(lang, "runs_col_delta_interval"), "n",
                         label(lang, "runs_col_verdict")], rows))
    items = d.get("items") or []
    for status in ("newly_failing", "newly_passing"):
        changes = [c for c in items if c.get("status") == status]
        caption = label(lang, f"runs_{status}", n=len(changes))
        if not changes:
            parts.append(f"<p>{esc(caption)}: {esc(label(lang, 'runs_none_items'))}</p>")
            continue
        head = [label(lang, k) for k in ("runs_col_id", "runs_col_lang", "runs_col_category",
                                         "runs_col_what", "runs_col_question")]
        rows = [[esc(c["id"]), esc(c.get("lang", "")), esc(c.get("category", "")),
                 esc(change_text(c, lang)), esc(_clip(c.get("question", ""), 140))]
                for c in changes]
        parts.append(_table(caption, head, rows))
    return '<div class="visio-comparison">' + "".join(parts) + "</div>"


#: What can change about an item besides its checks (evals.diff.item_change), in order.
CHANGED_PARTS = ("answer", "refused", "citations", "retrieval")


def change_text(change: Mapping[str, Any], lang: str) -> str:
    """"klarar inte längre: hit@1, must_include; ändrat: svaret" — the checks by their names
    (as in the CSV and the report), the rest in the interface language."""
    bits = []
    if change.get("broke"):
        bits.append(label(lang, "runs_change_broke", checks=", ".join(change["broke"])))
    if change.get("fixed"):
        bits.append(label(lang, "runs_change_fixed", checks=", ".join(change["fixed"])))
    parts = [label(lang, f"runs_part_{part}") for part in CHANGED_PARTS
             if part in (change.get("changed") or [])]
    if parts:
        bits.append(label(lang, "runs_change_changed", parts=", ".join(parts)))
    return "; ".join(bits)


def report_frame_html(report_path: Path, run: str, lang: str) -> str:
    """The full report inside the page: a sandboxed frame (its own script runs, but it
    cannot reach the staff page, its cookies or the server)."""
    try:
        document = report_path.read_text(encoding="utf-8")
    except OSError as exc:
        log.warning("report not readable: %s", exc)
        return problem_html(label(lang, "runs_report_missing"))
    return (f'<iframe class="visio-report-frame" title="{esc(label(lang, "runs_report_title", run=run))}" '  # noqa: E501
            f'sandbox="allow-scripts" srcdoc="{esc(document)}"></iframe>')


def status_html(status: Mapping[str, Any] | None, lang: str) -> str:
    if not status:
        return ""
    text = label(lang, status["key"], **(status.get("values") or {}))
    if status.get("detail"):
        return problem_html(text, str(status["detail"]))
    return f"<p>{esc(text)}</p>"


# --- the page ---------------------------------------------------------------------------

def evaluator_page(context: AdminContext) -> Relabel:
    """Set, run, results and comparison (see the module's docstring).

    What a session has done lives in one ``gr.State`` dict: the chosen set, the uploaded
    items (or why they were refused), the last status, the run shown, whether its report
    is open, the last comparison. Everything shown is rendered from it and from the files
    on disk, so a change of interface language redraws the page in the new language."""
    from evals.items import load_sets
    from evals.runner import SHIPPED_THRESHOLDS, load_corpus_texts

    first = default_language()
    assistant = context.assistant
    answering = getattr(assistant, "settings", None) or context.settings
    eval_root = Path(context.settings.data_dir) / "eval"
    slot: RunSlot = context.runs
    try:
        corpus = load_corpus_texts(answering)
        documents: set[str] | None = {doc_id for doc_id, _ in corpus}
    except Exception as exc:  # no corpus to check against: the run itself will say so
        log.warning("corpus not readable for the evaluator's page: %s", exc)
        corpus, documents = {}, None
    choices = shipped_choices(documents, corpus)
    by_key = {choice.key: choice for choice in choices}
    default = choices[0].key
    limit = _megabytes(MAX_SET_BYTES)

    def chosen(key: object) -> SetChoice:
        return by_key.get(str(key), by_key[default])

    def set_titles(lang: str) -> list[tuple[str, str]]:
        return [(choice.title(lang), choice.key) for choice in choices]

    def listed_runs() -> list[tuple[str, str]]:
        return [(info.title, info.name) for info in list_runs(eval_root)]

    def heading(lang: str, key: str) -> str:
        return f"<h2>{esc(label(lang, key))}</h2>"

    def no_results(lang: str) -> str:
        return f'<p class="visio-empty">{esc(label(lang, "runs_no_results"))}</p>'

    # -- components -----------------------------------------------------------------------
    state = gr.State({})
    intro = gr.Markdown(label(first, "runs_intro", folder=str(eval_root), limit=limit),
                        elem_id="visio-runs-intro")
    set_heading = gr.HTML(heading(first, "runs_set_heading"), js_on_load=None)
    set_radio = gr.Radio(set_titles(first), value=default, label=label(first, "runs_set"),
                         elem_id="visio-runs-set")
    upload = gr.UploadButton(label(first, "runs_upload"), file_types=[".jsonl"],
                             type="filepath", size="md", elem_id="visio-runs-upload")
    set_info = gr.HTML(set_info_html(chosen(default), first), elem_id="visio-runs-set-info",
                       js_on_load=None)
    own_keys = list(chosen(default).summary.own_keys) if chosen(default).summary else []
    by_keys = gr.CheckboxGroup(own_keys, value=[], label=label(first, "runs_by"),
                               visible=bool(own_keys), elem_id="visio-runs-by")
    with gr.Row():
        run = gr.Button(label(first, "runs_run"), variant="primary", scale=2,
                        elem_id="visio-runs-run")
        stop = gr.Button(label(first, "runs_stop"), variant="stop", scale=1,
                         elem_id="visio-runs-stop")
    progress = gr.HTML("", elem_id="visio-runs-progress", js_on_load=None)
    status = gr.HTML("", elem_id="visio-runs-status", js_on_load=None)

    results_heading = gr.HTML(heading(first, "runs_results_heading"), js_on_load=None)
    figures = gr.HTML(no_results(first), elem_id="visio-runs-figures", js_on_load=None)
    download_labels = {"items": "runs_download_items", "items_csv": "runs_download_csv",
                       "summary_md": "runs_download_summary",
                       "report_html": "runs_download_report"}
    with gr.Row(elem_id="visio-runs-downloads"):
        downloads = {key: gr.DownloadButton(label(first, text), visible=False, size="md",
                                            elem_id=f"visio-runs-dl-{key.replace('_', '-')}")
                     for key, text in download_labels.items()}
    show_report = gr.Button(label(first, "runs_show_report"), visible=False, size="md",
                            elem_id="visio-runs-show-report")
    report_view = gr.HTML("", elem_id="visio-runs-report", js_on_load=None)

    compare_heading = gr.HTML(heading(first, "runs_compare_heading"), js_on_load=None)
    compare_intro = gr.Markdown(label(first, "runs_compare_intro"),
                                elem_id="visio-runs-compare-intro")
    runs_now = listed_runs()
    with gr.Row():
        before = gr.Dropdown(runs_now, value=runs_now[1][1] if len(runs_now) > 1 else None,
                             label=label(first, "runs_before"), elem_id="visio-runs-before")
        after = gr.Dropdown(runs_now, value=runs_now[0][1] if runs_now else None,
                            label=label(first, "runs_after"), elem_id="visio-runs-after")
    with gr.Row():
        compare = gr.Button(label(first, "runs_compare"), variant="primary",
                            elem_id="visio-runs-compare")
        open_after = gr.Button(label(first, "runs_open"), elem_id="visio-runs-open")
        refresh = gr.Button(label(first, "runs_refresh"), elem_id="visio-runs-refresh")
    compare_status = gr.HTML("", elem_id="visio-runs-compare-status", js_on_load=None)
    comparison = gr.HTML("", elem_id="visio-runs-comparison", js_on_load=None)
    compare_labels = {"comparison_html": "runs_download_comparison",
                      "comparison_md": "runs_download_comparison_md"}
    with gr.Row():
        compare_downloads = {
            key: gr.DownloadButton(label(first, text), visible=False, size="md",
                                   elem_id=f"visio-runs-dl-{key.replace('_', '-')}")
            for key, text in compare_labels.items()}

    # -- rendering from the session and the files -----------------------------------------
    def set_view(session: Mapping[str, Any], lang: str) -> str:
        return set_info_html(chosen(session.get("set", default)), lang, session.get("upload"),
                             session.get("upload_problem"))

    def keys_update(session: Mapping[str, Any]) -> Any:
        choice = chosen(session.get("set", default))
        summary = ((session.get("upload") or {}).get("summary") if choice.kind == UPLOAD
                   else choice.summary)
        keys = list(summary.own_keys) if summary else []
        return gr.update(choices=keys, value=[], visible=bool(keys))

    def figures_view(session: Mapping[str, Any], lang: str) -> str:
        info = find_run(eval_root, session.get("run"))
        if info is None:
            return no_results(lang)
        try:
            return figures_html(read_summary(info.path), read_records(info.path), lang,
                                info.title)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.warning("run %s not readable: %s", info.path, exc)
            return problem_html(label(lang, "runs_unreadable"), str(exc))

    def report_view_html(session: Mapping[str, Any], lang: str) -> str:
        info = find_run(eval_root, session.get("run"))
        if info is None or not session.get("report"):
            return ""
        return report_frame_html(info.path / "report.html", info.title, lang)

    def report_button(session: Mapping[str, Any], lang: str) -> Any:
        info = find_run(eval_root, session.get("run"))
        return gr.update(visible=info is not None and (info.path / "report.html").is_file(),
                         value=label(lang, "runs_hide_report" if session.get("report")
                                     else "runs_show_report"))

    def comparison_view(session: Mapping[str, Any], lang: str) -> str:
        import json

        found = folder(eval_root, session.get("diff"))
        if found is None:
            return ""
        try:
            data = json.loads((found / "comparison.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("comparison not readable: %s", exc)
            return ""
        return comparison_html(data, lang)

    def status_view(session: Mapping[str, Any], lang: str) -> str:
        job = slot.current()
        if job is not None and session.get("running"):
            return f"<p>{esc(label(lang, 'runs_started', total=job.total))}</p>"
        return status_html(session.get("status"), lang)

    def shown_run(session: Mapping[str, Any], lang: str) -> dict[Any, Any]:
        """The results part for the session's run: figures, downloads, report button."""
        info = find_run(eval_root, session.get("run"))
        out: dict[Any, Any] = {figures: figures_view(session, lang),
                               report_view: report_view_html(session, lang),
                               show_report: report_button(session, lang)}
        if info is not None:
            ensure_csv(info.path)
        files = run_files(info.path) if info is not None else dict.fromkeys(downloads)
        for key, button in downloads.items():
            path = files.get(key)
            out[button] = gr.update(visible=path is not None,
                                    value=str(path) if path is not None else None)
        return out

    def run_lists(b_name: str | None = None) -> dict[Any, Any]:
        """Both lists refreshed; B = ``b_name`` (or the newest), A = the run before it."""
        runs = listed_runs()
        names = [name for _, name in runs]
        b_value = b_name if b_name in names else (names[0] if names else None)
        a_value = None
        if b_value is not None:
            later = names.index(b_value) + 1
            a_value = names[later] if later < len(names) else None
        return {before: gr.update(choices=runs, value=a_value),
                after: gr.update(choices=runs, value=b_value)}

    # -- the set --------------------------------------------------------------------------
    def pick_set(key: str, session: dict, ui: str) -> tuple[Any, ...]:
        ui = ui_language(ui)
        session = {**(session or {}), "set": chosen(key).key}
        return session, set_view(session, ui), keys_update(session)

    def take_upload(path: Any, session: dict, ui: str) -> tuple[Any, ...]:
        ui = ui_language(ui)
        session = {**(session or {}), "set": UPLOAD, "upload": None, "upload_problem": None}
        try:
            if not path:
                raise UploadProblem("runs_upload_unreadable", name="")
            items = read_upload(path, documents)
        except UploadProblem as problem:
            session["upload_problem"] = problem.as_state()
        else:
            session["upload"] = {"name": Path(str(path)).name, "items": items,
                                 "summary": summarize_set(items, corpus)}
        finally:
            forget_upload(path)
        return session, gr.update(value=UPLOAD), set_view(session, ui), keys_update(session)

    set_radio.input(pick_set, [set_radio, state, context.ui_lang], [state, set_info, by_keys],
                    api_visibility="private", show_progress="hidden")
    upload.upload(take_upload, [upload, state, context.ui_lang],
                  [state, set_radio, set_info, by_keys], api_visibility="private",
                  show_progress="hidden")

    # -- running --------------------------------------------------------------------------
    def items_of(session: Mapping[str, Any]) -> tuple[list[EvalItem], str, SetChoice]:
        """The chosen set's items and how the run records it; UploadProblem / EvalSetError."""
        choice = chosen(session.get("set", default))
        if choice.kind == UPLOAD:
            uploaded = session.get("upload")
            if not uploaded:
                raise UploadProblem("runs_upload_none")
            return list(uploaded["items"]), uploaded["name"], choice
        return load_sets(choice.paths), ", ".join(str(p) for p in choice.paths), choice

    def start(key: str, session: dict, keys: list[str] | None,
              ui: str) -> Iterator[dict[Any, Any]]:
        ui = ui_language(ui)
        session = {**(session or {}), "set": chosen(key).key}
        try:
            items, questions, choice = items_of(session)
        except UploadProblem as problem:
            session["status"] = {"key": problem.key, "values": problem.values}
            yield {state: session, status: status_view(session, ui)}
            return
        except EvalSetError as exc:
            session["status"] = {"key": "runs_set_error", "detail": str(exc)}
            yield {state: session, status: status_view(session, ui)}
            return
        wanted = [k for k in keys or [] if isinstance(k, str)]
        job = start_run(slot, answering, assistant, items, questions, eval_root,
                        SHIPPED_THRESHOLDS if choice.gate else None, wanted,
                        {"set_source": "uploaded" if choice.kind == UPLOAD else "shipped",
                         "started_from": "staff page"})
        if job is None:  # another run holds the server: say so, change nothing else
            running = slot.current()
            text = busy_text(running, ui) if running else label(ui, "runs_busy_short")
            yield {status: f"<p>{esc(text)}</p>"}
            return
        session.update(running=True, status={"key": "runs_started",
                                             "values": {"total": job.total}})
        yield {state: session, status: status_view(session, ui),
               progress: progress_html(0, job.total, ui)}
        shown = 0
        while not job.finished.wait(POLL_SECONDS):
            if job.done != shown:
                shown = job.done
                yield {progress: progress_html(shown, job.total, ui)}
        session["running"] = False
        if job.failed:
            session["status"] = {"key": "runs_failed"}
        elif job.problem:
            session["status"] = {"key": "runs_set_error", "detail": job.problem}
        elif job.out_dir is None:
            session["status"] = {"key": "runs_stopped_empty"}
        else:
            session["status"] = {
                "key": "runs_stopped" if job.stopped else "runs_done",
                "values": {"n": job.done, "total": job.total, "seconds": job.duration,
                           "folder": str(job.out_dir)}}
            session.update(run=job.out_dir.name, report=False)
        final: dict[Any, Any] = {state: session, status: status_view(session, ui),
                                 progress: progress_html(job.done, job.total, ui)}
        if job.out_dir is not None:
            final.update(shown_run(session, ui))
            final.update(run_lists(job.out_dir.name))
        yield final

    def stop_run(ui: str) -> str:
        ui = ui_language(ui)
        job = slot.stop()
        return f"<p>{esc(label(ui, 'runs_stopping' if job else 'runs_not_running'))}</p>"

    run_outputs = [state, progress, status, figures, report_view, show_report,
                   *downloads.values(), before, after]
    run.click(start, [set_radio, state, by_keys, context.ui_lang], run_outputs,
              api_visibility="private", show_progress="hidden", concurrency_limit=4,
              concurrency_id="visio-runs")
    stop.click(stop_run, context.ui_lang, status, api_visibility="private", queue=False,
               show_progress="hidden")

    # -- the report in the page -----------------------------------------------------------
    def toggle_report(session: dict, ui: str) -> tuple[Any, ...]:
        ui = ui_language(ui)
        session = {**(session or {}), "report": not (session or {}).get("report")}
        return session, report_view_html(session, ui), report_button(session, ui)

    show_report.click(toggle_report, [state, context.ui_lang], [state, report_view, show_report],
                      api_visibility="private", show_progress="hidden")

    # -- earlier runs and comparisons -----------------------------------------------------
    def refresh_runs(b_name: str | None) -> dict[Any, Any]:
        return run_lists(b_name)

    refresh.click(refresh_runs, after, [before, after], api_visibility="private",
                  show_progress="hidden", queue=False)

    def open_run(name: str | None, session: dict, ui: str) -> dict[Any, Any]:
        ui = ui_language(ui)
        session = dict(session or {})
        info = find_run(eval_root, name)
        if info is None:
            session["status"] = {"key": "runs_pick_one"}
            return {state: session, status: status_view(session, ui)}
        session.update(run=info.name, report=False,
                       status={"key": "runs_opened", "values": {"run": info.title}})
        return {state: session, progress: "", status: status_view(session, ui),
                **shown_run(session, ui)}

    open_after.click(open_run, [after, state, context.ui_lang], run_outputs,
                     api_visibility="private", show_progress="hidden")

    def do_compare(a_name: str | None, b_name: str | None, session: dict,
                   ui: str) -> Iterator[dict[Any, Any]]:
        from evals.runner import RunLoadError, diff_runs, load_run, write_diff

        ui = ui_language(ui)
        session = dict(session or {})
        hidden = {button: gr.update(visible=False) for button in compare_downloads.values()}
        a, b = find_run(eval_root, a_name), find_run(eval_root, b_name)
        if a is None or b is None or a.name == b.name:
            session.update(diff="", compare_status={"key": "runs_compare_pick"})
            yield {state: session, compare_status: status_html(session["compare_status"], ui),
                   comparison: "", **hidden}
            return
        yield {compare_status: status_html({"key": "runs_comparing"}, ui)}
        try:
            run_a, run_b = load_run(a.path), load_run(b.path)
        except RunLoadError as exc:
            session.update(diff="", compare_status={"key": "runs_unreadable",
                                                    "detail": str(exc)})
            yield {state: session, compare_status: status_html(session["compare_status"], ui),
                   comparison: "", **hidden}
            return
        target = new_run_dir(eval_root, prefix="diff-")
        paths = write_diff(target, diff_runs(run_a, run_b))
        session.update(diff=target.name, compare_status={"key": "runs_compared",
                                                         "values": {"folder": str(target)}})
        yield {state: session, compare_status: status_html(session["compare_status"], ui),
               comparison: comparison_view(session, ui),
               **{button: gr.update(visible=True, value=str(paths[key]))
                  for key, button in compare_downloads.items()}}

    compare.click(do_compare, [before, after, state, context.ui_lang],
                  [state, compare_status, comparison, *compare_downloads.values()],
                  api_visibility="private", show_progress="hidden", concurrency_limit=2,
                  concurrency_id="visio-runs-compare")

    # -- the interface language -----------------------------------------------------------
    def redraw(session: dict, ui: str) -> dict[Any, Any]:
        """The page's own texts again in the new interface language (the controls' labels
        are the staff app's relabel, below)."""
        ui = ui_language(ui)
        session = dict(session or {})
        return {set_info: set_view(session, ui), status: status_view(session, ui),
                figures: figures_view(session, ui), report_view: report_view_html(session, ui),
                show_report: report_button(session, ui),
                compare_status: status_html(session.get("compare_status"), ui),
                comparison: comparison_view(session, ui)}

    context.ui_lang.change(redraw, [state, context.ui_lang],
                           [set_info, status, figures, report_view, show_report,
                            compare_status, comparison],
                           api_visibility="private", show_progress="hidden", queue=False)
    if context.app is not None:  # the lists as they are when the page opens
        context.app.load(refresh_runs, after, [before, after], api_visibility="private",
                         show_progress="hidden", queue=False)

    def relabel(lang: str) -> Mapping[Any, Any]:
        updates: dict[Any, Any] = {
            intro: gr.update(value=label(lang, "runs_intro", folder=str(eval_root),
                                         limit=limit)),
            set_heading: heading(lang, "runs_set_heading"),
            set_radio: gr.update(choices=set_titles(lang), label=label(lang, "runs_set")),
            upload: gr.update(label=label(lang, "runs_upload")),
            by_keys: gr.update(label=label(lang, "runs_by")),
            run: gr.update(value=label(lang, "runs_run")),
            stop: gr.update(value=label(lang, "runs_stop")),
            results_heading: heading(lang, "runs_results_heading"),
            compare_heading: heading(lang, "runs_compare_heading"),
            compare_intro: gr.update(value=label(lang, "runs_compare_intro")),
            before: gr.update(label=label(lang, "runs_before")),
            after: gr.update(label=label(lang, "runs_after")),
            compare: gr.update(value=label(lang, "runs_compare")),
            open_after: gr.update(value=label(lang, "runs_open")),
            refresh: gr.update(value=label(lang, "runs_refresh")),
        }
        for key, button in downloads.items():
            updates[button] = gr.update(label=label(lang, download_labels[key]))
        for key, button in compare_downloads.items():
            updates[button] = gr.update(label=label(lang, compare_labels[key]))
        return updates

    return relabel
