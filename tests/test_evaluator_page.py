"""The evaluator's page of the staff area (ui/evaluator.py and the ui/eval_*.py modules it is
built from) without a browser: reading an uploaded set, the CSV export, the list of earlier
runs, one run at a time per server, and what the page renders. No model is loaded: the
page's functions take hand-made records, and the server-level test answers with a stand-in
assistant that waits for a signal.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import datetime
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.types import Answer
from evals.export import BASE_COLUMNS, CHECKS, records_csv, rows, write_csv
from evals.items import SETS_DIR, parse_items
from evals.metrics import CitationCheck, ItemRecord, item_checks, summarize
from evals.runner import EvalRun, diff_runs, write_outputs
from evals.runs import find_run, folder, list_runs, new_run_dir
from ui.eval_render import comparison_html, figures_html, report_frame_html, set_info_html
from ui.eval_runs import RunSlot, busy_text, start_run
from ui.eval_sets import (
    SetChoice,
    UploadProblem,
    forget_upload,
    read_upload,
    shipped_choices,
    summarize_set,
)

CORPUS_DOCS = {"vision-small", "about", "contact"}


def line(**item: object) -> str:
    base = {"id": "sv-1", "lang": "sv", "question": "Vad säger visionen om bredband?",
            "expected_doc_ids": ["vision-small"], "expect_refusal": False,
            "must_include": [["bredband"]]}
    return json.dumps({**base, **item}, ensure_ascii=False)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --- upload -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "where", "problem"), [
    (line() + "\n{not json\n", "my-set.jsonl:2:", "not valid JSON"),
    (line() + "\n" + line(id="sv-2", expect_refusal="no") + "\n", "my-set.jsonl:2 (sv-2):",
     "expect_refusal must be true or false"),
    ('{"id": "x", "lang": "sv"}\n', "my-set.jsonl:1:", "missing key(s) question"),
    (line() + "\n" + line() + "\n", "my-set.jsonl:2:", "id 'sv-1' already used on line 1"),
    (line(id="sv-3", expect_refusal=True) + "\n", "my-set.jsonl:1 (sv-3):",
     "cannot also expect documents"),
    ("\n\n", "my-set.jsonl:", "has no items"),
])
def test_a_malformed_upload_gets_the_loaders_message_naming_line_and_problem(
        tmp_path, text, where, problem):
    path = write(tmp_path, "my-set.jsonl", text)
    with pytest.raises(UploadProblem) as caught:
        read_upload(path, CORPUS_DOCS)
    assert caught.value.key == "runs_upload_failed"
    assert caught.value.detail.startswith(where) and problem in caught.value.detail
    shown = set_info_html(SetChoice("upload", "upload"), "sv", problem=caught.value.as_state())
    assert "Filen my-set.jsonl kan inte användas" in shown
    assert f'<p class="visio-loader-message" lang="en"><code>{where}' in shown
    assert "Traceback" not in shown


def test_an_upload_that_is_not_utf8_too_large_or_naming_unknown_documents_is_refused(tmp_path):
    latin = write(tmp_path, "latin.jsonl", line(question="Vad är Åbo?").encode("latin-1"))
    with pytest.raises(UploadProblem) as caught:
        read_upload(latin, CORPUS_DOCS)
    assert "latin.jsonl: not UTF-8 text" in caught.value.detail

    big = write(tmp_path, "big.jsonl", (line() + "\n") * 50)
    with pytest.raises(UploadProblem) as caught:
        read_upload(big, CORPUS_DOCS, limit=1000)
    assert caught.value.key == "runs_upload_too_large"
    assert caught.value.values["limit"] == "0.0 MB" and caught.value.values["name"] == "big.jsonl"
    shown = set_info_html(SetChoice("upload", "upload"), "fi", problem=caught.value.as_state())
    assert "Tiedoston big.jsonl koko on" in shown

    elsewhere = write(tmp_path, "gimp.jsonl", line(expected_doc_ids=["gimp-layers"]) + "\n")
    with pytest.raises(UploadProblem) as caught:
        read_upload(elsewhere, CORPUS_DOCS)
    assert caught.value.detail == ("gimp.jsonl:1 (sv-1): expected_doc_ids name documents that "
                                   "are not in this server's corpus: gimp-layers")


def test_a_valid_upload_keeps_its_own_keys_and_says_so(tmp_path):
    text = (line(notes="from the workshop", expected_docs=["about"]) + "\n\n"
            + line(id="fi-1", lang="fi", question="Mitä visio sanoo?", notes="x") + "\n"
            + line(id="fi-2", lang="fi", question="Mikä on hinta?", expected_doc_ids=[],
                   expect_refusal=True, must_include=[]) + "\n")
    items = read_upload(write(tmp_path, "mine.jsonl", text), CORPUS_DOCS)
    assert [i.id for i in items] == ["sv-1", "fi-1", "fi-2"] and items[1].line == 3
    summary = summarize_set(items)
    assert summary.by_language == {"sv": 1, "fi": 2} and summary.n_refusals == 1
    assert summary.own_keys == ("notes", "expected_docs")
    upload = {"name": "mine.jsonl", "items": items, "summary": summary}
    shown = set_info_html(SetChoice("upload", "upload"), "sv", upload=upload)
    assert "Uppladdad: mine.jsonl." in shown
    assert "3 frågor (svenska 1, finska 2); 1 av dem ska besvaras med ett vägrande." in shown
    assert '<li lang="en">own keys kept in the results, not used for scoring: ' \
           "expected_docs (1 item), notes (2 items)</li>" in shown
    assert "looks like &#x27;expected_doc_ids&#x27;" in shown


def test_an_uploaded_file_is_deleted_once_read_and_nothing_else_is(tmp_path):
    import uuid

    from gradio.utils import get_upload_folder

    uploaded = Path(get_upload_folder()) / f"visio-test-{uuid.uuid4().hex}" / "set.jsonl"
    uploaded.parent.mkdir(parents=True)
    uploaded.write_text(line() + "\n", encoding="utf-8")
    mine = write(tmp_path, "set.jsonl", line() + "\n")
    forget_upload(uploaded)
    forget_upload(mine)
    forget_upload(None)
    assert not uploaded.exists() and mine.exists()
    uploaded.parent.rmdir()


def test_the_shipped_sets_offered_fit_the_corpus_held_out_first_development_labelled():
    from assistant.documents import load_corpus

    documents = {d.id for d in load_corpus(Settings().corpus_dir).documents}
    choices = shipped_choices(documents)
    keys = [c.key for c in choices]
    assert keys[0] == "heldout" and choices[0].gate and choices[0].summary.n_items == 158
    assert keys[-1] == "upload"
    assert not any("gimp" in k for k in keys)  # written for another corpus
    kinds = {c.key: c.kind for c in choices}
    assert kinds["set:programme-heldout.jsonl"] == kinds["set:fresh-heldout.jsonl"] == "heldout"
    assert kinds["development"] == kinds["set:programme-dev.jsonl"] == "development"
    assert keys.index("set:fresh-heldout.jsonl") < keys.index("development")
    titles = {c.key: c.title("sv") for c in choices}
    assert titles["heldout"] == ("Standard: frågorna som hållits utanför (programme-heldout.jsonl"
                                 " + fresh-heldout.jsonl, 158 frågor)")
    assert titles["set:programme-dev.jsonl"] == ("programme-dev.jsonl: utvecklingsuppsättning "
                                                 "(90 frågor)")
    assert choices[0].title("fi").startswith("Oletus: erillään pidetyt kysymykset")
    dev = next(c for c in choices if c.key == "development")
    assert "konstanter är anpassade" in set_info_html(dev, "sv")
    assert "CI-grinden" in set_info_html(choices[0], "sv")
    # Another corpus: its own sets only; no corpus at all: the upload only.
    gimp = shipped_choices({d for c in ["gimp-heldout.jsonl", "gimp-dev.jsonl", "gimp-dev2.jsonl"]
                            for i in parse_items((SETS_DIR / c).read_bytes())
                            for d in i.expected_doc_ids})
    assert gimp[0].key == "set:gimp-heldout.jsonl" and gimp[0].kind == "heldout"
    assert [c.key for c in shipped_choices(set())] == ["upload"]


# --- hand-made runs ---------------------------------------------------------------------

def record(id: str, lang: str, *, right: bool, **extra: object) -> ItemRecord:
    doc = "vision-small" if right else "about"
    r = ItemRecord(id=id, lang=lang, question=f"Vad säger {id} om bredband?",
                   expected_doc_ids=["vision-small"], expect_refusal=False,
                   must_include=[["bredband"]], category="direct", tags=["net"],
                   answer="Obegränsat bredband [1]" if right else "=SUM(A1) något annat [1]",
                   detected_language=lang, retrieved_doc_ids=[doc, "contact"],
                   cited_doc_ids=[doc], latency=0.05, confidence=0.9,
                   citations=[CitationCheck(n=1, doc_id=doc, lang=lang, valid=True,
                                            text="Obegränsat bredband.", char_start=0,
                                            char_end=20)],
                   extra=dict(extra))
    r.checks = item_checks(r)
    return r


def hand_run(broken: bool = False, **meta: object) -> EvalRun:
    records = [record("sv-1", "sv", right=True, notes="a", answer="own answer key"),
               record("sv-2", "sv", right=not broken, notes="<b>b</b>"),
               record("fi-1", "fi", right=True),
               record("fi-2", "fi", right=False)]
    return EvalRun("hybrid", records, summarize(records, by_keys=["notes"]),
                   {"label": "hybrid", "format": 2, "n_items": 4, "n_items_in_set": 4,
                    "by_keys": ["notes"], "warnings": ["a note <from> the runner"],
                    "settings": {"retrieval_mode": "hybrid"}, **meta})


# --- CSV --------------------------------------------------------------------------------

def test_the_csv_has_one_row_per_item_the_checks_as_columns_and_the_own_keys():
    run = hand_run()
    header, body = rows(run.records)
    assert header[:len(BASE_COLUMNS)] == list(BASE_COLUMNS)
    assert [f"check:{c}" for c in CHECKS] == [h for h in header if h.startswith("check:")]
    assert header[len(BASE_COLUMNS):] == ["notes", "own:answer"]  # "answer" is a column
    assert len(body) == 4
    table = list(csv.DictReader(io.StringIO(records_csv(run.records))))
    first, second = table[0], table[3]
    assert first["id"] == "sv-1" and first["outcome"] == "pass"
    assert first["check:hit@1"] == "true" and first["check:quote"] == ""  # n/a: empty
    assert first["notes"] == "a" and first["own:answer"] == "own answer key"
    assert first["answer"] == "Obegränsat bredband [1]"
    assert first["tags"] == '["net"]' and first["must_include"] == '[["bredband"]]'
    assert first["retrieved_doc_ids"] == "vision-small contact"
    assert first["n_citations"] == "1" and first["latency_ms"] == "50.0"
    assert second["outcome"] == "fail" and "cites_expected" in second["failed_checks"]
    assert second["check:cites_expected"] == "false"
    assert second["answer"] == "'=SUM(A1) något annat [1]"  # no formula in a spreadsheet
    assert second["notes"] == ""


def test_the_csv_file_opens_in_spreadsheets_and_is_written_with_every_run(tmp_path):
    path = write_csv(tmp_path / "items.csv", hand_run().records)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfid,lang,") and b"\r\n" in raw
    assert "Obegränsat" in raw.decode("utf-8-sig")
    paths = write_outputs(tmp_path / "run", hand_run())
    assert paths["items_csv"].is_file()
    with paths["items_csv"].open(encoding="utf-8-sig", newline="") as handle:
        assert [r["id"] for r in csv.DictReader(handle)] == ["sv-1", "sv-2", "fi-1", "fi-2"]


# --- earlier runs -----------------------------------------------------------------------

def test_earlier_runs_are_listed_newest_first_by_time_set_and_item_count(tmp_path):
    root = tmp_path / "eval"
    older = write_outputs(root / "20261101-090000", hand_run(
        started_at="2026-11-01T09:00:00+02:00",
        questions="/x/evals/sets/programme-heldout.jsonl, /x/evals/sets/fresh-heldout.jsonl"
    ))["items"].parent
    write_outputs(root / "mine", hand_run(started_at="2026-11-02T10:30:00+02:00",
                                          questions="tiny.jsonl", stopped_early=True,
                                          n_items=4, n_items_in_set=9))
    bare = root / "20261103-080000"  # an items.jsonl alone (copied by hand)
    bare.mkdir()
    (bare / "items.jsonl").write_text((older / "items.jsonl").read_text(encoding="utf-8"),
                                      encoding="utf-8")
    (root / "diff-20261102-110000").mkdir()  # a comparison, not a run
    (root / "diff-20261102-110000" / "comparison.json").write_text("{}", encoding="utf-8")
    (root / "notes.txt").write_text("x", encoding="utf-8")
    runs = list_runs(root)
    assert [r.name for r in runs] == ["20261103-080000", "mine", "20261101-090000"]
    assert runs[1].title == "2026-11-02 10:30:00 · tiny.jsonl · n = 4/9 · mine"
    assert runs[2].title == ("2026-11-01 09:00:00 · programme-heldout.jsonl + "
                             "fresh-heldout.jsonl · n = 4")
    assert runs[0].questions == "" and runs[0].n_items == 4 and "· ? · n = 4" in runs[0].title
    assert list_runs(tmp_path / "nothing") == []


@pytest.mark.parametrize("name", ["../eval", "..", ".hidden", "a/b", "/etc", "", None, 3,
                                  "diff-20261102-110000"])
def test_a_run_is_only_ever_found_by_its_plain_folder_name(tmp_path, name):
    root = tmp_path / "eval"
    (root / "diff-20261102-110000").mkdir(parents=True)
    assert find_run(root, name) is None


def test_new_run_folders_never_collide(tmp_path):
    now = datetime(2026, 11, 29, 10, 15, 0)
    first, second = new_run_dir(tmp_path, now), new_run_dir(tmp_path, now)
    diff = new_run_dir(tmp_path, now, prefix="diff-")
    assert (first.name, second.name, diff.name) == ("20261129-101500", "20261129-101500-2",
                                                     "diff-20261129-101500")
    assert folder(tmp_path, "diff-20261129-101500") == diff


# --- one run at a time ------------------------------------------------------------------

def test_one_run_at_a_time_per_server():
    slot = RunSlot()
    job = slot.claim(10)
    assert job is not None and slot.current() is job
    assert slot.claim(5) is None  # a second request while the first runs
    job.advance(3, 10)
    assert busy_text(job, "sv").startswith(
        "En körning pågår redan på servern (3 av 10 frågor, startad ")
    assert "Vain yksi ajo kerrallaan" in busy_text(job, "fi")
    assert slot.stop() is job and job.stop_requested.is_set()
    job.finish()
    assert slot.current() is None and slot.stop() is None
    again = slot.claim(5)
    assert again is not None and again is not job and not again.stop_requested.is_set()


class GatedAssistant:
    """Answers only once the test opens the gate (so a run stays in progress), and counts."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.gate = threading.Event()
        self.asked = 0

    def ask(self, question: str, history: object = ()) -> Answer:
        assert self.gate.wait(120), "the test never opened the gate"
        self.asked += 1
        return Answer(answer="Det framgår inte av källorna.", language="sv", refused=True,
                      notes=("low_confidence",))


def test_a_run_uses_the_given_assistant_and_can_be_stopped(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assistant = GatedAssistant(settings)
    slot = RunSlot()
    items = parse_items("\n".join(line(id=f"sv-{n}") for n in range(5)), "five.jsonl")
    job = start_run(slot, settings, assistant, items, "five.jsonl", tmp_path / "eval")
    assert job is not None and job.total == 5
    assert start_run(slot, settings, assistant, items, "five.jsonl", tmp_path / "eval") is None
    slot.stop()
    assistant.gate.set()
    assert job.finished.wait(60)
    assert job.stopped and job.out_dir is None and not job.failed  # stopped before any item
    assert assistant.asked == 1  # the untimed warm-up question only
    job = start_run(slot, settings, assistant, items, "five.jsonl", tmp_path / "eval",
                    meta={"set_source": "uploaded"})
    assert job is not None and job.finished.wait(120)
    assert not job.stopped and job.done == 5 and assistant.asked == 1 + 1 + 5
    assert job.out_dir.name.startswith(job.started_at.strftime("%Y%m%d-%H%M%S"))
    summary = json.loads((job.out_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["meta"]["questions"] == "five.jsonl"
    assert summary["meta"]["set_source"] == "uploaded"
    assert sorted(p.name for p in job.out_dir.iterdir()) == [
        "items.csv", "items.jsonl", "report.html", "summary.json", "summary.md"]


def test_the_quick_evaluation_tab_shares_the_slot_and_its_assistant_and_can_be_stopped():
    from ui.admin import _run_evaluation

    settings = Settings()
    assistant = GatedAssistant(settings)
    assistant.gate.set()
    job = RunSlot().claim(4)
    job.stop_requested.set()  # the evaluator's page pressed stop
    status, _body = _run_evaluation(settings, 4, "sv", assistant, job)
    assert status.startswith("0 frågor besvarade") and assistant.asked == 1  # the warm-up


def test_a_run_whose_set_does_not_fit_the_corpus_says_why(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assistant = GatedAssistant(settings)
    assistant.gate.set()
    items = parse_items(line(expected_doc_ids=["gimp-layers"]), "x.jsonl")
    job = start_run(RunSlot(), settings, assistant, items, "x.jsonl", tmp_path / "eval")
    assert job is not None and job.finished.wait(60)
    assert "gimp-layers" in job.problem and job.out_dir is None and assistant.asked == 0


# --- what the page shows ----------------------------------------------------------------

def test_the_figures_show_every_headline_figure_with_interval_and_n_per_language():
    run = hand_run(stopped_early=True, n_items_in_set=9)
    document = {"meta": run.meta, **run.summary, "thresholds": {"fully_right": 0.9}}
    shown = figures_html(document, run.records, "sv", "2026-11-29 10:15:00 · x · n = 4")
    assert "Helt rätt: 0.750, 95 % konfidensintervall [0.301, 0.954] (wilson), n = 4 frågor." \
        in shown
    assert "Körningen avbröts: siffrorna gäller de 4 av 9 frågor" in shown
    assert "Krav som inte uppfylls: Helt rätt." in shown
    assert '<th scope="row">Träff bland tre första källorna (recall@3)</th>' in shown
    assert "<caption>Per språk (värde och 95 % intervall)</caption>" in shown
    assert "svenska (n = 2)" in shown and "finska (n = 2)" in shown
    assert "1 (1 källhänvisningar)" not in shown and "(4 källhänvisningar)" in shown
    assert "Helt rätt per värde av den egna nyckeln notes" in shown
    assert "&lt;b&gt;b&lt;/b&gt;" in shown and "<b>b</b>" not in shown  # own values escaped
    assert '<li lang="en">a note &lt;from&gt; the runner</li>' in shown
    assert "Frågor som inte är helt rätt (1)" in shown and "fi-2" in shown
    finnish = figures_html(document, run.records, "fi")
    assert "Täysin oikein: 0.750, 95 %:n luottamusväli [0.301, 0.954]" in finnish
    assert "ruotsi (n = 2)" in finnish


def test_the_comparison_shows_newly_failing_items_and_deltas_with_intervals():
    before, after = hand_run(), hand_run(broken=True)
    before.meta.update(path="/var/eval/20261101-090000", questions="tiny.jsonl",
                       started_at="2026-11-01T09:00:00+02:00")
    shown = comparison_html(diff_runs(before, after), "sv")
    assert "A (före): 2026-11-01 09:00:00 · tiny.jsonl · n = 4 · 20261101-090000" in shown
    assert "Nya fel: 1 · nya rätt: 0" in shown
    assert "Nya fel: helt rätt i A, inte i B (1)" in shown and "<td>sv-2</td>" not in shown
    assert '<th scope="row">sv-2</th>' in shown
    assert ("klarar inte längre: hit@1, hit@3, hit@5, cites_expected, must_include; ändrat: "
            "svaret, källhänvisningarna, de hämtade dokumenten") in shown
    assert "Nya rätt: helt rätt i B, inte i A (0): inga" in shown
    assert "<caption>Siffrorna, B − A, med parat 95 % intervall</caption>" in shown
    assert "−0.250" in shown or "-0.250" in shown
    assert "ingen säker skillnad" in shown
    assert "uusia" not in shown
    finnish = comparison_html(diff_runs(before, after), "fi")
    assert "Uudet virheet: 1 · uudet oikeat: 0" in finnish
    assert "ei enää läpäise: hit@1" in finnish and "muuttui: vastaus" in finnish


def test_the_report_is_shown_in_a_sandboxed_frame_with_a_title(tmp_path):
    report = write(tmp_path, "report.html", '<!DOCTYPE html><p title="x">a & b ${x}</p>')
    shown = report_frame_html(report, "2026-11-29 · x", "sv")
    assert shown.startswith('<iframe class="visio-report-frame" title="Hela rapporten för '
                            'körningen 2026-11-29 · x (på engelska)" sandbox="allow-scripts" ')
    assert "allow-same-origin" not in shown
    assert ('srcdoc="&lt;!DOCTYPE html&gt;&lt;p title=&quot;x&quot;&gt;a &amp; b '
            '&#36;&#123;x&#125;&lt;/p&gt;"') in shown
    assert "${" not in shown  # no template syntax for the page's HTML component
    assert "Rapporten för körningen kunde inte läsas" in report_frame_html(
        tmp_path / "missing.html", "x", "sv")


# --- through the staff app's server -----------------------------------------------------

@pytest.mark.slow
def test_a_second_run_request_is_told_a_run_is_in_progress(tmp_path):
    """Two staff sessions: the first starts a run (it waits for the stand-in assistant),
    the second is told a run is in progress, stops it; after that a run goes through and
    writes its files. The page's events are private and need the login."""
    import httpx
    from ui_server import STAFF, running_admin

    settings = Settings()
    assistant = GatedAssistant(settings)
    with running_admin(assistant, settings, data_dir=tmp_path,
                       feedback_db=tmp_path / "f.sqlite3") as url:
        assert httpx.get(f"{url}config", timeout=30).status_code == 401
        login = httpx.post(f"{url}login", data={"username": STAFF[0], "password": STAFF[1]},
                           timeout=30)
        assert login.status_code == 200
        cookies = login.cookies
        config = httpx.get(f"{url}config", cookies=cookies, timeout=30).json()
        named = {d.get("api_name") for d in config["dependencies"]
                 if d.get("api_visibility", "public") == "public"}
        assert named == {"evaluate", "feedback_summary"}, named  # the page is for people

        started, finished = threading.Event(), {}

        def first_session() -> None:  # a page that starts a run and watches it
            with httpx.Client(cookies=cookies, timeout=120) as page:
                assert _join(page, url, config, "visio-runs-run",
                             ["heldout", None, [], "sv"], "a").status_code == 200
                with page.stream("GET", f"{url}gradio_api/queue/data",
                                 params={"session_hash": "a"}) as events:
                    for text in events.iter_lines():
                        message = json.loads(text[5:]) if text.startswith("data:") else {}
                        if message.get("msg") == "process_generating":
                            started.set()
                        elif message.get("msg") == "process_completed":
                            finished["message"] = message
                            return

        watcher = threading.Thread(target=first_session, daemon=True)
        watcher.start()
        assert started.wait(120), "the first run never started"
        with httpx.Client(cookies=cookies, timeout=120) as staff:
            outputs = _press(staff, url, config, "visio-runs-run",
                             ["heldout", None, [], "sv"], "b")
            assert "En körning pågår redan på servern (0 av 158 frågor" in outputs[2]
            outputs = _press(staff, url, config, "visio-runs-stop", ["fi"], "b", queued=False)
            assert "Ajo keskeytetään" in outputs[0]
            assistant.gate.set()
            watcher.join(120)
            assert "Körningen avbröts innan någon fråga hann besvaras" in str(finished["message"])
            outputs = _press(staff, url, config, "visio-runs-run",
                             ["heldout", None, [], "sv"], "b")
            assert "Klart: 158 frågor besvarade" in outputs[2]
            assert "Helt rätt: 0." in outputs[3]  # the figures
        runs = list_runs(tmp_path / "eval")
        assert len(runs) == 1 and runs[0].n_items == 158
        assert runs[0].questions == "programme-heldout.jsonl + fresh-heldout.jsonl"
        assert (runs[0].path / "items.csv").is_file()
        assert assistant.asked == 1 + 1 + 158  # the server's assistant answered everything


def _dependency(config: dict, elem_id: str) -> tuple[int, int]:
    component = next(c["id"] for c in config["components"]
                     if c.get("props", {}).get("elem_id") == elem_id)
    dependency = next(d for d in config["dependencies"] if [component, "click"] in d["targets"])
    return component, dependency["id"]


def _join(client, url: str, config: dict, elem_id: str, data: list, session: str):
    component, fn_index = _dependency(config, elem_id)
    return client.post(f"{url}gradio_api/queue/join", json={
        "data": data, "fn_index": fn_index, "trigger_id": component, "session_hash": session,
        "event_data": None})


def _wait_for(client, url: str, session: str, kind: str) -> dict:
    with client.stream("GET", f"{url}gradio_api/queue/data",
                       params={"session_hash": session}) as events:
        for text in events.iter_lines():
            if text.startswith("data:"):
                message = json.loads(text[5:])
                if message.get("msg") == kind:
                    return message
    raise AssertionError(f"no {kind} message for session {session}")


def _press(client, url: str, config: dict, elem_id: str, data: list, session: str,
           queued: bool = True) -> list:
    if not queued:  # an event outside the queue answers the request itself
        component, fn_index = _dependency(config, elem_id)
        answer = client.post(f"{url}gradio_api/run/predict", json={
            "data": data, "fn_index": fn_index, "trigger_id": component,
            "session_hash": session, "event_data": None})
        answer.raise_for_status()
        return list(answer.json()["data"])
    assert _join(client, url, config, elem_id, data, session).status_code == 200
    message = _wait_for(client, url, session, "process_completed")
    assert message.get("success", True), message
    return list(message["output"]["data"])


@pytest.mark.slow
def test_nothing_of_the_page_exists_in_the_public_app(assistant, indexed_settings):
    from ui.admin import ADMIN_PAGES
    from ui.app import build_app

    config = build_app(assistant, indexed_settings).get_config_file()
    ids = [str(c.get("props", {}).get("elem_id") or "") for c in config["components"]]
    assert not [i for i in ids if i.startswith("visio-runs")]
    assert not [d for d in config["dependencies"] if "run" in str(d.get("api_name") or "")]
    assert "runs" in [page.key for page in ADMIN_PAGES]  # it lives in the staff area
