"""The running web app through its named API endpoints, with gradio_client.

These are the endpoints scripts rely on (benchmarks/load.py calls /ask); the
app is the real one (shared assistant, real index, queue, login) on a free
loopback port. Also: what an anonymous client cannot do (start an evaluation,
in the public app or the staff area), and what a client over its question limit
gets while others are unaffected.
"""

from __future__ import annotations

import html
import re

import httpx
import pytest
from gradio_client import Client
from ui_server import STAFF, running_admin, running_app

from assistant import languages
from assistant.assistant import Assistant
from assistant.language import detect_language
from ui.limits import RateLimiter

pytestmark = pytest.mark.slow


def assistant_text(lang: str, key: str, **values: object) -> str:
    return languages.get(lang).text(key, **values)


def conversation_text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


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
    assert names == {"/ask", "/wording", "/chat", "/search_wording"}


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


def test_a_refusal_through_the_api_names_where_a_person_answers(client):
    refused = client.predict("Vad kostar ett busskort i Esbo?", [], "sv", api_name="/ask")
    assert refused["refused"] and "tel:+35897712157" in refused["human_contact"]
    answered = client.predict("Vad är Agenda 2030?", [], "sv", api_name="/ask")
    assert "human_contact" not in answered


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


def test_wording_finds_a_phrase_standing_only_in_a_heading_with_its_twin(client):
    matches = client.predict("Femte visionen", "", api_name="/wording")
    assert not any(m["exact"] or m["inflected"] for m in matches)  # in no sentence
    top = matches[0]
    assert (top["shape"], top["doc_id"], top["lang"]) == ("heading", "vision-small", "sv")
    start, end = top["heading_highlights"][0]
    assert top["heading"][start:end] == "Femte visionen"
    assert top["heading_path"] == top["heading"] and top["text"]  # the first text under it
    twin = top["counterpart"]
    assert twin["lang"] == "fi" and twin["declared"] and twin["heading"].startswith("Viides visio")
    title = client.predict("Publikationen Hållbara kommuner 2030", "sv", api_name="/wording")[0]
    assert (title["shape"], title["doc_id"]) == ("title", "publication-2030")
    assert title["counterpart"]["heading"] == "Julkaisu Kestävät kunnat 2030"


def test_wording_of_a_phrase_in_no_text_is_still_not_found(client):
    matches = client.predict("Sjunde visionen: månbaser", "", api_name="/wording")
    assert not any(m["exact"] or m["inflected"] for m in matches)
    assert all(m["shape"] == "sentence" for m in matches)
    out, _status = client.predict("Sjunde visionen: månbaser", "all", "sv",
                                  api_name="/search_wording")
    assert "ordagrann" not in out and "ordagrant" not in out


def test_search_wording_shows_a_heading_find_in_the_interface_language(client):
    out, _status = client.predict("Viides visio", "fi", "sv", api_name="/search_wording")
    assert 'data-shape="heading"' in out and "ordagrant i en rubrik" in out
    assert "<mark>Viides visio</mark>" in out and "Först under rubriken:" in out
    assert "Femte visionen: Små kommuner" in out  # the Swedish heading beside it


def test_chat_streams_and_shows_sources_as_escaped_html(client):
    job = client.submit("Mikä on pienten kuntien visio?", "fi", api_name="/chat")
    box, conversation, current, *_rest = job.result(timeout=120)
    assert box == "" and current == ""
    assert len(job.outputs()) > 2, "the answer should arrive in several pieces"
    assert "Lähteet" in conversation and "<mark>" in conversation
    assert "käännös, alkuperäinen kieli: ruotsi" in conversation
    assert 'href="https://' in conversation
    assert "Avustaja (automaattinen vastaus)" in conversation  # every answer says so


def test_chat_escapes_markup_in_the_question(client):
    _box, conversation, *_rest = client.predict(
        '<img src=x onerror="alert(1)"> Vad är Agenda 2030?', "sv", api_name="/chat")
    assert "<img" not in conversation and "&lt;img" in conversation


def test_search_wording_html_in_the_interface_language(client):
    out, status = client.predict("pieni kunta", "fi", "fi", api_name="/search_wording")
    assert "sanatarkka osuma" in out and "<mark>" in out and "Kopioi lähteineen" in out
    assert "Ingen" not in out  # nothing Swedish in a Finnish interface
    assert "kohtaa haulla ”pieni kunta”" in status  # what a screen reader hears
    too_long, _status = client.predict("x" * 5000, "all", "sv", api_name="/search_wording")
    assert "för lång" in too_long


def test_a_long_chat_keeps_only_its_last_turns(assistant, indexed_settings, tmp_path):
    with running_app(assistant, indexed_settings, max_conversation_turns=2,
                     feedback_db=tmp_path / "f.sqlite3") as url:
        client = Client(url, verbose=False)  # one client: one session, one conversation
        questions = ["Vad är Agenda 2030?", "Vem är kontaktperson?", "Mikä on kehyskunta?"]
        for question in questions:
            _box, conversation, *_rest = client.predict(question, "sv", api_name="/chat")
    assert conversation.count('class="visio-turn"') == 2
    shown = conversation_text(conversation)
    assert questions[0] not in shown and questions[1] in shown and questions[2] in shown


def test_missing_index_is_a_friendly_message_and_the_server_keeps_serving(embedder, settings,
                                                                          tmp_path):
    empty = settings.replace(index_dir=tmp_path / "no-index", feedback_db=tmp_path / "f.sqlite3")
    with running_app(Assistant(empty, embedder), empty) as url:
        client = Client(url, verbose=False)
        missing = {assistant_text(lang, "index_missing") for lang in ("sv", "fi")}
        for lang in ("sv", "fi"):
            answer = client.predict("Vad är Agenda 2030?", [], lang, api_name="/ask")
            assert answer["refused"] and answer["answer"] in missing
        _box, conversation, *_rest = client.predict("Mikä on Agenda 2030?", "sv",
                                                    api_name="/chat")
        text = html.unescape(conversation)
        assert any(notice in text for notice in missing)
        out, _status = client.predict("kommun", "all", "fi", api_name="/search_wording")
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


# --- roles: no evaluation for anonymous visitors ----------------------------------------

def test_the_public_app_cannot_start_an_evaluation(app_url, client):
    """Not in the page, not in the API, not by a raw request: the function is not there."""
    config = httpx.get(f"{app_url}config", timeout=30).json()
    names = {d.get("api_name") for d in config["dependencies"]}
    assert not {n for n in names if n and "eval" in n}, names
    assert not any("eval" in str(c.get("props", {}).get("elem_id", ""))
                   for c in config["components"])
    with pytest.raises(Exception):  # noqa: B017 - gradio_client raises a plain error
        client.predict(40, "sv", api_name="/evaluate")
    raw = httpx.post(f"{app_url}gradio_api/call/evaluate", json={"data": [174, "sv"]},
                     timeout=30)
    assert raw.status_code in (404, 422) or "error" in raw.text.lower()


def test_the_staff_area_runs_an_evaluation_only_after_login(assistant, indexed_settings,
                                                             tmp_path):
    with running_admin(assistant, indexed_settings, feedback_db=tmp_path / "f.sqlite3") as url:
        # Anonymous: no app, no config, no queue, no call.
        with pytest.raises(Exception):  # noqa: B017
            Client(url, verbose=False)
        assert httpx.get(f"{url}config", timeout=30).status_code == 401
        call = httpx.post(f"{url}gradio_api/call/evaluate", json={"data": [2, "sv"]},
                          timeout=30)
        assert call.status_code == 401
        join = httpx.post(f"{url}gradio_api/queue/join", timeout=30,
                          json={"data": [2, "sv"], "fn_index": 0, "session_hash": "x"})
        assert join.status_code == 401
        with pytest.raises(Exception):  # noqa: B017 - a wrong password is no login
            Client(url, auth=(STAFF[0], "wrong"), verbose=False)
        # Staff: the evaluation runs and shows its scores and charts.
        staff = Client(url, auth=STAFF, verbose=False)
        status, body = staff.predict(4, "sv", api_name="/evaluate")
        assert re.match(r"4 frågor besvarade", status)
        assert "Träff bland tre första källorna (recall@3)" in body
        assert body.count('<img src="data:image/png;base64,') >= 2
        summary = staff.predict("fi", api_name="/feedback_summary")
        assert "Väärä lähde" in summary and "Ei vielä palautteita." in summary


def test_the_staff_area_never_starts_without_a_login(assistant, indexed_settings):
    from assistant.config import ConfigError
    from ui.admin import build_admin_app, launch_admin

    app = build_admin_app(assistant, indexed_settings.replace(admin_auth=""))
    with pytest.raises(ConfigError, match="VISIO_ADMIN_AUTH"):
        launch_admin(app, indexed_settings.replace(admin_auth=""), prevent_thread_lock=True)


# --- limits -----------------------------------------------------------------------------

class FrozenClock:
    """Time stands still unless the test moves it: no assertion depends on the machine."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_over_its_question_limit_is_told_kindly_and_others_are_unaffected(
        assistant, indexed_settings, tmp_path):
    clock = FrozenClock()
    limiter = RateLimiter(per_session=3, per_address=100, clock=clock)
    with running_app(assistant, indexed_settings, limiter=limiter,
                     feedback_db=tmp_path / "f.sqlite3") as url:
        eager, other = Client(url, verbose=False), Client(url, verbose=False)
        for _ in range(3):
            assert not eager.predict("Vad är Agenda 2030?", [], "sv", api_name="/ask")["refused"]
        over = eager.predict("Vad är Agenda 2030?", [], "fi", api_name="/ask")
        assert over["refused"] and over["notes"] == ["rate_limited"]
        assert over["answer"] == ("Olet lähettänyt paljon kysymyksiä lyhyessä ajassa. Odota "
                                  "hetki ja yritä uudelleen 60 sekunnin kuluttua.")
        assert over["citations"] == [] and "Traceback" not in str(over)
        # The chat in the page says the same, in the interface language.
        _box, conversation, *_rest = eager.predict("Mikä on visio?", "sv", api_name="/chat")
        assert "Du har skickat många frågor på kort tid" in html.unescape(conversation)
        # Another visitor (another session, same address) is answered as usual.
        answered = other.predict("Mikä on pienten kuntien visio?", [], "fi", api_name="/ask")
        assert not answered["refused"] and answered["citations"]
        # A minute later the first one is answered again.
        clock.now += 61
        assert not eager.predict("Vad är Agenda 2030?", [], "sv", api_name="/ask")["refused"]


def test_too_large_input_gets_a_message_and_too_large_requests_are_refused(client, app_url):
    huge = client.predict("Vad? " * 2000, [], "sv", api_name="/ask")
    assert huge["refused"] and huge["notes"] == ["input_too_long"]
    assert "10000 tecken, högst 4000" in huge["answer"]
    body = {"data": ["x" * 2_000_000, [], "sv"]}
    refused = httpx.post(f"{app_url}gradio_api/call/ask", json=body, timeout=30)
    assert refused.status_code == 413
    # Malformed history from a script is ignored, not an error.
    answer = client.predict("Mikä on Agenda 2030?", "not a list", "fi", api_name="/ask")
    assert answer["language"] == "fi" and not answer["refused"]
