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

import json
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from itertools import pairwise
from typing import Any

from evals.stats import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    Terms,
    interval,
    percentile_terms,
    ratio_terms,
)

#: Retrieval cut-offs reported for recall.
RECALL_KS = (1, 3, 5)
NDCG_K = 10
#: Group name for items that expect no document (out of scope, injections).
NO_DOC = "(none)"
#: Group name for items without a category (or without a value for a breakdown key).
UNLABELLED = "(unlabelled)"

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
    # Where the citation stands: the quoted passage and its document offsets.
    text: str = ""
    char_start: int = 0
    char_end: int = 0
    title: str = ""
    section: str = ""
    # Document offsets of the sentences the answer quotes from the passage, and those
    # sentences as the corpus has them at those offsets.
    highlights: list[list[int]] = field(default_factory=list)
    quoted: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CitationCheck:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def quoted_units(self) -> list[str]:
        """The sentences this citation quotes; a citation without sentence offsets counts as
        one quoted unit, its passage."""
        if not self.doc_id:
            return []  # a marker without a citation quotes nothing
        return list(self.quoted) or [self.text]


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
    tags: list[str] = field(default_factory=list)
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
        values["citations"] = [c if isinstance(c, CitationCheck) else CitationCheck.from_dict(c)
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
    """expected_quote verdict: the answer (not a refusal) quotes one of the expected
    sentences, in its text or as a sentence its citations mark as quoted. Compared after
    Unicode normalisation, case folding and collapsing white space."""
    if record.refused:
        return False
    answer = _spaced(record.answer)
    quoted = [_spaced(s) for c in record.citations for s in c.quoted]
    return any(_spaced(q) in answer or any(_spaced(q) in s for s in quoted)
               for q in record.expected_quote)


def quoted_sentences(record: ItemRecord) -> list[tuple[str, str]]:
    """(document, sentence) for every sentence the answer's citations quote."""
    return [(c.doc_id, unit) for c in record.citations for unit in c.quoted_units()]


def quote_precision_terms(record: ItemRecord) -> tuple[int, int]:
    """(quoted sentences from an expected document, quoted sentences) of an answer to an
    item that expects documents; (0, 0) where the figure does not apply (refusals, refusal
    items, errors)."""
    if not is_retrieval_item(record) or record.refused or record.error:
        return 0, 0
    quoted = quoted_sentences(record)
    return sum(1 for doc_id, _ in quoted if doc_id in record.expected_doc_ids), len(quoted)


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


def quote_precision(records: Sequence[ItemRecord]) -> float | None:
    """Quoted sentences from an expected document / all quoted sentences, over the answers
    (not refusals) to items that expect documents."""
    pairs = [quote_precision_terms(r) for r in records]
    total = sum(den for _, den in pairs)
    return sum(num for num, _ in pairs) / total if total else None


def compute_metrics(records: Sequence[ItemRecord], *, intervals: bool = False,
                    resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> Metrics:
    """Every headline figure for one group of records, as a flat mapping.

    With ``intervals`` the mapping also has ``ci``: per figure of :data:`METRICS` its
    value, n and 95 % interval (:func:`metric_intervals`)."""
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
        "quote_precision": quote_precision(records),
        "n_quoted_sentences": sum(quote_precision_terms(r)[1] for r in records),
    })
    if intervals:
        metrics["ci"] = metric_intervals(records, resamples=resamples, seed=seed)
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
        groups.setdefault(r.category or UNLABELLED, []).append(r)
    return dict(sorted(groups.items()))


def group_by_language_category(records: Sequence[ItemRecord]
                               ) -> dict[str, dict[str, list[ItemRecord]]]:
    """language → category → records."""
    return {lang: group_by_category(recs) for lang, recs in group_by_language(records).items()}


def group_by_tag(records: Sequence[ItemRecord]) -> dict[str, list[ItemRecord]]:
    """An item counts for each of its tags; items without tags are left out."""
    groups: dict[str, list[ItemRecord]] = {}
    for r in records:
        for tag in r.tags:
            groups.setdefault(tag, []).append(r)
    return dict(sorted(groups.items()))


def group_by_key(records: Sequence[ItemRecord], key: str) -> dict[str, list[ItemRecord]]:
    """Records grouped by the value of one of the set's own keys (``extra``). A list value
    puts the item in each of its groups; a missing or empty value is :data:`UNLABELLED`."""
    groups: dict[str, list[ItemRecord]] = {}
    for r in records:
        value = r.extra.get(key)
        labels = value if isinstance(value, list) else [value]
        labels = [_label(v) for v in labels if v not in (None, "")] or [UNLABELLED]
        for label in dict.fromkeys(labels):
            groups.setdefault(label, []).append(r)
    return dict(sorted(groups.items()))


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return f"{value:g}"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def summarize(records: Sequence[ItemRecord], *, by_keys: Sequence[str] = (),
              intervals: bool = True, resamples: int = BOOTSTRAP_RESAMPLES,
              seed: int = BOOTSTRAP_SEED) -> Summary:
    """Overall figures plus the same figures per language, per document, per category, per
    language × category, per tag and per value of each own key in ``by_keys``.

    Every group's figures carry ``ci`` (value, n, 95 % interval) unless ``intervals`` is
    false."""
    def figures(group: Sequence[ItemRecord]) -> Metrics:
        return compute_metrics(group, intervals=intervals, resamples=resamples, seed=seed)

    summary: Summary = {
        "overall": figures(records),
        "by_language": {k: figures(v) for k, v in group_by_language(records).items()},
        "by_doc": {k: figures(v) for k, v in group_by_doc(records).items()},
        "by_category": {k: figures(v) for k, v in group_by_category(records).items()},
        "by_language_category": {lang: {cat: figures(v) for cat, v in cats.items()}
                                 for lang, cats in group_by_language_category(records).items()},
        "by_tag": {k: figures(v) for k, v in group_by_tag(records).items()},
        "by_key": {key: {k: figures(v) for k, v in group_by_key(records, key).items()}
                   for key in by_keys},
        "intervals": {"confidence": 0.95, "resamples": resamples, "seed": seed}
        if intervals else None,
    }
    return summary


# --- figures with their uncertainty ---------------------------------------------------


@dataclass(frozen=True)
class MetricSpec:
    """A headline figure: how it is labelled, what its n counts, which way is better."""

    label: str
    unit: str = "items"
    higher_is_better: bool = True
    # Timing depends on the machine and its load, not only on the answers.
    quality: bool = True
    # A share of items (each item one trial that succeeds or not): a Wilson interval.
    # Otherwise (means, ratios over citations or sentences, F1, percentiles) a bootstrap.
    share: bool = True


#: Every figure that has per-item terms, in reading order (the headline first).
METRICS: dict[str, MetricSpec] = {
    "fully_right": MetricSpec("Fully right"),
    **{f"recall@{k}": MetricSpec(f"Retrieval recall@{k}", "retrieval items")
       for k in RECALL_KS},
    "mrr": MetricSpec("Mean reciprocal rank", "retrieval items", share=False),
    f"ndcg@{NDCG_K}": MetricSpec(f"nDCG@{NDCG_K}", "retrieval items", share=False),
    "language_accuracy": MetricSpec("Answer-language accuracy"),
    "answer_text_language_accuracy": MetricSpec("Answer-text language accuracy (detector)",
                                                "answers judged"),
    "refusal_precision": MetricSpec("Refusal precision", "refused items"),
    "refusal_recall": MetricSpec("Refusal recall", "items expecting a refusal"),
    "refusal_f1": MetricSpec("Refusal F1", "items refused or expecting a refusal",
                             share=False),
    "citation_validity": MetricSpec("Citation validity", "citations", share=False),
    "grounded_rate": MetricSpec("Answers with a valid citation", "answers"),
    "cites_expected": MetricSpec("Answers citing an expected document", "answers"),
    "must_include": MetricSpec("must_include rate", "items with must_include"),
    "quote": MetricSpec("expected_quote rate", "items with expected_quote"),
    "quote_precision": MetricSpec("Quote precision", "quoted sentences", share=False),
    "partial": MetricSpec("Partial answers saying what is missing", "items expecting it"),
    "passed_rate": MetricSpec("Items passing every gate check"),
    "latency_p50": MetricSpec("Latency p50", "answered items", higher_is_better=False,
                              quality=False, share=False),
    "latency_p95": MetricSpec("Latency p95", "answered items", higher_is_better=False,
                              quality=False, share=False),
}


def _pair(condition: bool, value: float, den: float = 1.0) -> tuple[float, float]:
    return (float(value), den) if condition else (0.0, 0.0)


def item_terms(record: ItemRecord) -> dict[str, tuple[float, float] | float | None]:
    """Each figure's (numerator, denominator) for one item; latency is the item's seconds
    (None for an error). A figure is Σ numerators / Σ denominators over its items, which is
    what the functions above compute, so intervals and point values agree."""
    checks = item_checks(record)
    retrieval = is_retrieval_item(record)
    rank = first_relevant_rank(record.retrieved_doc_ids, record.expected_doc_ids)
    tp = record.refused and record.expect_refusal
    fp = record.refused and not record.expect_refusal
    fn = not record.refused and record.expect_refusal
    judged = bool(record.answer_text_language and record.answer.strip())
    valid = sum(1 for c in record.citations if c.valid)
    terms: dict[str, tuple[float, float] | float | None] = {
        "fully_right": (float(bool(checks["fully_right"])), 1.0),
        **{f"recall@{k}": _pair(retrieval, rank is not None and rank <= k) for k in RECALL_KS},
        "mrr": _pair(retrieval, 0.0 if rank is None else 1.0 / rank),
        f"ndcg@{NDCG_K}": _pair(retrieval, ndcg(record.retrieved_doc_ids,
                                                record.expected_doc_ids) if retrieval else 0.0),
        "language_accuracy": (float(record.detected_language == record.lang), 1.0),
        "answer_text_language_accuracy": _pair(judged,
                                               record.answer_text_language == record.lang),
        "refusal_precision": _pair(record.refused, tp),
        "refusal_recall": _pair(record.expect_refusal, tp),
        "refusal_f1": (2.0 * tp, 2.0 * tp + fp + fn),
        "citation_validity": (float(valid), float(len(record.citations))),
        "grounded_rate": _pair(not record.refused and not record.error, valid > 0),
        "passed_rate": (float(bool(checks["passed"])), 1.0),
        "quote_precision": tuple(float(x) for x in quote_precision_terms(record)),
        "latency_p50": None if record.error else record.latency,
        "latency_p95": None if record.error else record.latency,
    }
    for name in ("cites_expected", "must_include", "quote", "partial"):
        verdict = checks[name]
        terms[name] = _pair(verdict is not None, bool(verdict))
    return terms


def metric_terms(records: Sequence[ItemRecord]) -> dict[str, Terms]:
    """Per-figure terms over ``records`` (in the given order), for intervals and deltas."""
    rows = [item_terms(r) for r in records]
    out: dict[str, Terms] = {}
    for name in METRICS:
        if name.startswith("latency_p"):
            out[name] = percentile_terms([row[name] for row in rows],  # type: ignore[misc]
                                         float(name.removeprefix("latency_p")))
        else:
            out[name] = ratio_terms([row[name] for row in rows])  # type: ignore[misc]
    return out


def metric_intervals(records: Sequence[ItemRecord], *, resamples: int = BOOTSTRAP_RESAMPLES,
                     seed: int = BOOTSTRAP_SEED) -> dict[str, dict[str, Any]]:
    """Per figure: value, n, 95 % interval and its method (Wilson or bootstrap).

    Records are put in id order first, so the intervals do not depend on the order of the
    set's lines."""
    ordered = sorted(records, key=lambda r: r.id)
    return {name: interval(terms, resamples, seed, share=METRICS[name].share).to_dict()
            for name, terms in metric_terms(ordered).items()}


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
