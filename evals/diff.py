"""Two runs of a test set side by side: what changed per item, and per figure by how much,
with a paired bootstrap 95 % interval on every difference.

Items are paired by id. Run A is the reference ("before"), run B the one judged
("after"); every difference is B − A. Pure functions of the records: no model needed,
so finished runs (``items.jsonl``) can be compared at any time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from evals.metrics import (
    METRICS,
    ItemRecord,
    group_by_category,
    group_by_language,
    item_checks,
    metric_terms,
)
from evals.stats import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, paired_delta

if TYPE_CHECKING:
    from evals.runner import EvalRun

#: Per-item statuses, in the order a reader wants them.
STATUSES: dict[str, str] = {
    "newly_failing": "Newly failing (fully right in A, not in B)",
    "newly_passing": "Newly passing (not fully right in A, fully right in B)",
    "checks_changed": "Verdict unchanged, but a check changed",
    "changed": "Same verdicts, different answer, citations or retrieval",
    "unchanged": "Unchanged",
}
#: Checks compared per item ("fully_right" and "passed" are summaries of these).
COMPARED_CHECKS = ("hit@1", "hit@3", "hit@5", "language", "refusal", "citations_valid",
                   "cites_expected", "must_include", "quote", "partial")
#: What must be equal for an item to be the same test in both runs.
DEFINITION = ("lang", "question", "history", "expected_doc_ids", "expect_refusal",
              "must_include", "expect_partial", "expected_quote")
#: Ranked documents compared for "retrieval changed".
RETRIEVAL_DEPTH = 5


#: Settings that say where things are or how the server runs, not how answers are made;
#: they differ between machines and are left out of "settings that differ" (the corpus
#: itself is compared by its fingerprint).
OPERATIONAL_SETTINGS = ("data_dir", "model_dir", "index_dir", "feedback_db", "chroma_url",
                        "host", "port", "concurrency", "max_queue", "max_sessions",
                        "max_conversation_turns", "embedding_threads")


def _has_spans(record: ItemRecord) -> bool:
    """Records written before citations kept their offsets have 0–0 spans."""
    return any(c.char_end for c in record.citations)


def _citation_key(record: ItemRecord, spans: bool = True) -> list[tuple[str, str, int, int]]:
    return [(c.doc_id, c.lang, c.char_start if spans else 0, c.char_end if spans else 0)
            for c in record.citations if c.doc_id]


def _side(record: ItemRecord, checks: Mapping[str, bool | None]) -> dict[str, Any]:
    return {"answer": record.answer, "error": record.error, "refused": record.refused,
            "fully_right": bool(checks["fully_right"]),
            "failed": [k for k in COMPARED_CHECKS if checks.get(k) is False],
            "cited_doc_ids": list(record.cited_doc_ids),
            "retrieved_doc_ids": list(record.retrieved_doc_ids[:RETRIEVAL_DEPTH]),
            "citations": [{"n": c.n, "doc_id": c.doc_id, "lang": c.lang,
                           "char_start": c.char_start, "char_end": c.char_end,
                           "valid": c.valid, "quoted": list(c.quoted)}
                          for c in record.citations]}


def item_change(a: ItemRecord, b: ItemRecord) -> dict[str, Any]:
    """How one item differs between run A and run B."""
    ca, cb = item_checks(a), item_checks(b)
    # Without offsets on one side (an older run), citations compare by document only.
    spans = _has_spans(a) == _has_spans(b) or not (a.citations and b.citations)
    broke = [k for k in COMPARED_CHECKS if ca.get(k) is True and cb.get(k) is False]
    fixed = [k for k in COMPARED_CHECKS if ca.get(k) is False and cb.get(k) is True]
    if b.error and not a.error:
        broke.append("error")
    if a.error and not b.error:
        fixed.append("error")
    changed = [name for name, differs in (
        ("answer", a.answer != b.answer or a.error != b.error),
        ("refused", a.refused != b.refused),
        ("citations", _citation_key(a, spans) != _citation_key(b, spans)),
        ("retrieval", a.retrieved_doc_ids[:RETRIEVAL_DEPTH]
         != b.retrieved_doc_ids[:RETRIEVAL_DEPTH])) if differs]
    right_a, right_b = bool(ca["fully_right"]), bool(cb["fully_right"])
    if right_a and not right_b:
        status = "newly_failing"
    elif right_b and not right_a:
        status = "newly_passing"
    elif broke or fixed:
        status = "checks_changed"
    elif changed:
        status = "changed"
    else:
        status = "unchanged"
    return {"id": b.id, "lang": b.lang, "category": b.category, "question": b.question,
            "history": list(b.history), "expected_doc_ids": list(b.expected_doc_ids),
            "status": status, "broke": broke, "fixed": fixed, "changed": changed,
            "definition_changed": [k for k in DEFINITION if getattr(a, k) != getattr(b, k)],
            "a": _side(a, ca), "b": _side(b, cb)}


def _verdict(name: str, delta: Mapping[str, Any]) -> str:
    if delta["delta"] is None:
        return "n/a"
    if delta["low"] is not None and delta["low"] == delta["high"] == delta["delta"] == 0:
        return "unchanged"
    if not delta["significant"]:
        return "not significant"
    better = (delta["delta"] > 0) == METRICS[name].higher_is_better
    return "better" if better else "worse"


def metric_deltas(a: Sequence[ItemRecord], b: Sequence[ItemRecord], *,
                  resamples: int = BOOTSTRAP_RESAMPLES,
                  seed: int = BOOTSTRAP_SEED) -> dict[str, dict[str, Any]]:
    """Per figure of :data:`METRICS`: A, B, B − A and its paired bootstrap 95 % interval.
    ``a`` and ``b`` are the same items in the same order."""
    terms_a, terms_b = metric_terms(a), metric_terms(b)
    out: dict[str, dict[str, Any]] = {}
    for name in METRICS:
        delta = paired_delta(terms_a[name], terms_b[name], resamples, seed).to_dict()
        delta["verdict"] = _verdict(name, delta)
        out[name] = delta
    return out


def _run_meta(run: EvalRun) -> dict[str, Any]:
    meta = run.meta
    return {"label": run.label, "path": meta.get("path", ""),
            "questions": meta.get("questions", ""), "started_at": meta.get("started_at", ""),
            "n_items": len(run.records), "code_version": meta.get("code_version", ""),
            "corpus_fingerprint": meta.get("corpus_fingerprint", ""),
            "format": meta.get("format", 1),
            "settings": dict(meta.get("settings", {}))}


def diff_records(a: Sequence[ItemRecord], b: Sequence[ItemRecord], *,
                 meta_a: Mapping[str, Any] | None = None, meta_b: Mapping[str, Any] | None = None,
                 resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
                 ) -> dict[str, Any]:
    """The comparison of two runs' records (A = before, B = after) as plain JSON data."""
    by_id_a = {r.id: r for r in a}
    by_id_b = {r.id: r for r in b}
    common = sorted(set(by_id_a) & set(by_id_b))
    paired_a = [by_id_a[i] for i in common]
    paired_b = [by_id_b[i] for i in common]
    changes = [item_change(x, y) for x, y in zip(paired_a, paired_b, strict=True)]
    counts = {status: sum(1 for c in changes if c["status"] == status) for status in STATUSES}

    def subset(keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        wanted = set(keys)
        return metric_deltas([r for r in paired_a if r.id in wanted],
                             [r for r in paired_b if r.id in wanted],
                             resamples=resamples, seed=seed)

    meta_a = dict(meta_a or {})
    meta_b = dict(meta_b or {})
    settings_a = dict(meta_a.get("settings", {}))
    settings_b = dict(meta_b.get("settings", {}))
    # A setting one run did not record is unknown there, not different.
    settings_changed = {k: [settings_a[k], settings_b[k]]
                        for k in sorted(set(settings_a) & set(settings_b))
                        if k not in OPERATIONAL_SETTINGS and settings_a[k] != settings_b[k]}
    metrics = subset(common)
    regressions = [name for name, d in metrics.items()
                   if d["verdict"] == "worse" and METRICS[name].quality]
    improvements = [name for name, d in metrics.items()
                    if d["verdict"] == "better" and METRICS[name].quality]
    warnings = []
    definition = [c["id"] for c in changes if c["definition_changed"]]
    if definition:
        warnings.append(f"{len(definition)} item(s) have the same id but a different question "
                        f"or expectations in the two runs (compared anyway): "
                        f"{', '.join(definition[:10])}{' …' if len(definition) > 10 else ''}")
    only_a = [r.id for r in a if r.id not in by_id_b]
    only_b = [r.id for r in b if r.id not in by_id_a]
    if only_a or only_b:
        warnings.append(f"only the {len(common)} items in both runs are compared "
                        f"({len(only_a)} only in A, {len(only_b)} only in B)")
    if meta_a.get("format", 1) != meta_b.get("format", 1):
        warnings.append("the runs were written by different versions of the runner (record "
                        f"format {meta_a.get('format', 1)} and {meta_b.get('format', 1)}): "
                        "figures are recomputed with today's definitions, but what an older "
                        "run did not record (citation offsets, quoted sentences) is missing "
                        "from it, so citations compare by document and quote precision "
                        "counts whole citations there")
    for key in ("corpus_fingerprint", "code_version"):
        if meta_a.get(key) and meta_b.get(key) and meta_a[key] != meta_b[key]:
            warnings.append(f"{key.replace('_', ' ')} differs: {meta_a[key]} → {meta_b[key]}")
    return {
        "a": meta_a, "b": meta_b,
        "n_paired": len(common), "only_a": only_a, "only_b": only_b,
        "settings_changed": settings_changed,
        "bootstrap": {"resamples": resamples, "seed": seed, "confidence": 0.95,
                      "paired": True},
        "metrics": metrics,
        "by_language": {lang: subset([r.id for r in recs])
                        for lang, recs in group_by_language(paired_b).items()},
        "by_category": {cat: subset([r.id for r in recs])
                        for cat, recs in group_by_category(paired_b).items()},
        "counts": counts,
        "items": [c for c in changes if c["status"] != "unchanged"],
        "unchanged_ids": [c["id"] for c in changes if c["status"] == "unchanged"],
        "regressions": regressions,
        "improvements": improvements,
        "warnings": warnings,
        "verdict": verdict_text(counts, regressions, improvements, metrics),
    }


def diff_runs(a: EvalRun, b: EvalRun, *, resamples: int = BOOTSTRAP_RESAMPLES,
              seed: int = BOOTSTRAP_SEED) -> dict[str, Any]:
    """Compare two runs (A = before, B = after); see :func:`diff_records`."""
    return diff_records(a.records, b.records, meta_a=_run_meta(a), meta_b=_run_meta(b),
                        resamples=resamples, seed=seed)


def verdict_text(counts: Mapping[str, int], regressions: Sequence[str],
                 improvements: Sequence[str], metrics: Mapping[str, Mapping[str, Any]]) -> str:
    """One sentence a reader can act on."""
    moved = {k: v for k, v in counts.items() if k != "unchanged" and v}
    if not moved and not regressions and not improvements:
        return "No change: every paired item has the same answer, citations and verdicts."
    parts = []
    if regressions:
        parts.append("significantly worse: " + ", ".join(
            f"{METRICS[n].label} ({metrics[n]['delta']:+.3f})" for n in regressions))
    if improvements:
        parts.append("significantly better: " + ", ".join(
            f"{METRICS[n].label} ({metrics[n]['delta']:+.3f})" for n in improvements))
    if not regressions and not improvements:
        parts.append("no figure changed significantly")
    parts.append(f"{counts['newly_failing']} newly failing, {counts['newly_passing']} newly "
                 f"passing, {counts['checks_changed']} with a changed check, "
                 f"{counts['changed']} otherwise changed")
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]
