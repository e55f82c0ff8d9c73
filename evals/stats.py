"""How sure a figure is: Wilson intervals for proportions, bootstrap over items otherwise,
and the paired bootstrap for the difference between two runs of the same items.

Every figure of an evaluation is a function of per-item *terms*: a ratio
Σ numᵢ / Σ denᵢ (recall, MRR, citation validity, refusal F1 = Σ 2TPᵢ / Σ (2TPᵢ + FPᵢ
+ FNᵢ) …) or a percentile of per-item values (latency). Resampling items, with
replacement, and recomputing the figure on each resample gives its bootstrap
distribution; items, not citations or sentences, are resampled, because the
citations of one answer are not independent of each other.

The random generator is seeded with a fixed number, so the same records give the
same intervals on every machine and every run (``BOOTSTRAP_SEED``, ``BOOTSTRAP_RESAMPLES``).
Methods and their limits are written out in ``evals/README.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Two-sided 95 %: the 0.975 quantile of the standard normal distribution.
Z95 = 1.959963984540054
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20240611
#: A difference whose interval reaches this close to zero counts as containing zero
#: (sums of the same floats in another order differ in the last bits).
ZERO = 1e-12


@dataclass(frozen=True)
class Terms:
    """Per-item terms of one figure, items in a fixed order.

    ``kind`` is ``"ratio"`` (figure = Σ num / Σ den over items with den > 0) or
    ``"percentile"`` (figure = the ``q``-th percentile of ``num`` over items with den > 0).
    """

    kind: str
    num: np.ndarray
    den: np.ndarray
    q: float = 50.0

    @property
    def n(self) -> int:
        """Items the figure is computed over."""
        return int(np.count_nonzero(self.den))

    @property
    def units(self) -> float:
        return float(self.den.sum())

    def value(self) -> float | None:
        return float(_statistic(self, np.arange(len(self.num))[None, :])[0]) if self.n else None

    def is_proportion(self) -> bool:
        """Each item is one trial that succeeds or not: Wilson applies."""
        return (self.kind == "ratio"
                and bool(np.all(np.isin(self.den, (0.0, 1.0))))
                and bool(np.all(np.isin(self.num[self.den > 0], (0.0, 1.0)))))


def wilson(successes: float, n: float, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion: (p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n).

    Unlike p̂ ± z·SE it stays within [0, 1] and does not collapse to a point at 0 or 1
    (0 of 40 failing gives [0, 0.088], not [0, 0])."""
    if n <= 0:
        return None
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denominator = 1 + z * z / n
    low, high = (centre - spread) / denominator, (centre + spread) / denominator
    # Exactly 0 and 1 at the ends (rounding gives 0.9999999999999999 for p̂ = 1).
    low = 0.0 if successes <= 0 else max(0.0, min(low, p))
    high = 1.0 if successes >= n else min(1.0, max(high, p))
    return low, high


def resample_indices(n: int, resamples: int = BOOTSTRAP_RESAMPLES,
                     seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """``resamples`` × ``n`` item indices drawn with replacement, from a seeded generator."""
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def _statistic(terms: Terms, index: np.ndarray) -> np.ndarray:
    """The figure on each resample (one row of ``index`` each); NaN where undefined."""
    num = terms.num[index]
    den = terms.den[index]
    if terms.kind == "ratio":
        total = den.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, num.sum(axis=1) / np.where(total > 0, total, 1), np.nan)
    if terms.kind == "percentile":
        # Row-wise percentile over the counted items with linear interpolation (numpy's
        # default), vectorised: sorting puts the NaNs of items that do not count last.
        ordered = np.sort(np.where(den > 0, num, np.nan), axis=1)
        counted = (den > 0).sum(axis=1)
        position = np.maximum(counted - 1, 0) * terms.q / 100
        low = np.floor(position).astype(int)
        high = np.minimum(low + 1, np.maximum(counted - 1, 0))
        rows = np.arange(len(index))
        values = ordered[rows, low] + (position - low) * (ordered[rows, high]
                                                          - ordered[rows, low])
        return np.where(counted > 0, values, np.nan)
    raise ValueError(f"unknown kind of figure {terms.kind!r}")


def _percentile_interval(samples: np.ndarray) -> tuple[float, float, int]:
    defined = samples[~np.isnan(samples)]
    undefined = len(samples) - len(defined)
    if not len(defined):
        return math.nan, math.nan, undefined
    alpha = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(defined, [alpha, 100 - alpha])
    return float(low), float(high), undefined


@dataclass(frozen=True)
class Interval:
    """A figure with its n and 95 % interval (``low``/``high`` None when not measurable)."""

    value: float | None
    low: float | None
    high: float | None
    n: int
    method: str  # "wilson", "bootstrap" or "" (nothing to measure)
    units: float = 0.0  # what the denominator counts (citations, sentences), when not items
    undefined: int = 0  # bootstrap resamples on which the figure had no denominator

    def to_dict(self) -> dict[str, float | int | str | None]:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n,
                "method": self.method, "units": self.units, "undefined": self.undefined}


def interval(terms: Terms, resamples: int = BOOTSTRAP_RESAMPLES,
             seed: int = BOOTSTRAP_SEED, *, share: bool | None = None) -> Interval:
    """Wilson for a share of items, the percentile bootstrap over items otherwise.

    ``share`` says which the figure is (None: decide from the terms, a share when every
    item is one trial that succeeds or not)."""
    value = terms.value()
    if value is None:
        return Interval(None, None, None, 0, "", terms.units)
    if share is None:
        share = terms.is_proportion()
    if share:
        if not terms.is_proportion():
            raise ValueError("a share needs one 0/1 trial per counted item")
        low, high = wilson(float(terms.num[terms.den > 0].sum()), terms.n)  # type: ignore[misc]
        return Interval(value, low, high, terms.n, "wilson", terms.units)
    samples = _statistic(terms, resample_indices(len(terms.num), resamples, seed))
    low, high, undefined = _percentile_interval(samples)
    # The percentile interval need not contain the point estimate on tiny skewed sets;
    # a reader expects it to, and widening to it is the conservative choice.
    return Interval(value, min(low, value), max(high, value), terms.n, "bootstrap",
                    terms.units, undefined)


@dataclass(frozen=True)
class Delta:
    """B − A on the items both runs answered, with a paired bootstrap 95 % interval."""

    a: float | None
    b: float | None
    delta: float | None
    low: float | None
    high: float | None
    n: int  # items paired (where the figure applies in A or B)
    undefined: int = 0

    @property
    def significant(self) -> bool:
        """The interval excludes zero."""
        return (self.low is not None and self.high is not None
                and (self.low > ZERO or self.high < -ZERO))

    def to_dict(self) -> dict[str, float | int | bool | None]:
        return {"a": self.a, "b": self.b, "delta": self.delta, "low": self.low,
                "high": self.high, "n": self.n, "undefined": self.undefined,
                "significant": self.significant}


def paired_delta(a: Terms, b: Terms, resamples: int = BOOTSTRAP_RESAMPLES,
                 seed: int = BOOTSTRAP_SEED) -> Delta:
    """Resample the paired items once per bootstrap round and recompute both figures on the
    same items: the spread of B − A then reflects only the items that changed, which is
    what makes a small real difference detectable and a same-code rerun read as zero."""
    if len(a.num) != len(b.num):
        raise ValueError("paired terms must cover the same items")
    value_a, value_b = a.value(), b.value()
    n = int(np.count_nonzero((a.den > 0) | (b.den > 0)))
    if value_a is None or value_b is None:
        return Delta(value_a, value_b, None, None, None, n)
    index = resample_indices(len(a.num), resamples, seed)
    samples = _statistic(b, index) - _statistic(a, index)
    low, high, undefined = _percentile_interval(samples)
    delta = value_b - value_a
    if math.isnan(low):
        return Delta(value_a, value_b, delta, None, None, n, undefined)
    return Delta(value_a, value_b, delta, min(low, delta), max(high, delta), n, undefined)


def ratio_terms(pairs: Sequence[tuple[float, float]]) -> Terms:
    """Terms of a ratio figure from per-item (numerator, denominator) pairs."""
    array = np.asarray(pairs, dtype=float).reshape(-1, 2)
    return Terms("ratio", array[:, 0].copy(), array[:, 1].copy())


def percentile_terms(values: Sequence[float | None], q: float) -> Terms:
    """Terms of a percentile figure; None marks an item that does not count (an error)."""
    num = np.asarray([0.0 if v is None else float(v) for v in values], dtype=float)
    den = np.asarray([0.0 if v is None else 1.0 for v in values], dtype=float)
    return Terms("percentile", num, den, q)
