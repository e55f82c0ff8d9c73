"""The web interface: residents' chat, staff wording search, evaluators' scores.

``serve(settings)`` is what ``make run`` / ``visio serve`` start: it loads the
embedding model once, brings the index up to date, creates ONE shared
:class:`Assistant` and launches :func:`build_app` with the queue, login and
address from the settings (:func:`launch_app`, also used by the tests).

Every text is in Swedish or Finnish (``ui.labels``); the language switch
starts at the browser's language. Everything shown from documents or models is
escaped (``ui.render``) and every failure becomes a friendly message.

API endpoints (``gradio_client.Client(url).predict(..., api_name=...)``):

``/ask``            (question: str, history: list[{"role","content"}] = [], ui_lang: str = "sv")
                    → dict: ``Answer.to_dict()`` (answer, language, refused, citations, …).
                    Follow-ups are resolved from ``history``; the answer follows the
                    question's language, ``ui_lang`` only breaks ties.
``/wording``        (phrase: str, lang: str = "") → list[dict]: ``WordingMatch.to_dict()``
                    for every verbatim (or closest) passage; ``lang`` "sv"/"fi" or "" for both.
``/chat``           (question: str, ui_lang: str) → (question box "", chat messages as HTML):
                    the chat window's own streaming event; the conversation is kept in the
                    session, so a client keeping its session gets follow-ups.
``/search_wording`` (phrase: str, lang: "all"|"sv"|"fi", ui_lang: str) → str: the wording tab's
                    HTML.
``/evaluate``       (items: int, ui_lang: str) → (status, HTML): runs the shipped eval set.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from assistant.assistant import Assistant
from assistant.config import ConfigError, Settings
from assistant.feedback import FeedbackError, FeedbackStore
from assistant.store import IndexUnavailable
from assistant import languages
from assistant.types import Answer
from ui import render
from ui.labels import (
    default_language,
    examples,
    intro,
    joined,
    label,
    language_choices,
    language_name,
    metric_labels,
    notice,
    pick_language,
    ui_language,
)

log = logging.getLogger(__name__)

#: A wording search is a phrase or a few keywords; longer input is refused before searching.
MAX_PHRASE_CHARS = 500
#: mallopt() parameter number of M_ARENA_MAX in glibc's malloc.h.
M_ARENA_MAX = -8
#: Notices are answers about the input or the service, not conversation: they are not
#: sent back as history for follow-ups.
NOTICE_KEYS = ("empty_question", "question_too_long", "index_missing", "internal_error")

THEME = gr.themes.Soft(
    primary_hue="teal",
    # System fonts only: nothing is fetched from a font service (the server may be offline).
    font=["system-ui", "-apple-system", "Segoe UI", "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "monospace"],
)

CSS = """
#visio-header h1 { margin-bottom: .2rem; }
#visio-chat .visio-answer p { margin: 0 0 .6rem; }
#visio-chat .visio-ref { color: var(--color-accent); font-weight: 600; }
#visio-chat .visio-pending { opacity: .7; font-style: italic; }
.visio-sources { margin-top: .6rem; border-top: 1px solid var(--border-color-primary);
  padding-top: .4rem; font-size: .9em; }
.visio-sources-title { font-weight: 600; margin-bottom: .2rem; }
.visio-sources ol { list-style: none; padding-left: 0; margin: 0; }
.visio-source { margin: .45rem 0; }
.visio-source .visio-section, .visio-source .visio-status { color: var(--body-text-color-subdued); }
.visio-quote { margin: .25rem 0 .2rem; padding: .2rem .6rem;
  border-left: 3px solid var(--color-accent-soft); font-style: normal; }
mark { background: #fff1a8; color: inherit; padding: 0 .1em; border-radius: 2px; }
.visio-link { font-size: .9em; }
.visio-wording .visio-count { margin: .3rem 0 .6rem; font-weight: 600; }
.visio-match { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: .6rem .8rem; margin-bottom: .8rem; }
.visio-match-head { display: flex; flex-wrap: wrap; gap: .35rem; align-items: baseline; }
.visio-kind { color: var(--body-text-color-subdued); }
.visio-copy { margin-left: auto; cursor: pointer; border: 1px solid var(--border-color-primary);
  border-radius: 6px; padding: .15rem .6rem; background: var(--button-secondary-background-fill); }
.visio-copy.visio-copied { background: var(--color-accent-soft); }
.visio-pair { display: grid; grid-template-columns: 1fr 1fr; gap: .8rem; margin: .5rem 0; }
@media (max-width: 720px) { .visio-pair { grid-template-columns: 1fr; } }
.visio-passage-lang { font-size: .85em; color: var(--body-text-color-subdued); }
.visio-passage-text { margin: .2rem 0; }
.visio-missing { color: var(--body-text-color-subdued); font-style: italic; }
.visio-notice { padding: .5rem .7rem; border-radius: 6px; background: var(--block-background-fill);
  border: 1px solid var(--border-color-primary); }
.visio-scores { border-collapse: collapse; margin: .5rem 0 1rem; }
.visio-scores th, .visio-scores td { border: 1px solid var(--border-color-primary);
  padding: .2rem .5rem; text-align: left; }
.visio-fail { color: #b00020; font-weight: 600; } .visio-ok { color: #1b7f3b; font-weight: 600; }
.visio-eval figure img { max-width: 100%; }
"""

#: Copy buttons of the wording results: the exact text with its source, one click.
#: navigator.clipboard needs a secure context (localhost is one); elsewhere fall back.
COPY_JS = """
element.addEventListener('click', async function (event) {
  const button = event.target.closest('button.visio-copy');
  if (!button) { return; }
  const text = button.dataset.copy || '';
  let copied = false;
  try {
    await navigator.clipboard.writeText(text);
    copied = true;
  } catch (error) {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    try { copied = document.execCommand('copy'); } catch (ignored) { copied = false; }
    area.remove();
  }
  if (copied) {
    const original = button.textContent;
    button.textContent = button.dataset.done || original;
    button.classList.add('visio-copied');
    setTimeout(function () {
      button.textContent = original;
      button.classList.remove('visio-copied');
    }, 1500);
  }
});
"""

#: Reads the browser's language preferences for the first choice of interface language.
BROWSER_LANGUAGES_JS = """
() => [(navigator.languages && navigator.languages.length)
       ? navigator.languages.join(',') : (navigator.language || '')]
"""
#: Keeps <html lang> (screen readers, hyphenation) and Gradio's own texts (tooltips, footer,
#: queue messages) in step with the switch. Gradio exposes no API for its locale, so this
#: calls ``changeLocale`` of its already loaded core module; if that ever moves, only
#: Gradio's few built-in texts stay in the browser's language.
HTML_LANG_JS = r"""
(lang) => {
  document.documentElement.lang = lang;
  try {
    const core = performance.getEntriesByType('resource').map((entry) => entry.name)
      .find((name) => /\/assets\/core-[^/]*\.js(\?|$)/.test(name));
    if (core) {
      import(core).then((module) => {
        if (typeof module.changeLocale === 'function') { module.changeLocale(lang); }
      }).catch(() => {});
    }
  } catch (error) { /* Gradio's built-in texts keep the browser language */ }
  return [lang];
}
"""


# --- conversation state -----------------------------------------------------------------

@dataclass
class Turn:
    """One question and its answer, as kept in the browser session."""

    question: str
    answer: Answer
    feedback_id: int | None = None

    @property
    def is_notice(self) -> bool:
        return bool(self.answer.notes) and self.answer.notes[0] in NOTICE_KEYS


@dataclass
class Conversation:
    turns: list[Turn] = field(default_factory=list)
    rated_turn: int | None = None  # the turn a comment will be attached to

    def history(self) -> list[dict[str, str]]:
        """The conversation so far as the assistant reads it (notices left out)."""
        messages: list[dict[str, str]] = []
        for turn in self.turns:
            if turn.is_notice or not turn.question.strip():
                continue
            messages.append({"role": "user", "content": turn.question})
            messages.append({"role": "assistant", "content": turn.answer.answer})
        return messages


def chat_messages(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """The chat window's messages: escaped question, answer with its sources."""
    messages: list[dict[str, str]] = []
    for turn in turns:
        if turn.question.strip():
            messages.append({"role": "user", "content": render.question_html(turn.question)})
        messages.append({"role": "assistant", "content": render.message_html(turn.answer)})
    return messages


def turn_of_message(turns: Sequence[Turn], index: object) -> int | None:
    """Which turn the chat message at ``index`` answers (None for a question or unknown)."""
    if isinstance(index, (list, tuple)):
        index = index[0] if index else None
    if not isinstance(index, int):
        return None
    position = 0
    for number, turn in enumerate(turns):
        if turn.question.strip():
            position += 1
        if position == index:
            return number
        position += 1
    return None


def parse_auth(value: str) -> list[tuple[str, str]] | None:
    """``"user:pw,user2:pw2"`` → [("user", "pw"), …]; empty → None (no login)."""
    if not value or not value.strip():
        return None
    pairs: list[tuple[str, str]] = []
    for item in value.split(","):
        user, sep, password = item.strip().partition(":")
        if not sep or not user.strip() or not password:
            raise ConfigError("VISIO_AUTH must be user:password pairs separated by commas")
        pairs.append((user.strip(), password))
    return pairs


def _conversation(state: object) -> Conversation:
    """The session's conversation (Gradio starts every session with None)."""
    return state if isinstance(state, Conversation) else Conversation()


def _safe_notice(lang: str, key: str) -> Answer:
    return Answer(answer=notice(lang, key), language=lang, refused=True, notes=(key,))


# --- the app ----------------------------------------------------------------------------

def build_app(assistant: Assistant, settings: Settings) -> gr.Blocks:
    """The three tabs wired to one shared assistant; see the module docstring for the API."""
    feedback = FeedbackStore(settings.feedback_db)
    eval_count = _eval_item_count()
    collection = assistant.collection
    first = default_language()

    def header_text(lang: str) -> str:
        return f"# {label(lang, 'app_title')}\n{intro(collection, lang)}"

    def example_list(lang: str) -> list[dict[str, str]]:
        return [{"text": text} for text in examples(collection, lang)]

    with gr.Blocks(title=joined("app_title"), analytics_enabled=False) as app:
        conversation = gr.State(None)  # a Conversation once the first turn is asked
        browser_languages = gr.Textbox(visible=False)
        with gr.Row(equal_height=True):
            header = gr.Markdown(header_text(first), elem_id="visio-header")
            ui_lang = gr.Radio(language_choices(), value=first, label=joined("language_switch"),
                               elem_id="visio-lang", scale=0, min_width=220)

        with gr.Tabs():
            with gr.Tab(label(first, "tab_chat"), id="chat", elem_id="visio-tab-chat") as chat_tab:
                chatbot = gr.Chatbot(
                    value=[], label=label(first, "chat_label"), elem_id="visio-chat",
                    height=540, render_markdown=False, sanitize_html=True, allow_tags=False,
                    latex_delimiters=[], feedback_options=("Like", "Dislike"),
                    # No per-message copy button: it would copy the HTML source, not the text.
                    buttons=[], group_consecutive_messages=False, layout="bubble",
                    placeholder=label(first, "chat_placeholder"), examples=example_list(first))
                with gr.Row():
                    question = gr.Textbox(label=label(first, "question_label"),
                                          placeholder=label(first, "question_placeholder"),
                                          lines=1, max_lines=6, scale=6,
                                          elem_id="visio-question")
                    send = gr.Button(label(first, "send"), variant="primary", scale=1,
                                     min_width=100, elem_id="visio-send")
                with gr.Row():
                    clear = gr.Button(label(first, "clear"), variant="secondary", size="sm",
                                      elem_id="visio-clear")
                chat_status = gr.HTML("", elem_id="visio-chat-status", js_on_load=None)
                with gr.Row(visible=False, elem_id="visio-comment-row") as comment_row:
                    comment = gr.Textbox(label=label(first, "comment_label"),
                                         placeholder=label(first, "comment_placeholder"),
                                         lines=2, max_lines=6, scale=6,
                                         elem_id="visio-comment")
                    comment_send = gr.Button(label(first, "comment_send"), scale=1,
                                             min_width=100, elem_id="visio-comment-send")

            with gr.Tab(label(first, "tab_wording"), id="wording",
                        elem_id="visio-tab-wording") as wording_tab:
                wording_intro = gr.Markdown(label(first, "wording_intro"))
                with gr.Row():
                    phrase = gr.Textbox(label=label(first, "wording_label"),
                                        placeholder=label(first, "wording_placeholder"),
                                        scale=4, elem_id="visio-phrase")
                    wording_lang = gr.Radio(_wording_choices(first), value="all",
                                            label=label(first, "wording_lang_label"), scale=2,
                                            elem_id="visio-wording-lang")
                    search = gr.Button(label(first, "wording_search"), variant="primary",
                                       scale=1, min_width=100, elem_id="visio-search")
                results = gr.HTML("", elem_id="visio-wording-results", js_on_load=COPY_JS)

            with gr.Tab(label(first, "tab_eval"), id="eval", elem_id="visio-tab-eval",
                        visible=eval_count > 0) as eval_tab:
                eval_intro = gr.Markdown(label(first, "eval_intro"))
                with gr.Row():
                    eval_items = gr.Slider(1, max(eval_count, 1), value=max(1, min(40, eval_count)),
                                           step=1, label=label(first, "eval_count"), scale=3,
                                           elem_id="visio-eval-items")
                    eval_run = gr.Button(label(first, "eval_run"), variant="primary", scale=1,
                                         elem_id="visio-eval-run")
                eval_status = gr.Markdown("", elem_id="visio-eval-status")
                eval_out = gr.HTML("", elem_id="visio-eval-out", js_on_load=None)

        # -- language ---------------------------------------------------------------------
        def relabel(lang: str) -> dict[Any, Any]:
            lang = ui_language(lang)
            return {
                header: gr.update(value=header_text(lang)),
                chat_tab: gr.update(label=label(lang, "tab_chat")),
                wording_tab: gr.update(label=label(lang, "tab_wording")),
                eval_tab: gr.update(label=label(lang, "tab_eval")),
                chatbot: gr.update(label=label(lang, "chat_label"),
                                   placeholder=label(lang, "chat_placeholder"),
                                   examples=example_list(lang)),
                question: gr.update(label=label(lang, "question_label"),
                                    placeholder=label(lang, "question_placeholder")),
                send: gr.update(value=label(lang, "send")),
                clear: gr.update(value=label(lang, "clear")),
                comment: gr.update(label=label(lang, "comment_label"),
                                   placeholder=label(lang, "comment_placeholder")),
                comment_send: gr.update(value=label(lang, "comment_send")),
                wording_intro: gr.update(value=label(lang, "wording_intro")),
                phrase: gr.update(label=label(lang, "wording_label"),
                                  placeholder=label(lang, "wording_placeholder")),
                wording_lang: gr.update(choices=_wording_choices(lang),
                                        label=label(lang, "wording_lang_label")),
                search: gr.update(value=label(lang, "wording_search")),
                eval_intro: gr.update(value=label(lang, "eval_intro")),
                eval_items: gr.update(label=label(lang, "eval_count")),
                eval_run: gr.update(value=label(lang, "eval_run")),
                chat_status: gr.update(value=""),
            }

        relabelled = [header, chat_tab, wording_tab, eval_tab, chatbot, question, send, clear,
                      comment, comment_send, wording_intro, phrase, wording_lang, search,
                      eval_intro, eval_items, eval_run, chat_status]
        app.load(pick_language, browser_languages, ui_lang, js=BROWSER_LANGUAGES_JS,
                 api_visibility="private", queue=False).then(
            None, ui_lang, None, js=HTML_LANG_JS, api_visibility="private", queue=False)
        ui_lang.change(relabel, ui_lang, relabelled, js=HTML_LANG_JS, api_visibility="private",
                       queue=False)

        # -- chat ---------------------------------------------------------------------------
        def chat(text: str, state: Conversation, lang: str) -> Iterator[tuple[Any, ...]]:
            lang = ui_language(lang)
            state = _conversation(state)
            text = text if isinstance(text, str) else ""
            shown = chat_messages(state.turns)
            if text.strip():
                shown.append({"role": "user", "content": render.question_html(text)})
            shown.append({"role": "assistant", "content": render.streaming_html("", lang)})
            yield "", shown, state, "", gr.update(visible=False)
            answer: Answer | None = None
            partial = ""
            try:
                for event in assistant.ask_stream(text, state.history(), lang):
                    if isinstance(event, Answer):
                        answer = event
                    else:
                        partial += event
                        # A new list each time: Gradio diffs a stream against the last value.
                        shown = [*shown[:-1], {"role": "assistant",
                                               "content": render.streaming_html(partial, lang)}]
                        yield gr.skip(), shown, gr.skip(), gr.skip(), gr.skip()
            except Exception:  # the assistant already catches; this guards the UI itself
                log.exception("chat failed")
                answer = None
            if answer is None:
                answer = _safe_notice(lang, "internal_error")
            state.turns.append(Turn(text, answer))
            del state.turns[:-settings.max_conversation_turns]
            state.rated_turn = None
            yield "", chat_messages(state.turns), state, "", gr.update(visible=False)

        chat_outputs = [question, chatbot, conversation, chat_status, comment_row]
        question.submit(chat, [question, conversation, ui_lang], chat_outputs, api_name="chat")
        send.click(chat, [question, conversation, ui_lang], chat_outputs,
                   api_visibility="private")

        def take_example(data: gr.SelectData) -> str:
            value = data.value
            return value.get("text", "") if isinstance(value, Mapping) else str(value or "")

        chatbot.example_select(take_example, None, question, api_visibility="private",
                               queue=False).then(
            chat, [question, conversation, ui_lang], chat_outputs, api_visibility="private")

        def clear_chat() -> tuple[Any, ...]:
            return [], Conversation(), "", "", gr.update(visible=False), ""

        cleared = [chatbot, conversation, question, chat_status, comment_row, comment]
        clear.click(clear_chat, None, cleared, api_visibility="private", queue=False)
        # The chat window's own bin icon empties the messages; forget the conversation too.
        chatbot.clear(clear_chat, None, cleared, api_visibility="private", queue=False)

        # -- feedback -------------------------------------------------------------------------
        def on_like(state: Conversation, lang: str, data: gr.LikeData) -> tuple[Any, ...]:
            lang = ui_language(lang)
            state = _conversation(state)
            number = turn_of_message(state.turns, data.index)
            if number is None:
                return state, _status(label(lang, "feedback_no_answer")), gr.update(visible=False)
            turn = state.turns[number]
            rating = {True: 1, False: -1, "Like": 1, "Dislike": -1}.get(data.liked)  # type: ignore[arg-type]
            try:
                if turn.feedback_id is not None:
                    feedback.remove(turn.feedback_id)
                    turn.feedback_id = None
                if rating is None:  # the same thumb clicked again: rating withdrawn
                    state.rated_turn = None
                    return state, _status(label(lang, "feedback_removed")), gr.update(
                        visible=False)
                turn.feedback_id = feedback.add(
                    turn.question, turn.answer.answer, turn.answer.language,
                    turn.answer.citations, rating)
            except FeedbackError as exc:
                log.error("feedback not stored: %s", exc)
                return state, _status(label(lang, "feedback_failed")), gr.update(visible=False)
            state.rated_turn = number
            return state, _status(label(lang, "feedback_saved")), gr.update(visible=True)

        chatbot.like(on_like, [conversation, ui_lang], [conversation, chat_status, comment_row],
                     api_visibility="private")

        def send_comment(text: str, state: Conversation, lang: str) -> tuple[Any, ...]:
            lang = ui_language(lang)
            state = _conversation(state)
            number = state.rated_turn
            if number is None or number >= len(state.turns) or \
                    state.turns[number].feedback_id is None:
                return gr.skip(), _status(label(lang, "comment_without_rating")), gr.skip()
            if not (text or "").strip():
                return gr.skip(), gr.skip(), gr.skip()
            try:
                feedback.set_comment(state.turns[number].feedback_id, text)
            except FeedbackError as exc:
                log.error("comment not stored: %s", exc)
                return gr.skip(), _status(label(lang, "feedback_failed")), gr.skip()
            return "", _status(label(lang, "comment_saved")), gr.update(visible=False)

        comment_outputs = [comment, chat_status, comment_row]
        comment_send.click(send_comment, [comment, conversation, ui_lang], comment_outputs,
                           api_visibility="private")
        comment.submit(send_comment, [comment, conversation, ui_lang], comment_outputs,
                       api_visibility="private")

        # -- staff: wording -----------------------------------------------------------------
        def search_wording(text: str, lang: str, ui: str) -> str:
            ui = ui_language(ui)
            text = text if isinstance(text, str) else ""
            if len(text) > MAX_PHRASE_CHARS:
                return render.notice_html(label(ui, "too_long_input", chars=len(text),
                                                limit=MAX_PHRASE_CHARS))
            if not text.strip():
                return render.wording_html("", [], ui)
            try:
                matches = assistant.find_wording(text, lang=lang if lang in languages.registry() else None)
            except IndexUnavailable as exc:
                log.warning("wording search without index: %s", exc)
                return render.notice_html(notice(ui, "index_missing"))
            except Exception:
                log.exception("wording search failed")
                return render.notice_html(notice(ui, "internal_error"))
            return render.wording_html(text.strip(), matches, ui)

        search.click(search_wording, [phrase, wording_lang, ui_lang], results,
                     api_name="search_wording")
        phrase.submit(search_wording, [phrase, wording_lang, ui_lang], results,
                      api_visibility="private")

        # -- evaluators ---------------------------------------------------------------------
        def evaluate(count: float, ui: str,
                     progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[str, str]:  # noqa: B008
            ui = ui_language(ui)
            try:
                return _run_evaluation(settings, int(count), ui)
            except Exception as exc:
                log.exception("evaluation failed")
                reason = render.esc(str(exc) or type(exc).__name__)  # shown as Markdown
                return label(ui, "eval_failed", reason=reason), ""

        eval_run.click(evaluate, [eval_items, ui_lang], [eval_status, eval_out],
                       api_name="evaluate", concurrency_limit=1, concurrency_id="evaluate")

        # -- plain API ---------------------------------------------------------------------
        def ask(question: str, history: list[dict[str, str]] | None = None,
                ui_lang: str = "") -> dict[str, Any]:
            """Answer one question (Swedish or Finnish) with citations; see Answer.to_dict."""
            return assistant.ask(question, history or [], ui_lang).to_dict()

        def wording(phrase: str, lang: str = "") -> list[dict[str, Any]]:
            """Every verbatim (or closest) passage for a phrase, with its counterpart."""
            phrase = phrase if isinstance(phrase, str) else ""
            if len(phrase) > MAX_PHRASE_CHARS:
                raise gr.Error(label(lang, "too_long_input", chars=len(phrase),
                                     limit=MAX_PHRASE_CHARS))
            try:
                matches = assistant.find_wording(phrase, lang=lang if lang in languages.registry() else None)
            except IndexUnavailable as exc:
                raise gr.Error(notice(lang, "index_missing")) from exc
            return [m.to_dict() for m in matches]

        gr.api(ask, api_name="ask")
        gr.api(wording, api_name="wording")
    return app


def _wording_choices(lang: str) -> list[tuple[str, str]]:
    return [(label(lang, "wording_lang_all"), "all"),
            *((language_name(lang, code), code) for code in languages.codes())]


def _status(text: str) -> str:
    return render.notice_html(text)


def _eval_item_count() -> int:
    """Items in the shipped test set (0 hides the tab when the evals are not installed)."""
    try:
        from evals.runner import SHIPPED_SET, load_sets

        return len(load_sets(SHIPPED_SET))
    except Exception as exc:  # no test set, or an unreadable one: no evaluation tab
        log.warning("evaluation tab disabled: %s", exc)
        return 0


def _run_evaluation(settings: Settings, count: int, ui: str) -> tuple[str, str]:
    """The shipped set (``count`` items spread over it) through the eval runner."""
    from evals import report
    from evals.runner import SHIPPED_SET, SHIPPED_THRESHOLDS, load_sets, run_eval, spread

    items = load_sets(SHIPPED_SET)
    chosen = spread(items, max(1, min(count, len(items))))
    run = run_eval(settings, chosen, progress=True, label="ui")
    names = {key: metric_labels(ui).get(key, default) for key, default in report.HEADLINE.items()}
    body = render.eval_html(run.summary, report.charts(run, None), ui, names,
                            SHIPPED_THRESHOLDS, report.fmt)
    status = label(ui, "eval_done", n=len(run.records),
                   seconds=float(run.meta.get("duration_s", 0.0)))
    return status, body


# --- launching --------------------------------------------------------------------------

def launch_app(app: gr.Blocks, settings: Settings, **options: Any) -> tuple[Any, str, str]:
    """Queue, login, theme and address from the settings; ``options`` override launch()."""
    app.queue(default_concurrency_limit=settings.concurrency, max_size=settings.max_queue)
    arguments: dict[str, Any] = {
        "server_name": settings.host,
        "server_port": settings.port,
        "auth": parse_auth(settings.auth),
        "auth_message": joined("login_message"),
        "theme": THEME,
        "css": CSS,
        "share": False,
        "ssr_mode": False,
        "show_error": False,
        "footer_links": ["api", "settings"],
        "run_history": False,
        "state_session_capacity": settings.max_sessions,
    }
    arguments.update(options)
    return app.launch(**arguments)


def _limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas before the server's threads start.

    glibc gives the request threads up to 16 arenas on 2 cores and keeps their
    fragments: under benchmarks/load.py (32 users) the server grew from 1.45 GB to
    2.2 GB in 1 500 answers. With two arenas it was at 1.8 GB after 2 000, with the
    same throughput. (What MALLOC_ARENA_MAX=2 does, set from inside so that every way
    of starting the server gets it.)
    """
    if sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_ARENA_MAX, arenas)
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to tune
        pass


def serve(settings: Settings) -> None:
    """Load the model once, bring the index up to date, start the UI (blocks until stopped).

    An index that cannot be built does not stop the server (the chat says the index is
    missing); a malformed login setting or a model that cannot be loaded does.
    """
    from assistant.embeddings import EmbeddingError, get_embedder
    from assistant.indexing import build_index

    try:
        parse_auth(settings.auth)
    except ConfigError as exc:
        raise SystemExit(f"visio serve: {exc}") from exc
    _limit_malloc_arenas()
    print(f"Loading the embedding model ({settings.embedding_model}) …", flush=True)
    try:
        embedder = get_embedder(settings)
    except EmbeddingError as exc:
        raise SystemExit(f"visio serve: the embedding model could not be loaded: {exc}") from exc
    try:
        report = build_index(settings, embedder=embedder)
        for problem in report.problems:
            print(f"skipped {problem.path}: {problem.reason}", file=sys.stderr)
        print(report.summary(), flush=True)
    except Exception as exc:  # the UI still starts and tells users the index is missing
        if not isinstance(exc, IndexUnavailable):  # an expected state needs no traceback
            log.exception("index build failed")
        print(f"The index could not be built: {exc}\nThe chat will say the index is missing "
              "until `visio index build` succeeds.", file=sys.stderr, flush=True)
    assistant = Assistant(settings, embedder)
    print("Loading the language detector and the index …", flush=True)
    assistant.warm_up()  # otherwise the first questions pay for it, stalling every request
    app = build_app(assistant, settings)
    print(f"Serving on http://{settings.host}:{settings.port}", flush=True)
    launch_app(app, settings)
