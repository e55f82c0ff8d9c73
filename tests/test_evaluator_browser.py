"""The evaluator's page in a real headless Chromium, as an evaluator uses it: log into the
staff area, upload a set (a malformed one first), run a tiny set on the shipped corpus to
the end with the keyboard, read the figures, download the per-item CSV, open the full
report in the page, compare with the run before, switch the language — with axe-core
(WCAG 2.1 A/AA) finding nothing on the page at each step. The run is answered by the
staff app's own assistant (counted here). Screenshots go to test-artifacts/ui/.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from browser_helpers import (
    ANSWER_TIMEOUT,
    axe_violations,
    focused,
    horizontal_overflow,
    new_context,
)
from ui_server import ARTIFACTS, STAFF, running_admin

from evals.items import SHIPPED_SET, load_sets
from evals.metrics import summarize
from evals.runner import EvalRun, error_record, spread, write_outputs

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN_TIMEOUT = ANSWER_TIMEOUT * 3  # three questions, a warm-up and the report's charts
EARLIER = "20260101-090000"


class CountingAssistant:
    """The staff app's assistant, counting the questions it is asked."""

    def __init__(self, assistant) -> None:
        self.inner, self.settings, self.asked = assistant, assistant.settings, 0

    def ask(self, *args, **kwargs):
        self.asked += 1
        return self.inner.ask(*args, **kwargs)


def tiny_set(path: Path) -> list[dict]:
    """Three held-out items spread over the shipped set, with an own key."""
    items = [item.to_dict() for item in spread(load_sets(SHIPPED_SET), 3)]
    for item, difficulty in zip(items, ("easy", "hard", "easy"), strict=True):
        item["difficulty"] = difficulty
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items),
                    encoding="utf-8")
    return items


def earlier_run(root: Path, set_path: Path) -> Path:
    """The run before: the same items, every one an error (an index that was missing)."""
    from evals.items import load_items

    records = [error_record(item, RuntimeError("index_missing"), 0.01)
               for item in load_items(set_path)]
    run = EvalRun("hybrid", records, summarize(records),
                  {"label": "hybrid", "format": 2, "questions": "tiny.jsonl", "n_items": 3,
                   "n_items_in_set": 3, "started_at": "2026-01-01T09:00:00+02:00",
                   "settings": {"retrieval_mode": "hybrid"}, "warnings": []})
    return write_outputs(root / EARLIER, run)["items"].parent


def login(page, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    page.locator("input[type=text], input:not([type])").first.fill(STAFF[0])
    page.locator("input[type=password]").fill(STAFF[1])
    page.locator("input[type=password]").press("Enter")
    expect(page.get_by_role("tab", name="Testkörningar")).to_be_visible(timeout=ANSWER_TIMEOUT)


def settled_axe(page) -> list[str]:
    """axe once the page's CSS transitions are over (a radio option fading from selected to
    not selected is, for a few frames, neither colour)."""
    page.wait_for_function("document.getAnimations().every(a => a.playState !== 'running')")
    return axe_violations(page)


def new_page(context):
    """A page that intercepts file choosers from the start: Playwright switches the
    interception on lazily, and a chooser opened on that first use can slip past it."""
    page = context.new_page()
    page.on("filechooser", lambda chooser: None)
    return page


def upload(page, path: Path) -> None:
    with page.expect_file_chooser() as chooser:
        page.locator("#visio-runs-upload").click()
    chooser.value.set_files(str(path))


def test_an_evaluator_uploads_runs_reads_downloads_and_compares(browser, assistant,
                                                                 indexed_settings, tmp_path):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    set_path = tmp_path / "tiny.jsonl"
    items = tiny_set(set_path)
    bad_path = tmp_path / "broken.jsonl"
    bad_path.write_text(json.dumps(items[0]) + "\n{\"id\": \"x\",\n", encoding="utf-8")
    data = tmp_path / "data"
    earlier_run(data / "eval", set_path)
    staff_assistant = CountingAssistant(assistant)
    found: dict[str, list[str]] = {}
    with running_admin(staff_assistant, indexed_settings, data_dir=data,
                       feedback_db=tmp_path / "f.sqlite3") as url:
        context = new_context(browser, "sv-SE", accept_downloads=True)
        page = new_page(context)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        login(page, url)
        page.get_by_role("tab", name="Testkörningar").click()
        radio = page.locator("#visio-runs-set")
        expect(radio.get_by_label("Standard: frågorna som hållits utanför")).to_be_checked()
        expect(radio).to_contain_text("programme-dev.jsonl: utvecklingsuppsättning (90 frågor)")
        expect(page.locator("#visio-runs-set-info")).to_contain_text("Hållen utanför")
        found["start"] = settled_axe(page)

        # A malformed file: the loader's message, naming the line and the problem.
        upload(page, bad_path)
        info = page.locator("#visio-runs-set-info")
        expect(info).to_contain_text("Filen broken.jsonl kan inte användas")
        expect(info.locator(".visio-loader-message")).to_contain_text(
            "broken.jsonl:2: not valid JSON")
        assert "Traceback" not in info.inner_text()
        found["upload refused"] = settled_axe(page)

        # The tiny set: uploaded, chosen, its own key offered for a breakdown.
        upload(page, set_path)
        expect(info).to_contain_text("Uppladdad: tiny.jsonl.")
        expect(info).to_contain_text("3 frågor (svenska")
        expect(info).to_contain_text("own keys kept in the results, not used for scoring: "
                                     "difficulty (3 items)")
        expect(radio.get_by_label("Egen uppsättning (ladda upp en JSONL-fil)")).to_be_checked()
        page.locator("#visio-runs-by").get_by_label("difficulty").check()

        # Run it to the end, from the keyboard: the next stop after the breakdown is the run.
        page.keyboard.press("Tab")
        shown = focused(page)
        assert shown and shown["id"] == "visio-runs-run" and shown["visible"], shown
        page.keyboard.press("Enter")
        status = page.locator("#visio-runs-status")
        expect(status).to_contain_text("Klart: 3 frågor besvarade", timeout=RUN_TIMEOUT)
        expect(page.locator("#visio-runs-progress")).to_contain_text("3 av 3 frågor besvarade")
        assert page.locator("#visio-runs-progress progress").get_attribute("value") == "3"
        assert staff_assistant.asked == 3 + 1  # the items and one untimed warm-up

        # The figures: headline with interval and n, per language, by the own key.
        figures = page.locator("#visio-runs-figures")
        expect(figures.locator(".visio-headline")).to_contain_text(
            "95 % konfidensintervall")
        expect(figures.locator(".visio-headline")).to_contain_text("n = 3 frågor")
        expect(figures.locator("caption")).to_contain_text([
            "Alla mått med 95 % konfidensintervall", "Per språk (värde och 95 % intervall)",
            "Helt rätt per värde av den egna nyckeln difficulty"])
        headline = figures.locator("table").first
        expect(headline.locator("th[scope=row]").first).to_have_text("Helt rätt")
        expect(headline.locator("tbody tr").first.locator("td").nth(1)).to_contain_text("[")
        assert horizontal_overflow(page) <= 0
        page.screenshot(path=ARTIFACTS / "evaluator-results-sv.png", full_page=True)
        found["results"] = settled_axe(page)

        # Downloads: the per-item CSV (and the JSONL beside it).
        with page.expect_download() as download:
            page.locator("#visio-runs-dl-items-csv").click()
        saved = tmp_path / "downloaded.csv"
        download.value.save_as(saved)
        with saved.open(encoding="utf-8-sig", newline="") as handle:
            table = list(csv.DictReader(handle))
        assert [row["id"] for row in table] == [item["id"] for item in items]
        assert {"check:fully_right", "check:hit@3", "difficulty"} <= set(table[0])
        assert [row["difficulty"] for row in table] == ["easy", "hard", "easy"]
        assert all(row["outcome"] in ("pass", "fail", "error") for row in table)
        with page.expect_download() as download:
            page.locator("#visio-runs-dl-items").click()
        assert download.value.suggested_filename == "items.jsonl"

        # The full report, inside the page.
        page.locator("#visio-runs-show-report").click()
        frame = page.frame_locator("#visio-runs-report iframe")
        expect(frame.locator("h1")).to_contain_text("Answer evaluation", timeout=ANSWER_TIMEOUT)
        expect(page.locator("#visio-runs-report iframe")).to_have_attribute(
            "title", f"Hela rapporten för körningen {_run_title(page)} (på engelska)")
        expect(page.locator("#visio-runs-show-report")).to_have_text("Dölj rapporten")
        found["report open"] = settled_axe(page)
        page.locator("#visio-runs-show-report").click()
        expect(page.locator("#visio-runs-report iframe")).to_have_count(0)

        # Compare with the run before (chosen for A by default), download the comparison.
        expect(page.locator("#visio-runs-before input")).to_have_value(
            "2026-01-01 09:00:00 · tiny.jsonl · n = 3")
        expect(page.locator("#visio-runs-after input")).to_have_value(_run_title(page))
        page.locator("#visio-runs-compare").click()
        expect(page.locator("#visio-runs-compare-status")).to_contain_text(
            "Jämförelsen är klar", timeout=ANSWER_TIMEOUT)
        result = page.locator("#visio-runs-comparison")
        expect(result).to_contain_text(f"A (före): 2026-01-01 09:00:00 · tiny.jsonl · n = 3 · "
                                       f"{EARLIER}")
        expect(result).to_contain_text("3 frågor finns i båda körningarna och jämförs.")
        expect(result.locator("caption")).to_contain_text(["Siffrorna, B − A"])
        expect(result).to_contain_text("Nya fel: 0")  # every item was an error before
        with page.expect_download() as download:
            page.locator("#visio-runs-dl-comparison-html").click()
        assert download.value.suggested_filename == "comparison.html"
        saved = tmp_path / "comparison.html"
        download.value.save_as(saved)
        assert "Comparison of two runs" in saved.read_text(encoding="utf-8")
        page.screenshot(path=ARTIFACTS / "evaluator-comparison-sv.png", full_page=True)
        found["comparison"] = settled_axe(page)

        # The other interface language: the page's own texts follow.
        page.locator("#visio-lang-fi").click()
        page.wait_for_function("document.documentElement.lang === 'fi'")
        expect(figures.locator(".visio-headline")).to_contain_text("Täysin oikein:")
        expect(result.locator("caption")).to_contain_text(["Luvut, B − A"])
        expect(page.get_by_role("tab", name="Testiajot")).to_be_visible()
        expect(page.locator("#visio-runs-run")).to_have_text("Aja testijoukko")
        expect(radio.get_by_label("Oma joukko (lähetä JSONL-tiedosto)")).to_be_checked()
        expect(page.locator("#visio-runs-set-info")).to_contain_text("Lähetetty: tiny.jsonl.")
        expect(page.locator("#visio-runs-dl-items-csv")).to_have_text(
            "Vastaukset kysymyksittäin (CSV)")
        page.screenshot(path=ARTIFACTS / "evaluator-comparison-fi.png", full_page=True)
        found["finnish"] = settled_axe(page)
        assert not errors, errors
        context.close()
    report = "\n".join(f"{view}: " + "; ".join(items) for view, items in found.items() if items)
    assert not report, report
    runs = sorted(p.name for p in (data / "eval").iterdir())
    assert runs[0] == EARLIER and len(runs) == 3 and runs[-1].startswith("diff-")


def _run_title(page) -> str:
    return page.locator("#visio-runs-figures .visio-run-title").inner_text()


def test_the_page_on_a_phone_in_finnish_reflows_and_takes_a_file_from_the_keyboard(
        browser, assistant, indexed_settings, tmp_path):
    from browser_helpers import PHONE
    from playwright.sync_api import expect

    set_path = tmp_path / "tiny.jsonl"
    tiny_set(set_path)
    with running_admin(assistant, indexed_settings, data_dir=tmp_path / "data",
                       feedback_db=tmp_path / "f.sqlite3") as url:
        context = new_context(browser, "fi-FI", PHONE)
        page = new_page(context)
        page.goto(url)
        page.locator("input[type=text], input:not([type])").first.fill(STAFF[0])
        page.locator("input[type=password]").fill(STAFF[1])
        page.locator("input[type=password]").press("Enter")
        page.wait_for_function("document.documentElement.lang === 'fi'",
                               timeout=ANSWER_TIMEOUT)
        page.get_by_role("tab", name="Testiajot").click()
        expect(page.locator("#visio-runs-figures")).to_contain_text("Ei vielä tuloksia")
        expect(page.locator("#visio-runs-before input")).to_have_value("")  # no runs yet
        # The labels are the interface language's once the language switch has run (it
        # redraws the controls, so focus given before that would be lost).
        expect(page.locator("#visio-runs-upload")).to_have_text(
            "Valitse lähetettävä JSONL-tiedosto")
        expect(page.locator("#visio-runs-run")).to_have_text("Aja testijoukko")
        page.locator("#visio-runs-upload").focus()
        assert (focused(page) or {}).get("id") == "visio-runs-upload"
        with page.expect_file_chooser() as chooser:
            page.keyboard.press("Enter")
        chooser.value.set_files(str(set_path))
        expect(page.locator("#visio-runs-set-info")).to_contain_text("Lähetetty: tiny.jsonl.")
        expect(page.locator("#visio-runs-set-info")).to_contain_text("3 kysymystä (ruotsi")
        page.locator("#visio-runs-compare").click()
        expect(page.locator("#visio-runs-compare-status")).to_contain_text(
            "Valitse vertailtavaksi kaksi eri ajoa.")
        assert horizontal_overflow(page) <= 0
        found = settled_axe(page)
        page.screenshot(path=ARTIFACTS / "evaluator-phone-fi.png", full_page=True)
        context.close()
    assert not found, found
