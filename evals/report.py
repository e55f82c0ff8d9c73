"""Human-readable views of an evaluation: console text, summary.md and report.html, and the
same three for a comparison of two runs.

The HTML pages are single files that open from disk with no network: charts are PNGs
embedded as data URIs, the style and the small filter script are inline, nothing is
fetched. Without the script (a mail client, a strict viewer) every item is still shown.
Only presentation lives here; every figure comes from ``evals.metrics`` and
``evals.diff``.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from evals.diff import COMPARED_CHECKS, STATUSES
from evals.metrics import (
    METRICS,
    NDCG_K,
    NO_DOC,
    RECALL_KS,
    ItemRecord,
    compute_metrics,
    group_by_doc,
    group_by_language,
    includes_all_groups,
    item_checks,
)

if TYPE_CHECKING:
    from evals.runner import EvalRun

#: Headline metrics, in reading order ("fully right" first), with their labels.
HEADLINE: dict[str, str] = {name: spec.label for name, spec in METRICS.items()}

#: Columns of the breakdown tables.
BREAKDOWN: dict[str, str] = {
    "n_items": "n", "fully_right": "fully right", "recall@1": "R@1", "recall@3": "R@3",
    "mrr": "MRR", f"ndcg@{NDCG_K}": f"nDCG@{NDCG_K}", "language_accuracy": "lang",
    "refusal_precision": "ref P", "refusal_recall": "ref R", "citation_validity": "cit",
    "cites_expected": "cites exp", "must_include": "incl", "quote": "quote",
    "quote_precision": "quote prec", "partial": "partial", "latency_p50": "p50",
}
#: Breakdown columns shown with their interval in Markdown and the console.
BREAKDOWN_CI = ("fully_right",)

#: Columns of the baseline comparison: (metric, language or None for all items).
COMPARE: list[tuple[str, str | None]] = [
    ("fully_right", None), ("recall@1", None), ("recall@3", None), ("recall@3", "sv"),
    ("recall@3", "fi"), ("mrr", None), ("mrr", "fi"), (f"ndcg@{NDCG_K}", None),
    (f"ndcg@{NDCG_K}", "fi"), ("must_include", None), ("refusal_f1", None),
    ("latency_p50", None),
]

#: Figures shown per language and per category in a comparison.
DIFF_BREAKDOWN = ("fully_right", "recall@3", "must_include", "refusal_f1", "cites_expected")

#: Per-item check names as a reader sees them.
CHECK_LABELS: dict[str, str] = {
    "hit@1": "expected document ranked 1st", "hit@3": "expected document in top 3",
    "hit@5": "expected document in top 5", "language": "answer in the question's language",
    "refusal": "refuses exactly when it should", "citations_valid": "citations verbatim",
    "cites_expected": "cites an expected document", "must_include": "must_include",
    "quote": "expected_quote", "partial": "says what the sources lack",
    "passed": "every gate check", "fully_right": "fully right", "error": "no error",
}


def fmt(name: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if name.startswith("latency"):
        return f"{value * 1000:.0f} ms"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def fmt_interval(name: str, ci: Mapping[str, Any] | None) -> str:
    """"[0.756, 0.875]" (latency: "[30, 41] ms"); "" when there is none."""
    if not ci or ci.get("low") is None:
        return ""
    if name.startswith("latency"):
        return f"[{ci['low'] * 1000:.0f}, {ci['high'] * 1000:.0f}] ms"
    return f"[{ci['low']:.3f}, {ci['high']:.3f}]"


def fmt_n(name: str, ci: Mapping[str, Any] | None) -> str:
    """What a figure is computed over: "158", "140 retrieval items", "312 citations in 150
    items"."""
    if not ci:
        return ""
    unit = METRICS[name].unit if name in METRICS else "items"
    n = ci.get("n", 0)
    if unit in ("citations", "quoted sentences"):
        return f"{ci.get('units', 0):.0f} {unit} in {n} items"
    return str(n) if unit == "items" else f"{n} {unit}"


def fmt_delta(name: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if name.startswith("latency"):
        return f"{value * 1000:+.0f} ms"
    return f"{value:+.3f}"


def fmt_delta_interval(name: str, d: Mapping[str, Any]) -> str:
    if d.get("low") is None:
        return ""
    if name.startswith("latency"):
        return f"[{d['low'] * 1000:+.0f}, {d['high'] * 1000:+.0f}] ms"
    return f"[{d['low']:+.3f}, {d['high']:+.3f}]"


def _compare_value(run: EvalRun, metric: str, lang: str | None) -> Any:
    if lang is None:
        return run.summary["overall"].get(metric)
    return run.summary["by_language"].get(lang, {}).get(metric)


def _compare_header(metric: str, lang: str | None) -> str:
    return f"{metric} ({lang})" if lang else metric


def failed_checks(record: ItemRecord) -> list[str]:
    """The checks an item fails ("passed" and "fully_right" summarise these, so are left out)."""
    checks = record.checks or item_checks(record)
    names = [name for name, ok in checks.items()
             if ok is False and name not in ("passed", "fully_right")]
    if record.error:
        names.append("error")
    return names


def _failing(records: Sequence[ItemRecord]) -> list[ItemRecord]:
    return [r for r in records if not (r.checks or item_checks(r)).get("fully_right")
            or not (r.checks or item_checks(r)).get("passed")]


def outcome(record: ItemRecord) -> str:
    """"error", "pass" (fully right) or "fail"."""
    if record.error:
        return "error"
    return "pass" if (record.checks or item_checks(record)).get("fully_right") else "fail"


# --- Markdown & console -------------------------------------------------------------------

def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    """Table-safe: no pipes or newlines, and no raw HTML from answers."""
    return (" ".join(text.split()).replace("|", "\\|").replace("<", "&lt;")
            .replace(">", "&gt;"))


HEADLINE_HEADER = ["metric", "value", "95% interval", "n", "minimum", ""]


def headline_rows(overall: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[list[str]]:
    """metric, value, 95 % interval, n, minimum, verdict."""
    ci = overall.get("ci") or {}
    rows = []
    for name, label in HEADLINE.items():
        minimum = thresholds.get(name)
        value = overall.get(name)
        verdict = ""
        if minimum is not None:
            verdict = "ok" if value is not None and value >= minimum - 1e-9 else "FAIL"
        rows.append([label, fmt(name, value), fmt_interval(name, ci.get(name)),
                     fmt_n(name, ci.get(name)),
                     "" if minimum is None else f"≥ {minimum:.2f}", verdict])
    return rows


def _cell(name: str, metrics: Mapping[str, Any], with_ci: bool) -> str:
    value = fmt(name, metrics.get(name))
    interval = fmt_interval(name, (metrics.get("ci") or {}).get(name)) if with_ci else ""
    return f"{value} {interval}" if interval else value


def breakdown_rows(groups: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    return [[key, *(_cell(m, metrics, m in BREAKDOWN_CI) for m in BREAKDOWN)]
            for key, metrics in groups.items()]


def language_category_rows(table: Mapping[str, Mapping[str, Mapping[str, Any]]]
                           ) -> list[list[str]]:
    return [[lang, cat, *(_cell(m, metrics, m in BREAKDOWN_CI) for m in BREAKDOWN)]
            for lang, cats in table.items() for cat, metrics in cats.items()]


def compare_rows(compare: Mapping[str, EvalRun]) -> list[list[str]]:
    return [[name, *(fmt(m, _compare_value(run, m, lang)) for m, lang in COMPARE)]
            for name, run in compare.items()]


def _headline_sentence(overall: Mapping[str, Any]) -> str:
    ci = (overall.get("ci") or {}).get("fully_right")
    value = fmt("fully_right", overall.get("fully_right"))
    if not ci or ci.get("low") is None:
        return f"Fully right: {value} (n = {overall.get('n_items', 0)})"
    return (f"Fully right: {value}, 95% interval {fmt_interval('fully_right', ci)} "
            f"({ci['method']}), n = {ci['n']} items")


def _breakdowns(s: Mapping[str, Any]) -> list[tuple[str, str, Mapping[str, Any]]]:
    """(title, first column, groups) of every breakdown table with content."""
    out = [("By language", "lang", s["by_language"]),
           ("By category", "category", s["by_category"]),
           ("By expected document", "document", s["by_doc"])]
    if s.get("by_tag"):
        out.append(("By tag", "tag", s["by_tag"]))
    for key, groups in (s.get("by_key") or {}).items():
        out.append((f"By own key `{key}`", key, groups))
    return out


def render_markdown(run: EvalRun, compare: Mapping[str, EvalRun] | None,
                    thresholds: Mapping[str, float], failures: Sequence[str],
                    calibration: Mapping[str, Any] | None = None,
                    comparison: Mapping[str, Any] | None = None) -> str:
    s = run.summary
    meta = run.meta
    settings = meta.get("settings", {})
    parts = [
        f"# Answer evaluation: {run.label}",
        "",
        f"- test set: `{meta.get('questions', '?')}` ({meta.get('n_items', len(run.records))} "
        f"items), run {meta.get('started_at', '?')} in {meta.get('duration_s', '?')} s",
        f"- retrieval `{settings.get('retrieval_mode', '?')}`, embeddings "
        f"`{settings.get('embedding_model', '?')}`, answers `{settings.get('answer_mode', '?')}`"
        + (f", code `{meta['code_version']}`" if meta.get("code_version") else ""),
        f"- refusal confusion (positive = refused): {s['overall']['refusal_confusion']}; "
        f"errors: {s['overall']['n_errors']}",
        *(f"- **note:** {w}" for w in meta.get("warnings", [])),
        "",
        f"**{_headline_sentence(s['overall'])}**",
        "",
        "## Headline",
        "",
        _md_table(HEADLINE_HEADER, headline_rows(s["overall"], thresholds)),
        "",
        "Intervals: Wilson for shares of items, percentile bootstrap over items "
        f"({_bootstrap_text(s)}) otherwise; see evals/README.md.",
        "",
        ("**Gate: passed.**" if not failures else
         "**Gate: FAILED** — " + "; ".join(failures)) if thresholds else "No thresholds given.",
        "",
    ]
    if comparison:
        parts += [_diff_markdown_body(comparison, level=2), ""]
    for title, first, groups in _breakdowns(s):
        parts += [f"## {title}", "", _md_table([first, *BREAKDOWN.values()],
                                               breakdown_rows(groups)), ""]
    parts += ["## By language × category", "",
              _md_table(["lang", "category", *BREAKDOWN.values()],
                        language_category_rows(s.get("by_language_category", {}))), ""]
    if compare:
        parts += ["## Baselines", "",
                  _md_table(["baseline", *(_compare_header(m, lang) for m, lang in COMPARE)],
                            compare_rows(compare)), ""]
    if calibration:
        parts += ["## Refusal threshold calibration", "", _calibration_text(calibration), ""]
    failing = _failing(run.records)
    parts += [f"## Items not fully right or failing a gate check ({len(failing)})", ""]
    if failing:
        own = any(r.extra for r in failing)
        parts.append(_md_table(
            ["id", "lang", "category", "failed", "question", "retrieved", "answer",
             *(["own keys"] if own else [])],
            [[r.id, r.lang, r.category, ", ".join(failed_checks(r)), _clip(r.question, 90),
              " ".join(r.retrieved_doc_ids[:3]), _clip(r.error or r.answer, 140),
              *([_clip(_own_keys_text(r.extra), 120)] if own else [])]
             for r in failing]))
    return "\n".join(parts) + "\n"


def _own_keys_text(extra: Mapping[str, Any]) -> str:
    return "; ".join(f"{k}: {v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
                     for k, v in extra.items())


def _bootstrap_text(summary: Mapping[str, Any]) -> str:
    info = summary.get("intervals") or {}
    return (f"{info.get('resamples', '?')} resamples, seed {info.get('seed', '?')}"
            if info else "not computed")


def _calibration_text(calibration: Mapping[str, Any]) -> str:
    lo, hi = calibration["interval"]
    text = (f"Refusal F1 is highest ({calibration['f1']:.3f}) for thresholds in ({lo}, {hi}]; "
            f"the middle, **{calibration['threshold']}**, is the calibrated value "
            f"(`VISIO_REFUSAL_THRESHOLD={calibration['threshold']}`), from "
            f"{calibration['n_items']} items of which {calibration['n_expected_refusals']} "
            "expect a refusal.")
    held = calibration.get("held_out") or {}
    if held:
        text += " Fitted on one language and scored on the other: " + "; ".join(
            f"{k}: threshold {v['threshold']}, F1 {fmt('f1', v['f1'])}" for k, v in held.items())
    return text


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def render_console(run: EvalRun, compare: Mapping[str, EvalRun] | None,
                   thresholds: Mapping[str, float],
                   calibration: Mapping[str, Any] | None = None) -> str:
    """A compact plain-text view for the terminal (the Markdown tables read fine there)."""
    s = run.summary
    columns = ["n_items", "fully_right", "recall@3", "mrr", "language_accuracy",
               "refusal_precision", "refusal_recall", "cites_expected", "must_include",
               "quote", "latency_p50"]

    def rows(groups: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
        return [[key, *(_cell(m, g, m in BREAKDOWN_CI) for m in columns)]
                for key, g in groups.items()]

    parts = [f"{run.label}: {len(run.records)} items",
             *(f"note: {w}" for w in run.meta.get("warnings", [])),
             _headline_sentence(s["overall"]), "",
             _md_table(HEADLINE_HEADER, headline_rows(s["overall"], thresholds)),
             "",
             _md_table(["lang", *(BREAKDOWN[m] for m in columns)], rows(s["by_language"])),
             "",
             _md_table(["category", *(BREAKDOWN[m] for m in columns)], rows(s["by_category"]))]
    if compare:
        parts += ["", _md_table(["baseline", *(_compare_header(m, lang) for m, lang in COMPARE)],
                                compare_rows(compare))]
    if calibration:
        parts += ["", _calibration_text(calibration)]
    failing = [r for r in run.records if outcome(r) != "pass"]
    if failing:
        parts += ["", f"{len(failing)} item(s) not fully right: "
                  + ", ".join(f"{r.id} ({', '.join(failed_checks(r))})" for r in failing[:25])
                  + (" …" if len(failing) > 25 else "")]
    return "\n".join(parts)


# --- comparison of two runs: Markdown & console ---------------------------------------------

def diff_rows(metrics: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    """metric, A, B, B − A, 95 % interval, n, verdict."""
    return [[METRICS[name].label, fmt(name, d["a"]), fmt(name, d["b"]),
             fmt_delta(name, d["delta"]), fmt_delta_interval(name, d), str(d["n"]),
             d["verdict"] + ("" if METRICS[name].quality else " (timing)")]
            for name, d in metrics.items()]


DIFF_HEADER = ["metric", "A", "B", "B − A", "95% interval (paired)", "n", "verdict"]


def _diff_group_rows(groups: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[list[str]]:
    return [[key, *(f"{fmt_delta(m, g[m]['delta'])} {fmt_delta_interval(m, g[m])}"
                    + (" *" if g[m]["significant"] else "") for m in DIFF_BREAKDOWN)]
            for key, g in groups.items()]


def _run_line(side: Mapping[str, Any]) -> str:
    bits = [f"`{side.get('path') or side.get('label', '?')}`",
            f"{side.get('n_items', '?')} items"]
    if side.get("started_at"):
        bits.append(f"run {side['started_at']}")
    if side.get("code_version"):
        bits.append(f"code {side['code_version']}")
    return ", ".join(bits)


def _change_text(change: Mapping[str, Any]) -> str:
    bits = []
    if change["broke"]:
        bits.append("broke: " + ", ".join(change["broke"]))
    if change["fixed"]:
        bits.append("fixed: " + ", ".join(change["fixed"]))
    if change["changed"]:
        bits.append("changed: " + ", ".join(change["changed"]))
    return "; ".join(bits)


def _diff_markdown_body(d: Mapping[str, Any], level: int = 1) -> str:
    h = "#" * level
    parts = [f"{h} Comparison with an earlier run" if level > 1 else "# Comparison of two runs",
             "", f"- A (before): {_run_line(d['a'])}", f"- B (after): {_run_line(d['b'])}",
             f"- paired items: {d['n_paired']}",
             *(f"- **note:** {w}" for w in d["warnings"]), "", f"**{d['verdict']}**", ""]
    if d["settings_changed"]:
        parts += [f"{h}# Settings that differ", "",
                  _md_table(["setting", "A", "B"], [[k, str(a), str(b)] for k, (a, b)
                                                    in d["settings_changed"].items()]), ""]
    parts += [f"{h}# Figures, B − A", "", _md_table(DIFF_HEADER, diff_rows(d["metrics"])), "",
              "Intervals: paired bootstrap over the items of both runs "
              f"({d['bootstrap']['resamples']} resamples, seed {d['bootstrap']['seed']}); "
              "a difference is significant when its interval excludes 0. Each figure is "
              "tested on its own (no correction for testing many): read `fully right` "
              "first.", ""]
    header = ["", *(METRICS[m].label for m in DIFF_BREAKDOWN)]
    parts += [f"{h}# By language (B − A, * = significant)", "",
              _md_table(["lang", *header[1:]], _diff_group_rows(d["by_language"])), "",
              f"{h}# By category (B − A, * = significant)", "",
              _md_table(["category", *header[1:]], _diff_group_rows(d["by_category"])), ""]
    parts += [f"{h}# Items", "", ", ".join(f"{STATUSES[k].split(' (')[0].lower()}: {n}"
                                          for k, n in d["counts"].items()), ""]
    for status in ("newly_failing", "newly_passing", "checks_changed", "changed"):
        changes = [c for c in d["items"] if c["status"] == status]
        if not changes:
            continue
        parts += [f"{h}## {STATUSES[status]} ({len(changes)})", "",
                  _md_table(["id", "lang", "category", "what", "question", "answer A",
                             "answer B"],
                            [[c["id"], c["lang"], c["category"], _change_text(c),
                              _clip(c["question"], 80),
                              _clip(c["a"]["error"] or c["a"]["answer"], 100),
                              _clip(c["b"]["error"] or c["b"]["answer"], 100)]
                             for c in changes]), ""]
    if d["only_a"] or d["only_b"]:
        parts += [f"Only in A: {', '.join(d['only_a']) or '—'}",
                  f"Only in B: {', '.join(d['only_b']) or '—'}", ""]
    return "\n".join(parts)


def render_diff_markdown(comparison: Mapping[str, Any]) -> str:
    return _diff_markdown_body(comparison) + "\n"


def render_diff_console(comparison: Mapping[str, Any]) -> str:
    d = comparison
    parts = [f"A (before): {_run_line(d['a'])}".replace("`", ""),
             f"B (after):  {_run_line(d['b'])}".replace("`", ""),
             *(f"note: {w}" for w in d["warnings"]),
             d["verdict"], ""]
    if d["settings_changed"]:
        parts += ["settings that differ: " + "; ".join(
            f"{k}: {a} → {b}" for k, (a, b) in d["settings_changed"].items()), ""]
    parts += [_md_table(DIFF_HEADER, diff_rows(d["metrics"])), ""]
    for status in ("newly_failing", "newly_passing", "checks_changed", "changed"):
        changes = [c for c in d["items"] if c["status"] == status]
        if changes:
            parts.append(f"{STATUSES[status]} ({len(changes)}): " + ", ".join(
                f"{c['id']} ({_change_text(c)})" for c in changes[:25])
                + (" …" if len(changes) > 25 else ""))
    parts.append(f"Unchanged: {d['counts']['unchanged']} of {d['n_paired']} paired items.")
    return "\n".join(parts)


# --- charts --------------------------------------------------------------------------

def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


Bounds = tuple[float, float] | None


def _grouped_bars(title: str, categories: Sequence[str], series: Mapping[str, Sequence[Any]],
                  ylabel: str = "", horizontal: bool = False,
                  intervals: Mapping[str, Sequence[Bounds]] | None = None) -> str:
    """Bars per category and series; ``intervals`` draws each bar's 95 % interval."""
    from matplotlib.figure import Figure  # the object API: no global backend, thread-safe

    n = max(len(series), 1)
    width = 0.8 / n
    height = max(3.2, 0.32 * len(categories) * (n if horizontal else 1) / 1.5)
    fig = Figure(figsize=(7.5, height if horizontal else 3.6))
    ax = fig.add_subplot()
    for i, (name, values) in enumerate(series.items()):
        positions = [j + (i - (n - 1) / 2) * width for j in range(len(categories))]
        numbers = [0.0 if v is None else float(v) for v in values]
        error = None
        if intervals and name in intervals:
            bounds = intervals[name]
            error = [[max(0.0, v - b[0]) if b else 0.0 for v, b in zip(numbers, bounds,
                                                                        strict=True)],
                     [max(0.0, b[1] - v) if b else 0.0 for v, b in zip(numbers, bounds,
                                                                       strict=True)]]
        style = {"ecolor": "#333", "capsize": 2, "error_kw": {"elinewidth": 0.8}}
        if horizontal:
            ax.barh(positions, numbers, height=width, label=name, xerr=error,
                    **(style if error else {}))
        else:
            ax.bar(positions, numbers, width=width, label=name, yerr=error,
                   **(style if error else {}))
    ticks = list(range(len(categories)))
    if horizontal:
        ax.set_yticks(ticks, list(categories))
        ax.set_xlim(0, 1.05)
        ax.invert_yaxis()
        ax.set_xlabel(ylabel)
    else:
        ax.set_xticks(ticks, list(categories))
        ax.set_ylim(0, 1.05)
        ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="x" if horizontal else "y", alpha=0.3)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _png(fig)


def _bounds(metrics: Mapping[str, Any], name: str) -> Bounds:
    ci = (metrics.get("ci") or {}).get(name)
    if not ci or ci.get("low") is None:
        return None
    return float(ci["low"]), float(ci["high"])


def _latency_histogram(records: Sequence[ItemRecord], p50: float | None,
                       p95: float | None) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 3.2))
    ax = fig.add_subplot()
    values = [r.latency * 1000 for r in records if not r.error]
    if values:
        ax.hist(values, bins=min(30, max(5, len(values) // 4)), color="#4c72b0")
    for value, name, style in ((p50, "p50", "--"), (p95, "p95", ":")):
        if value is not None:
            ax.axvline(value * 1000, color="black", linestyle=style, label=f"{name} "
                       f"{value * 1000:.0f} ms")
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("items")
    ax.set_title("Latency")
    if p50 is not None:
        ax.legend(fontsize="small")
    return _png(fig)


def charts(run: EvalRun, compare: Mapping[str, EvalRun] | None) -> list[tuple[str, str]]:
    """(caption, data URI) for every chart of the report."""
    s = run.summary
    langs = list(s["by_language"])
    groups = {**{lang: s["by_language"][lang] for lang in langs}, "all": s["overall"]}
    retrieval = [f"recall@{k}" for k in RECALL_KS] + ["mrr", f"ndcg@{NDCG_K}"]
    checks = ["fully_right", "language_accuracy", "refusal_precision", "refusal_recall",
              "citation_validity", "cites_expected", "must_include"]
    out = [
        ("Retrieval by language, with 95% intervals",
         _grouped_bars("Retrieval by language", retrieval,
                       {g: [m.get(x) for x in retrieval] for g, m in groups.items()},
                       intervals={g: [_bounds(m, x) for x in retrieval]
                                  for g, m in groups.items()})),
        ("Answer checks by language, with 95% intervals",
         _grouped_bars("Answer checks by language", ["fully right", "language", "refusal P",
                                                      "refusal R", "citations", "cites exp.",
                                                      "must_include"],
                       {g: [m.get(x) for x in checks] for g, m in groups.items()},
                       intervals={g: [_bounds(m, x) for x in checks]
                                  for g, m in groups.items()})),
    ]
    table = s.get("by_language_category") or {}
    categories = sorted({c for cats in table.values() for c in cats})
    if categories:
        out.append(("Fully right by category and language, with 95% intervals", _grouped_bars(
            "Fully right by category", categories,
            {lang: [table.get(lang, {}).get(c, {}).get("fully_right") for c in categories]
             for lang in langs}, ylabel="fully right", horizontal=True,
            intervals={lang: [_bounds(table.get(lang, {}).get(c, {}), "fully_right")
                              for c in categories] for lang in langs})))
    per_doc = {doc: group_by_language(recs) for doc, recs in group_by_doc(run.records).items()}
    docs = [d for d in per_doc if d != NO_DOC]
    if docs:
        out.append(("recall@3 by expected document and language", _grouped_bars(
            "recall@3 by expected document", docs,
            {lang: [compute_metrics(per_doc[d].get(lang, [])).get("recall@3") for d in docs]
             for lang in langs}, ylabel="recall@3", horizontal=True)))
    if compare:
        columns = [("recall@3", lang) for lang in langs] + [("mrr", lang) for lang in langs]
        out.append(("Baselines: recall@3 and MRR per language", _grouped_bars(
            "Baselines", [f"{m} {lang}" for m, lang in columns],
            {name: [_compare_value(other, m, lang) for m, lang in columns]
             for name, other in compare.items()})))
    out.append(("Latency", _latency_histogram(run.records, s["overall"]["latency_p50"],
                                              s["overall"]["latency_p95"])))
    return out


# --- HTML ------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:76rem;
 padding:0 1rem;color:#1b1b1b;line-height:1.45}
table{border-collapse:collapse;margin:.6rem 0 1.4rem;font-size:.88rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2} td.num{text-align:right;font-variant-numeric:tabular-nums}
td small{display:block;color:#666;font-size:.75rem;white-space:nowrap}
.fail,.worse{color:#b00020;font-weight:600} .ok,.better{color:#1b7f3b;font-weight:600}
.headline{font-size:1.25rem;padding:.6rem .9rem;border:2px solid #1b1b1b;display:inline-block;
 margin:.4rem 0 1rem}
figure{margin:1rem 0} figure img{max-width:100%} figcaption{font-size:.85rem;color:#555}
details.item{margin:.3rem 0;padding:.3rem .6rem;border:1px solid #ddd;border-radius:4px}
details.item[data-outcome=pass]{border-left:4px solid #1b7f3b}
details.item[data-outcome=fail]{border-left:4px solid #b00020}
details.item[data-outcome=error]{border-left:4px solid #7a4b00}
summary{cursor:pointer} pre{white-space:pre-wrap;background:#fafafa;padding:.4rem;margin:.3rem 0}
.meta{color:#555;font-size:.9rem} .note{background:#fff6d6;padding:.3rem .6rem;margin:.2rem 0}
.badge{display:inline-block;padding:0 .4rem;border-radius:3px;font-size:.8rem;color:#fff}
.badge.pass{background:#1b7f3b} .badge.fail{background:#b00020} .badge.error{background:#7a4b00}
.badge.status{background:#444}
.filters{position:sticky;top:0;background:#fff;padding:.5rem 0;border-bottom:1px solid #ddd;
 z-index:1;display:flex;flex-wrap:wrap;gap:.6rem;align-items:center}
.filters label{font-size:.85rem} mark{background:#ffe58a}
blockquote{margin:.3rem 0;padding:.2rem .6rem;border-left:3px solid #aaa;white-space:pre-wrap}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:.8rem}
.yes{color:#1b7f3b} .no{color:#b00020;font-weight:600} .na{color:#999}
"""

#: Filters items by the data-* attributes of ``.item`` elements; no network, no libraries.
_SCRIPT = """
(function () {
  var form = document.getElementById('filters');
  if (!form) { return; }
  var items = Array.prototype.slice.call(document.querySelectorAll('.item'));
  var count = document.getElementById('shown');
  function apply() {
    var f = {};
    form.querySelectorAll('[data-filter]').forEach(function (el) {
      f[el.getAttribute('data-filter')] = el.value;
    });
    var text = (f.text || '').trim().toLowerCase();
    var shown = 0;
    items.forEach(function (it) {
      var d = it.dataset;
      var ok = (!f.lang || d.lang === f.lang) && (!f.category || d.category === f.category)
        && (!f.outcome || d.outcome === f.outcome)
        && (!f.check || (' ' + d.checks + ' ').indexOf(' ' + f.check + ' ') >= 0)
        && (!f.change || d.change === f.change)
        && (!text || it.textContent.toLowerCase().indexOf(text) >= 0);
      it.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + ' of ' + items.length + ' shown';
  }
  form.addEventListener('input', apply);
  form.addEventListener('change', apply);
  form.addEventListener('submit', function (e) { e.preventDefault(); });
  document.getElementById('expand').addEventListener('click', function () {
    items.forEach(function (it) { if (!it.hidden) { it.open = true; } });
  });
  document.getElementById('collapse').addEventListener('click', function () {
    items.forEach(function (it) { it.open = false; });
  });
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (target && target.tagName === 'DETAILS') { target.hidden = false; target.open = true; }
  }
  window.addEventListener('hashchange', openTarget);
  openTarget();
  apply();
})();
"""

e = html.escape


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1,
                raw: bool = False) -> str:
    """A table; cells are escaped unless ``raw`` (then they are already HTML)."""
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            css = ' class="num"' if i >= numeric_from else ""
            if cell in ("FAIL", "ok", "worse", "better"):
                css = f' class="{"fail" if cell in ("FAIL", "worse") else "ok"}"'
            cells.append(f"<td{css}>{cell if raw else e(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _html_cell(name: str, metrics: Mapping[str, Any]) -> str:
    """Value, and under it the 95 % interval; n in the tooltip."""
    if name == "n_items":
        return e(str(metrics.get(name, 0)))
    ci = (metrics.get("ci") or {}).get(name)
    value = e(fmt(name, metrics.get(name)))
    if not ci or ci.get("low") is None:
        return value
    return (f'<span title="n = {e(fmt_n(name, ci))}, 95% interval '
            f'{e(fmt_interval(name, ci))} ({e(ci["method"])})">{value}'
            f"<small>{e(fmt_interval(name, ci))}</small></span>")


def _html_breakdown(first: str, groups: Mapping[str, Mapping[str, Any]]) -> str:
    rows = [[e(key), *(_html_cell(m, metrics) for m in BREAKDOWN)]
            for key, metrics in groups.items()]
    return _html_table([first, *BREAKDOWN.values()], rows, raw=True)


def _html_language_category(table: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    rows = [[e(lang), e(cat), *(_html_cell(m, metrics) for m in BREAKDOWN)]
            for lang, cats in table.items() for cat, metrics in cats.items()]
    return _html_table(["lang", "category", *BREAKDOWN.values()], rows, numeric_from=2,
                       raw=True)


def _check_mark(value: bool | None) -> str:
    if value is None:
        return '<span class="na">—</span>'
    return '<span class="yes">✓</span>' if value else '<span class="no">✗</span>'


def check_explanations(r: ItemRecord) -> dict[str, str]:
    """Why each check came out as it did, in words, for the item's details."""
    from evals.metrics import first_relevant_rank

    rank = first_relevant_rank(r.retrieved_doc_ids, r.expected_doc_ids)
    where = (f"first expected document at rank {rank}" if rank else
             "no expected document among the retrieved" if r.expected_doc_ids else "")
    missing_groups = [g for g in r.must_include if not includes_all_groups(r.answer, [g])]
    cited = ", ".join(dict.fromkeys(r.cited_doc_ids)) or "none"
    out = {f"hit@{k}": where for k in RECALL_KS}
    out.update({
        "language": f"asked in {r.lang}, answered in {r.detected_language or '?'}",
        "refusal": (f"{'refused' if r.refused else 'answered'}; expected "
                    f"{'a refusal' if r.expect_refusal else 'an answer'}"),
        "citations_valid": f"{sum(c.valid for c in r.citations)} of {len(r.citations)} valid",
        "cites_expected": f"cited: {cited}",
        "must_include": ("refused" if r.refused and r.must_include else
                         "missing: " + " AND ".join("(" + " | ".join(g) + ")"
                                                    for g in missing_groups)
                         if missing_groups else ""),
        "quote": " / ".join(f"“{_clip(q, 80)}”" for q in r.expected_quote),
        "partial": ("the answer names what is missing: " + ", ".join(r.missing)
                    if r.missing else "the answer does not say what the sources lack"),
    })
    return out


def _marked_passage(c: Any) -> str:
    """The cited passage with the quoted sentences marked."""
    text = c.text or ""
    spans = sorted((a - c.char_start, b - c.char_start) for a, b in c.highlights)
    pieces, at = [], 0
    for start, end in spans:
        if start < at or start < 0 or end > len(text):
            continue
        pieces.append(e(text[at:start]))
        pieces.append(f"<mark>{e(text[start:end])}</mark>")
        at = end
    pieces.append(e(text[at:]))
    return "".join(pieces)


def _citations_html(r: ItemRecord) -> str:
    if not r.citations:
        return "<p class=\"meta\">No citations.</p>"
    parts = ["<ol class=\"citations\">"]
    for c in r.citations:
        expected = " (expected)" if c.doc_id in r.expected_doc_ids else ""
        where = " › ".join(x for x in (c.title, c.section) if x)
        status = ('<span class="yes">valid</span>' if c.valid else
                  '<span class="no">invalid: ' + e("; ".join(c.problems)) + "</span>")
        head = (f"[{c.n}] <b>{e(c.doc_id or '—')}</b>{e(expected)} ({e(c.lang or '?')})"
                + (f" · {e(where)}" if where else "")
                + (f" · characters {c.char_start}–{c.char_end}" if c.doc_id else "")
                + (f" · {len(c.quoted)} sentence(s) quoted" if c.quoted else "")
                + f" · {status}")
        passage = f"<blockquote>{_marked_passage(c)}</blockquote>" if c.text else ""
        parts.append(f"<li>{head}{passage}</li>")
    parts.append("</ol>")
    return "".join(parts)


def _extra_html(extra: Mapping[str, Any]) -> str:
    if not extra:
        return ""
    rows = [[e(k), e(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))]
            for k, v in extra.items()]
    return "<h4>Own keys</h4>" + _html_table(["key", "value"], rows, numeric_from=9, raw=True)


def _side_html(title: str, side: Mapping[str, Any]) -> str:
    cites = "; ".join(f"[{c['n']}] {c['doc_id']} {c['char_start']}–{c['char_end']}"
                      for c in side["citations"]) or "none"
    return (f"<div><h4>{e(title)}</h4><pre>{e(side['error'] or side['answer'])}</pre>"
            f"<p class=\"meta\">{'fully right' if side['fully_right'] else 'not fully right'}"
            + (f"; failed: {e(', '.join(side['failed']))}" if side["failed"] else "")
            + f"<br>retrieved: {e(', '.join(side['retrieved_doc_ids']) or '—')}"
            f"<br>citations: {e(cites)}</p></div>")


def _change_html(change: Mapping[str, Any]) -> str:
    return (f"<h4>Compared with run A: {e(STATUSES[change['status']])}</h4>"
            f"<p>{e(_change_text(change)) or 'no check changed'}"
            + (f"<br><span class=\"no\">The item's definition differs between the runs: "
               f"{e(', '.join(change['definition_changed']))}</span>"
               if change["definition_changed"] else "")
            + "</p><div class=\"cols\">" + _side_html("A (before)", change["a"])
            + _side_html("B (after)", change["b"]) + "</div>")


def _item_html(r: ItemRecord, change: Mapping[str, Any] | None = None) -> str:
    checks = r.checks or item_checks(r)
    result = outcome(r)
    failed = failed_checks(r)
    why = check_explanations(r)
    rows = [[e(CHECK_LABELS.get(name, name)) + f" <code>{e(name)}</code>",
             _check_mark(checks.get(name)), e(why.get(name, "")) if checks.get(name) is not None
             else ""] for name in (*COMPARED_CHECKS, "passed", "fully_right")]
    history = "".join(f"<div><b>{e(m['role'])}:</b> {e(m['content'])}</div>"
                      for m in r.history)
    facts = [("expected documents", "— (expects a refusal)" if r.expect_refusal
              else ", ".join(r.expected_doc_ids) or "—"),
             ("retrieved (rank order)", ", ".join(r.retrieved_doc_ids) or "—"),
             ("cited", ", ".join(r.cited_doc_ids) or "—"),
             ("must_include", " AND ".join("(" + " | ".join(g) + ")" for g in r.must_include)
              or "—"),
             ("expected_quote", " / ".join(r.expected_quote) or "—"),
             ("said to be missing", ", ".join(r.missing) or "—"),
             ("tags", ", ".join(r.tags) or "—"),
             ("confidence", fmt("c", r.confidence)),
             ("refusal reason", r.refusal_reason or "—"),
             ("latency", fmt("latency", r.latency))]
    status = change["status"] if change else "unchanged"
    badge = {"pass": "fully right", "fail": "not fully right", "error": "error"}[result]
    summary = (f"<summary><span class=\"badge {result}\">{badge}</span> <b>{e(r.id)}</b> "
               f"· {e(r.lang)} · {e(r.category or '—')}"
               + (f" · <span class=\"fail\">{e(', '.join(failed))}</span>" if failed else "")
               + (f" · <span class=\"badge status\">{e(status.replace('_', ' '))}</span>"
                  if change and status != "unchanged" else "")
               + f" — {e(_clip(r.question, 110))}</summary>")
    body = (f"{history}<p><b>Question:</b> {e(r.question)}</p>"
            f"<p><b>{'Error' if r.error else 'Answer'}:</b></p><pre>{e(r.error or r.answer)}</pre>"
            + _html_table(["check", "", "why"], rows, numeric_from=9, raw=True)
            + "<h4>Citations</h4>" + _citations_html(r)
            + _html_table(["", ""], [[k, v] for k, v in facts], numeric_from=9)
            + _extra_html(r.extra)
            + (_change_html(change) if change and status != "unchanged" else ""))
    attrs = {"lang": r.lang, "category": r.category or "(unlabelled)", "outcome": result,
             "checks": " ".join(failed), "change": status}
    data = " ".join(f'data-{k}="{e(v)}"' for k, v in attrs.items())
    return f'<details class="item" id="item-{e(r.id)}" {data}>{summary}{body}</details>'


def _options(values: Sequence[str], labels: Mapping[str, str] | None = None) -> str:
    return "".join(f'<option value="{e(v)}">{e((labels or {}).get(v, v))}</option>'
                   for v in values)


def _filters(records: Sequence[ItemRecord], with_change: bool, with_checks: bool = True) -> str:
    langs = sorted({r.lang for r in records})
    categories = sorted({r.category or "(unlabelled)" for r in records})
    failed = {n for r in records for n in failed_checks(r)} if with_checks else set()
    checks = [n for n in (*COMPARED_CHECKS, "error") if n in failed]
    parts = [
        '<form class="filters" id="filters" aria-label="Filter items">',
        '<label>Language <select data-filter="lang"><option value="">all</option>'
        + _options(langs) + "</select></label>",
        '<label>Category <select data-filter="category"><option value="">all</option>'
        + _options(categories) + "</select></label>",
        '<label>Outcome <select data-filter="outcome"><option value="">all</option>'
        + _options(["fail", "pass", "error"], {"fail": "not fully right",
                                                "pass": "fully right", "error": "error"})
        + "</select></label>",
    ]
    if with_checks:
        parts.append('<label>Failed check <select data-filter="check"><option value="">any'
                     '</option>' + _options(checks, {c: f"{c} ({CHECK_LABELS.get(c, c)})"
                                                     for c in checks})
                     + "</select></label>")
    if with_change:
        parts.append('<label>Change <select data-filter="change"><option value="">all</option>'
                     + _options(list(STATUSES), {k: v.split(" (")[0]
                                                 for k, v in STATUSES.items()})
                     + "</select></label>")
    parts += ['<label>Search <input type="search" data-filter="text" '
              'placeholder="id, words…"></label>',
              '<button type="button" id="expand">expand shown</button>'
              '<button type="button" id="collapse">collapse all</button>',
              f'<span id="shown" class="meta">{len(records)} of {len(records)} shown</span>',
              "</form>"]
    return "".join(parts)


def _page(title: str, body: Sequence[str]) -> str:
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{e(title)}</title><style>{_STYLE}</style></head><body>\n"
            + "\n".join(body) + f"\n<script>{_SCRIPT}</script></body></html>")


def _diff_html_sections(d: Mapping[str, Any], level: int = 2) -> list[str]:
    h = f"h{level}"
    sub = f"h{level + 1}"
    rows = [[e(METRICS[name].label), e(fmt(name, x["a"])), e(fmt(name, x["b"])),
             e(fmt_delta(name, x["delta"])), e(fmt_delta_interval(name, x)), e(str(x["n"])),
             f'<span class="{e(x["verdict"])}">{e(x["verdict"])}</span>'
             + ("" if METRICS[name].quality else " <span class=\"meta\">(timing)</span>")]
            for name, x in d["metrics"].items()]
    out = [f"<{h} id=\"comparison\">Comparison with an earlier run</{h}>" if level == 2
           else f"<{h}>Comparison of two runs</{h}>",
           f"<p class=\"meta\">A (before): {e(_run_line(d['a']).replace('`', ''))}<br>"
           f"B (after): {e(_run_line(d['b']).replace('`', ''))}<br>"
           f"paired items: {d['n_paired']}</p>",
           *(f"<p class=\"note\">{e(w)}</p>" for w in d["warnings"]),
           f"<p class=\"headline\">{e(d['verdict'])}</p>"]
    if d["settings_changed"]:
        out += [f"<{sub}>Settings that differ</{sub}>",
                _html_table(["setting", "A", "B"], [[k, str(a), str(b)] for k, (a, b)
                                                    in d["settings_changed"].items()])]
    out += [f"<{sub}>Figures, B − A</{sub}>",
            _html_table(DIFF_HEADER, rows, raw=True),
            f"<p class=\"meta\">Paired bootstrap over the items of both runs "
            f"({d['bootstrap']['resamples']} resamples, seed {d['bootstrap']['seed']}); a "
            "difference is significant when its 95% interval excludes 0. Each figure is "
            "tested on its own, without a correction for testing many: read “Fully right” "
            "first.</p>"]
    for title, groups in (("By language", d["by_language"]), ("By category", d["by_category"])):
        grow = [[e(key), *(
            f'<span class="{e(g[m]["verdict"])}">{e(fmt_delta(m, g[m]["delta"]))}</span>'
            f"<small>{e(fmt_delta_interval(m, g[m]))}</small>" for m in DIFF_BREAKDOWN)]
            for key, g in groups.items()]
        out += [f"<{sub}>{title}, B − A</{sub}>",
                _html_table([title.split()[-1], *(METRICS[m].label for m in DIFF_BREAKDOWN)],
                            grow, raw=True)]
    counts = ", ".join(f"{e(STATUSES[k].split(' (')[0].lower())}: {n}"
                       for k, n in d["counts"].items())
    out.append(f"<{sub}>Items</{sub}><p>{counts}</p>")
    return out


def render_html(run: EvalRun, compare: Mapping[str, EvalRun] | None,
                thresholds: Mapping[str, float], failures: Sequence[str],
                calibration: Mapping[str, Any] | None = None,
                comparison: Mapping[str, Any] | None = None) -> str:
    s = run.summary
    meta = run.meta
    settings = meta.get("settings", {})
    gate = ""
    if thresholds:
        gate = ('<p class="ok">Gate passed.</p>' if not failures else
                '<p class="fail">Gate FAILED: ' + e("; ".join(failures)) + "</p>")
    changes = {c["id"]: c for c in (comparison or {}).get("items", [])}
    body = [
        f"<h1>Answer evaluation: {e(run.label)}</h1>",
        f"<p class=\"meta\">Test set <code>{e(str(meta.get('questions', '?')))}</code>, "
        f"{len(run.records)} items; run {e(str(meta.get('started_at', '?')))} in "
        f"{e(str(meta.get('duration_s', '?')))} s"
        + (f"; code {e(meta['code_version'])}" if meta.get("code_version") else "")
        + ". <details><summary>Settings</summary>"
        + ", ".join(f"{e(k)}=<code>{e(str(v))}</code>" for k, v in settings.items())
        + "</details></p>",
        *(f"<p class=\"note\">{e(w)}</p>" for w in meta.get("warnings", [])),
        "<nav class=\"meta\">Jump to: <a href=\"#headline\">headline</a> · "
        + ("<a href=\"#comparison\">comparison</a> · " if comparison else "")
        + "<a href=\"#breakdowns\">breakdowns</a> · <a href=\"#items\">items</a></nav>",
        f"<h2 id=\"headline\">Headline</h2><p class=\"headline\">"
        f"{e(_headline_sentence(s['overall']))}</p>", gate,
        _html_table(HEADLINE_HEADER, headline_rows(s["overall"], thresholds)),
        f"<p class=\"meta\">Intervals: Wilson score interval for shares of items; percentile "
        f"bootstrap over items ({e(_bootstrap_text(s))}) for the other figures. "
        f"Refusal confusion (positive = refused): {e(str(s['overall']['refusal_confusion']))}; "
        f"errors: {s['overall']['n_errors']}; citations checked: "
        f"{s['overall']['n_citations']}.</p>",
    ]
    if comparison:
        body += _diff_html_sections(comparison)
        listed = comparison["items"]
        if listed:
            body.append(_html_table(
                ["item", "change", "what", "question"],
                [[f'<a href="#item-{e(c["id"])}">{e(c["id"])}</a>',
                  e(c["status"].replace("_", " ")), e(_change_text(c)),
                  e(_clip(c["question"], 90))] for c in listed], numeric_from=9, raw=True))
    for caption, uri in charts(run, compare):
        body.append(f"<figure><img alt=\"{e(caption)}\" src=\"{uri}\">"
                    f"<figcaption>{e(caption)}</figcaption></figure>")
    body.append("<h2 id=\"breakdowns\">Breakdowns</h2>")
    for title, first, groups in _breakdowns(s):
        body += [f"<h3>{e(title.replace('`', ''))}</h3>", _html_breakdown(first, groups)]
    body += ["<h3>By language × category</h3>",
             _html_language_category(s.get("by_language_category", {}))]
    if compare:
        body += ["<h2>Baselines</h2>",
                 _html_table(["baseline", *(_compare_header(m, lang) for m, lang in COMPARE)],
                             compare_rows(compare)),
                 "<p class=\"meta\">" + "; ".join(
                     f"<b>{e(n)}</b>: {e(str(r.meta.get('settings', {}).get('embedding_model')))}"
                     f" / {e(str(r.meta.get('settings', {}).get('retrieval_mode')))}"
                     for n, r in compare.items()) + "</p>"]
    if calibration:
        body += ["<h2>Refusal threshold calibration</h2>",
                 f"<p>{e(_calibration_text(calibration)).replace('**', '')}</p>"]
    ordered = sorted(run.records, key=lambda r: outcome(r) == "pass")  # stable: failing first
    body += [f"<h2 id=\"items\">Items ({len(run.records)}, not fully right first)</h2>",
             _filters(run.records, with_change=bool(comparison)),
             *(_item_html(r, changes.get(r.id) if comparison else None) for r in ordered)]
    key = ", ".join(f"{v} = {k}" for k, v in BREAKDOWN.items())
    body.append(f"<p class=\"meta\">Column key: {e(key)}. Definitions: evals/README.md.</p>")
    return _page(f"Answer evaluation: {run.label}", body)


def _diff_item_html(c: Mapping[str, Any]) -> str:
    history = "".join(f"<div><b>{e(m['role'])}:</b> {e(m['content'])}</div>"
                      for m in c["history"])
    result = "error" if c["b"]["error"] else ("pass" if c["b"]["fully_right"] else "fail")
    summary = (f"<summary><span class=\"badge status\">{e(c['status'].replace('_', ' '))}"
               f"</span> <b>{e(c['id'])}</b> · {e(c['lang'])} · {e(c['category'] or '—')} · "
               f"{e(_change_text(c))} — {e(_clip(c['question'], 100))}</summary>")
    body = (f"{history}<p><b>Question:</b> {e(c['question'])}<br>expected documents: "
            f"{e(', '.join(c['expected_doc_ids']) or '— (expects a refusal)')}</p>"
            + _change_html(c))
    checks = " ".join(c["b"]["failed"] + (["error"] if c["b"]["error"] else []))
    attrs = {"lang": c["lang"], "category": c["category"] or "(unlabelled)",
             "outcome": result, "checks": checks, "change": c["status"]}
    data = " ".join(f'data-{k}="{e(v)}"' for k, v in attrs.items())
    return f'<details class="item" id="item-{e(c["id"])}" {data}>{summary}{body}</details>'


def render_diff_html(comparison: Mapping[str, Any]) -> str:
    """The comparison of two runs as one self-contained page."""
    d = comparison
    items = d["items"]
    stand_ins = [ItemRecord(id=c["id"], lang=c["lang"], question=c["question"],
                            expected_doc_ids=[], expect_refusal=False, must_include=[],
                            category=c["category"]) for c in items]
    body = [*_diff_html_sections(d, level=1),
            f"<h2 id=\"items\">Changed items ({len(items)}; "
            f"{d['counts']['unchanged']} unchanged)</h2>",
            _filters(stand_ins, with_change=True, with_checks=False),
            *(_diff_item_html(c) for c in items)]
    if d["only_a"] or d["only_b"]:
        body.append(f"<p class=\"meta\">Only in A: {e(', '.join(d['only_a']) or '—')}<br>"
                    f"Only in B: {e(', '.join(d['only_b']) or '—')}</p>")
    return _page("Comparison of two evaluation runs", body)
