"""Comparing two runs (evals/diff.py) on hand-made records: per-item statuses, paired
differences with their intervals, and what a reader is warned about. No model needed."""

from __future__ import annotations

import json

import pytest

from evals.diff import diff_records, item_change
from evals.metrics import METRICS, CitationCheck, ItemRecord, item_checks


def record(id: str, *, lang: str = "sv", right: bool = True, rank: int = 1,
           answer: str | None = None, refusal: bool = False, category: str = "direct",
           error: str = "", span: tuple[int, int] = (10, 60), latency: float = 0.05
           ) -> ItemRecord:
    """An item expecting document "a"; ``right`` = the answer has the must_include word and
    cites "a"; ``rank`` = where "a" is retrieved."""
    if refusal:
        r = ItemRecord(id=id, lang=lang, question=f"question {id}?", expected_doc_ids=[],
                       expect_refusal=True, must_include=[], category="out_of_scope",
                       answer="Det framgår inte." if right else "Svaret är 42.",
                       detected_language=lang, refused=right, latency=latency)
    else:
        retrieved = [*["x", "y", "z", "w"][: rank - 1], "a"]
        cited = "a" if right else "x"
        r = ItemRecord(
            id=id, lang=lang, question=f"question {id}?", expected_doc_ids=["a"],
            expect_refusal=False, must_include=[["bredband"]], category=category,
            answer=answer if answer is not None else ("Snabbt bredband [1]" if right
                                                      else "Något annat [1]"),
            detected_language=lang, retrieved_doc_ids=retrieved, cited_doc_ids=[cited],
            citations=[CitationCheck(n=1, doc_id=cited, lang=lang, valid=True, text="t",
                                     char_start=span[0], char_end=span[1])],
            latency=latency, error=error)
    r.checks = item_checks(r)
    return r


def base_run(n: int = 40) -> list[ItemRecord]:
    out = []
    for i in range(n):
        lang = "sv" if i % 2 else "fi"
        if i % 5 == 4:
            out.append(record(f"r{i:02d}", lang=lang, refusal=True))
        else:
            out.append(record(f"q{i:02d}", lang=lang, right=i % 7 != 3))
    return out


def test_two_identical_runs_compare_as_no_change_with_intervals_at_zero():
    a, b = base_run(), base_run()
    for r in b:  # only the timing differs between two runs of the same code
        r.latency *= 1.7
    d = diff_records(a, b)
    assert d["verdict"].startswith("No change")
    assert d["counts"]["unchanged"] == 40 and not d["items"]
    assert d["regressions"] == [] and d["improvements"] == []
    for name, delta in d["metrics"].items():
        if not METRICS[name].quality or delta["delta"] is None:
            continue
        assert delta["delta"] == 0 and delta["low"] <= 0 <= delta["high"], name
        assert not delta["significant"] and delta["verdict"] == "unchanged", name
    assert d["metrics"]["latency_p50"]["verdict"] == "worse"  # timing, not a regression
    json.dumps(d)


def test_a_broken_run_lists_the_broken_items_and_a_significant_drop():
    a = base_run()
    b = [record(r.id, lang=r.lang, right=False, rank=4) if r.id.startswith("q")
         and int(r.id[1:]) < 24 else r for r in a]
    d = diff_records(a, b)
    broken = {c["id"] for c in d["items"] if c["status"] == "newly_failing"}
    was_right = {r.id for r in a if r.checks["fully_right"]}
    assert broken == {r.id for r in a if r.id.startswith("q") and int(r.id[1:]) < 24} & was_right
    change = next(c for c in d["items"] if c["id"] == "q00")
    assert {"hit@1", "hit@3", "cites_expected", "must_include"} <= set(change["broke"])
    assert {"answer", "citations", "retrieval"} <= set(change["changed"])
    assert change["a"]["fully_right"] and not change["b"]["fully_right"]
    fully = d["metrics"]["fully_right"]
    assert fully["delta"] < 0 and fully["significant"] and fully["high"] < 0
    assert fully["verdict"] == "worse"
    assert {"fully_right", "recall@1", "recall@3", "must_include"} <= set(d["regressions"])
    assert "significantly worse" in d["verdict"].lower()
    assert d["by_language"]["fi"]["recall@3"]["delta"] < 0
    # The reverse comparison reads as the same change, improving.
    back = diff_records(b, a)
    assert back["metrics"]["fully_right"]["delta"] == pytest.approx(-fully["delta"])
    assert {c["id"] for c in back["items"] if c["status"] == "newly_passing"} == broken


def test_item_statuses():
    right = record("q1")
    assert item_change(right, record("q1"))["status"] == "unchanged"
    # Still fully right, but the expected document fell from rank 1 to rank 2.
    lower = item_change(right, record("q1", rank=2))
    assert lower["status"] == "checks_changed" and lower["broke"] == ["hit@1"]
    assert lower["changed"] == ["retrieval"]
    # Same verdicts, other words or another span of the same document.
    worded = item_change(right, record("q1", answer="Bredband, snabbt [1]"))
    assert worded["status"] == "changed" and worded["changed"] == ["answer"]
    moved = item_change(right, record("q1", span=(70, 90)))
    assert moved["status"] == "changed" and moved["changed"] == ["citations"]
    # An item that now errors broke; one that stopped erroring was fixed.
    errored = item_change(right, record("q1", error="RuntimeError: boom"))
    assert errored["status"] == "newly_failing" and "error" in errored["broke"]
    assert "error" in item_change(record("q1", error="RuntimeError: boom"), right)["fixed"]
    # A refusal item answered instead of refused.
    wrong = item_change(record("r1", refusal=True), record("r1", refusal=True, right=False))
    assert wrong["status"] == "newly_failing" and wrong["broke"] == ["refusal"]
    assert "refused" in wrong["changed"]


def test_an_older_run_without_citation_offsets_compares_citations_by_document():
    old = record("q1", span=(0, 0))
    assert item_change(old, record("q1"))["status"] == "unchanged"
    assert item_change(old, record("q1", right=False))["status"] == "newly_failing"


def test_warnings_other_items_other_definitions_and_settings():
    a = base_run(10)
    b = base_run(12)[2:]
    b[0].question = "A different question?"
    d = diff_records(a, b, meta_a={"settings": {"top_k": "5", "data_dir": "/a", "x": "1"},
                                   "corpus_fingerprint": "abc"},
                     meta_b={"settings": {"top_k": "1", "data_dir": "/b"},
                             "corpus_fingerprint": "def"})
    assert d["only_a"] == ["q00", "q01"] and d["only_b"] == ["q10", "q11"]
    assert d["n_paired"] == 8
    assert any("only the 8 items in both runs" in w for w in d["warnings"])
    assert any("different question" in w and "q02" in w for w in d["warnings"])
    assert any("corpus fingerprint differs" in w for w in d["warnings"])
    # Where the data lives is not a difference in how answers are made, and a setting one
    # run did not record is unknown there, not different.
    assert d["settings_changed"] == {"top_k": ["5", "1"]}
