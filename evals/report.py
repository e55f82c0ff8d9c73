"""Human-readable views of an evaluation: console text, summary.md and report.html.

The HTML report is a single file (charts are PNGs embedded as data URIs, no
scripts, no external styles) so it can be attached to a CI run or mailed.
Only presentation lives here; every figure comes from ``evals.metrics``.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from evals.metrics import (
    NDCG_K,
    NO_DOC,
    RECALL_KS,
    ItemRecord,
    compute_metrics,
    group_by_doc,
    group_by_language,
)

if TYPE_CHECKING:
    from evals.runner import EvalRun

#: Headline metrics, in reading order, with their labels.
HEADLINE: dict[str, str] = {
    **{f"recall@{k}": f"Retrieval recall@{k}" for k in RECALL_KS},
    "mrr": "Mean reciprocal rank",
    f"ndcg@{NDCG_K}": f"nDCG@{NDCG_K}",
    "language_accuracy": "Answer-language accuracy",
    "answer_text_language_accuracy": "Answer-text language accuracy (detector)",
    "refusal_precision": "Refusal precision",
    "refusal_recall": "Refusal recall",
    "refusal_f1": "Refusal F1",
    "citation_validity": "Citation validity",
    "grounded_rate": "Answers with a valid citation",
    "must_include": "must_include rate",
    "passed_rate": "Items passing every check",
    "latency_p50": "Latency p50",
    "latency_p95": "Latency p95",
}

#: Columns of the breakdown tables.
BREAKDOWN: dict[str, str] = {
    "n_items": "n", "recall@1": "R@1", "recall@3": "R@3", "recall@5": "R@5", "mrr": "MRR",
    f"ndcg@{NDCG_K}": f"nDCG@{NDCG_K}", "language_accuracy": "lang",
    "refusal_precision": "ref P", "refusal_recall": "ref R",
    "citation_validity": "cit", "must_include": "incl", "latency_p50": "p50",
    "latency_p95": "p95",
}

#: Columns of the baseline comparison: (metric, language or None for all items).
COMPARE: list[tuple[str, str | None]] = [
    ("recall@1", None), ("recall@3", None), ("recall@3", "sv"), ("recall@3", "fi"),
    ("mrr", None), ("mrr", "fi"), (f"ndcg@{NDCG_K}", None), (f"ndcg@{NDCG_K}", "fi"),
    ("must_include", None), ("refusal_f1", None), ("latency_p50", None),
]


def fmt(name: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if name.startswith("latency"):
        return f"{value * 1000:.0f} ms"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _compare_value(run: EvalRun, metric: str, lang: str | None) -> Any:
    if lang is None:
        return run.summary["overall"].get(metric)
    return run.summary["by_language"].get(lang, {}).get(metric)


def _compare_header(metric: str, lang: str | None) -> str:
    return f"{metric} ({lang})" if lang else metric


def failed_checks(record: ItemRecord) -> list[str]:
    names = [name for name, ok in record.checks.items() if ok is False and name != "passed"]
    if record.error:
        names.append("error")
    return names


def _failing(records: Sequence[ItemRecord]) -> list[ItemRecord]:
    return [r for r in records if not r.checks.get("passed", False)]


# --- Markdown & console -------------------------------------------------------------------

def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    """Table-safe: no pipes or newlines, and no raw HTML from answers."""
    return (" ".join(text.split()).replace("|", "\\|").replace("<", "&lt;")
            .replace(">", "&gt;"))


def headline_rows(overall: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[list[str]]:
    rows = []
    for name, label in HEADLINE.items():
        minimum = thresholds.get(name)
        value = overall.get(name)
        verdict = ""
        if minimum is not None:
            verdict = "ok" if value is not None and value >= minimum - 1e-9 else "FAIL"
        rows.append([label, fmt(name, value),
                     "" if minimum is None else f"≥ {minimum:.2f}", verdict])
    return rows


def breakdown_rows(groups: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    return [[key, *(fmt(m, metrics.get(m)) for m in BREAKDOWN)] for key, metrics in groups.items()]


def compare_rows(compare: Mapping[str, EvalRun]) -> list[list[str]]:
    return [[name, *(fmt(m, _compare_value(run, m, lang)) for m, lang in COMPARE)]
            for name, run in compare.items()]


def render_markdown(run: EvalRun, compare: Mapping[str, EvalRun] | None,
                    thresholds: Mapping[str, float], failures: Sequence[str],
                    calibration: Mapping[str, Any] | None = None) -> str:
    s = run.summary
    meta = run.meta
    settings = meta.get("settings", {})
    parts = [
        f"# Answer evaluation: {run.label}",
        "",
        f"- test set: `{meta.get('questions', '?')}` ({meta.get('n_items', len(run.records))} "
        f"items), run {meta.get('started_at', '?')} in {meta.get('duration_s', '?')} s",
        f"- retrieval `{settings.get('retrieval_mode', '?')}`, embeddings "
        f"`{settings.get('embedding_model', '?')}`, answers `{settings.get('answer_mode', '?')}`",
        f"- refusal confusion (positive = refused): {s['overall']['refusal_confusion']}; "
        f"errors: {s['overall']['n_errors']}",
        "",
        "## Headline",
        "",
        _md_table(["metric", "value", "minimum", ""], headline_rows(s["overall"], thresholds)),
        "",
        ("**Gate: passed.**" if not failures else
         "**Gate: FAILED** — " + "; ".join(failures)) if thresholds else "No thresholds given.",
        "",
        "## By language", "",
        _md_table(["lang", *BREAKDOWN.values()], breakdown_rows(s["by_language"])), "",
        "## By expected document", "",
        _md_table(["document", *BREAKDOWN.values()], breakdown_rows(s["by_doc"])), "",
        "## By category", "",
        _md_table(["category", *BREAKDOWN.values()], breakdown_rows(s["by_category"])), "",
    ]
    if compare:
        parts += ["## Baselines", "",
                  _md_table(["baseline", *(_compare_header(m, lang) for m, lang in COMPARE)],
                            compare_rows(compare)), ""]
    if calibration:
        parts += ["## Refusal threshold calibration", "", _calibration_text(calibration), ""]
    failing = _failing(run.records)
    parts += [f"## Items failing a check ({len(failing)})", ""]
    if failing:
        parts.append(_md_table(
            ["id", "failed", "question", "retrieved", "answer"],
            [[r.id, ", ".join(failed_checks(r)), _clip(r.question, 90),
              " ".join(r.retrieved_doc_ids[:3]), _clip(r.error or r.answer, 140)]
             for r in failing]))
    return "\n".join(parts) + "\n"


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
    parts = [f"{run.label}: {len(run.records)} items",
             _md_table(["metric", "value", "minimum", ""], headline_rows(s["overall"],
                                                                         thresholds)),
             "",
             _md_table(["lang", *BREAKDOWN.values()], breakdown_rows(s["by_language"]))]
    if compare:
        parts += ["", _md_table(["baseline", *(_compare_header(m, lang) for m, lang in COMPARE)],
                                compare_rows(compare))]
    if calibration:
        parts += ["", _calibration_text(calibration)]
    failing = _failing(run.records)
    if failing:
        parts += ["", f"{len(failing)} item(s) failing a check: "
                  + ", ".join(f"{r.id} ({', '.join(failed_checks(r))})" for r in failing[:25])
                  + (" …" if len(failing) > 25 else "")]
    return "\n".join(parts)


# --- charts --------------------------------------------------------------------------

def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _grouped_bars(title: str, categories: Sequence[str], series: Mapping[str, Sequence[Any]],
                  ylabel: str = "", horizontal: bool = False) -> str:
    from matplotlib.figure import Figure  # the object API: no global backend, thread-safe

    n = max(len(series), 1)
    width = 0.8 / n
    height = max(3.2, 0.32 * len(categories) * (n if horizontal else 1) / 1.5)
    fig = Figure(figsize=(7.5, height if horizontal else 3.6))
    ax = fig.add_subplot()
    for i, (name, values) in enumerate(series.items()):
        positions = [j + (i - (n - 1) / 2) * width for j in range(len(categories))]
        numbers = [0.0 if v is None else float(v) for v in values]
        if horizontal:
            ax.barh(positions, numbers, height=width, label=name)
        else:
            ax.bar(positions, numbers, width=width, label=name)
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
    checks = ["language_accuracy", "refusal_precision", "refusal_recall", "citation_validity",
              "must_include"]
    out = [
        ("Retrieval by language",
         _grouped_bars("Retrieval by language", retrieval,
                       {g: [m.get(x) for x in retrieval] for g, m in groups.items()})),
        ("Answer checks by language",
         _grouped_bars("Answer checks by language", ["language", "refusal P", "refusal R",
                                                      "citations", "must_include"],
                       {g: [m.get(x) for x in checks] for g, m in groups.items()})),
    ]
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
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:72rem;
 padding:0 1rem;color:#1b1b1b;line-height:1.45}
table{border-collapse:collapse;margin:.6rem 0 1.4rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2} td.num{text-align:right;font-variant-numeric:tabular-nums}
.fail{color:#b00020;font-weight:600} .ok{color:#1b7f3b;font-weight:600}
figure{margin:1rem 0} figure img{max-width:100%} figcaption{font-size:.85rem;color:#555}
details{margin:.4rem 0;padding:.3rem .6rem;border:1px solid #ddd;border-radius:4px}
summary{cursor:pointer} pre{white-space:pre-wrap;background:#fafafa;padding:.4rem}
.meta{color:#555;font-size:.9rem}
"""


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1
                ) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            css = ' class="num"' if i >= numeric_from else ""
            if cell in ("FAIL", "ok"):
                css = f' class="{"fail" if cell == "FAIL" else "ok"}"'
            cells.append(f"<td{css}>{html.escape(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _item_details(r: ItemRecord) -> str:
    e = html.escape
    text_lang = f", text: {r.answer_text_language}" if r.answer_text_language else ""
    rows = [("category", r.category),
            ("language", f"{r.lang} (answer: {r.detected_language}{text_lang})"),
            ("expected documents", ", ".join(r.expected_doc_ids) or "—"),
            ("expect refusal", str(r.expect_refusal)), ("refused", str(r.refused)),
            ("retrieved (rank order)", ", ".join(r.retrieved_doc_ids) or "—"),
            ("cited", ", ".join(r.cited_doc_ids) or "—"),
            ("must_include", " AND ".join("(" + " | ".join(g) + ")" for g in r.must_include)
             or "—"),
            ("confidence", fmt("c", r.confidence)), ("latency", fmt("latency", r.latency))]
    problems = [f"[{c.n}] {c.doc_id}/{c.lang}: {p}" for c in r.citations for p in c.problems]
    history = "".join(f"<div><b>{e(m['role'])}:</b> {e(m['content'])}</div>" for m in r.history)
    return (f"<details><summary><b>{e(r.id)}</b> — failed: "
            f"<span class=\"fail\">{e(', '.join(failed_checks(r)))}</span> — "
            f"{e(_clip(r.question, 100))}"
            f"</summary>{history}<p><b>Question:</b> {e(r.question)}</p>"
            f"<pre>{e(r.error or r.answer)}</pre>"
            + _html_table(["", ""], [[k, v] for k, v in rows], numeric_from=9)
            + ("<ul>" + "".join(f"<li>{e(p)}</li>" for p in problems) + "</ul>"
               if problems else "")
            + "</details>")


def render_html(run: EvalRun, compare: Mapping[str, EvalRun] | None,
                thresholds: Mapping[str, float], failures: Sequence[str],
                calibration: Mapping[str, Any] | None = None) -> str:
    e = html.escape
    s = run.summary
    meta = run.meta
    settings = meta.get("settings", {})
    gate = ""
    if thresholds:
        gate = ('<p class="ok">Gate passed.</p>' if not failures else
                '<p class="fail">Gate FAILED: ' + e("; ".join(failures)) + "</p>")
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>Answer evaluation: {e(run.label)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Answer evaluation: {e(run.label)}</h1>",
        f"<p class=\"meta\">Test set <code>{e(str(meta.get('questions', '?')))}</code>, "
        f"{len(run.records)} items; run {e(str(meta.get('started_at', '?')))} in "
        f"{e(str(meta.get('duration_s', '?')))} s. Settings: "
        + ", ".join(f"{e(k)}=<code>{e(v)}</code>" for k, v in settings.items()) + ".</p>",
        "<h2>Headline</h2>", gate,
        _html_table(["metric", "value", "minimum", ""], headline_rows(s["overall"], thresholds)),
        f"<p class=\"meta\">Refusal confusion (positive = refused): "
        f"{e(str(s['overall']['refusal_confusion']))}; errors: {s['overall']['n_errors']}; "
        f"citations checked: {s['overall']['n_citations']}.</p>",
    ]
    for caption, uri in charts(run, compare):
        parts.append(f"<figure><img alt=\"{e(caption)}\" src=\"{uri}\">"
                     f"<figcaption>{e(caption)}</figcaption></figure>")
    parts += [
        "<h2>By language</h2>",
        _html_table(["lang", *BREAKDOWN.values()], breakdown_rows(s["by_language"])),
        "<h2>By expected document</h2>",
        _html_table(["document", *BREAKDOWN.values()], breakdown_rows(s["by_doc"])),
        "<h2>By category</h2>",
        _html_table(["category", *BREAKDOWN.values()], breakdown_rows(s["by_category"])),
    ]
    if compare:
        parts += ["<h2>Baselines</h2>",
                  _html_table(["baseline", *(_compare_header(m, lang) for m, lang in COMPARE)],
                              compare_rows(compare)),
                  "<p class=\"meta\">" + "; ".join(
                      f"<b>{e(n)}</b>: {e(str(r.meta.get('settings', {}).get('embedding_model')))}"
                      f" / {e(str(r.meta.get('settings', {}).get('retrieval_mode')))}"
                      for n, r in compare.items()) + "</p>"]
    if calibration:
        parts += ["<h2>Refusal threshold calibration</h2>",
                  f"<p>{e(_calibration_text(calibration)).replace('**', '')}</p>"]
    failing = _failing(run.records)
    parts.append(f"<h2>Items failing a check ({len(failing)})</h2>")
    parts += [_item_details(r) for r in failing]
    key = ", ".join(f"{v} = {k}" for k, v in BREAKDOWN.items())
    parts.append(f"<p class=\"meta\">Column key: {e(key)}. Definitions: evals/README.md.</p>"
                 "</body></html>")
    return "\n".join(parts)
