"""The running web app through its named API endpoints, with gradio_client.

These are the endpoints scripts rely on (benchmarks/load.py calls /ask); the
app is the real one (shared assistant, real index, queue, login) on a free
loopback port.
"""

from __future__ import annotations

import html
import re

import pytest
from gradio_client import Client
from ui_server import running_app

from assistant.assistant import Assistant
from assistant import languages


def assistant_text(lang: str, key: str) -> str:
    return languages.get(lang).text(key)
from assistant.language import detect_language

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app_url(assistant, indexed_settings, tmp_path_factory):
    feedback_db = tmp_path_factory.mktemp("feedback") / "feedback.sqlite3"
    with running_app(assistant, indexed_settings, feedback_db=feedback_db) as url:
        yield url


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_endpoints_are_named(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/ask", "/wording", "/chat", "/search_wording", "/evaluate"} <= names


@pytest.mark.parametrize(("question", "lang"), [
    ("Vad är visionen för små kommuner?", "sv"),
    ("Mikä on pienten kuntien visio?", "fi"),
])
def test_ask_answers_in_the_question_language_with_real_citations(client, question, lang):
    answer = client.predict(question, [], "sv" if lang == "fi" else "fi", api_name="/ask")
    assert answer["language"] == lang and not answer["refused"]
    assert detect_language(answer["answer"]).lang == lang
    assert answer["citations"], "an answer must cite its sources"
    for citation in answer["citations"]:
        assert citation["text"] and citation["doc_id"] and citation["title"]
        assert f"[{citation['n']}]" in answer["answer"]
        for start, end in citation["highlights"]:
            assert citation["char_start"] <= start < end <= citation["char_end"]
    assert answer["citations"][0]["doc_id"] == "vision-small"


def test_ask_follow_up_uses_the_history(client):
    first = "Vad är visionen för små kommuner?"
    history = [{"role": "user", "content": first},
               {"role": "assistant", "content": client.predict(first, api_name="/ask")["answer"]}]
    follow_up = client.predict("Och för stora städer?", history, "sv", api_name="/ask")
    assert follow_up["language"] == "sv" and not follow_up["refused"]
    assert "vision-large-cities" in [c["doc_id"] for c in follow_up["citations"]]


def test_ask_bad_input_gets_a_polite_notice(client):
    empty = client.predict("   ", [], "fi", api_name="/ask")
    assert empty["refused"] and empty["answer"] == assistant_text("fi", "empty_question")
    huge = client.predict("Vad säger programmet om skolor? " * 3000, [], "sv", api_name="/ask")
    assert huge["refused"] and "för lång" in huge["answer"]


def test_wording_finds_the_verbatim_passage_and_its_translation(client):
    matches = client.predict("liten kommun", "sv", api_name="/wording")
    exact = [m for m in matches if m["exact"]]
    assert exact and all(m["lang"] == "sv" for m in matches)
    top = exact[0]
    start, end = top["highlights"][0]
    assert top["text"][start:end].lower() == "liten kommun"
    assert top["counterpart"]["lang"] == "fi" and top["counterpart"]["translation"] is True


def test_chat_streams_and_shows_sources_as_escaped_html(client):
    job = client.submit("Mikä on pienten kuntien visio?", "fi", api_name="/chat")
    box, messages, _status = job.result(timeout=120)
    assert box == ""
    assert len(job.outputs()) > 2, "the answer should arrive in several pieces"
    bot = messages[-1]
    assert bot["role"] == "assistant"
    content = bot["content"][0]["text"] if isinstance(bot["content"], list) else bot["content"]
    assert "Lähteet" in content and "<mark>" in content and "käännös ruotsista" in content
    assert 'href="https://' in content


def test_chat_escapes_markup_in_the_question(client):
    _box, messages, _status = client.predict(
        '<img src=x onerror="alert(1)"> Vad är Agenda 2030?', "sv", api_name="/chat")
    user = messages[-2]
    content = user["content"][0]["text"] if isinstance(user["content"], list) else user["content"]
    assert "<img" not in content and "&lt;img" in content


def test_search_wording_html_in_the_interface_language(client):
    out = client.predict("pieni kunta", "fi", "fi", api_name="/search_wording")
    assert "sanatarkka osuma" in out and "<mark>" in out and "Kopioi lähteineen" in out
    assert "Ingen" not in out  # nothing Swedish in a Finnish interface
    too_long = client.predict("x" * 5000, "all", "sv", api_name="/search_wording")
    assert "för lång" in too_long


def test_evaluate_runs_the_eval_runner_and_shows_scores_and_charts(client):
    status, body = client.predict(4, "sv", api_name="/evaluate")
    assert re.match(r"4 frågor besvarade", status)
    assert "Träff bland tre första källorna (recall@3)" in body
    assert body.count('<img src="data:image/png;base64,') >= 2


def test_a_long_chat_keeps_only_its_last_turns(assistant, indexed_settings, tmp_path):
    with running_app(assistant, indexed_settings, max_conversation_turns=2,
                     feedback_db=tmp_path / "f.sqlite3") as url:
        client = Client(url, verbose=False)  # one client: one session, one conversation
        questions = ["Vad är Agenda 2030?", "Vem är kontaktperson?", "Mikä on kehyskunta?"]
        for question in questions:
            _box, messages, _status = client.predict(question, "sv", api_name="/chat")
    shown = [html.unescape(m["content"][0]["text"] if isinstance(m["content"], list)
                           else m["content"]) for m in messages if m["role"] == "user"]
    assert len(messages) == 4
    assert [questions[1] in shown[0], questions[2] in shown[1]] == [True, True]


def test_missing_index_is_a_friendly_message_and_the_server_keeps_serving(embedder, settings,
                                                                          tmp_path):
    empty = settings.replace(index_dir=tmp_path / "no-index", feedback_db=tmp_path / "f.sqlite3")
    with running_app(Assistant(empty, embedder), empty) as url:
        client = Client(url, verbose=False)
        missing = {assistant_text(lang, "index_missing") for lang in ("sv", "fi")}
        for lang in ("sv", "fi"):
            answer = client.predict("Vad är Agenda 2030?", [], lang, api_name="/ask")
            assert answer["refused"] and answer["answer"] in missing
        _box, messages, _status = client.predict("Mikä on Agenda 2030?", "sv", api_name="/chat")
        text = html.unescape(messages[-1]["content"][0]["text"])
        assert any(notice in text for notice in missing)
        out = client.predict("kommun", "all", "fi", api_name="/search_wording")
        assert html.unescape(assistant_text("fi", "index_missing")) in html.unescape(out)
        assert "Traceback" not in out
        with pytest.raises(Exception, match="inte tillgängligt"):
            client.predict("kommun", "", api_name="/wording")
        # Still serving after all that.
        assert client.predict("", [], "fi", api_name="/ask")["refused"]


def test_unreachable_language_model_falls_back_to_quotes(embedder, indexed_settings, tmp_path):
    from ui_server import free_port

    llm = indexed_settings.replace(answer_mode="llm",
                                   llm_base_url=f"http://127.0.0.1:{free_port()}/v1",
                                   llm_timeout=3.0, feedback_db=tmp_path / "f.sqlite3")
    with running_app(Assistant(llm, embedder), llm) as url:
        answer = Client(url, verbose=False).predict("Vad är visionen för små kommuner?", [],
                                                    "sv", api_name="/ask")
    assert not answer["refused"] and answer["citations"]
    assert assistant_text("sv", "llm_fallback") in answer["answer"]


def test_login_is_required_when_auth_is_set(assistant, indexed_settings, tmp_path):
    with running_app(assistant, indexed_settings, auth="anna:hemligt:lösen, bo:pw",
                     feedback_db=tmp_path / "f.sqlite3") as url:
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises a plain error
            Client(url, verbose=False)
        client = Client(url, auth=("anna", "hemligt:lösen"), verbose=False)
        assert client.predict("Mikä on Agenda 2030?", [], "fi", api_name="/ask")["language"] == "fi"
