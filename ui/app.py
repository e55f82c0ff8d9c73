"""The public web app: residents' chat and the wording search.

``serve(settings)`` is what ``make run`` / ``visio serve`` start: it loads the
embedding model once, brings the index up to date, creates ONE shared
:class:`Assistant` and launches the public app (:func:`build_app`) on
``VISIO_HOST:VISIO_PORT`` and, when ``VISIO_ADMIN_AUTH`` is set, the staff area
(``ui.admin``: evaluation runs, feedback counts) behind its login on
``VISIO_ADMIN_HOST:VISIO_ADMIN_PORT``. Nothing that costs minutes of CPU or
changes more than one visitor's own rating exists in the public app, so no
anonymous visitor can start it, through the page or the API.

Every text is in the interface language (``ui.labels``, from the language files);
the switch at the top starts at the URL's ``?lang=``, then the browser's
language, and sets ``<html lang>``. Gradio's own built-in texts (which follow
only the browser's locale) are kept off the page: no chat widget, no footer, no
progress texts. Everything shown from documents or models is escaped
(``ui.render``), every failure becomes a friendly message, and each session and
client address may ask ``VISIO_QUESTIONS_PER_MINUTE`` /
``VISIO_QUESTIONS_PER_MINUTE_PER_ADDRESS`` questions a minute (``ui.limits``).

API endpoints (``gradio_client.Client(url).predict(..., api_name=...)``):

``/ask``            (question: str, history: list[{"role","content"}] = [], ui_lang: str = "sv")
                    → dict: ``Answer.to_dict()`` (answer, language, refused, citations, …).
                    Follow-ups are resolved from ``history``; the answer follows the
                    question's language, ``ui_lang`` only breaks ties. A refusal also
                    carries ``human_contact`` (Markdown: where a person answers). Over the
                    question limit: refused, ``notes == ["rate_limited"]``, the friendly
                    message.
``/wording``        (phrase: str, lang: str = "") → list[dict]: ``WordingMatch.to_dict()``
                    for every verbatim (or closest) passage; ``lang`` "sv"/"fi" or "" for both.
                    ``shape`` says where the phrase stands: "sentence" (in ``text``, at
                    ``highlights``), or "title" / "heading" (in ``heading``, at
                    ``heading_highlights``; ``text`` is the first text under it,
                    ``heading_path`` the headings down to it, ``counterpart.heading``
                    the other language's).
                    Sentences holding the phrase come first, then titles and headings.
``/chat``           (question: str, ui_lang: str) → (question box "", conversation HTML,
                    answer-in-progress HTML, …): the chat's own streaming event; the
                    conversation is kept in the session, so a client keeping its session
                    gets follow-ups.
``/search_wording`` (phrase: str, lang: "all"|"sv"|"fi", ui_lang: str) → str: the wording tab's
                    HTML.

Beside the app, plain HTML pages: ``about/<lang>`` and ``accessibility/<lang>``
(``ui.pages``).
"""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from assistant import languages
from assistant.assistant import Assistant
from assistant.config import ConfigError, Settings
from assistant.feedback import REASONS, FeedbackError, FeedbackStore
from assistant.store import IndexUnavailable
from assistant.types import Answer
from ui import pages, render
from ui.labels import (
    default_language,
    examples,
    intro,
    joined,
    label,
    language_name,
    notice,
    pick_language,
    ui_language,
)
from ui.limits import (
    MAX_COMMENT_CHARS,
    MAX_HISTORY_MESSAGE_CHARS,
    MAX_HISTORY_MESSAGES,
    MAX_PHRASE_CHARS,
    MAX_QUESTION_CHARS,
    MAX_REQUEST_BYTES,
    BodySizeLimit,
    RateLimiter,
    client_of,
)
from ui.style import launch_options

log = logging.getLogger(__name__)

#: mallopt() parameter number of M_ARENA_MAX in glibc's malloc.h.
M_ARENA_MAX = -8
#: Notices are answers about the input or the service, not conversation: they are not
#: sent back as history for follow-ups.
NOTICE_KEYS = ("empty_question", "question_too_long", "index_missing", "internal_error",
               "rate_limited", "input_too_long")
#: Answers after which pointing to a person would be noise (greetings, input problems).
NO_CONTACT_NOTES = ("empty_question", "question_too_long", "rate_limited", "input_too_long",
                    "smalltalk_greeting", "smalltalk_thanks", "smalltalk_goodbye")
#: Example questions the empty chat offers at most (collection.yaml may list more).
MAX_EXAMPLES = 6

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

#: The first interface language: ``?lang=`` of the address, then this tab's earlier choice,
#: then the browser's preferences.
BROWSER_LANGUAGES_JS = """
() => {
  const wanted = [];
  try { wanted.push(new URLSearchParams(window.location.search).get('lang') || ''); }
  catch (error) { /* no URL parameters */ }
  try { wanted.push(sessionStorage.getItem('visio-lang') || ''); } catch (error) { /* private */ }
  if (navigator.languages && navigator.languages.length) { wanted.push(...navigator.languages); }
  else { wanted.push(navigator.language || ''); }
  return [wanted.filter(Boolean).join(',')];
}
"""
#: Sets <html lang> (screen readers, hyphenation) and the switch's pressed state before
#: the texts are relabelled on the server.
LANG_JS = "(lang, ...rest) => { window.visioSetLanguage && window.visioSetLanguage(lang); " \
          "return [lang, ...rest]; }"


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
    rated_turn: int | None = None  # the turn the feedback panel's details go to
    number: int = 0  # turns asked so far in this session (ids of the page's turns)

    def history(self) -> list[dict[str, str]]:
        """The conversation so far as the assistant reads it (notices left out)."""
        messages: list[dict[str, str]] = []
        for turn in self.turns:
            if turn.is_notice or not turn.question.strip():
                continue
            messages.append({"role": "user", "content": turn.question})
            messages.append({"role": "assistant", "content": turn.answer.answer})
        return messages

    @property
    def first_number(self) -> int:
        """The number of the oldest turn still kept."""
        return self.number - len(self.turns) + 1


def _conversation(state: object) -> Conversation:
    """The session's conversation (Gradio starts every session with None)."""
    return state if isinstance(state, Conversation) else Conversation()


def _safe_notice(lang: str, key: str) -> Answer:
    return Answer(answer=notice(lang, key), language=lang, refused=True, notes=(key,))


def _ui_notice(lang: str, key: str, **values: object) -> Answer:
    """A notice worded by the interface (not the assistant), e.g. the question limit."""
    return Answer(answer=label(lang, key, **values), language=ui_language(lang),
                  refused=True, notes=(key,))


def parse_auth(value: str, variable: str = "VISIO_AUTH") -> list[tuple[str, str]] | None:
    """``"user:pw,user2:pw2"`` → [("user", "pw"), …]; empty → None (no login)."""
    if not value or not value.strip():
        return None
    pairs: list[tuple[str, str]] = []
    for item in value.split(","):
        user, sep, password = item.strip().partition(":")
        if not sep or not user.strip() or not password:
            raise ConfigError(f"{variable} must be user:password pairs separated by commas")
        pairs.append((user.strip(), password))
    return pairs


def clean_history(history: object) -> list[dict[str, str]]:
    """An API client's history, bounded: the last messages, each of bounded length."""
    if not isinstance(history, list):
        return []
    kept: list[dict[str, str]] = []
    for message in history[-MAX_HISTORY_MESSAGES:]:
        if isinstance(message, dict):
            kept.append({str(k)[:20]: str(v)[:MAX_HISTORY_MESSAGE_CHARS]
                         for k, v in list(message.items())[:4]})
    return kept


# --- what the page shows ----------------------------------------------------------------

class Page:
    """The HTML fragments of the public page, in one interface language."""

    def __init__(self, texts: pages.ServiceTexts, collection: Any) -> None:
        self.texts = texts
        self.collection = collection

    def nav(self, lang: str) -> str:
        about = pages.new_tab_link(pages.page_path("about", lang), label(lang, "about_link"),
                                   lang)
        statement = pages.new_tab_link(pages.page_path("accessibility", lang),
                                       label(lang, "accessibility_link"), lang)
        return (f'<nav aria-label="{render.esc(label(lang, "nav_label"))}"><ul>'
                f"<li>{about}</li><li>{statement}</li></ul></nav>")

    def header(self, lang: str) -> str:
        return (f'<h1>{render.esc(label(lang, "app_title"))}</h1>'
                f'<p>{render.esc(intro(self.collection, lang))}</p>')

    def turn(self, conversation: Conversation, index: int, lang: str) -> str:
        turn = conversation.turns[index]
        after = ""
        if turn.answer.refused and not set(turn.answer.notes) & set(NO_CONTACT_NOTES):
            after = self.texts.refusal_contact_html(lang)
        answer = turn.answer
        if answer.language not in languages.registry():  # e.g. the two-language notice
            answer = dataclasses.replace(answer, language=lang)
        return render.turn_html(conversation.first_number + index, turn.question, answer,
                                lang, after_answer=after)

    def conversation(self, conversation: Conversation, lang: str) -> str:
        return render.conversation_html(
            [self.turn(conversation, i, lang) for i in range(len(conversation.turns))], lang)

    def feedback_title(self, conversation: Conversation, lang: str) -> str:
        heading = f'<h2>{render.esc(label(lang, "feedback_heading"))}</h2>'
        if not conversation.turns:
            return heading
        question = " ".join(conversation.turns[-1].question.split())
        if len(question) > 120:
            question = question[:117].rstrip() + "…"
        about = label(lang, "feedback_about", question=question)
        return heading + f'<p class="visio-feedback-about">{render.esc(about)}</p>'

    def footer(self, lang: str) -> str:
        return self.nav(lang).replace("<nav ", '<nav id="visio-footer-nav" ', 1)


def reason_choices(lang: str) -> list[tuple[str, str]]:
    names: Any = languages.get(ui_language(lang)).ui.get("reasons", {})
    return [(str(names.get(code, code)), code) for code in REASONS]


def _rateable(turn: Turn) -> bool:
    return not turn.is_notice and bool(turn.question.strip())


# --- the app ----------------------------------------------------------------------------

def build_app(assistant: Assistant, settings: Settings,
              limiter: RateLimiter | None = None) -> gr.Blocks:
    """The chat and wording tabs wired to one shared assistant (API: module docstring)."""
    feedback = FeedbackStore(settings.feedback_db)
    limiter = limiter or RateLimiter(settings.questions_per_minute,
                                     settings.questions_per_minute_per_address)
    collection = assistant.collection
    texts = pages.ServiceTexts(settings, collection,
                               sources=lambda: assistant.snapshot().sources.values())
    page = Page(texts, collection)
    first = default_language()

    def example_values(lang: str) -> list[str]:
        return examples(collection, lang)[:MAX_EXAMPLES]

    def over_limit(request: gr.Request | None) -> int:
        session, address = client_of(request)
        return limiter.check(session, address)

    with gr.Blocks(title=joined("app_title"), analytics_enabled=False) as app:
        conversation = gr.State(None)  # a Conversation once the first turn is asked
        browser_languages = gr.Textbox(visible=False)
        ui_lang = gr.Textbox(first, visible=False)
        with gr.Row(elem_id="visio-topbar", equal_height=False):
            nav = gr.HTML(page.nav(first), elem_id="visio-nav", js_on_load=None)
            with gr.Row(elem_id="visio-langs", equal_height=False):
                lang_buttons = {
                    code: gr.Button(languages.get(code).label("switch_language"),
                                    elem_id=f"visio-lang-{code}", size="sm",
                                    variant="secondary", scale=0, min_width=0)
                    for code in languages.codes()}
        header = gr.HTML(page.header(first), elem_id="visio-header", js_on_load=None)

        with gr.Tabs(elem_id="visio-tabs"):
            with gr.Tab(label(first, "tab_chat"), id="chat", elem_id="visio-tab-chat") as chat_tab:
                notice_box = gr.HTML(texts.notice_html(first), elem_id="visio-notice",
                                     elem_classes=["visio-html"], js_on_load=None)
                history = gr.HTML(page.conversation(Conversation(), first),
                                  elem_id="visio-history", elem_classes=["visio-html"],
                                  js_on_load=None)
                current = gr.HTML("", elem_id="visio-current", elem_classes=["visio-html"],
                                  js_on_load=None)
                with gr.Column(elem_id="visio-examples-box") as examples_box:
                    examples_title = gr.HTML(
                        f'<h2>{render.esc(label(first, "examples_heading"))}</h2>',
                        elem_id="visio-examples-title", js_on_load=None)
                    with gr.Column(elem_id="visio-examples"):
                        shown = example_values(first)
                        example_buttons = [
                            gr.Button(shown[i] if i < len(shown) else "", size="sm",
                                      visible=i < len(shown), elem_id=f"visio-example-{i}")
                            for i in range(MAX_EXAMPLES)]
                with gr.Column(visible=False, elem_id="visio-feedback") as feedback_box:
                    feedback_title = gr.HTML(page.feedback_title(Conversation(), first),
                                             elem_id="visio-feedback-title", js_on_load=None)
                    with gr.Row(elem_id="visio-thumbs"):
                        thumb_up = gr.Button(label(first, "feedback_up"), size="sm",
                                             elem_id="visio-thumb-up")
                        thumb_down = gr.Button(label(first, "feedback_down"), size="sm",
                                               elem_id="visio-thumb-down")
                    with gr.Column(visible=False, elem_id="visio-feedback-details") as details:
                        reason = gr.Radio(reason_choices(first), value=None,
                                          label=label(first, "feedback_reason_label"),
                                          elem_id="visio-reason")
                        comment = gr.Textbox(label=label(first, "comment_label"),
                                             placeholder=label(first, "comment_placeholder"),
                                             lines=2, max_lines=6, max_length=MAX_COMMENT_CHARS,
                                             elem_id="visio-comment")
                        feedback_send = gr.Button(label(first, "feedback_send"), size="sm",
                                                  elem_id="visio-feedback-send")
                    chat_status = gr.HTML("", elem_id="visio-chat-status",
                                          elem_classes=["visio-status-line"], js_on_load=None)
                with gr.Row(elem_id="visio-ask", equal_height=True):
                    question = gr.Textbox(label=label(first, "question_label"),
                                          placeholder=label(first, "question_placeholder"),
                                          lines=1, max_lines=6, scale=6, min_width=200,
                                          max_length=MAX_QUESTION_CHARS,
                                          elem_id="visio-question")
                    send = gr.Button(label(first, "send"), variant="primary", scale=1,
                                     min_width=100, elem_id="visio-send")
                clear = gr.Button(label(first, "clear"), variant="secondary", size="sm",
                                  elem_id="visio-clear")
                live = gr.HTML("", elem_id="visio-live", elem_classes=["visio-sr"],
                               js_on_load=None)

            with gr.Tab(label(first, "tab_wording"), id="wording",
                        elem_id="visio-tab-wording") as wording_tab:
                wording_intro = gr.Markdown(label(first, "wording_intro"))
                with gr.Row():
                    phrase = gr.Textbox(label=label(first, "wording_label"),
                                        placeholder=label(first, "wording_placeholder"),
                                        scale=4, min_width=200, max_length=MAX_PHRASE_CHARS,
                                        elem_id="visio-phrase")
                    wording_lang = gr.Radio(_wording_choices(first), value="all",
                                            label=label(first, "wording_lang_label"), scale=2,
                                            min_width=200, elem_id="visio-wording-lang")
                    search = gr.Button(label(first, "wording_search"), variant="primary",
                                       scale=1, min_width=100, elem_id="visio-search")
                results = gr.HTML("", elem_id="visio-wording-results",
                                  elem_classes=["visio-html"], js_on_load=COPY_JS)
                search_status = gr.HTML("", elem_id="visio-search-status",
                                        elem_classes=["visio-sr"], js_on_load=None)
        footer = gr.HTML(page.footer(first), elem_id="visio-footer", js_on_load=None)

        # -- language ---------------------------------------------------------------------
        def relabel(lang: str, state: object) -> dict[Any, Any]:
            lang = ui_language(lang)
            state = _conversation(state)
            shown = example_values(lang)
            updates: dict[Any, Any] = {
                ui_lang: lang,
                nav: page.nav(lang),
                header: page.header(lang),
                footer: page.footer(lang),
                chat_tab: gr.update(label=label(lang, "tab_chat")),
                wording_tab: gr.update(label=label(lang, "tab_wording")),
                notice_box: texts.notice_html(lang),
                history: page.conversation(state, lang),
                examples_title: f'<h2>{render.esc(label(lang, "examples_heading"))}</h2>',
                feedback_title: page.feedback_title(state, lang),
                thumb_up: gr.update(value=label(lang, "feedback_up")),
                thumb_down: gr.update(value=label(lang, "feedback_down")),
                reason: gr.update(choices=reason_choices(lang),
                                  label=label(lang, "feedback_reason_label")),
                comment: gr.update(label=label(lang, "comment_label"),
                                   placeholder=label(lang, "comment_placeholder")),
                feedback_send: gr.update(value=label(lang, "feedback_send")),
                question: gr.update(label=label(lang, "question_label"),
                                    placeholder=label(lang, "question_placeholder")),
                send: gr.update(value=label(lang, "send")),
                clear: gr.update(value=label(lang, "clear")),
                chat_status: "",
                wording_intro: gr.update(value=label(lang, "wording_intro")),
                phrase: gr.update(label=label(lang, "wording_label"),
                                  placeholder=label(lang, "wording_placeholder")),
                wording_lang: gr.update(choices=_wording_choices(lang),
                                        label=label(lang, "wording_lang_label")),
                search: gr.update(value=label(lang, "wording_search")),
            }
            for i, button in enumerate(example_buttons):
                updates[button] = gr.update(value=shown[i] if i < len(shown) else "",
                                            visible=i < len(shown))
            return updates

        relabelled = [ui_lang, nav, header, footer, chat_tab, wording_tab, notice_box, history,
                      examples_title, feedback_title, thumb_up, thumb_down, reason, comment,
                      feedback_send, question, send, clear, chat_status, wording_intro, phrase,
                      wording_lang, search, *example_buttons]
        app.load(pick_language, browser_languages, ui_lang, js=BROWSER_LANGUAGES_JS,
                 api_visibility="private", queue=False, show_progress="hidden").then(
            relabel, [ui_lang, conversation], relabelled, js=LANG_JS,
            api_visibility="private", queue=False, show_progress="hidden")
        for code, button in lang_buttons.items():
            button.click(relabel, [ui_lang, conversation], relabelled,
                         js=f"(lang, ...rest) => {{ window.visioSetLanguage && "
                            f"window.visioSetLanguage('{code}'); return ['{code}', ...rest]; }}",
                         api_visibility="private", queue=False, show_progress="hidden")

        # -- chat ---------------------------------------------------------------------------
        def finish(state: Conversation, lang: str, text: str, answer: Answer) -> tuple[Any, ...]:
            state.number += 1
            state.turns.append(Turn(text, answer))
            del state.turns[:-settings.max_conversation_turns]
            state.rated_turn = None
            rateable = _rateable(state.turns[-1])
            return ("", page.conversation(state, lang), "", state,
                    render.answer_announcement(answer, lang),
                    gr.update(visible=rateable), page.feedback_title(state, lang),
                    gr.update(visible=False), "", gr.update(visible=False),
                    gr.update(value=None), "")

        def chat(text: str, state: Conversation, lang: str,
                 request: gr.Request) -> Iterator[tuple[Any, ...]]:
            lang = ui_language(lang)
            state = _conversation(state)
            text = text if isinstance(text, str) else ""
            if len(text) > MAX_QUESTION_CHARS:
                yield finish(state, lang, "", _ui_notice(lang, "input_too_long", chars=len(text),
                                                         limit=MAX_QUESTION_CHARS))
                return
            if text.strip() and (wait := over_limit(request)):
                yield finish(state, lang, text, _ui_notice(lang, "rate_limited", seconds=wait))
                return
            pending = render.turn_html(state.number + 1, text, None, lang)
            yield ("", gr.skip(), render.current_html(pending), gr.skip(),
                   f"<p>{render.esc(label(lang, 'thinking'))}</p>", gr.update(visible=False),
                   gr.skip(), gr.update(visible=False), "", gr.update(visible=False),
                   gr.skip(), gr.skip())
            answer: Answer | None = None
            partial = ""
            try:
                for event in assistant.ask_stream(text, state.history(), lang):
                    if isinstance(event, Answer):
                        answer = event
                    else:
                        partial += event
                        pending = render.turn_html(state.number + 1, text, None, lang, partial)
                        yield (gr.skip(), gr.skip(), render.current_html(pending), gr.skip(),
                               gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(),
                               gr.skip(), gr.skip(), gr.skip())
            except Exception:  # the assistant already catches; this guards the UI itself
                log.exception("chat failed")
                answer = None
            if answer is None:
                answer = _safe_notice(lang, "internal_error")
            yield finish(state, lang, text, answer)

        chat_outputs = [question, history, current, conversation, live, feedback_box,
                        feedback_title, details, chat_status, examples_box, reason, comment]
        question.submit(chat, [question, conversation, ui_lang], chat_outputs, api_name="chat",
                        show_progress="hidden")
        send.click(chat, [question, conversation, ui_lang], chat_outputs,
                   api_visibility="private", show_progress="hidden")

        for button in example_buttons:
            button.click(lambda value: value, button, question, api_visibility="private",
                         queue=False, show_progress="hidden").then(
                chat, [question, conversation, ui_lang], chat_outputs,
                api_visibility="private", show_progress="hidden")

        def clear_chat(state: object, lang: str) -> tuple[Any, ...]:
            fresh = Conversation(number=_conversation(state).number)
            lang = ui_language(lang)
            return (page.conversation(fresh, lang), "", fresh, "", "", gr.update(visible=False),
                    gr.update(visible=False), "", gr.update(visible=True), gr.update(value=None))

        clear.click(clear_chat, [conversation, ui_lang],
                    [history, current, conversation, question, chat_status, feedback_box,
                     details, comment, examples_box, reason],
                    api_visibility="private", queue=False, show_progress="hidden")

        # -- feedback -------------------------------------------------------------------------
        def rate(rating: int, state: object, lang: str) -> tuple[Any, ...]:
            lang = ui_language(lang)
            state = _conversation(state)
            if not state.turns or not _rateable(state.turns[-1]):
                return state, _status(label(lang, "feedback_no_answer")), gr.update(visible=False)
            number = len(state.turns) - 1
            turn = state.turns[number]
            try:  # a second click changes the stored rating instead of adding one
                changed = turn.feedback_id is not None and feedback.set_details(
                    turn.feedback_id, rating=rating)
                if not changed:
                    turn.feedback_id = feedback.add(
                        turn.question, turn.answer.answer, turn.answer.language,
                        turn.answer.citations, rating)
                    feedback.purge(settings.feedback_retention_days)
            except FeedbackError as exc:
                log.error("feedback not stored: %s", exc)
                return state, _status(label(lang, "feedback_failed")), gr.update(visible=False)
            state.rated_turn = number
            return state, _status(label(lang, "feedback_saved")), gr.update(visible=True)

        rating_outputs = [conversation, chat_status, details]
        thumb_up.click(lambda state, lang: rate(1, state, lang), [conversation, ui_lang],
                       rating_outputs, api_visibility="private", show_progress="hidden")
        thumb_down.click(lambda state, lang: rate(-1, state, lang), [conversation, ui_lang],
                         rating_outputs, api_visibility="private", show_progress="hidden")

        def send_details(choice: object, text: str, state: object, lang: str) -> tuple[Any, ...]:
            lang = ui_language(lang)
            state = _conversation(state)
            number = state.rated_turn
            if number is None or number >= len(state.turns) or \
                    state.turns[number].feedback_id is None:
                return gr.skip(), _status(label(lang, "comment_without_rating")), gr.skip()
            chosen = choice if isinstance(choice, str) and choice in REASONS else ""
            comment_text = (text if isinstance(text, str) else "")[:MAX_COMMENT_CHARS]
            try:
                stored = feedback.set_details(state.turns[number].feedback_id,
                                              reason=chosen, comment=comment_text)
            except FeedbackError as exc:
                log.error("feedback details not stored: %s", exc)
                return gr.skip(), _status(label(lang, "feedback_failed")), gr.skip()
            if not stored:  # deleted meanwhile (retention) or never stored
                return gr.skip(), _status(label(lang, "feedback_stale")), gr.skip()
            return "", _status(label(lang, "feedback_details_saved")), gr.update(visible=False)

        detail_outputs = [comment, chat_status, details]
        feedback_send.click(send_details, [reason, comment, conversation, ui_lang],
                            detail_outputs, api_visibility="private", show_progress="hidden")

        # -- staff: wording -----------------------------------------------------------------
        def search_wording(text: str, lang: str, ui: str,
                           request: gr.Request) -> tuple[str, str]:
            ui = ui_language(ui)
            text = text if isinstance(text, str) else ""
            if len(text) > MAX_PHRASE_CHARS:
                said = label(ui, "too_long_input", chars=len(text), limit=MAX_PHRASE_CHARS)
            elif not text.strip():
                said = label(ui, "wording_empty")
            elif wait := over_limit(request):
                said = label(ui, "rate_limited", seconds=wait)
            else:
                try:
                    matches = assistant.find_wording(
                        text, lang=lang if lang in languages.registry() else None)
                except IndexUnavailable as exc:
                    log.warning("wording search without index: %s", exc)
                    said = notice(ui, "index_missing")
                except Exception:
                    log.exception("wording search failed")
                    said = notice(ui, "internal_error")
                else:
                    phrase = text.strip()
                    said = (label(ui, "wording_count", n=len(matches), phrase=phrase) if matches
                            else label(ui, "wording_none", phrase=phrase))
                    return render.wording_html(phrase, matches, ui), _status(said)
            return render.notice_html(said), _status(said)

        search.click(search_wording, [phrase, wording_lang, ui_lang], [results, search_status],
                     api_name="search_wording", show_progress="hidden")
        phrase.submit(search_wording, [phrase, wording_lang, ui_lang], [results, search_status],
                      api_visibility="private", show_progress="hidden")

        # -- plain API ---------------------------------------------------------------------
        def ask(question: str, history: list[dict[str, str]] | None = None,
                ui_lang: str = "", request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
            """Answer one question (Swedish or Finnish) with citations; see Answer.to_dict."""
            question = question if isinstance(question, str) else ""
            if len(question) > MAX_QUESTION_CHARS:
                return _ui_notice(ui_lang, "input_too_long", chars=len(question),
                                  limit=MAX_QUESTION_CHARS).to_dict()
            if question.strip() and (wait := over_limit(request)):
                return _ui_notice(ui_lang, "rate_limited", seconds=wait).to_dict()
            answer = assistant.ask(question, clean_history(history), ui_lang)
            data = answer.to_dict()
            if answer.refused and not set(answer.notes) & set(NO_CONTACT_NOTES):
                data["human_contact"] = texts.contact_markdown(ui_language(
                    answer.language if answer.language in languages.registry() else ui_lang))
            return data

        def wording(phrase: str, lang: str = "",
                    request: gr.Request = None) -> list[dict[str, Any]]:  # type: ignore[assignment]
            """Every verbatim (or closest) passage for a phrase, with its counterpart."""
            phrase = phrase if isinstance(phrase, str) else ""
            if len(phrase) > MAX_PHRASE_CHARS:
                raise gr.Error(label(lang, "too_long_input", chars=len(phrase),
                                     limit=MAX_PHRASE_CHARS))
            if phrase.strip() and (wait := over_limit(request)):
                raise gr.Error(label(lang, "rate_limited", seconds=wait))
            try:
                matches = assistant.find_wording(
                    phrase, lang=lang if lang in languages.registry() else None)
            except IndexUnavailable as exc:
                raise gr.Error(notice(lang, "index_missing")) from exc
            return [m.to_dict() for m in matches]

        gr.api(ask, api_name="ask")
        gr.api(wording, api_name="wording")
    app.visio_routes = pages.routes(texts)  # type: ignore[attr-defined]
    return app


def _wording_choices(lang: str) -> list[tuple[str, str]]:
    return [(label(lang, "wording_lang_all"), "all"),
            *((language_name(lang, code), code) for code in languages.codes())]


def _status(text: str) -> str:
    return f'<p class="visio-status-text">{render.esc(text)}</p>'


# --- launching --------------------------------------------------------------------------

def launch_app(app: gr.Blocks, settings: Settings, **options: Any) -> tuple[Any, str, str]:
    """Queue, login, theme and address from the settings; ``options`` override launch()."""
    from starlette.middleware import Middleware

    app.queue(default_concurrency_limit=settings.concurrency, max_size=settings.max_queue)
    arguments: dict[str, Any] = {
        **launch_options(),
        "server_name": settings.host,
        "server_port": settings.port,
        "auth": parse_auth(settings.auth),
        "state_session_capacity": settings.max_sessions,
        "app_kwargs": {
            # Our pages first (Gradio's routes are added after these), and no body larger
            # than any form sends.
            "routes": list(getattr(app, "visio_routes", [])),
            "middleware": [Middleware(BodySizeLimit, max_bytes=MAX_REQUEST_BYTES)],
        },
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
    """Load the model once, bring the index up to date, start the public app and, with a
    staff login set, the staff area (blocks until stopped).

    An index that cannot be built does not stop the server (the chat says the index is
    missing); a malformed login setting or a model that cannot be loaded does.
    """
    from assistant.embeddings import EmbeddingError, get_embedder
    from assistant.indexing import build_index
    from ui.admin import build_admin_app, launch_admin

    try:
        parse_auth(settings.auth)
        parse_auth(settings.admin_auth, "VISIO_ADMIN_AUTH")
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
    try:
        FeedbackStore(settings.feedback_db).purge(settings.feedback_retention_days)
    except FeedbackError as exc:
        log.error("old feedback not purged: %s", exc)
    if settings.admin_auth:
        admin = build_admin_app(assistant, settings)
        launch_admin(admin, settings, prevent_thread_lock=True)
        print(f"Staff area (login required) on http://{settings.admin_host}:"
              f"{settings.admin_port}", flush=True)
    else:
        print("No staff area: set VISIO_ADMIN_AUTH to run evaluations from the browser "
              "(`visio eval` works without it).", flush=True)
    app = build_app(assistant, settings)
    print(f"Serving on http://{settings.host}:{settings.port}", flush=True)
    launch_app(app, settings)
