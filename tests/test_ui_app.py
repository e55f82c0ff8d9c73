"""ui.app without a browser: conversation state, feedback mapping, login parsing, queue."""

from __future__ import annotations

import pytest

from assistant.config import ConfigError
from assistant.types import Answer, Citation
from ui.app import Conversation, Turn, chat_messages, parse_auth, turn_of_message


def answer(text: str, lang: str = "sv", notes: tuple[str, ...] = ()) -> Answer:
    citation = Citation(n=1, doc_id="about", lang=lang, title="<b>Om</b>", section="", text=text,
                        char_start=0, char_end=len(text), score=0.9)
    return Answer(answer=f"{text} [1]", language=lang, refused=bool(notes),
                  citations=() if notes else (citation,), notes=notes)


def test_history_keeps_questions_and_answers_but_not_notices():
    conversation = Conversation([
        Turn("Vad är programmet?", answer("Programmet är …")),
        Turn("", answer("Skriv en fråga …", notes=("empty_question",))),
        Turn("x" * 10, answer("För lång …", notes=("question_too_long", "detail"))),
        Turn("Och målen?", answer("Målen är …")),
    ])
    assert conversation.history() == [
        {"role": "user", "content": "Vad är programmet?"},
        {"role": "assistant", "content": "Programmet är … [1]"},
        {"role": "user", "content": "Och målen?"},
        {"role": "assistant", "content": "Målen är … [1]"},
    ]


def test_chat_messages_escape_questions_and_render_sources():
    messages = chat_messages([Turn("<script>alert(1)</script>?", answer("Svar."))])
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert "<script>" not in messages[0]["content"] and "&lt;script&gt;" in messages[0]["content"]
    assert "visio-sources" in messages[1]["content"] and "&lt;b&gt;Om" in messages[1]["content"]


def test_an_empty_question_shows_only_the_notice():
    turns = [Turn("  ", answer("Skriv en fråga …", notes=("empty_question",))),
             Turn("Fråga?", answer("Svar."))]
    assert [m["role"] for m in chat_messages(turns)] == ["assistant", "user", "assistant"]


def test_rated_message_maps_to_its_turn():
    turns = [Turn("", answer("notis", notes=("empty_question",))),  # message 0
             Turn("Fråga 1?", answer("Svar 1.")),                    # messages 1, 2
             Turn("Fråga 2?", answer("Svar 2."))]                    # messages 3, 4
    assert [turn_of_message(turns, i) for i in range(6)] == [0, None, 1, None, 2, None]
    assert turn_of_message(turns, [2, 0]) == 1  # Gradio may send a (row, column) pair
    assert turn_of_message(turns, "2") is None
    assert turn_of_message([], 0) is None


@pytest.mark.parametrize(("value", "expected"), [
    ("", None), ("  ", None),
    ("anna:hemligt", [("anna", "hemligt")]),
    ("anna:a:b, bo:pw ", [("anna", "a:b"), ("bo", "pw")]),  # spaces around pairs ignored
])
def test_parse_auth(value, expected):
    assert parse_auth(value) == expected


@pytest.mark.parametrize("value", ["anna", ":pw", "anna:", "anna:pw,,bo:pw"])
def test_malformed_auth_is_a_config_error(value):
    with pytest.raises(ConfigError, match="VISIO_AUTH"):
        parse_auth(value)


@pytest.mark.slow
def test_launch_applies_queue_limits_from_settings(embedder, settings, tmp_path):
    from ui_server import free_port

    from assistant.assistant import Assistant
    from ui.app import build_app, launch_app

    configured = settings.replace(concurrency=3, max_queue=17, max_sessions=5, host="127.0.0.1",
                                  port=free_port(), feedback_db=tmp_path / "f.sqlite3",
                                  index_dir=tmp_path / "index")
    app = build_app(Assistant(configured, embedder), configured)
    try:
        _server, url, _share = launch_app(app, configured, prevent_thread_lock=True, quiet=True)
        assert url.startswith(f"http://127.0.0.1:{configured.port}")
        assert app._queue.max_size == 17
        assert app._queue.default_concurrency_limit == 3
        assert app.state_holder.capacity == 5  # sessions kept in memory
        evaluate = next(fn for fn in app.fns.values() if fn.api_name == "evaluate")
        assert evaluate.concurrency_limit == 1  # one evaluation at a time, whatever the default
    finally:
        app.close()
