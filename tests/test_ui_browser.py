"""The web app in a real headless Chromium (Debian's, driven by Playwright).

One resident's session in Swedish and Finnish (answers, sources, feedback with a
reason, language switch, clearing), a staff wording search with the copy button,
the first interface language (address, then browser), no Gradio built-in texts in
another language, robustness (markup in questions, empty input, a broken feedback
store) and the evaluation in the staff area. Screenshots go to test-artifacts/ui/.
"""

from __future__ import annotations

import re

import pytest
from browser_helpers import (
    ANSWER_TIMEOUT,
    answer_text,
    ask,
    new_context,
    open_app,
)
from ui_server import STAFF, running_admin, running_app

from assistant.feedback import FeedbackStore
from assistant.language import detect_language

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_resident_session_in_swedish_and_finnish(browser, app_url, feedback_db, shots):
    from playwright.sync_api import expect

    context = new_context(browser, "sv-SE")
    page, errors = open_app(context, app_url, "sv")
    expect(page.get_by_role("tab", name="Ordalydelse")).to_be_visible()
    expect(page.locator("#visio-send")).to_have_text("Skicka")
    expect(page.locator("#visio-examples button")).to_have_count(4)

    # A Swedish question: a Swedish answer with its numbered sources.
    swedish = ask(page, "Vad är visionen för små kommuner?")
    assert detect_language(answer_text(swedish)).lang == "sv"
    expect(swedish.locator(".visio-sources-title")).to_have_text("Källor")
    source = swedish.locator(".visio-source").first
    expect(source.locator(".visio-title")).to_have_text("Vision för små kommuner")
    expect(source.locator(".visio-section")).to_contain_text("Små kommuner")
    expect(source.locator(".visio-status")).to_contain_text("svenska")
    assert source.locator("mark").count() >= 1
    marked = source.locator("mark").first.inner_text()
    assert marked.strip() and marked.strip()[:40] in answer_text(swedish)
    assert source.locator("a.visio-link").get_attribute("href").startswith("https://")
    expect(page.locator("#visio-examples-box")).to_be_hidden()  # examples only when empty

    # A Finnish question in the Swedish interface: the answer follows the question.
    finnish = ask(page, "Mikä on pienten kuntien visio?")
    assert detect_language(answer_text(finnish)).lang == "fi"
    expect(finnish.locator(".visio-sources-title")).to_have_text("Lähteet")
    expect(finnish.locator(".visio-answer-body")).to_have_attribute("lang", "fi")
    expect(finnish.locator(".visio-status").first).to_contain_text("käännös")

    # A follow-up relies on the kept conversation.
    follow_up = ask(page, "Entä suurten kaupunkien?")
    assert detect_language(answer_text(follow_up)).lang == "fi"
    expect(follow_up.locator(".visio-title").first).to_contain_text("Suurten kaupunkien")

    # Thumbs up on the latest answer, a reason and a comment.
    expect(page.locator("#visio-feedback")).to_contain_text("Entä suurten kaupunkien?")
    page.locator("#visio-thumb-up").click()
    expect(page.locator("#visio-chat-status")).to_contain_text("Tack för ditt omdöme")
    page.locator("#visio-reason").get_by_text("Svaret var rätt").click()
    page.locator("#visio-comment textarea").fill("Tydligt svar <b>tack</b>")
    page.locator("#visio-feedback-send").click()
    expect(page.locator("#visio-chat-status")).to_contain_text("Ditt omdöme är sparat")
    (row,) = FeedbackStore(feedback_db).rows()[-1:]
    assert row["rating"] == 1 and row["reason"] == "correct"
    assert row["question"] == "Entä suurten kaupunkien?"
    assert row["language"] == "fi" and row["comment"] == "Tydligt svar <b>tack</b>"
    assert row["citations"] and row["citations"][0]["doc_id"] == "vision-large-cities"
    page.screenshot(path=shots / "01-feedback-sv.png", full_page=True)

    # Switch the interface to Finnish: every label follows, the conversation stays.
    page.locator("#visio-lang-fi").click()
    expect(page.locator("#visio-send")).to_have_text("Lähetä")
    expect(page.get_by_role("tab", name="Sanamuoto")).to_be_visible()
    expect(page.locator("#visio-clear")).to_have_text("Tyhjennä keskustelu")
    expect(page.locator("#visio-question textarea")).to_have_attribute(
        "placeholder", re.compile("^Esimerkiksi"))
    expect(page.locator("#visio-notice h2")).to_have_text(
        "Keskustelet automaattisen avustajan kanssa")
    assert page.evaluate("document.documentElement.lang") == "fi"
    expect(page.locator("#visio-history .visio-turn")).to_have_count(3)
    expect(page.locator("#visio-history .visio-speaker").first).to_have_text("Sinä")
    page.screenshot(path=shots / "02-interface-fi.png", full_page=True)

    # Clearing empties the chat and shows the Finnish examples; an example asks itself.
    page.locator("#visio-clear").click()
    expect(page.locator("#visio-history .visio-turn")).to_have_count(0)
    example = page.locator("#visio-examples").get_by_role(
        "button", name="Miten kehyskunnat kuvataan ohjelmassa?")
    expect(example).to_be_visible()
    example.click()
    expect(page.locator("#visio-history .visio-final")).to_have_count(1,
                                                                      timeout=ANSWER_TIMEOUT)
    assert "Kehyskuntien visio" in page.locator("#visio-history .visio-title").first.inner_text()
    page.screenshot(path=shots / "03-example-fi.png", full_page=True)
    # Nothing about the visitor is kept in the browser but the tab's language choice.
    assert context.cookies() == []
    assert page.evaluate("Object.keys(localStorage)") == []
    assert page.evaluate("Object.keys(sessionStorage)") == ["visio-lang"]
    assert not errors, errors
    context.close()


def _search_wording(browser, app_url, locale: str, lang: str, tab: str, phrase: str):
    """The staff Wording tab, searched for ``phrase`` (clipboard allowed, for the copy
    button): the context, the page, its errors and the first match, once visible."""
    from playwright.sync_api import expect

    context = new_context(browser, locale)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_url.rstrip("/"))
    page, errors = open_app(context, app_url, lang)
    page.get_by_role("tab", name=tab).click()
    page.locator("#visio-phrase textarea").fill(phrase)
    page.locator("#visio-search").click()
    first = page.locator("#visio-wording-results .visio-match").first
    expect(first).to_be_visible(timeout=ANSWER_TIMEOUT)
    return context, page, errors, first


def test_staff_wording_search_with_counterpart_and_copy(browser, app_url, shots):
    from playwright.sync_api import expect

    context, page, errors, first = _search_wording(browser, app_url, "fi-FI", "fi",
                                                   "Sanamuoto", "liten kommun")
    expect(first.locator("mark").first).to_have_text(re.compile("^liten kommun$", re.I))
    expect(first.locator(".visio-kind")).to_have_text("sanatarkka osuma")
    counterpart = first.locator(".visio-counterpart")
    expect(counterpart).to_have_attribute("data-translation", "true")
    expect(counterpart).to_have_attribute("lang", "fi")
    expect(counterpart.locator(".visio-passage-lang")).to_contain_text("käännös")
    expect(counterpart.locator(".visio-passage-text")).to_contain_text("Pieni kunta")
    expect(page.locator("#visio-search-status")).to_contain_text("haulla ”liten kommun”")

    first.locator("button.visio-copy").click()
    expect(first.locator("button.visio-copy")).to_have_text("Kopioitu")
    copied = page.evaluate("navigator.clipboard.readText()")
    passage = first.locator(".visio-passage-text").first.inner_text()
    assert copied.startswith(f"”{passage}”\nLähde: Vision för små kommuner")
    assert "https://" in copied
    page.screenshot(path=shots / "04-wording-fi.png", full_page=True)

    page.locator("#visio-phrase textarea").fill("zzzxqy")
    page.locator("#visio-search").click()
    expect(page.locator("#visio-wording-results .visio-notice")).to_contain_text(
        "ei löytynyt", timeout=ANSWER_TIMEOUT)
    assert not errors, errors
    context.close()


def test_staff_wording_search_finds_a_phrase_standing_only_in_a_heading(browser, app_url,
                                                                       shots):
    from playwright.sync_api import expect

    context, page, errors, first = _search_wording(browser, app_url, "sv-SE", "sv",
                                                   "Ordalydelse", "Femte visionen")
    expect(first).to_have_attribute("data-shape", "heading")
    expect(first.locator(".visio-kind")).to_have_text("ordagrant i en rubrik")
    expect(first.locator(".visio-passage-heading mark").first).to_have_text("Femte visionen")
    expect(first.locator(".visio-counterpart .visio-passage-heading")).to_contain_text(
        "Viides visio")
    first.locator("button.visio-copy").click()
    expect(first.locator("button.visio-copy")).to_have_text("Kopierat")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("”Femte visionen: Små kommuner”\nKälla: Vision för små kommuner")
    page.screenshot(path=shots / "04-wording-heading-sv.png", full_page=True)
    assert not errors, errors
    context.close()


#: Gradio's own English texts (tooltips, buttons, footer, status): none may reach the page,
#: whose texts are all in the interface language.
GRADIO_TEXTS = ("Like", "Dislike", "Clear", "Copy", "Use via API", "Built with Gradio",
                "Settings", "chatbot conversation", "bot's message", "user's message",
                "processing", "Loading", "Submit", "Retry", "Undo")


def test_first_language_from_the_address_then_the_browser_and_no_gradio_texts(browser,
                                                                             app_url):
    from playwright.sync_api import expect

    cases = (("fi-FI", "", "fi", "Lähetä", "Kysy"),
             ("sv-FI", "", "sv", "Skicka", "Fråga"),
             ("en-US", "", "sv", "Skicka", "Fråga"),
             ("en-US", "?lang=fi", "fi", "Lähetä", "Kysy"),
             ("fi-FI", "?lang=sv", "sv", "Skicka", "Fråga"))
    for locale, query, lang, send, chat_tab in cases:
        context = new_context(browser, locale)
        page, _errors = open_app(context, app_url + query, lang)
        expect(page.locator("#visio-send")).to_have_text(send)
        expect(page.get_by_role("tab", name=chat_tab)).to_be_visible()
        if locale == "en-US":
            ask(page, {"sv": "Vad är Agenda 2030?", "fi": "Mikä on Agenda 2030?"}[lang])
            shown = page.evaluate("""() => [document.body.innerText,
                ...[...document.querySelectorAll('[aria-label],[title]')].map(
                    (e) => `${e.getAttribute('aria-label') || ''} ${e.getAttribute('title') || ''}`)
                ].join('\\n')""")
            found = [text for text in GRADIO_TEXTS if re.search(rf"\b{re.escape(text)}\b", shown)]
            assert not found, f"Gradio's own English on the page: {found}"
        context.close()

    # The choice holds for the tab when the page is reloaded.
    context = new_context(browser, "sv-FI")
    page, _errors = open_app(context, app_url, "sv")
    page.locator("#visio-lang-fi").click()
    expect(page.locator("#visio-send")).to_have_text("Lähetä")
    page.reload()
    page.wait_for_function("document.documentElement.lang === 'fi'", timeout=ANSWER_TIMEOUT)
    expect(page.locator("#visio-send")).to_have_text("Lähetä")
    context.close()


def test_about_page_and_statement_are_reachable_from_every_view(browser, app_url):
    from playwright.sync_api import expect

    context = new_context(browser, "fi-FI")
    page, _errors = open_app(context, app_url, "fi")
    for tab in ("Kysy", "Sanamuoto"):
        page.get_by_role("tab", name=tab).click()
        for name in ("Tietoa palvelusta", "Saavutettavuusseloste"):
            expect(page.locator("#visio-nav").get_by_role("link", name=re.compile(name))) \
                .to_be_visible()
    with context.expect_page() as opened:
        page.locator("#visio-nav").get_by_role("link", name=re.compile("Saavutettavuus")).click()
    statement = opened.value
    statement.wait_for_load_state()
    expect(statement.locator("h1")).to_have_text("Saavutettavuusseloste")
    expect(statement.locator("main")).to_contain_text("Traficom")
    statement.get_by_role("link", name="På svenska").click()
    expect(statement.locator("h1")).to_have_text("Tillgänglighetsutlåtande")
    assert statement.evaluate("document.documentElement.lang") == "sv"
    statement.get_by_role("link", name="Om tjänsten").click()
    expect(statement.locator("h1")).to_have_text("Om tjänsten")
    expect(statement.locator("main")).to_contain_text("Omdömen sparas i 90 dagar")
    expect(statement.locator("main li span[lang=fi]").first).to_be_visible()
    statement.get_by_role("link", name="Tillbaka till chatten").click()
    statement.wait_for_function("document.documentElement.lang === 'sv'",
                                timeout=ANSWER_TIMEOUT)
    expect(statement.locator("#visio-send")).to_have_text("Skicka")
    context.close()


def test_markup_in_questions_is_shown_not_run_and_empty_input_is_answered(browser, app_url,
                                                                        shots):
    from playwright.sync_api import expect

    context = new_context(browser, "sv-SE")
    page, errors = open_app(context, app_url, "sv")
    turn = ask(page, '<img src=x onerror="window.__pwned=1"> Vad är Agenda 2030?')
    expect(turn.locator(".visio-question")).to_contain_text("<img src=x")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#visio-history img[src=x]").count() == 0
    assert turn.locator(".visio-sources").count() == 1

    notice = ask(page, "   ")
    expect(notice).to_contain_text("Skriv en fråga")
    expect(page.locator("#visio-feedback")).to_be_hidden()  # nothing to rate
    page.screenshot(path=shots / "05-robustness.png", full_page=True)
    assert not errors, errors
    context.close()


def test_broken_feedback_store_is_reported_and_the_chat_goes_on(browser, assistant,
                                                                indexed_settings, tmp_path,
                                                                shots):
    from playwright.sync_api import expect

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the feedback folder should be")
    with running_app(assistant, indexed_settings,
                     feedback_db=blocker / "feedback.sqlite3") as url:
        context = new_context(browser, "fi-FI")
        page, errors = open_app(context, url, "fi")
        ask(page, "Mikä on Agenda 2030?")
        page.locator("#visio-thumb-down").click()
        expect(page.locator("#visio-chat-status")).to_contain_text(
            "Palautetta ei voitu tallentaa")
        expect(page.locator("#visio-comment textarea")).to_be_hidden()
        second = ask(page, "Mikä on pienten kuntien visio?")
        assert second.locator(".visio-sources").count() == 1
        page.screenshot(path=shots / "06-feedback-unavailable.png", full_page=True)
        assert not errors, errors
        context.close()


def test_evaluation_runs_in_the_staff_area_after_login(browser, assistant, indexed_settings,
                                                       tmp_path, shots):
    from playwright.sync_api import expect

    with running_admin(assistant, indexed_settings, feedback_db=tmp_path / "f.sqlite3") as url:
        context = new_context(browser, "sv-SE")
        page = context.new_page()
        page.goto(url)
        expect(page.locator("#visio-eval-run")).to_have_count(0)  # nothing before the login
        page.locator("input[type=text], input:not([type])").first.fill(STAFF[0])
        page.locator("input[type=password]").fill(STAFF[1])
        page.locator("input[type=password]").press("Enter")
        expect(page.get_by_role("tab", name="Utvärdering")).to_be_visible(timeout=ANSWER_TIMEOUT)
        count = page.locator("#visio-eval-items input[type=number]")
        count.fill("6")
        count.press("Enter")
        page.locator("#visio-eval-run").click()
        expect(page.locator("#visio-eval-status")).to_contain_text("6 frågor besvarade",
                                                                     timeout=ANSWER_TIMEOUT * 3)
        table = page.locator("#visio-eval-out table.visio-scores")
        expect(table).to_contain_text("Träff bland tre första källorna (recall@3)")
        expect(table.locator("th")).to_contain_text(["Mått", "Värde", "svenska", "finska"])
        assert page.locator("#visio-eval-out figure img").count() >= 2
        assert page.locator("#visio-eval-out figure img").first.evaluate(
            "img => img.naturalWidth") > 0
        page.screenshot(path=shots / "07-evaluation-sv.png", full_page=True)
        context.close()
