"""The staff area: its own Gradio app, behind a login, on its own address.

What costs minutes of CPU or reads what visitors wrote lives here, never in the
public app: the evaluation runs (a quick one of the shipped test set, and the evaluator's
page: upload or pick a set, run it, read and download the results, compare two runs;
``ui.evaluator``) and the feedback counts.
``serve`` starts it only when ``VISIO_ADMIN_AUTH`` is set, on
``VISIO_ADMIN_HOST:VISIO_ADMIN_PORT`` (loopback by default), and
:func:`launch_admin` refuses to start it without a login.

Each tab is an :class:`AdminPage`: a key, the ``[ui]`` label of its title and a
function that builds its components inside the tab and returns how to relabel
them for another interface language. Adding a page is one more function and one
more entry in :data:`ADMIN_PAGES` (or the ``pages`` argument of
:func:`build_admin_app`). Evaluation runs hold :class:`ui.eval_runs.RunSlot`, one per
staff app: one run at a time per server, whichever tab starts it.

API endpoints (``gradio_client.Client(url, auth=(user, password))``):

``/evaluate``  (items: int, ui_lang: str) → (status, HTML): runs that many items spread over
               the shipped eval set (one run at a time; while another runs, the status
               says so and the HTML is empty).
``/feedback_summary`` (ui_lang: str) → HTML: counts per reason and the latest ratings.

The evaluator's page (``ui.evaluator``) has no named endpoints: it is a page for people
(scripts run ``visio eval``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from assistant import languages
from assistant.assistant import Assistant
from assistant.config import ConfigError, Settings
from assistant.feedback import REASONS, FeedbackError, FeedbackStore
from ui import render
from ui.eval_runs import RunSlot, busy_text
from ui.eval_sets import MAX_UPLOAD_BYTES
from ui.evaluator import evaluator_page
from ui.labels import default_language, joined, label, metric_labels, pick_language, ui_language

log = logging.getLogger(__name__)

#: Components of a page and how each is relabelled: lang → {component: update}.
Relabel = Callable[[str], Mapping[Any, Any]]


@dataclass(frozen=True)
class AdminContext:
    """What a staff page may use."""

    assistant: Assistant
    settings: Settings
    feedback: FeedbackStore
    ui_lang: gr.Textbox  # the interface language, as an input for the page's events
    app: gr.Blocks | None = None  # for a page's own load events
    runs: RunSlot = field(default_factory=RunSlot)  # one evaluation run at a time


@dataclass(frozen=True)
class AdminPage:
    key: str  # the tab's id
    title: str  # the [ui] label key of the tab's title
    build: Callable[[AdminContext], Relabel]


# --- evaluation ---------------------------------------------------------------------------

def evaluation_page(context: AdminContext) -> Relabel:
    """Run the shipped test set (or part of it) and show the scores and charts."""
    first = default_language()
    count = _eval_item_count()
    intro = gr.Markdown(label(first, "eval_intro"))
    with gr.Row():
        items = gr.Slider(1, max(count, 1), value=max(1, min(40, count)), step=1,
                          label=label(first, "eval_count"), scale=3, elem_id="visio-eval-items")
        run = gr.Button(label(first, "eval_run"), variant="primary", scale=1,
                        elem_id="visio-eval-run")
    status = gr.Markdown("", elem_id="visio-eval-status")
    out = gr.HTML("", elem_id="visio-eval-out", js_on_load=None)

    def evaluate(n: float, ui: str,
                 progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[str, str]:  # noqa: B008
        ui = ui_language(ui)
        try:
            wanted = int(n)
        except (TypeError, ValueError):
            wanted = 1
        job = context.runs.claim(max(1, min(wanted, max(count, 1))))
        if job is None:
            running = context.runs.current()
            return (busy_text(running, ui) if running else label(ui, "runs_busy_short")), ""
        try:
            return _run_evaluation(context.settings, job.total, ui, context.assistant, job)
        except Exception:
            log.exception("evaluation failed")
            return label(ui, "eval_failed"), ""
        finally:
            job.finish()

    run.click(evaluate, [items, context.ui_lang], [status, out], api_name="evaluate",
              concurrency_limit=1, concurrency_id="evaluate")

    def relabel(lang: str) -> Mapping[Any, Any]:
        return {intro: gr.update(value=label(lang, "eval_intro")),
                items: gr.update(label=label(lang, "eval_count")),
                run: gr.update(value=label(lang, "eval_run"))}

    return relabel


def _eval_item_count() -> int:
    """Items in the shipped test set (0 when the evals are not installed)."""
    try:
        from evals.runner import SHIPPED_SET, load_sets

        return len(load_sets(SHIPPED_SET))
    except Exception as exc:  # no test set, or an unreadable one
        log.warning("evaluation unavailable: %s", exc)
        return 0


def _run_evaluation(settings: Settings, count: int, ui: str, assistant: Assistant | None = None,
                    job: Any = None) -> tuple[str, str]:
    """The shipped set (``count`` items spread over it) through the eval runner, answered by
    ``assistant`` (the server's own) and counted on ``job`` (the server's run slot; the
    evaluator's page may stop it: the figures are then those of the items answered)."""
    from evals import report
    from evals.runner import SHIPPED_SET, SHIPPED_THRESHOLDS, load_sets, run_eval, spread

    items = load_sets(SHIPPED_SET)
    chosen = spread(items, max(1, min(count, len(items))))
    run = run_eval(settings, chosen, progress=True, label="ui", assistant=assistant,
                   on_progress=job.advance if job is not None else None,
                   should_stop=job.stop_requested.is_set if job is not None else None)
    names = {key: metric_labels(ui).get(key, default) for key, default in report.HEADLINE.items()}
    body = render.eval_html(run.summary, report.charts(run, None), ui, names,
                            SHIPPED_THRESHOLDS, report.fmt)
    status = label(ui, "eval_done", n=len(run.records),
                   seconds=float(run.meta.get("duration_s", 0.0)))
    return status, body


# --- feedback -----------------------------------------------------------------------------

def feedback_page(context: AdminContext) -> Relabel:
    """Counts of ratings per reason, and the latest ones with their question and comment."""
    first = default_language()
    refresh = gr.Button(label(first, "feedback_refresh"), size="sm",
                        elem_id="visio-feedback-refresh")
    summary = gr.HTML(feedback_summary_html(context, first), elem_id="visio-feedback-summary",
                      js_on_load=None)

    def show(ui: str) -> str:
        return feedback_summary_html(context, ui_language(ui))

    refresh.click(show, context.ui_lang, summary, api_name="feedback_summary")

    def relabel(lang: str) -> Mapping[Any, Any]:
        return {refresh: gr.update(value=label(lang, "feedback_refresh")),
                summary: feedback_summary_html(context, lang)}

    return relabel


def feedback_summary_html(context: AdminContext, lang: str, latest: int = 50) -> str:
    esc = render.esc
    settings = context.settings
    days = settings.feedback_retention_days
    retention = (label(lang, "retention_days", days=days) if days
                 else label(lang, "retention_kept"))
    try:
        context.feedback.purge(days)
        counts = context.feedback.counts()
        rows = context.feedback.latest(latest)
    except FeedbackError as exc:
        log.error("feedback not readable: %s", exc)
        return render.notice_html(label(lang, "feedback_failed"))
    names: Any = languages.get(lang).ui.get("reasons", {})

    def reason_name(code: str) -> str:
        return str(names.get(code, code)) if code else label(lang, "reason_none")

    head = [label(lang, k) for k in ("feedback_col_reason", "feedback_col_up",
                                     "feedback_col_down", "feedback_col_total")]
    body = []
    for code in (*REASONS, ""):
        up, down = counts.get((code, 1), 0), counts.get((code, -1), 0)
        body.append([reason_name(code), up, down, up + down])
    ups = sum(n for (_, rating), n in counts.items() if rating == 1)
    downs = sum(n for (_, rating), n in counts.items() if rating == -1)
    body.append([label(lang, "feedback_all"), ups, downs, ups + downs])
    table = _table(head, body)
    intro = f"<p>{esc(label(lang, 'feedback_counts_intro', retention=retention))}</p>"
    if rows:
        latest_head = [label(lang, k) for k in (
            "feedback_col_time", "feedback_col_language", "feedback_col_rating",
            "feedback_col_reason", "feedback_col_question", "feedback_col_comment")]
        latest_rows = [[row["created_at"], row["language"],
                        label(lang, "feedback_col_up" if row["rating"] == 1
                              else "feedback_col_down"),
                        reason_name(row["reason"]), row["question"][:300], row["comment"]]
                       for row in rows]
        listing = (f"<h2>{esc(label(lang, 'feedback_latest'))}</h2>"
                   + _table(latest_head, latest_rows))
    else:
        listing = f"<p>{esc(label(lang, 'feedback_none'))}</p>"
    return f'<div class="visio-feedback-admin">{intro}{table}{listing}</div>'


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    esc = render.esc
    return ('<table class="visio-scores"><thead><tr>'
            + "".join(f'<th scope="col">{esc(h)}</th>' for h in head)
            + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
                      for row in rows)
            + "</tbody></table>")


#: The staff area's tabs, in order.
ADMIN_PAGES: tuple[AdminPage, ...] = (
    AdminPage("evaluation", "tab_eval", evaluation_page),
    AdminPage("runs", "tab_runs", evaluator_page),
    AdminPage("feedback", "tab_feedback", feedback_page),
)


# --- the app ------------------------------------------------------------------------------

def build_admin_app(assistant: Assistant, settings: Settings,
                    pages: Sequence[AdminPage] = ADMIN_PAGES) -> gr.Blocks:
    """One tab per page, a language switch, the same look as the public app."""
    from ui.app import BROWSER_LANGUAGES_JS, LANG_JS

    first = default_language()
    with gr.Blocks(title=joined("admin_title"), analytics_enabled=False) as app:
        browser_languages = gr.Textbox(visible=False)
        ui_lang = gr.Textbox(first, visible=False)
        context = AdminContext(assistant, settings, FeedbackStore(settings.feedback_db),
                               ui_lang, app=app)
        with gr.Row(elem_id="visio-topbar", equal_height=False):
            header = gr.HTML(_header(first), elem_id="visio-header", js_on_load=None)
            with gr.Row(elem_id="visio-langs", equal_height=False):
                lang_buttons = {
                    code: gr.Button(languages.get(code).label("switch_language"),
                                    elem_id=f"visio-lang-{code}", size="sm",
                                    variant="secondary", scale=0, min_width=0)
                    for code in languages.codes()}
        tabs: list[tuple[AdminPage, Any]] = []
        relabels: list[Relabel] = []
        with gr.Tabs(elem_id="visio-admin-tabs"):
            for page in pages:
                with gr.Tab(label(first, page.title), id=page.key,
                            elem_id=f"visio-tab-{page.key}") as tab:
                    relabels.append(page.build(context))
                tabs.append((page, tab))

        def relabel(lang: str) -> dict[Any, Any]:
            lang = ui_language(lang)
            updates: dict[Any, Any] = {ui_lang: lang, header: _header(lang)}
            for page, tab in tabs:
                updates[tab] = gr.update(label=label(lang, page.title))
            for build_relabel in relabels:
                updates.update(build_relabel(lang))
            return updates

        outputs = list(relabel(first).keys())
        app.load(pick_language, browser_languages, ui_lang, js=BROWSER_LANGUAGES_JS,
                 api_visibility="private", queue=False, show_progress="hidden").then(
            relabel, ui_lang, outputs, js=LANG_JS, api_visibility="private", queue=False,
            show_progress="hidden")
        for code, button in lang_buttons.items():
            button.click(relabel, ui_lang, outputs,
                         js=f"(lang) => {{ window.visioSetLanguage && "
                            f"window.visioSetLanguage('{code}'); return ['{code}']; }}",
                         api_visibility="private", queue=False, show_progress="hidden")
    return app


def _header(lang: str) -> str:
    return (f'<h1>{render.esc(label(lang, "admin_title"))}</h1>'
            f'<p>{render.esc(label(lang, "admin_intro"))}</p>')


def launch_admin(app: gr.Blocks, settings: Settings, **options: Any) -> tuple[Any, str, str]:
    """The staff area on its own address; never without a login."""
    from ui.app import parse_auth
    from ui.style import launch_options

    auth = parse_auth(settings.admin_auth, "VISIO_ADMIN_AUTH")
    if not auth:
        raise ConfigError("the staff area needs a login: set VISIO_ADMIN_AUTH")
    app.queue(default_concurrency_limit=4, max_size=16)
    arguments: dict[str, Any] = {
        **launch_options(),
        "server_name": settings.admin_host,
        "server_port": settings.admin_port,
        "auth": auth,
        # The evaluator's page offers the files of finished runs for download (nothing
        # else of the data folder), and takes test sets of a few megabytes at most.
        "allowed_paths": [str(settings.data_dir / "eval")],
        "max_file_size": MAX_UPLOAD_BYTES,
    }
    arguments.update(options)
    return app.launch(**arguments)
