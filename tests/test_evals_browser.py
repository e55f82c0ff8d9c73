"""The evaluation reports in a real headless Chromium, opened from disk with the network off:
nothing is fetched, nothing fails, and the filters, the expandable items and the links
from the comparison to the items work. The report is built from hand-made records, so
no model is needed; the browser is Debian's Chromium driven by Playwright."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.metrics import CitationCheck, ItemRecord, item_checks, summarize
from evals.runner import EvalRun, diff_runs, write_diff, write_outputs

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSAGE = "Första meningen. Obegränsat och snabbt bredband gör det möjligt att arbeta. Sista."
QUOTED = (17, 75)  # the second sentence, as document offsets (the passage starts at 0)


def item(id: str, lang: str, category: str, *, right: bool, refusal: bool = False,
         history: bool = False) -> ItemRecord:
    if refusal:
        r = ItemRecord(id=id, lang=lang, question=f"Vad kostar {id}?", expected_doc_ids=[],
                       expect_refusal=True, must_include=[], category=category,
                       answer="Det framgår inte." if right else "Det kostar 5 euro.",
                       detected_language=lang, refused=right, latency=0.02)
    else:
        doc = "vision-small" if right else "about"
        r = ItemRecord(
            id=id, lang=lang, question=f"Vad säger {id} om bredband?",
            expected_doc_ids=["vision-small"], expect_refusal=False,
            must_include=[["bredband"]], category=category,
            history=[{"role": "user", "content": "Berätta om små kommuner."},
                     {"role": "assistant", "content": "De är nära människorna."}]
            if history else [],
            answer=f"”{PASSAGE[QUOTED[0]:QUOTED[1]]}” [1]" if right else "Något annat [1]",
            detected_language=lang, retrieved_doc_ids=[doc, "contact"], cited_doc_ids=[doc],
            citations=[CitationCheck(n=1, doc_id=doc, lang=lang, valid=True, text=PASSAGE,
                                     char_start=0, char_end=len(PASSAGE),
                                     highlights=[list(QUOTED)],
                                     quoted=[PASSAGE[QUOTED[0]:QUOTED[1]]])],
            latency=0.05, extra={"notes": f"note on {id}"})
    r.checks = item_checks(r)
    return r


def records(broken: bool = False) -> list[ItemRecord]:
    return [
        item("sv-1", "sv", "direct", right=True),
        item("sv-2", "sv", "paraphrase", right=not broken, history=True),
        item("sv-3", "sv", "out_of_scope", right=True, refusal=True),
        item("fi-1", "fi", "direct", right=False),
        item("fi-2", "fi", "paraphrase", right=True),
        item("fi-3", "fi", "out_of_scope", right=not broken, refusal=True),
    ]


def run(broken: bool = False) -> EvalRun:
    recs = records(broken)
    return EvalRun("hybrid", recs, summarize(recs),
                   {"label": "hybrid", "questions": "hand-made", "format": 2,
                    "settings": {"retrieval_mode": "lexical" if broken else "hybrid"}})


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("report")
    before, after = run(), run(broken=True)
    comparison = diff_runs(before, after)
    report = write_outputs(root / "run", after, comparison=comparison)["report_html"]
    alone = write_diff(root / "diff", comparison)["comparison_html"]
    return {"report": report, "comparison": alone}


def open_offline(browser, path: Path):
    """The page from disk in an offline context; any request but the file itself is
    recorded (and refused)."""
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
    requests: list[str] = []

    def refuse(route):
        requests.append(route.request.url)
        route.abort()

    context.route(lambda url: not url.startswith("file://"), refuse)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return context, page, requests, errors


def visible_ids(page) -> list[str]:
    return page.eval_on_selector_all(
        "details.item", "els => els.filter(e => !e.hidden).map(e => e.id.slice(5))")


def test_the_report_opens_offline_and_its_filters_work(browser, pages):
    context, page, requests, errors = open_offline(browser, pages["report"])
    try:
        assert requests == [] and errors == []
        images = page.locator("figure img")
        assert images.count() >= 4
        assert all(images.nth(i).evaluate("img => img.naturalWidth") > 0
                   for i in range(images.count()))
        shown = page.locator("#shown")
        assert shown.text_content() == "6 of 6 shown"
        # Not fully right first: the broken sv-2 and fi-3, and fi-1 which was never right.
        assert set(visible_ids(page)[:3]) == {"sv-2", "fi-1", "fi-3"}

        page.select_option("select[data-filter=lang]", "fi")
        assert sorted(visible_ids(page)) == ["fi-1", "fi-2", "fi-3"]
        assert shown.text_content() == "3 of 6 shown"
        page.select_option("select[data-filter=outcome]", "fail")
        assert sorted(visible_ids(page)) == ["fi-1", "fi-3"]
        page.select_option("select[data-filter=category]", "out_of_scope")
        assert visible_ids(page) == ["fi-3"]
        page.select_option("select[data-filter=lang]", "")
        page.select_option("select[data-filter=category]", "")
        page.select_option("select[data-filter=check]", "refusal")
        assert visible_ids(page) == ["fi-3"]
        page.select_option("select[data-filter=check]", "")
        page.select_option("select[data-filter=change]", "newly_failing")
        assert sorted(visible_ids(page)) == ["fi-3", "sv-2"]
        page.select_option("select[data-filter=outcome]", "pass")
        assert visible_ids(page) == [] and shown.text_content() == "0 of 6 shown"
        page.select_option("select[data-filter=outcome]", "")
        page.select_option("select[data-filter=change]", "")
        page.fill("input[data-filter=text]", "note on fi-2")
        assert visible_ids(page) == ["fi-2"]
        page.fill("input[data-filter=text]", "")
        assert len(visible_ids(page)) == 6

        # An item opens to show its conversation, answer, checks and citations.
        fi2 = page.locator("#item-fi-2")
        assert not fi2.locator("blockquote").is_visible()
        fi2.locator("summary").click()
        mark = fi2.locator("blockquote mark")
        assert mark.is_visible() and mark.text_content() == PASSAGE[QUOTED[0]:QUOTED[1]]
        assert "characters 0–" in fi2.text_content() and "note on fi-2" in fi2.text_content()
        sv2 = page.locator("#item-sv-2")
        sv2.locator("summary").click()
        assert "Berätta om små kommuner." in sv2.text_content()
        assert "Compared with run A" in sv2.text_content()
        assert "✗" in sv2.locator("table").first.text_content()

        # The comparison's list links to the items, and following a link opens the item.
        page.locator("#collapse").click()
        page.locator('a[href="#item-fi-3"]').click()
        assert page.locator("#item-fi-3").evaluate("d => d.open") is True
        page.locator("#expand").click()
        assert page.eval_on_selector_all("details.item", "els => els.every(e => e.open)")
        assert requests == [] and errors == []
    finally:
        context.close()


def test_the_comparison_page_opens_offline_and_filters_by_change(browser, pages):
    context, page, requests, errors = open_offline(browser, pages["comparison"])
    try:
        assert requests == [] and errors == []
        assert page.locator("table").first.is_visible()
        assert sorted(visible_ids(page)) == ["fi-3", "sv-2"]
        page.select_option("select[data-filter=change]", "newly_passing")
        assert visible_ids(page) == []
        page.select_option("select[data-filter=change]", "newly_failing")
        page.select_option("select[data-filter=lang]", "sv")
        assert visible_ids(page) == ["sv-2"]
        page.locator("#item-sv-2 summary").click()
        text = page.locator("#item-sv-2").text_content()
        assert "A (before)" in text and "B (after)" in text and "Något annat" in text
        assert requests == [] and errors == []
    finally:
        context.close()
