"""From answers to records to report files, on hand-made answers (no model, no index).

The answers here are written by hand as `Answer` objects to exercise the runner's
citation checks and the report writers; the end-to-end run through the real
assistant lives in tests/test_evals_run.py.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from assistant.types import Answer, Citation
from evals.items import parse_item
from evals.metrics import summarize
from evals.runner import (
    EvalRun,
    build_record,
    calibration_report,
    check_citation,
    error_record,
    main,
    spread,
    system_failure,
    write_outputs,
)

SMALL = ('"I små kommuner är vi nära människorna. Obegränsat och snabbt bredband gör det '
         'möjligt att arbeta och utföra ärenden oberoende av var man befinner sig."')
CORPUS = {("vision-small", "sv"): SMALL, ("contact", "sv"): "Aino Lappalainen\n+358 9 771 2157"}
SENTENCE = "Obegränsat och snabbt bredband gör det möjligt att arbeta och utföra ärenden"


def cite(n: int = 1, doc_id: str = "vision-small", text: str = SENTENCE,
         start: int | None = None, lang: str = "sv") -> Citation:
    source = CORPUS.get((doc_id, lang), "")
    start = source.find(text) if start is None else start
    return Citation(n=n, doc_id=doc_id, lang=lang, title="Vision för små kommuner", section="",
                    text=text, char_start=start, char_end=start + len(text), score=0.9)


ITEM = parse_item({"id": "sv-small-02", "lang": "sv", "category": "direct",
                   "question": "Står det något om bredband?",
                   "expected_doc_ids": ["vision-small"], "expect_refusal": False,
                   "must_include": [["bredband"], ["arbeta", "ärenden"]]})
REFUSAL_ITEM = parse_item({"id": "sv-oos-01", "lang": "sv", "category": "out_of_scope",
                           "question": "Hur hög är skatten?", "expected_doc_ids": [],
                           "expect_refusal": True, "must_include": []})


def answer(text: str, citations: tuple[Citation, ...] = (), *, refused: bool = False,
           retrieved: tuple[str, ...] = ("vision-small", "about"), language: str = "sv",
           confidence: float = 0.9) -> Answer:
    return Answer(answer=text, language=language, refused=refused, citations=citations,
                  retrieved=retrieved, confidence=confidence, timings={"total": 0.05})


def test_a_correct_citation_is_valid():
    check = check_citation(cite(), CORPUS, ["vision-small"])
    assert check.valid and check.problems == []


@pytest.mark.parametrize(("citation", "retrieved", "problem"), [
    (cite(start=0), ["vision-small"], "not the corpus text"),      # wrong span
    (cite(text="Snabbt bredband för alla", start=0), ["vision-small"], "nowhere in the document"),
    (cite(doc_id="vision-tiny"), ["vision-tiny"], "no document"),
    (cite(lang="fi"), ["vision-small"], "no document"),
    (cite(), ["about", "contact"], "not among the retrieved"),
    (cite(text="", start=3), ["vision-small"], "empty"),
])
def test_invalid_citations_say_why(citation, retrieved, problem):
    check = check_citation(citation, CORPUS, retrieved)
    assert not check.valid
    assert any(problem in p for p in check.problems), check.problems


def test_build_record_fills_every_field_and_the_verdicts():
    text = f"Så här står det i ”Vision för små kommuner”:\n{SENTENCE} [1]"
    record = build_record(ITEM, answer(text, (cite(),)), 0.05, CORPUS, detect=lambda t: "sv")
    assert record.cited_doc_ids == ["vision-small"]
    assert record.retrieved_doc_ids == ["vision-small", "about"]
    assert record.answer_text_language == "sv" and record.confidence == 0.9
    assert record.checks["hit@1"] and record.checks["citations_valid"]
    assert record.checks["must_include"] and record.checks["passed"]


def test_a_marker_without_its_citation_is_an_invalid_citation():
    record = build_record(ITEM, answer(f"{SENTENCE} [1] [2]", (cite(),)), 0.05, CORPUS)
    assert [c.valid for c in record.citations] == [True, False]
    assert "marker [2]" in record.citations[1].problems[0]
    assert record.checks["citations_valid"] is False and not record.checks["passed"]


def test_error_records_count_as_failures():
    record = error_record(ITEM, RuntimeError("index missing"), 0.01)
    assert record.error == "RuntimeError: index missing"
    assert record.checks["passed"] is False
    assert summarize([record])["overall"]["n_errors"] == 1


def test_system_failures_are_not_mistaken_for_refusals():
    broken = Answer(answer="Sökindexet är inte tillgängligt just nu.", language="sv",
                    refused=True, notes=("index_missing", "no live generation"))
    assert system_failure(broken) == "index_missing; no live generation"
    chosen = answer("Jag hittar inget svar.", refused=True)
    assert system_failure(chosen) == ""
    assert system_failure(Answer(answer="x", language="sv", refused=True,
                                 notes=("question_too_long",))) == ""


def sample_run() -> EvalRun:
    good = build_record(ITEM, answer(f"{SENTENCE} [1]", (cite(),)), 0.04, CORPUS)
    wrong = build_record(parse_item({**ITEM.to_dict(), "id": "fi-small-02", "lang": "fi"}),
                         answer("Ei tietoa <script>alert(1)</script>", refused=True,
                                language="fi", confidence=0.3, retrieved=("about",)),
                         0.06, CORPUS)
    refusal = build_record(REFUSAL_ITEM, answer("Jag hittar inget svar.", refused=True,
                                                retrieved=("contact",), confidence=0.2),
                           0.02, CORPUS)
    records = [good, wrong, refusal]
    return EvalRun(label="hybrid", records=records, summary=summarize(records),
                   meta={"label": "hybrid", "questions": "hand-made", "n_items": 3,
                         "settings": {"retrieval_mode": "hybrid"}})


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.sources += [v for k, v in attrs if k in ("src", "href") and v]


def test_write_outputs_produces_the_four_files(tmp_path):
    run = sample_run()
    compare = {"lexical": run, "hybrid": run}
    calibration = calibration_report(run.records)
    paths = write_outputs(tmp_path / "out", run, compare,
                          thresholds={"recall@3": 0.95, "must_include": 0.9},
                          calibration=calibration)
    lines = paths["items"].read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["sv-small-02", "fi-small-02",
                                                          "sv-oos-01"]
    first = json.loads(lines[0])
    for key in ("question", "answer", "detected_language", "refused", "cited_doc_ids",
                "retrieved_doc_ids", "checks", "latency"):
        assert key in first
    assert (tmp_path / "out" / "items-lexical.jsonl").is_file()

    summary = json.loads(paths["summary_json"].read_text(encoding="utf-8"))
    assert summary["overall"]["n_items"] == 3
    assert summary["overall"]["recall@3"] == pytest.approx(0.5)
    assert summary["threshold_failures"] and "recall@3" in summary["threshold_failures"][0]
    assert set(summary["compare"]) == {"lexical", "hybrid"}
    assert summary["calibration"]["threshold"] == pytest.approx(0.25)  # between 0.2 and 0.3

    markdown = paths["summary_md"].read_text(encoding="utf-8")
    assert "| Retrieval recall@3 | 0.500 | ≥ 0.95 | FAIL |" in markdown
    assert "## Baselines" in markdown and "fi-small-02" in markdown

    page = paths["report_html"].read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(page)
    assert "script" not in parser.tags                      # the answer text is escaped
    assert "&lt;script&gt;" in page
    assert parser.sources and all(s.startswith("data:image/png;base64,")
                                  for s in parser.sources)  # self-contained
    assert len(re.findall(r"<img ", page)) >= 4


def test_spread_takes_items_from_the_whole_set():
    assert spread(list(range(10)), 3) == [0, 3, 6]
    assert spread(list(range(4)), 10) == [0, 1, 2, 3]


def test_main_rejects_a_broken_test_set_before_loading_any_model(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    assert main(["--questions", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert f"{bad}:1: missing key" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
