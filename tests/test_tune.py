"""The tuning runner: development sets only, constants set everywhere and restored."""

from __future__ import annotations

import pytest

import assistant.answerability as answerability
import assistant.evidence as evidence
from evals.items import DEVELOPMENT_SET, SHIPPED_SET, EvalItem, on_single_document
from evals.tune import HeldOutError, constants_set, grid_points, main, refuse_held_out


def test_held_out_sets_are_refused_and_development_sets_accepted(capsys) -> None:
    for path in SHIPPED_SET:
        with pytest.raises(HeldOutError):
            refuse_held_out([path])
    refuse_held_out(list(DEVELOPMENT_SET))
    assert main(["--questions", str(SHIPPED_SET[0])]) == 2
    assert "held-out" in capsys.readouterr().err


def test_a_constant_is_set_where_it_is_imported_too_and_restored() -> None:
    before = evidence.MIN_PREFIX_STEM
    with constants_set({"MIN_PREFIX_STEM": before + 3, "HOLDING_MARGIN": 0.5}):
        assert before + 3 == evidence.MIN_PREFIX_STEM  # bound by evidence's own import
        assert answerability.HOLDING_MARGIN == 0.5
    assert before == evidence.MIN_PREFIX_STEM and answerability.HOLDING_MARGIN != 0.5
    with pytest.raises(KeyError), constants_set({"NO_SUCH_CONSTANT": 1}):
        pass


def test_grid_points_are_every_combination() -> None:
    assert grid_points({}) == [{}]
    assert grid_points({"A": [1, 2], "b": [3]}) == [{"A": 1, "b": 3}, {"A": 2, "b": 3}]


def test_a_single_document_collection_expects_that_document_for_answerable_items() -> None:
    common = dict(lang="sv", question="q", expect_refusal=False, must_include=())
    items = [EvalItem(id="a", expected_doc_ids=("x", "y"), **common),
             EvalItem(id="b", expected_doc_ids=(), **{**common, "expect_refusal": True})]
    mapped = on_single_document(items, "manual")
    assert [i.expected_doc_ids for i in mapped] == [("manual",), ()]
