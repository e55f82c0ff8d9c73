"""Intervals and paired differences (evals/stats.py), and that every figure's per-item terms
give exactly the figure the report prints (evals/metrics.py). No model needed."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evals.metrics import (
    METRICS,
    CitationCheck,
    ItemRecord,
    compute_metrics,
    item_checks,
    metric_intervals,
    metric_terms,
)
from evals.stats import (
    BOOTSTRAP_SEED,
    interval,
    paired_delta,
    percentile_terms,
    ratio_terms,
    wilson,
)


def shares(successes: int, n: int):
    return ratio_terms([(1.0, 1.0)] * successes + [(0.0, 1.0)] * (n - successes))


# --- Wilson -----------------------------------------------------------------------------

def test_wilson_by_hand():
    # 8 of 10: centre 0.8 + 1.96²/20, spread 1.96·√(0.016 + 1.96²/400), over 1 + 1.96²/10.
    low, high = wilson(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)
    # None failing out of 40 is not certainty: the upper bound is z²/(n + z²) = 0.0876.
    assert wilson(0, 40) == pytest.approx((0.0, 3.8415 / 43.8415), abs=1e-4)
    low, high = wilson(40, 40)
    assert high == 1.0 and low == pytest.approx(1 - 3.8415 / 43.8415, abs=1e-4)
    assert wilson(0, 0) is None
    for n in range(1, 200):  # the ends are exact, and the interval holds the share
        assert wilson(n, n)[1] == 1.0 and wilson(0, n)[0] == 0.0
        low, high = wilson(n // 3, n)
        assert low <= (n // 3) / n <= high


def test_proportions_get_wilson_and_everything_else_the_bootstrap():
    ci = interval(shares(8, 10))
    assert ci.method == "wilson" and ci.n == 10 and ci.value == pytest.approx(0.8)
    assert (ci.low, ci.high) == pytest.approx(wilson(8, 10))
    # Items that do not count (denominator 0) are not trials.
    ci = interval(ratio_terms([(1, 1), (0, 0), (0, 1), (0, 0)]))
    assert ci.method == "wilson" and ci.n == 2 and ci.value == pytest.approx(0.5)
    # A mean of per-item values (MRR-like) or a ratio with several units per item
    # (citations) is resampled by item.
    mrr = interval(ratio_terms([(1, 1), (0.5, 1), (1 / 3, 1), (0, 1), (1, 1)] * 6))
    assert mrr.method == "bootstrap" and mrr.low < mrr.value < mrr.high
    assert interval(ratio_terms([(0, 0), (0, 0)])).value is None


def test_bootstrap_agrees_with_wilson_on_a_large_proportion():
    rng = random.Random(5)
    pairs = [(float(rng.random() < 0.7), 1.0) for _ in range(400)]
    terms = ratio_terms(pairs)
    forced = ratio_terms([(2 * a, 2 * b) for a, b in pairs])  # same figure, not a share
    w, b = interval(terms), interval(forced)
    assert w.method == "wilson" and b.method == "bootstrap"
    assert b.value == pytest.approx(w.value)
    assert b.low == pytest.approx(w.low, abs=0.015) and b.high == pytest.approx(w.high,
                                                                               abs=0.015)


def test_bootstrap_is_reproducible_and_depends_on_the_seed():
    terms = ratio_terms([(x % 3 / 2, 1.0) for x in range(50)])
    assert interval(terms) == interval(terms)
    assert interval(terms, seed=BOOTSTRAP_SEED) == interval(terms)
    assert interval(terms, seed=1) != interval(terms)


def test_percentile_terms_match_the_reported_percentile():
    values = [0.3, None, 0.1, 0.5, 0.2, None, 0.9]
    terms = percentile_terms(values, 95)
    assert terms.n == 5
    assert terms.value() == pytest.approx(0.82)  # 0.5 + 0.8 · (0.9 − 0.5)
    ci = interval(terms)
    assert ci.method == "bootstrap" and 0.1 <= ci.low <= 0.82 <= ci.high <= 0.9


# --- paired differences -------------------------------------------------------------------

def test_identical_runs_differ_by_exactly_zero():
    a = ratio_terms([(x % 2, 1) for x in range(80)])
    delta = paired_delta(a, a)
    assert delta.delta == 0 and delta.low == 0 and delta.high == 0
    assert not delta.significant


def test_one_changed_item_of_80_is_not_significant():
    a = shares(60, 80)
    b = ratio_terms([(0.0, 1.0)] + [(1.0, 1.0)] * 59 + [(0.0, 1.0)] * 20)
    delta = paired_delta(a, b)
    assert delta.delta == pytest.approx(-1 / 80)
    assert delta.low < 0 <= delta.high and not delta.significant


def test_a_real_drop_is_significant_and_its_interval_holds_the_difference():
    # 20 of 80 items that were right are now wrong, none the other way: −0.25.
    a = shares(60, 80)
    b = ratio_terms([(0.0, 1.0)] * 20 + [(1.0, 1.0)] * 40 + [(0.0, 1.0)] * 20)
    delta = paired_delta(a, b)
    assert delta.delta == pytest.approx(-0.25)
    assert delta.significant and delta.low < -0.25 < delta.high < 0
    # Pairing matters: the same two totals in unrelated items would be far less sure.
    assert delta.high - delta.low < 0.25


def test_a_difference_of_a_figure_missing_on_one_side_is_not_measured():
    a = ratio_terms([(0, 0)] * 5)
    delta = paired_delta(a, shares(3, 5))
    assert delta.delta is None and delta.low is None and not delta.significant
    with pytest.raises(ValueError):
        paired_delta(shares(1, 2), shares(1, 3))


# --- per-item terms give the printed figures ------------------------------------------------

DOCS = ["a", "b", "c", "d"]


@st.composite
def records(draw) -> ItemRecord:
    refusal = draw(st.booleans())
    expected = [] if refusal else draw(st.lists(st.sampled_from(DOCS), max_size=2, unique=True))
    citations = [
        CitationCheck(n=i + 1, doc_id=draw(st.sampled_from(["", *DOCS])), lang="sv",
                      valid=draw(st.booleans()),
                      quoted=draw(st.lists(st.sampled_from(["S1.", "S2.", "S3."]), max_size=3)),
                      text="passage")
        for i in range(draw(st.integers(0, 3)))]
    record = ItemRecord(
        id=f"i{draw(st.integers(0, 10**6))}", lang=draw(st.sampled_from(["sv", "fi"])),
        question="?", expected_doc_ids=expected, expect_refusal=refusal,
        must_include=[] if refusal else draw(st.sampled_from([[], [["bred"]], [["x", "y"]]])),
        answer=draw(st.sampled_from(["", "bredband S1.", "x", "S2. y"])),
        detected_language=draw(st.sampled_from(["sv", "fi", ""])),
        answer_text_language=draw(st.sampled_from([None, "sv", "fi"])),
        refused=draw(st.booleans()),
        retrieved_doc_ids=draw(st.lists(st.sampled_from(DOCS), max_size=4, unique=True)),
        cited_doc_ids=[c.doc_id for c in citations if c.doc_id],
        citations=citations, latency=draw(st.floats(0.001, 2.0)),
        error=draw(st.sampled_from(["", "", "", "RuntimeError: x"])),
        expect_partial=False if refusal else draw(st.booleans()),
        expected_quote=draw(st.sampled_from([[], ["S1."], ["S3.", "S2."]])),
        missing=draw(st.sampled_from([[], ["e-post"]])))
    record.checks = item_checks(record)
    return record


@settings(max_examples=60, deadline=None)
@given(st.lists(records(), min_size=1, max_size=12))
def test_every_figure_with_terms_equals_the_figure_compute_metrics_reports(group):
    metrics = compute_metrics(group)
    for name, terms in metric_terms(group).items():
        expected = metrics[name]
        value = terms.value()
        if expected is None:
            assert value is None, name
        else:
            assert value == pytest.approx(expected), name


def test_every_headline_figure_has_terms_and_intervals_ignore_the_order_of_the_set():
    group = [ItemRecord(id=f"x{i}", lang="sv", question="?", expected_doc_ids=["a"],
                        expect_refusal=False, must_include=[["a"]], answer="a" * (i % 2),
                        retrieved_doc_ids=["b", "a"][:: 1 if i % 3 else -1],
                        latency=0.01 * i) for i in range(30)]
    assert set(metric_terms(group)) == set(METRICS)
    shuffled = group[:]
    random.Random(1).shuffle(shuffled)
    assert metric_intervals(group) == metric_intervals(shuffled)
    ci = metric_intervals(group)
    assert ci["must_include"]["n"] == 30 and ci["must_include"]["method"] == "wilson"
    for name, spec in METRICS.items():
        if ci[name]["value"] is not None:
            assert ci[name]["method"] == ("wilson" if spec.share else "bootstrap"), name
    # The method is the figure's, whatever the data: with the expected document at rank 1
    # or nowhere, every reciprocal rank is 0 or 1, and MRR is still a mean, bootstrapped.
    for r in group:
        r.retrieved_doc_ids = r.retrieved_doc_ids[:1]
    assert metric_intervals(group)["mrr"]["method"] == "bootstrap"
    with pytest.raises(ValueError):
        interval(ratio_terms([(0.5, 1.0)]), share=True)
    assert ci["recall@1"]["value"] == pytest.approx(10 / 30)  # rank 1 when i % 3 == 0
