"""CI gate: the held-out questions on the shipped corpus meet their minimums, and the
hybrid earns its keep.

These are the held-out sets (nothing is tuned on them) through the real assistant,
as `visio eval` runs them, plus the lexical-only and English-MiniLM baselines on the
same items.
"""

from __future__ import annotations

import pytest

from evals.items import SHIPPED_SET, load_items
from evals.runner import SHIPPED_THRESHOLDS, check_thresholds, compare_runs


@pytest.fixture(scope="module")
def runs(indexed_settings):
    return compare_runs(indexed_settings, load_items(SHIPPED_SET), progress=False,
                        baselines=("hybrid", "lexical", "dense-minilm"))


@pytest.mark.slow
def test_shipped_set_meets_the_ci_minimums(runs) -> None:
    failures = check_thresholds(runs["hybrid"].summary, SHIPPED_THRESHOLDS)
    assert not failures, "\n".join(failures)
    assert runs["hybrid"].summary["overall"]["n_errors"] == 0


@pytest.mark.slow
def test_hybrid_is_ahead_of_lexical_and_english_minilm_on_finnish(runs) -> None:
    def finnish(name: str, metric: str) -> float:
        return runs[name].summary["by_language"]["fi"][metric]

    for metric in ("recall@3", "mrr"):
        assert finnish("hybrid", metric) > finnish("lexical", metric) + 0.02, metric
        assert finnish("hybrid", metric) > finnish("dense-minilm", metric) + 0.1, metric
