"""What the browser tests share: a real headless Chromium (Debian's), axe-core, pages.

Nothing leaves the machine: every address that is not the app's own is answered
by a stub page, so following a source link opens a tab without a network.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ANSWER_TIMEOUT = 60_000  # ms; the first question also warms the retriever up
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

DESKTOP = {"viewport": {"width": 1280, "height": 1000}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3,
         "is_mobile": True, "has_touch": True}
DEVICES = {"desktop": DESKTOP, "phone": PHONE}
LOCALES = {"sv": "sv-FI", "fi": "fi-FI"}

_OUTSIDE = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")


def launch_browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def new_context(browser: Any, locale: str, device: dict | None = None, **options: Any) -> Any:
    context = browser.new_context(locale=locale, **{**(device or DESKTOP), **options})
    context.route(_OUTSIDE, lambda route: route.fulfill(
        status=200, content_type="text/html", body="<!doctype html><title>stub</title>"))
    return context


def open_app(context: Any, url: str, lang: str | None = None) -> tuple[Any, list[str]]:
    """The app with its texts in place (the language the load event picked)."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector("#visio-history", timeout=ANSWER_TIMEOUT)
    if lang:
        page.wait_for_function(f"document.documentElement.lang === '{lang}' && "
                               f"document.querySelector('#visio-lang-{lang}')"
                               f"?.getAttribute('aria-pressed') === 'true'",
                               timeout=ANSWER_TIMEOUT)
    return page, errors


def ask(page: Any, question: str) -> Any:
    """Type a question, press Enter, wait for the finished answer; returns its turn."""
    from playwright.sync_api import expect

    turns = page.locator("#visio-history .visio-turn")
    before = turns.count()
    box = page.locator("#visio-question textarea")
    box.fill(question)
    box.press("Enter")
    expect(turns).to_have_count(before + 1, timeout=ANSWER_TIMEOUT)
    turn = turns.nth(before)
    expect(turn.locator(".visio-answer.visio-final")).to_have_count(1, timeout=ANSWER_TIMEOUT)
    expect(page.locator("#visio-current .visio-turn")).to_have_count(0)
    return turn


def answer_text(turn: Any) -> str:
    return turn.locator(".visio-answer").inner_text()


def axe_violations(page: Any) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS},
                                       "resultTypes": ["violations"]})
    found = []
    for violation in results.response["violations"]:
        targets = "; ".join(" ".join(map(str, node["target"]))
                            for node in violation["nodes"][:5])
        found.append(f"{violation['id']} ({violation['impact']}, {len(violation['nodes'])} "
                     f"nodes): {targets}")
    return found


_OVERFLOW_JS = ("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
                " - window.innerWidth")
#: How long the layout may take to settle after a change (an answer streaming in); what a
#: reader then sees is what counts. The first paint itself is checked by the same call: the
#: page's width rules are in its first HTML (ui/style.py FIRST_PAINT_CSS).
SETTLE_MS = 5_000


def horizontal_overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than its viewport (0 = no sideways scrolling),
    once the layout has settled (an overflow that lasts is still reported)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):  # still wider: report what is there
        page.wait_for_function(f"({_OVERFLOW_JS}) <= 0", timeout=SETTLE_MS)
    return int(page.evaluate(_OVERFLOW_JS))


FOCUS_JS = """
() => {
  const element = document.activeElement;
  if (!element || element === document.body) { return null; }
  const style = getComputedStyle(element);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  const rect = element.getBoundingClientRect();
  return {
    tag: element.tagName.toLowerCase(), id: element.id || '',
    classes: String(element.className || ''),
    name: (element.getAttribute('aria-label') || element.innerText || element.value
           || element.getAttribute('placeholder') || '').trim().slice(0, 80),
    visible: outline && rect.width > 0 && rect.height > 0,
    outline: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`,
  };
}
"""


def focused(page: Any) -> dict | None:
    return page.evaluate(FOCUS_JS)
