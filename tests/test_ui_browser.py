"""The web app in a real headless Chromium (Debian's, driven by Playwright).

One resident's session in Swedish and Finnish (answers, sources, feedback,
language switch, clearing), a staff wording search with the copy button, the
browser-language default, and robustness (markup in questions, empty input,
a broken feedback store). Screenshots go to test-artifacts/ui/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from ui_server import ARTIFACTS, running_app

from assistant.feedback import FeedbackStore
from assistant.language import detect_language

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ANSWER_TIMEOUT = 60_000  # ms; the first question also warms the retriever up


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def feedback_db(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("feedback") / "feedback.sqlite3"


@pytest.fixture(scope="module")
def app_url(assistant, indexed_settings, feedback_db) -> Iterator[str]:
    with running_app(assistant, indexed_settings, feedback_db=feedback_db) as url:
        yield url


@pytest.fixture(scope="module")
def shots() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def open_page(browser, url: str, locale: str):
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector("#visio-chat", timeout=ANSWER_TIMEOUT)
    return context, page, errors


def ask(page, question: str):
    """Type a question, press Enter and wait for the new answer; returns its element."""
    from playwright.sync_api import expect

    bots = page.locator("#visio-chat .message.bot")
    before = bots.count()
    box = page.locator("#visio-question textarea")
    box.fill(question)
    box.press("Enter")
    expect(bots).to_have_count(before + 1, timeout=ANSWER_TIMEOUT)
    answer = bots.nth(before)
    expect(answer.locator(".visio-answer.visio-final")).to_have_count(1, timeout=ANSWER_TIMEOUT)
    return answer


def rate(page, answer_number: int, thumb: str) -> None:
    """Click a thumb of the n-th answer (Gradio puts the buttons beside, not in, the message).

    The button names follow the browser language: Gilla/Ogilla, Tykkää/En tykkää, Like/Dislike.
    """
    names = {"up": r"^(Gilla|Tykkää|Like)$", "down": r"^(Ogilla|En tykkää|Dislike)$"}[thumb]
    buttons = page.locator("#visio-chat .message-buttons-left").nth(answer_number)
    buttons.get_by_role("button", name=re.compile(names)).click()


def answer_text(answer) -> str:
    return answer.locator(".visio-answer").inner_text()


def test_resident_session_in_swedish_and_finnish(browser, app_url, feedback_db, shots):
    from playwright.sync_api import expect

    context, page, errors = open_page(browser, app_url, "sv-SE")
    expect(page.get_by_role("tab", name="Ordalydelse")).to_be_visible()
    expect(page.locator("#visio-send")).to_have_text("Skicka")
    page.screenshot(path=shots / "01-start-sv.png", full_page=True)

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
    page.screenshot(path=shots / "02-answer-sv.png", full_page=True)

    # A Finnish question in the Swedish interface: the answer follows the question.
    finnish = ask(page, "Mikä on pienten kuntien visio?")
    assert detect_language(answer_text(finnish)).lang == "fi"
    expect(finnish.locator(".visio-sources-title")).to_have_text("Lähteet")
    expect(finnish.locator(".visio-status").first).to_contain_text("käännös ruotsista")
    page.screenshot(path=shots / "03-answer-fi.png", full_page=True)

    # A follow-up relies on the kept conversation.
    follow_up = ask(page, "Entä suurten kaupunkien?")
    assert detect_language(answer_text(follow_up)).lang == "fi"
    expect(follow_up.locator(".visio-title").first).to_contain_text("Suurten kaupunkien")

    # Thumbs up on the Finnish answer, then a comment.
    rate(page, 1, "up")
    expect(page.locator("#visio-chat-status")).to_contain_text("Tack för ditt omdöme")
    page.locator("#visio-comment textarea").fill("Tydligt svar <b>tack</b>")
    page.locator("#visio-comment-send").click()
    expect(page.locator("#visio-chat-status")).to_contain_text("Kommentaren är sparad")
    (row,) = FeedbackStore(feedback_db).rows()
    assert row["rating"] == 1 and row["question"] == "Mikä on pienten kuntien visio?"
    assert row["language"] == "fi" and row["comment"] == "Tydligt svar <b>tack</b>"
    assert row["citations"] and row["citations"][0]["doc_id"] == "vision-small"
    assert row["answer"].startswith("Lähteessä")
    page.screenshot(path=shots / "04-feedback.png", full_page=True)

    # Switch the interface to Finnish: every label follows, the conversation stays.
    page.locator("#visio-lang").get_by_text("Suomi").click()
    expect(page.locator("#visio-send")).to_have_text("Lähetä")
    expect(page.get_by_role("tab", name="Sanamuoto")).to_be_visible()
    expect(page.locator("#visio-clear")).to_have_text("Tyhjennä keskustelu")
    expect(page.locator("#visio-question textarea")).to_have_attribute(
        "placeholder", re.compile("^Esimerkiksi"))
    assert page.evaluate("document.documentElement.lang") == "fi"
    expect(page.locator("footer")).to_contain_text("Käytä API:n kautta")  # Gradio's own texts
    expect(page.locator("#visio-chat .message.bot")).to_have_count(3)
    page.screenshot(path=shots / "05-interface-fi.png", full_page=True)

    # Clearing empties the chat and shows the Finnish examples; an example asks itself.
    page.locator("#visio-clear").click()
    expect(page.locator("#visio-chat .message")).to_have_count(0)
    example = page.locator("#visio-chat").get_by_text("Miten kehyskunnat kuvataan ohjelmassa?")
    expect(example).to_be_visible()
    example.click()
    expect(page.locator("#visio-chat .message.bot .visio-sources")).to_have_count(
        1, timeout=ANSWER_TIMEOUT)
    assert "Kehyskuntien visio" in page.locator("#visio-chat .visio-title").first.inner_text()
    page.screenshot(path=shots / "06-example-fi.png", full_page=True)
    assert not errors, errors
    context.close()


def test_staff_wording_search_with_counterpart_and_copy(browser, app_url, shots):
    from playwright.sync_api import expect

    context, page, errors = open_page(browser, app_url, "fi-FI")
    expect(page.get_by_role("tab", name="Sanamuoto")).to_be_visible(timeout=ANSWER_TIMEOUT)
    page.get_by_role("tab", name="Sanamuoto").click()
    page.locator("#visio-phrase textarea").fill("liten kommun")
    page.locator("#visio-search").click()
    first = page.locator("#visio-wording-results .visio-match").first
    expect(first).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(first.locator("mark").first).to_have_text(re.compile("^liten kommun$", re.I))
    expect(first.locator(".visio-kind")).to_have_text("sanatarkka osuma")
    counterpart = first.locator(".visio-counterpart")
    expect(counterpart).to_have_attribute("data-translation", "true")
    expect(counterpart.locator(".visio-passage-lang")).to_contain_text("käännös ruotsista")
    expect(counterpart.locator(".visio-passage-text")).to_contain_text("Pieni kunta")

    first.locator("button.visio-copy").click()
    expect(first.locator("button.visio-copy")).to_have_text("Kopioitu")
    copied = page.evaluate("navigator.clipboard.readText()")
    passage = first.locator(".visio-passage-text").first.inner_text()
    assert copied.startswith(f"”{passage}”\nLähde: Vision för små kommuner")
    assert "https://" in copied
    page.screenshot(path=shots / "07-wording-fi.png", full_page=True)

    page.locator("#visio-phrase textarea").fill("zzzxqy")
    page.locator("#visio-search").click()
    expect(page.locator("#visio-wording-results .visio-notice")).to_contain_text(
        "ei löytynyt", timeout=ANSWER_TIMEOUT)
    assert not errors, errors
    context.close()


def test_browser_language_decides_the_first_interface_language(browser, app_url):
    from playwright.sync_api import expect

    cases = (("fi-FI", "Lähetä", "Kysy", "Käytä API:n kautta"),
             ("sv-FI", "Skicka", "Fråga", "Använd via API"),
             ("en-US", "Skicka", "Fråga", "Använd via API"))
    for locale, send, chat_tab, footer in cases:
        context, page, _errors = open_page(browser, app_url, locale)
        expect(page.locator("#visio-send")).to_have_text(send, timeout=ANSWER_TIMEOUT)
        expect(page.get_by_role("tab", name=chat_tab)).to_be_visible()
        expect(page.locator("footer")).to_contain_text(footer)
        context.close()


def test_markup_in_questions_is_shown_not_run_and_empty_input_is_answered(browser, app_url,
                                                                        shots):
    from playwright.sync_api import expect

    context, page, errors = open_page(browser, app_url, "sv-SE")
    answer = ask(page, '<img src=x onerror="window.__pwned=1"> Vad är Agenda 2030?')
    expect(page.locator("#visio-chat .message.user").last).to_contain_text("<img src=x")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#visio-chat img[src=x]").count() == 0
    assert answer.locator(".visio-sources").count() == 1

    notice = ask(page, "   ")
    expect(notice).to_contain_text("Skriv en fråga")
    page.screenshot(path=shots / "08-robustness.png", full_page=True)
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
        context, page, errors = open_page(browser, url, "fi-FI")
        expect(page.locator("#visio-send")).to_have_text("Lähetä", timeout=ANSWER_TIMEOUT)
        ask(page, "Mikä on Agenda 2030?")
        rate(page, 0, "down")
        expect(page.locator("#visio-chat-status")).to_contain_text(
            "Palautetta ei voitu tallentaa")
        expect(page.locator("#visio-comment textarea")).to_be_hidden()
        second = ask(page, "Mikä on pienten kuntien visio?")
        assert second.locator(".visio-sources").count() == 1
        page.screenshot(path=shots / "09-feedback-unavailable.png", full_page=True)
        assert not errors, errors
        context.close()



def test_evaluator_tab_runs_the_eval_set_and_shows_scores_and_charts(browser, app_url, shots):
    from playwright.sync_api import expect

    context, page, errors = open_page(browser, app_url, "sv-SE")
    page.get_by_role("tab", name="Utvärdering").click()
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
    assert page.locator("#visio-eval-out figure img").first.evaluate("img => img.naturalWidth") > 0
    page.screenshot(path=shots / "10-evaluation-sv.png", full_page=True)
    assert not errors, errors
    context.close()
