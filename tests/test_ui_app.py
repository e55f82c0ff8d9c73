"""ui.app, ui.limits, ui.pages and ui.admin without a browser: conversation state, the
notice and pages with the deploying organisation's texts, question limits, login
parsing, the queue, and where the evaluation lives."""

from __future__ import annotations

import asyncio

import pytest

from assistant.collection import CollectionInfo
from assistant.config import ConfigError, Settings
from assistant.types import Answer, Citation
from ui.app import Conversation, Page, Turn, clean_history, parse_auth
from ui.limits import BodySizeLimit, RateLimiter
from ui.pages import ServiceTexts, fill


def answer(text: str, lang: str = "sv", notes: tuple[str, ...] = ()) -> Answer:
    citation = Citation(n=1, doc_id="about", lang=lang, title="<b>Om</b>", section="", text=text,
                        char_start=0, char_end=len(text), score=0.9)
    return Answer(answer=f"{text} [1]", language=lang, refused=bool(notes),
                  citations=() if notes else (citation,), notes=notes)


COLLECTION = CollectionInfo(
    names={"sv": "Programmet", "fi": "Ohjelma"},
    descriptions={"sv": "Programmet om kommuner", "fi": "Kuntaohjelma"},
    contacts={"sv": "Anna, tfn [09 123](tel:+3589123)", "fi": "Anna, puh. [09 123](tel:+3589123)"})


def texts(tmp_path=None, **changes) -> ServiceTexts:
    settings = Settings(**changes)
    return ServiceTexts(settings, COLLECTION, sources=lambda: [])


def test_history_keeps_questions_and_answers_but_not_notices():
    conversation = Conversation([
        Turn("Vad är programmet?", answer("Programmet är …")),
        Turn("", answer("Skriv en fråga …", notes=("empty_question",))),
        Turn("x" * 10, answer("För lång …", notes=("question_too_long", "detail"))),
        Turn("Och nu?", answer("Vänta …", notes=("rate_limited",))),
        Turn("Och målen?", answer("Målen är …")),
    ])
    assert conversation.history() == [
        {"role": "user", "content": "Vad är programmet?"},
        {"role": "assistant", "content": "Programmet är … [1]"},
        {"role": "user", "content": "Och målen?"},
        {"role": "assistant", "content": "Målen är … [1]"},
    ]


def test_turns_escape_questions_render_sources_and_keep_their_numbers():
    conversation = Conversation([Turn("<script>alert(1)</script>?", answer("Svar."))], number=7)
    out = Page(texts(), COLLECTION).conversation(conversation, "sv")
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "visio-sources" in out and "&lt;b&gt;Om" in out
    assert 'id="visio-t7"' in out  # the 7th question of the session, even after trimming


def test_a_refusal_offers_the_way_to_a_person_and_a_greeting_does_not():
    page = Page(texts(), COLLECTION)
    refused = Answer(answer="Jag hittar inget svar.", language="fi", refused=True,
                     notes=("not relevant",))
    greeting = Answer(answer="Hej!", language="sv", refused=True, notes=("smalltalk_greeting",))
    out = page.conversation(Conversation([Turn("Vad kostar bussen?", refused),
                                          Turn("Hej", greeting)]), "sv")
    assert out.count("visio-refusal-contact") == 1
    assert ('Hittade du inte svaret? En människa kan hjälpa: Anna, tfn '
            '<a href="tel:+3589123">09 123</a>') in out


def test_the_notice_says_automated_what_it_does_and_where_a_person_is():
    sv = texts().notice_html("sv")
    assert "Du chattar med en automatisk assistent" in sv
    assert "citerar texterna i Programmet om kommuner" in sv
    assert "fattar inga beslut och kan ha fel" in sv
    assert 'Vill du tala med en människa? Anna, tfn <a href="tel:+3589123">09 123</a>' in sv
    assert 'href="about/sv" target="_blank"' in sv
    fi = texts(answer_mode="llm", llm_base_url="http://127.0.0.1:9/v1").notice_html("fi")
    assert "tekoälyyn perustuva kielimalli" in fi and "aineisto: Kuntaohjelma" in fi


def test_the_deploying_organisation_replaces_texts_from_its_folder(tmp_path):
    (tmp_path / "notice.fi.md").write_text("Tämä on **kunnan** botti. Kysy {contact}.",
                                           encoding="utf-8")
    (tmp_path / "contact.fi.md").write_text("Neuvonta, [puh. 09 1](tel:+35891)\n",
                                            encoding="utf-8")
    (tmp_path / "about.sv.md").write_text(
        "# Egen\n\n<script>alert(1)</script> [x](javascript:alert(1)) {unknown} {service}\n\n"
        "{sources}\n", encoding="utf-8")
    own = texts(pages_dir=tmp_path)
    notice = own.notice_html("fi")
    assert "Tämä on <strong>kunnan</strong> botti. Kysy Neuvonta, " \
           '<a href="tel:+35891">puh. 09 1</a>.' in notice
    assert "Aino" not in notice and "Anna" not in notice
    about = own.page_body("about", "sv")
    assert "&lt;script&gt;" in about and "<script" not in about  # HTML is shown as text
    assert "href=\"javascript" not in about  # an unsafe link stays text
    assert "{unknown}" in about and "Visionsassistenten" in about
    assert "Förteckningen över texterna är inte tillgänglig" in about
    # Pages without a replacement keep the built-in text.
    assert "Tillsynsmyndighet" in own.page_body("accessibility", "sv")


def test_pages_say_what_is_stored_for_how_long_and_name_the_supervisor():
    about = texts(feedback_retention_days=30, questions_per_minute=5).page_body("about", "fi")
    assert "Palautteita säilytetään 30 päivän ajan" in about
    assert "enintään 5 kysymystä minuutissa" in about
    kept = texts(feedback_retention_days=0).page_body("about", "sv")
    assert "tills tjänstens administratör raderar dem" in kept
    statement = texts().page_body("accessibility", "fi")
    assert "Traficom" in statement and "saavutettavuus@traficom.fi" in statement
    assert "306/2019" in statement and "Anna, puh." in statement


def test_fill_leaves_unknown_placeholders_and_braces():
    assert fill("{a} {b} {{c}} {A}", {"a": "1"}) == "1 {b} {{c}} {A}"


def test_page_document_is_a_whole_page_in_its_language():
    page = texts().page_document("accessibility", "fi")
    assert page.startswith("<!doctype html>") and '<html lang="fi">' in page
    assert '<a href="sv" lang="sv" hreflang="sv">På svenska</a>' in page
    assert '<h1>Saavutettavuusseloste</h1>' in page


# --- limits -----------------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_per_session_and_per_address():
    clock = Clock()
    limiter = RateLimiter(per_session=2, per_address=3, clock=clock)
    assert [limiter.check("a", "1.2.3.4") for _ in range(3)] == [0, 0, 60]
    assert limiter.check("b", "1.2.3.4") == 0  # another session, same address
    assert limiter.check("c", "1.2.3.4") == 60  # the address is full now
    assert limiter.check("d", "5.6.7.8") == 0  # elsewhere nobody waits
    clock.now = 30
    assert limiter.check("a", "9.9.9.9") == 30  # refused requests were not counted
    clock.now = 60.5
    assert limiter.check("a", "1.2.3.4") == 0


def test_rate_limit_off_and_unknown_clients():
    assert not RateLimiter(0, 0).enabled
    assert RateLimiter(0, 0).check("a", "b") == 0
    assert RateLimiter(1, 1).check(None, None) == 0


def test_rate_limiter_forgets_the_least_recent_clients():
    limiter = RateLimiter(per_session=1, per_address=0, clock=Clock(), max_clients=2)
    for session in ("a", "b", "c"):
        limiter.check(session, None)
    assert limiter.check("a", None) == 0  # "a" was forgotten; "c" is remembered
    assert limiter.check("c", None) == 60


def test_request_bodies_over_the_limit_are_refused_unread():
    sent: list[dict] = []
    reached: list[bool] = []

    async def app(scope, receive, send):
        reached.append(True)

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    limited = BodySizeLimit(app, max_bytes=10)
    scope = {"type": "http", "headers": [(b"content-length", b"11")]}
    asyncio.run(limited(scope, receive, send))
    assert sent[0]["status"] == 413 and not reached
    asyncio.run(limited({"type": "http", "headers": [(b"content-length", b"10")]}, receive,
                        send))
    assert reached == [True]


def test_api_history_is_bounded():
    assert clean_history("text") == [] and clean_history(None) == []
    many = [{"role": "user", "content": "x" * 30_000}] * 500
    kept = clean_history(many)
    assert len(kept) == 100 and len(kept[0]["content"]) == 20_000


@pytest.mark.parametrize(("value", "expected"), [
    ("", None), ("  ", None),
    ("anna:hemligt", [("anna", "hemligt")]),
    ("anna:a:b, bo:pw ", [("anna", "a:b"), ("bo", "pw")]),  # spaces around pairs ignored
])
def test_parse_auth(value, expected):
    assert parse_auth(value) == expected


@pytest.mark.parametrize("value", ["anna", ":pw", "anna:", "anna:pw,,bo:pw"])
def test_malformed_auth_is_a_config_error(value):
    with pytest.raises(ConfigError, match="VISIO_ADMIN_AUTH"):
        parse_auth(value, "VISIO_ADMIN_AUTH")


def test_the_staff_login_is_never_printed():
    settings = Settings(admin_auth="staff:secret", auth="a:b")
    described = settings.describe()
    assert described["VISIO_ADMIN_AUTH"] == "***" and described["VISIO_AUTH"] == "***"


@pytest.mark.slow
def test_launch_applies_queue_limits_and_keeps_evaluation_out_of_the_public_app(
        embedder, settings, tmp_path):
    from ui_server import free_port

    from assistant.assistant import Assistant
    from ui.admin import build_admin_app
    from ui.app import build_app, launch_app

    configured = settings.replace(concurrency=3, max_queue=17, max_sessions=5, host="127.0.0.1",
                                  port=free_port(), feedback_db=tmp_path / "f.sqlite3",
                                  index_dir=tmp_path / "index")
    assistant = Assistant(configured, embedder)
    app = build_app(assistant, configured)
    try:
        _server, url, _share = launch_app(app, configured, prevent_thread_lock=True, quiet=True)
        assert url.startswith(f"http://127.0.0.1:{configured.port}")
        assert app._queue.max_size == 17
        assert app._queue.default_concurrency_limit == 3
        assert app.state_holder.capacity == 5  # sessions kept in memory
        assert not [fn for fn in app.fns.values() if "eval" in str(fn.name)]
    finally:
        app.close()
    admin = build_admin_app(assistant, configured)
    evaluate = next(fn for fn in admin.fns.values() if fn.api_name == "evaluate")
    assert evaluate.concurrency_limit == 1  # one evaluation at a time, whatever the default
