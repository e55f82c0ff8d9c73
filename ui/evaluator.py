"""The evaluator's page of the staff area: run a test set, read the figures, download the
results, compare two runs.

1. **Set**: one of the shipped sets in ``evals/sets/`` whose expected documents are all in
   the corpus this server answers from (the held-out ones first and by default, the
   development ones labelled as such), or an uploaded JSONL file (at most
   :data:`ui.eval_sets.MAX_SET_BYTES`; a malformed one gets the loader's message naming the
   line and the problem). The set's notes (own keys kept, likely misspellings, quotes found
   in no expected document) are shown before anything runs.
2. **Run**: the server's own assistant answers every item in a background thread; the page
   shows a progress bar (items done / total) and can stop the run after the current item.
   One run at a time per server (:class:`ui.eval_runs.RunSlot`, shared with the quick
   evaluation tab): a second request is told that a run is in progress. Results go to
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
This module builds the page and wires its events. What it is made of is plain and tested
without a browser: the sets (``ui.eval_sets``), running one and reading it back
(``ui.eval_runs``), the HTML shown (``ui.eval_render``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from evals.items import EvalItem, EvalSetError
from evals.runs import find_run, folder, list_runs, new_run_dir
from ui.eval_render import (
    comparison_html,
    figures_html,
    problem_html,
    progress_html,
    report_frame_html,
    set_info_html,
    status_html,
)
from ui.eval_runs import (
    RunSlot,
    busy_text,
    ensure_csv,
    read_records,
    read_summary,
    run_files,
    start_run,
)
from ui.eval_sets import (
    MAX_SET_BYTES,
    UPLOAD,
    SetChoice,
    UploadProblem,
    forget_upload,
    megabytes,
    read_upload,
    shipped_choices,
    summarize_set,
)
from ui.labels import default_language, label, ui_language
from ui.render import esc

if TYPE_CHECKING:
    from ui.admin import AdminContext, Relabel

log = logging.getLogger(__name__)

#: How often the progress bar is redrawn while nothing else happens (seconds).
POLL_SECONDS = 0.5


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
    limit = megabytes(MAX_SET_BYTES)

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
