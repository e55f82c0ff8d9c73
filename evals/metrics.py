"""Scores of an answer test set, computed from per-item records only.

Everything here is a pure function of :class:`ItemRecord` values, so every
figure in a report can be recomputed (and unit-tested) without a model, an
index or a corpus. The exact definitions are written out in ``evals/README.md``;
the docstrings below say the same in brief.

Conventions: a metric that has nothing to measure (no item qualifies, a zero
denominator) is ``None``, never a made-up 0 or 1, so a report can say "n/a"
and a threshold on it fails loudly instead of passing by accident.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from itertools import pairwise
from typing import Any

#: Retrieval cut-offs reported for recall.
RECALL_KS = (1, 3, 5)
NDCG_K = 10
#: Group name for items that expect no document (out of scope, injections).
NO_DOC = "(none)"

Metrics = dict[str, Any]
Summary = dict[str, Any]


@dataclass
class CitationCheck:
    """Whether one citation of an answer is valid, and why not."""

    n: int
    doc_id: str
    lang: str
    valid: bool
    problems: list[str] = field(default_factory=list)


@dataclass
class ItemRecord:
    """What the runner observed for one test item (one line of the per-item JSONL)."""

    id: str
    lang: str
    question: str
    expected_doc_ids: list[str]
    expect_refusal: bool
    must_include: list[list[str]]
    category: str = ""
    history: list[dict[str, str]] = field(default_factory=list)
    answer: str = ""
    detected_language: str = ""
    # Language of the answer text itself, when a detector was available.
    answer_text_language: str | None = None
    refused: bool = False
    cited_doc_ids: list[str] = field(default_factory=list)
    retrieved_doc_ids: list[str] = field(default_factory=list)
    citations: list[CitationCheck] = field(default_factory=list)
    latency: float = 0.0
    confidence: float | None = None
    error: str = ""
    checks: dict[str, bool | None] = field(default_factory=dict)
    expect_partial: bool = False
    expected_quote: list[str] = field(default_factory=list)
    # What the answer said the sources lack (Answer.missing).
    missing: list[str] = field(default_factory=list)
    # Why a refusal was decided (the answer's first note): a refusal by a rule (a name the
    # sources never mention, a task request …) does not depend on the refusal threshold.
    refusal_reason: str = ""
    # The item's own keys (an evaluator's annotations), kept as they were.
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ItemRecord:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["citations"] = [c if isinstance(c, CitationCheck) else CitationCheck(**c)
                               for c in values.get("citations", [])]
        return cls(**values)


# --- per item -------------------------------------------------------------------

def is_retrieval_item(record: ItemRecord) -> bool:
    """Retrieval metrics only make sense where some document is expected."""
    return not record.expect_refusal and bool(record.expected_doc_ids)


def first_relevant_rank(retrieved: Sequence[str], expected: Iterable[str]) -> int | None:
    """1-based rank of the first retrieved document that is expected, or None."""
    wanted = set(expected)
    for rank, doc_id in enumerate(retrieved, start=1):
        if doc_id in wanted:
            return rank
    return None


def hit_at_k(retrieved: Sequence[str], expected: Iterable[str], k: int) -> bool:
    rank = first_relevant_rank(retrieved, expected)
    return rank is not None and rank <= k


def reciprocal_rank(retrieved: Sequence[str], expected: Iterable[str]) -> float:
    rank = first_relevant_rank(retrieved, expected)
    return 0.0 if rank is None else 1.0 / rank


def ndcg(retrieved: Sequence[str], expected: Iterable[str], k: int = NDCG_K) -> float:
    """Binary-relevance nDCG@k; a document counts once even if listed twice."""
    wanted = set(expected)
    if not wanted:
        raise ValueError("nDCG needs at least one expected document")
    seen: set[str] = set()
    dcg = 0.0
    for i, doc_id in enumerate(retrieved[:k]):
        if doc_id in wanted and doc_id not in seen:
            dcg += 1.0 / math.log2(i + 2)
        seen.add(doc_id)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(wanted), k)))
    return dcg / ideal


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def includes_all_groups(text: str, groups: Sequence[Sequence[str]]) -> bool:
    """True when every group has at least one alternative occurring in ``text``."""
    folded = _fold(text)
    return all(any(_fold(alt) in folded for alt in group) for group in groups)


def answer_includes(record: ItemRecord) -> bool:
    """must_include verdict: a refusal never counts, even if its text names the topic."""
    return not record.refused and includes_all_groups(record.answer, record.must_include)


def _spaced(text: str) -> str:
    return " ".join(_fold(text).split())


def quotes_expected(record: ItemRecord) -> bool:
    """expected_quote verdict: one of the expected sentences stands in the answer."""
    answer = _spaced(record.answer)
    return not record.refused and any(_spaced(q) in answer for q in record.expected_quote)


#: Refusal reasons that do not come from the relevance threshold.
THRESHOLD_REASONS = ("", "low_confidence")


def item_checks(record: ItemRecord) -> dict[str, bool | None]:
    """The verdicts shown per item; None means "does not apply to this item"."""
    retrieval = is_retrieval_item(record)
    checks: dict[str, bool | None] = {}
    for k in RECALL_KS:
        checks[f"hit@{k}"] = (hit_at_k(record.retrieved_doc_ids, record.expected_doc_ids, k)
                              if retrieval else None)
    checks["language"] = record.detected_language == record.lang
    checks["refusal"] = record.refused == record.expect_refusal
    checks["citations_valid"] = (all(c.valid for c in record.citations)
                                 if record.citations else None)
    checks["cites_expected"] = (any(d in record.expected_doc_ids for d in record.cited_doc_ids)
                                if retrieval and not record.refused else None)
    checks["must_include"] = (answer_includes(record)
                              if record.must_include and not record.expect_refusal else None)
    checks["quote"] = quotes_expected(record) if record.expected_quote else None
    checks["partial"] = (not record.refused and bool(record.missing)
                         if record.expect_partial else None)
    gate = ("hit@3", "language", "refusal", "citations_valid", "must_include")
    checks["passed"] = not record.error and all(checks[name] is not False for name in gate)
    # "Fully right": the right refusal, or an answer in the asker's language that cites
    # a document answering it and holds every key fact (and quote, and stated gap) asked.
    content = ("cites_expected", "must_include", "quote", "partial")
    checks["fully_right"] = (not record.error and bool(checks["language"])
                             and bool(checks["refusal"])
                             and (record.expect_refusal
                                  or all(checks[name] is not False for name in content)))
    return checks


# --- aggregate ------------------------------------------------------------------

def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def recall_at_k(records: Sequence[ItemRecord], k: int) -> float | None:
    """Share of retrieval items with an expected document among the top k retrieved."""
    items = [r for r in records if is_retrieval_item(r)]
    return _mean([float(hit_at_k(r.retrieved_doc_ids, r.expected_doc_ids, k)) for r in items])


def mean_reciprocal_rank(records: Sequence[ItemRecord]) -> float | None:
    items = [r for r in records if is_retrieval_item(r)]
    return _mean([reciprocal_rank(r.retrieved_doc_ids, r.expected_doc_ids) for r in items])


def mean_ndcg(records: Sequence[ItemRecord], k: int = NDCG_K) -> float | None:
    items = [r for r in records if is_retrieval_item(r)]
    return _mean([ndcg(r.retrieved_doc_ids, r.expected_doc_ids, k) for r in items])


def language_accuracy(records: Sequence[ItemRecord]) -> float | None:
    """Share of items whose answer language equals the item's language."""
    return _mean([float(r.detected_language == r.lang) for r in records])


def answer_text_language_accuracy(records: Sequence[ItemRecord]) -> float | None:
    """Same, judged on the answer text by a detector (only where it gave a verdict)."""
    judged = [r for r in records if r.answer_text_language and r.answer.strip()]
    return _mean([float(r.answer_text_language == r.lang) for r in judged])


def refusal_confusion(records: Sequence[ItemRecord]) -> dict[str, int]:
    """Confusion counts with "refused" as the positive class."""
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for r in records:
        key = ("t" if r.refused == r.expect_refusal else "f") + ("p" if r.refused else "n")
        counts[key] += 1
    return counts


def precision_recall_f1(tp: int, fp: int, fn: int) -> tuple[float | None, float | None,
                                                             float | None]:
    """Precision, recall and F1 = 2TP / (2TP + FP + FN); None where the denominator is 0."""
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return precision, recall, f1


def citation_validity(records: Sequence[ItemRecord]) -> float | None:
    """Valid citations / all citations, over every answer of the set."""
    checks = [c.valid for r in records for c in r.citations]
    return _mean([float(v) for v in checks])


def grounded_rate(records: Sequence[ItemRecord]) -> float | None:
    """Share of non-refused answers that carry at least one valid citation."""
    answered = [r for r in records if not r.refused and not r.error]
    return _mean([float(any(c.valid for c in r.citations)) for r in answered])


def must_include_rate(records: Sequence[ItemRecord]) -> float | None:
    """Share of answerable items with must_include groups whose (non-refused) answer
    satisfies every group."""
    items = [r for r in records if r.must_include and not r.expect_refusal]
    return _mean([float(answer_includes(r)) for r in items])


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile with linear interpolation between ranks (numpy's default)."""
    if not values:
        return None
    if not 0 <= p <= 100:
        raise ValueError("percentile must be between 0 and 100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def compute_metrics(records: Sequence[ItemRecord]) -> Metrics:
    """Every headline figure for one group of records, as a flat mapping."""
    confusion = refusal_confusion(records)
    precision, recall, f1 = precision_recall_f1(confusion["tp"], confusion["fp"],
                                                confusion["fn"])
    latencies = [r.latency for r in records if not r.error]
    metrics: Metrics = {
        "n_items": len(records),
        "n_retrieval_items": sum(1 for r in records if is_retrieval_item(r)),
    }
    for k in RECALL_KS:
        metrics[f"recall@{k}"] = recall_at_k(records, k)
    metrics.update({
        "mrr": mean_reciprocal_rank(records),
        f"ndcg@{NDCG_K}": mean_ndcg(records),
        "language_accuracy": language_accuracy(records),
        "answer_text_language_accuracy": answer_text_language_accuracy(records),
        "refusal_precision": precision,
        "refusal_recall": recall,
        "refusal_f1": f1,
        "refusal_confusion": confusion,
        "citation_validity": citation_validity(records),
        "n_citations": sum(len(r.citations) for r in records),
        "grounded_rate": grounded_rate(records),
        "must_include": must_include_rate(records),
        "n_must_include_items": sum(1 for r in records
                                    if r.must_include and not r.expect_refusal),
        "latency_p50": percentile(latencies, 50),
        "latency_p95": percentile(latencies, 95),
        "latency_max": max(latencies) if latencies else None,
        "n_errors": sum(1 for r in records if r.error),
        "passed_rate": _mean([float(bool(item_checks(r)["passed"])) for r in records]),
        "fully_right": _mean([float(bool(item_checks(r)["fully_right"])) for r in records]),
        "cites_expected": _share(records, "cites_expected"),
        "quote": _share(records, "quote"),
        "partial": _share(records, "partial"),
    })
    return metrics


def _share(records: Sequence[ItemRecord], check: str) -> float | None:
    """Share of the items a check applies to that pass it."""
    verdicts = [item_checks(r)[check] for r in records]
    return _mean([float(bool(v)) for v in verdicts if v is not None])


def group_by_language(records: Sequence[ItemRecord]) -> dict[str, list[ItemRecord]]:
    groups: dict[str, list[ItemRecord]] = {}
    for r in records:
        groups.setdefault(r.lang, []).append(r)
    return dict(sorted(groups.items()))


def group_by_doc(records: Sequence[ItemRecord]) -> dict[str, list[ItemRecord]]:
    """An item counts for each document it expects; items expecting none go to NO_DOC."""
    groups: dict[str, list[ItemRecord]] = {}
    for r in records:
        for doc_id in (r.expected_doc_ids or [NO_DOC]):
            groups.setdefault(doc_id, []).append(r)
    return dict(sorted(groups.items()))


def group_by_category(records: Sequence[ItemRecord]) -> dict[str, list[ItemRecord]]:
    groups: dict[str, list[ItemRecord]] = {}
    for r in records:
        groups.setdefault(r.category or "(unlabelled)", []).append(r)
    return dict(sorted(groups.items()))


def summarize(records: Sequence[ItemRecord]) -> Summary:
    """Overall figures plus the same figures per language, per document and per category."""
    return {
        "overall": compute_metrics(records),
        "by_language": {k: compute_metrics(v) for k, v in group_by_language(records).items()},
        "by_doc": {k: compute_metrics(v) for k, v in group_by_doc(records).items()},
        "by_category": {k: compute_metrics(v) for k, v in group_by_category(records).items()},
    }


# --- refusal threshold calibration ----------------------------------------------------

@dataclass(frozen=True)
class ThresholdChoice:
    """The refusal threshold that maximises refusal F1 on a set of records.

    ``interval`` is the widest contiguous range of thresholds reaching ``f1``;
    ``threshold`` is its middle, the choice least sensitive to small score shifts.
    """

    threshold: float
    f1: float
    interval: tuple[float, float]
    n_items: int
    n_expected_refusals: int


def refused_at(record: ItemRecord, threshold: float) -> bool:
    """Whether the assistant would refuse with this threshold: when the relevance is
    below it, or for a reason no threshold changes (a rule refused it)."""
    by_rule = record.refused and record.refusal_reason not in THRESHOLD_REASONS
    return by_rule or (record.confidence is not None and record.confidence < threshold)


def refusal_f1_at(records: Sequence[ItemRecord], threshold: float) -> float | None:
    """Refusal F1 if the assistant refused as :func:`refused_at` says."""
    scored = [r for r in records if r.confidence is not None]
    tp = sum(1 for r in scored if refused_at(r, threshold) and r.expect_refusal)
    fp = sum(1 for r in scored if refused_at(r, threshold) and not r.expect_refusal)
    fn = sum(1 for r in scored if not refused_at(r, threshold) and r.expect_refusal)
    return precision_recall_f1(tp, fp, fn)[2]


def choose_refusal_threshold(records: Sequence[ItemRecord]) -> ThresholdChoice:
    """Search every distinct threshold; ties resolve to the middle of the widest best interval.

    Refusal F1 only changes when the threshold crosses an observed confidence,
    so the candidate thresholds are the intervals between sorted distinct
    confidences (extended to [0, 1], the range of the setting).
    """
    scored = [r for r in records if r.confidence is not None]
    n_pos = sum(1 for r in scored if r.expect_refusal)
    if not n_pos:
        raise ValueError("calibration needs items that expect a refusal (and a confidence)")
    values = sorted({float(r.confidence) for r in scored})  # type: ignore[arg-type]
    lo_bound, hi_bound = min(0.0, values[0]), max(1.0, values[-1])
    # Threshold t in (edges[i], edges[i+1]] refuses exactly the records with conf <= edges[i].
    edges = [lo_bound, *values, hi_bound]
    intervals: list[tuple[float, float, float]] = []  # (low, high, f1)
    for low, high in pairwise(edges):
        if high <= low:
            continue
        f1 = refusal_f1_at(scored, high) or 0.0
        intervals.append((low, high, f1))
    best = max(f1 for _, _, f1 in intervals)
    runs: list[tuple[float, float]] = []
    for low, high, f1 in intervals:
        if not math.isclose(f1, best, rel_tol=0, abs_tol=1e-12):
            continue
        if runs and math.isclose(runs[-1][1], low):
            runs[-1] = (runs[-1][0], high)
        else:
            runs.append((low, high))
    widest = max(runs, key=lambda run: run[1] - run[0])
    return ThresholdChoice(threshold=(widest[0] + widest[1]) / 2, f1=best, interval=widest,
                           n_items=len(scored), n_expected_refusals=n_pos)
