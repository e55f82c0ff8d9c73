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
    RunLoadError,
    build_record,
    calibration_report,
    check_citation,
    diff_runs,
    error_record,
    load_run,
    main,
    recorded_settings,
    spread,
    system_failure,
    write_outputs,
)

SMALL = ('"I små kommuner är vi nära människorna. Obegränsat och snabbt bredband gör det '
         'möjligt att arbeta och utföra ärenden oberoende av var man befinner sig."')
CORPUS = {("vision-small", "sv"): SMALL, ("contact", "sv"): "Aino Lappalainen\n+358 9 771 2157"}
SENTENCE = "Obegränsat och snabbt bredband gör det möjligt att arbeta och utföra ärenden"


def cite(n: int = 1, doc_id: str = "vision-small", text: str = SENTENCE,
         start: int | None = None, lang: str = "sv", quotes: tuple[str, ...] = ()) -> Citation:
    source = CORPUS.get((doc_id, lang), "")
    start = source.find(text) if start is None else start
    highlights = tuple((source.find(q), source.find(q) + len(q)) for q in quotes)
    return Citation(n=n, doc_id=doc_id, lang=lang, title="Vision för små kommuner", section="",
                    text=text, char_start=start, char_end=start + len(text), score=0.9,
                    highlights=highlights)


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


def test_records_keep_where_each_citation_stands_and_the_sentences_it_quotes():
    passage = SMALL.strip('"')
    first = "I små kommuner är vi nära människorna."
    citation = cite(text=passage, quotes=(first, SENTENCE))
    record = build_record(ITEM, answer(f"{first} … {SENTENCE} [1]", (citation,)), 0.05, CORPUS)
    [check] = record.citations
    assert check.valid and (check.char_start, check.char_end) == (1, 1 + len(passage))
    assert check.text == passage and check.title == "Vision för små kommuner"
    assert check.quoted == [first, SENTENCE]
    assert [SMALL[a:b] for a, b in check.highlights] == [first, SENTENCE]
    # The quote check sees the sentences quoted even when the answer text words it anew.
    quoted = parse_item({**ITEM.to_dict(), "expected_quote": SENTENCE})
    paraphrase = build_record(quoted, answer("Man kan jobba var som helst [1]", (citation,)),
                              0.05, CORPUS)
    assert paraphrase.checks["quote"] is True
    other = build_record(quoted, answer(f"{first} [1]", (cite(text=passage, quotes=(first,)),)),
                         0.05, CORPUS)
    assert other.checks["quote"] is False


def test_recorded_settings_never_hold_secrets():
    from assistant.config import Settings

    settings = Settings.from_env({}, llm_api_key="sk-secret", auth="ann:pw",
                                 llm_base_url="http://user:pass@llm.local:8080/v1")
    recorded = recorded_settings(settings)
    assert "llm_api_key" not in recorded and "auth" not in recorded
    assert recorded["llm_base_url"] == "http://llm.local:8080/v1"
    assert recorded["top_k"] == str(settings.top_k)
    assert "secret" not in json.dumps(recorded) and "pass@" not in json.dumps(recorded)


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


def sample_run(*, broken: bool = False) -> EvalRun:
    """Three items (the first answered right unless ``broken``), with the set's own keys."""
    own = {"notes": "asked by staff", "source": {"page": 3}}
    item = parse_item({**ITEM.to_dict(), **own})
    good = build_record(item, answer(f"{SENTENCE} [1]", (cite(quotes=(SENTENCE,)),)), 0.04,
                        CORPUS)
    if broken:
        good = build_record(item, answer("Det framgår inte.", refused=True, confidence=0.5),
                            0.04, CORPUS)
    wrong = build_record(parse_item({**ITEM.to_dict(), "id": "fi-small-02", "lang": "fi",
                                     "category": "paraphrase"}),
                         answer("Ei tietoa <script>alert(1)</script>", refused=True,
                                language="fi", confidence=0.3, retrieved=("about",)),
                         0.06, CORPUS)
    refusal = build_record(REFUSAL_ITEM, answer("Jag hittar inget svar.", refused=True,
                                                retrieved=("contact",), confidence=0.2),
                           0.02, CORPUS)
    records = [good, wrong, refusal]
    return EvalRun(label="hybrid", records=records, summary=summarize(records),
                   meta={"label": "hybrid", "questions": "hand-made", "n_items": 3,
                         "format": 2, "settings": {"retrieval_mode": "hybrid", "top_k": "5"},
                         "warnings": ["own keys kept in the results, not used for scoring: "
                                      "notes (1 item), source (1 item)"]})


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources: list[str] = []
        self.links: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.sources += [v for k, v in attrs if k == "src" and v]
        self.links += [v for k, v in attrs if k == "href" and v]


def assert_self_contained(page: str) -> _Collector:
    """One file: no fetched resources, no links out, and the only script is the inline one."""
    parser = _Collector()
    parser.feed(page)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert all(s.startswith("data:image/png;base64,") for s in parser.sources)
    assert all(link.startswith("#") for link in parser.links), parser.links
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert scripts == [{}]                                  # one inline script, no src
    assert not [t for t, _ in parser.tags if t in ("link", "iframe", "object", "embed")]
    assert not re.search(r"url\(|@import|https?://", page.split("<body>")[0])
    return parser


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
                "retrieved_doc_ids", "checks", "latency", "citations"):
        assert key in first
    assert first["extra"] == {"notes": "asked by staff", "source": {"page": 3}}
    assert first["citations"][0]["quoted"] == [SENTENCE]
    assert (tmp_path / "out" / "items-lexical.jsonl").is_file()

    summary = json.loads(paths["summary_json"].read_text(encoding="utf-8"))
    assert summary["overall"]["n_items"] == 3
    assert summary["overall"]["recall@3"] == pytest.approx(0.5)
    ci = summary["overall"]["ci"]["recall@3"]
    assert ci["n"] == 2 and ci["method"] == "wilson" and ci["low"] < 0.5 < ci["high"]
    assert summary["overall"]["fully_right"] == pytest.approx(2 / 3)
    assert set(summary["by_language_category"]) == {"sv", "fi"}
    assert summary["threshold_failures"] and "recall@3" in summary["threshold_failures"][0]
    assert set(summary["compare"]) == {"lexical", "hybrid"}
    assert summary["calibration"]["threshold"] == pytest.approx(0.25)  # between 0.2 and 0.3

    markdown = paths["summary_md"].read_text(encoding="utf-8")
    assert "| Retrieval recall@3 | 0.500 | [0.095, 0.905] | 2 retrieval items | ≥ 0.95 | FAIL |" \
        in markdown
    assert "**Fully right: 0.667, 95% interval [0.208, 0.939] (wilson), n = 3 items**" in markdown
    for figure in ("| Fully right |", "| Answers citing an expected document |",
                   "| expected_quote rate |", "| Quote precision |",
                   "| Partial answers saying what is missing |"):
        assert figure in markdown
    assert "## By language × category" in markdown and "own keys kept" in markdown
    assert "## Baselines" in markdown and "fi-small-02" in markdown
    assert "| own keys |" not in markdown  # no failing item has any

    page = paths["report_html"].read_text(encoding="utf-8")
    parser = assert_self_contained(page)
    assert "&lt;script&gt;alert(1)" in page                 # the answer text is escaped
    assert len(parser.sources) >= 4                         # the charts
    assert "Fully right: 0.667, 95% interval [0.208, 0.939]" in page
    assert "By language × category" in page and "own keys kept" in page


def test_every_item_is_in_the_report_with_what_a_reader_needs_to_judge_it(tmp_path):
    run = sample_run()
    page = write_outputs(tmp_path, run)["report_html"].read_text(encoding="utf-8")
    items = re.findall(r'<details class="item" id="item-([^"]+)" ([^>]*)>(.*?)</details>',
                       page, re.S)
    # Every item, those not fully right first, otherwise in the set's order.
    assert [i[0] for i in items] == ["fi-small-02", "sv-small-02", "sv-oos-01"]
    attrs = {i[0]: i[1] for i in items}
    assert 'data-lang="fi"' in attrs["fi-small-02"] and 'data-outcome="fail"' in \
        attrs["fi-small-02"]
    assert 'data-category="paraphrase"' in attrs["fi-small-02"]
    assert 'data-checks="hit@1 hit@3 hit@5 refusal must_include"' in attrs["fi-small-02"]
    assert 'data-outcome="pass"' in attrs["sv-small-02"]
    good = dict((i[0], i[2]) for i in items)["sv-small-02"]
    # The citation with its span, the quoted sentence marked, the expected documents and the
    # set's own keys.
    assert f"characters {SMALL.find(SENTENCE)}–{SMALL.find(SENTENCE) + len(SENTENCE)}" in good
    assert f"<mark>{SENTENCE}</mark>" in good
    assert "vision-small</b> (expected)" in good
    assert "asked by staff" in good and "&quot;page&quot;: 3" in good
    wrong = dict((i[0], i[2]) for i in items)["fi-small-02"]
    assert "missing: (bredband)" not in wrong and "refused" in wrong   # why must_include failed
    assert "answered in fi" in wrong
    assert 'class="no">✗</span>' in wrong


def test_load_run_reads_back_what_write_outputs_wrote(tmp_path):
    run = sample_run()
    write_outputs(tmp_path / "run", run, {"lexical": sample_run(broken=True)})
    loaded = load_run(tmp_path / "run")
    assert [r.id for r in loaded.records] == [r.id for r in run.records]
    assert loaded.records[0].extra == run.records[0].extra
    assert loaded.records[0].citations[0].quoted == [SENTENCE]
    assert loaded.summary["overall"]["fully_right"] == run.summary["overall"]["fully_right"]
    assert loaded.summary["overall"]["ci"] == run.summary["overall"]["ci"]
    assert loaded.meta["path"] == str(tmp_path / "run")
    # A baseline's items of the same run can be loaded (and compared) too.
    lexical = load_run(tmp_path / "run" / "items-lexical.jsonl")
    assert lexical.summary["overall"]["fully_right"] == pytest.approx(1 / 3)
    with pytest.raises(RunLoadError, match=r"no items\.jsonl"):
        load_run(tmp_path / "nowhere")
    (tmp_path / "bad.jsonl").write_text("{nope\n", encoding="utf-8")
    with pytest.raises(RunLoadError, match=r"bad\.jsonl:1"):
        load_run(tmp_path / "bad.jsonl")


def test_load_run_reads_records_of_the_older_format(tmp_path):
    """Runs written before citations kept their spans: still loaded, verdicts recomputed."""
    record = sample_run().records[0].to_dict()
    record["citations"] = [{"n": 1, "doc_id": "vision-small", "lang": "sv", "valid": True,
                            "problems": []}]
    record.pop("tags")
    record["checks"] = {"passed": False}                   # stale verdicts are not trusted
    (tmp_path / "items.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    [loaded] = load_run(tmp_path).records
    assert loaded.citations[0].char_end == 0 and loaded.checks["passed"] is True


def test_a_comparison_goes_into_the_run_report_and_its_own_files(tmp_path):
    before, after = sample_run(), sample_run(broken=True)
    comparison = diff_runs(before, after)
    paths = write_outputs(tmp_path, after, comparison=comparison)
    saved = json.loads(paths["comparison_json"].read_text(encoding="utf-8"))
    assert saved["counts"]["newly_failing"] == 1
    assert [c["id"] for c in saved["items"]] == ["sv-small-02"]
    markdown = paths["summary_md"].read_text(encoding="utf-8")
    assert "## Comparison with an earlier run" in markdown
    assert "### Newly failing (fully right in A, not in B) (1)" in markdown
    assert "| Fully right | 0.667 | 0.333 | -0.333 |" in markdown
    assert "| own keys |" in markdown and 'notes: asked by staff; source: {"page": 3}' in markdown
    page = paths["report_html"].read_text(encoding="utf-8")
    assert_self_contained(page)
    assert 'id="comparison"' in page and 'href="#item-sv-small-02"' in page
    assert 'data-change="newly_failing"' in page and "A (before)" in page


def test_visio_eval_diff_compares_two_finished_runs(tmp_path, capsys):
    write_outputs(tmp_path / "a", sample_run())
    write_outputs(tmp_path / "b", sample_run(broken=True))
    write_outputs(tmp_path / "c", sample_run())
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "c"), "--out",
                 str(tmp_path / "same")]) == 0
    assert "No change" in capsys.readouterr().out
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "b"), "--out",
                 str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "Newly failing (fully right in A, not in B) (1): sv-small-02" in out
    assert "| Fully right | 0.667 | 0.333 | -0.333 |" in out
    for name in ("comparison.json", "comparison.md", "comparison.html"):
        assert (tmp_path / "d" / name).is_file()
    page = (tmp_path / "d" / "comparison.html").read_text(encoding="utf-8")
    assert_self_contained(page)
    assert 'data-change="newly_failing"' in page
    # Three items are too few for the drop to be sure: no regression to fail on.
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "b"), "--out",
                 str(tmp_path / "e"), "--fail-on-regression"]) == 0
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "nowhere")]) == 2
    assert "no items.jsonl" in capsys.readouterr().err


def test_fail_on_regression_fails_on_a_significant_drop(tmp_path, capsys):
    many = [sample_run() for _ in range(12)]
    broken = [sample_run(broken=True) for _ in range(12)]
    for runs, where in ((many, "a"), (broken, "b")):
        records = []
        for i, run in enumerate(runs):
            for r in run.records:
                r.id = f"{r.id}-{i}"
                records.append(r)
        write_outputs(tmp_path / where, EvalRun("hybrid", records, summarize(records),
                                                runs[0].meta))
    code = main(["diff", str(tmp_path / "a"), str(tmp_path / "b"), "--out",
                 str(tmp_path / "d"), "--fail-on-regression"])
    captured = capsys.readouterr()
    assert code == 1 and "FAILED significantly worse: fully_right" in captured.err


def test_visio_cli_forwards_eval_diff(tmp_path):
    from click.testing import CliRunner

    from visio.cli import main as visio

    write_outputs(tmp_path / "a", sample_run())
    write_outputs(tmp_path / "b", sample_run(broken=True))
    result = CliRunner().invoke(visio, ["eval", "diff", str(tmp_path / "a"),
                                        str(tmp_path / "b"), "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert "Newly failing" in result.output and (tmp_path / "d" / "comparison.html").is_file()
    helped = CliRunner().invoke(visio, ["eval", "--help"])
    assert "--against RUN_DIR" in helped.output and "visio eval diff" in helped.output


def test_spread_takes_items_from_the_whole_set():
    assert spread(list(range(10)), 3) == [0, 3, 6]
    assert spread(list(range(4)), 10) == [0, 1, 2, 3]


def test_main_rejects_a_broken_test_set_before_loading_any_model(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    assert main(["--questions", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert f"{bad}:1: missing key" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
