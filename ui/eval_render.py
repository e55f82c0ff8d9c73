"""The evaluator's page as HTML: a set's summary, the progress bar, a run's figures, a
comparison of two runs, the report frame and the status lines.

Apart from the page so that what an evaluator reads is plain functions of data (a
summary.json, records, a comparison.json) in the interface language, tested without Gradio.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant import languages
from evals.metrics import METRICS, ItemRecord, item_checks
from evals.runs import set_names
from ui import render
from ui.eval_sets import DEVELOPMENT, HELDOUT, UPLOAD, SetChoice
from ui.labels import label, language_name, metric_labels

log = logging.getLogger(__name__)

#: Items not fully right listed in the page (all of them are in the report).
MAX_LISTED_ITEMS = 50

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
