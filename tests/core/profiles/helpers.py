"""Comparing profile views: exact fields exactly, floating moments and sketches within bounds."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from steadyml.core.profiles import NumericSummary, ProfileView

#: Beyond this magnitude a squared deviation can overflow to infinity.
OVERFLOWS = math.sqrt(np.finfo(np.float64).max) / 4


def exact_fields(
    view: ProfileView, *, moments: bool = False, sample: bool = False
) -> dict[str, Any]:
    """``view.to_dict()`` without the randomised KLL sketches (and, unless asked, without
    the floating-point moments and the row sample)."""
    raw = view.to_dict()
    for column in raw["columns"].values():
        column.pop("kll", None)
        if not moments:
            column.pop("mean", None)
            column.pop("m2", None)
    if not sample:
        raw.pop("sample")
    return raw


def assert_same_up_to_sketches(left: ProfileView, right: ProfileView) -> None:
    """Exact fields equal; moments within float rounding; quantiles within rank error."""
    assert exact_fields(left) == exact_fields(right)
    for name in left.schema.names:
        a, b = left.columns[name], right.columns[name]
        if isinstance(a, NumericSummary) and isinstance(b, NumericSummary):
            for x, y, rounding in (
                (a.mean, b.mean, 0.0),
                (a.m2, b.m2, m2_rounding(a)),
            ):
                if np.isfinite(x) and np.isfinite(y):
                    assert x == pytest.approx(y, rel=1e-9, abs=1e-9 + rounding)
                else:  # squares of values near the float maximum overflow in some orders
                    assert a.minimum is not None and a.maximum is not None
                    assert max(abs(a.minimum), abs(a.maximum)) > OVERFLOWS
            if a.finite:
                assert_quantiles_agree(a, b)


def m2_rounding(summary: NumericSummary) -> float:
    """How far two summation orders may move ``m2`` by rounding alone.

    Merging moments (Chan et al.) squares differences of means, each known to one ulp of
    the mean; with values far from zero (3e15, say) that ulp is 0.5 and moves ``m2`` by
    about ``n * ulp * spread``, a relative error far above 1e-9 when the spread is small.
    """
    n = max(int(summary.finite), 1)
    ulp = math.ulp(summary.mean) if math.isfinite(summary.mean) else 0.0
    spread = float(np.sqrt(max(summary.m2, 0.0) / n)) + ulp
    return 8.0 * n * ulp * spread


def assert_quantiles_agree(a: NumericSummary, b: NumericSummary) -> None:
    """Quantiles of ``a`` sit at the right ranks of ``b`` within both rank errors.

    For a probability ``p`` and ``q = a.quantile(p)``, ``b`` must place ``p`` between its
    ranks just below and at ``q`` (ties make that an interval), give or take
    ``a.rank_error + b.rank_error``.
    """
    probs = np.linspace(0.05, 0.95, 19)
    points = a.quantiles(probs)
    sketch = b.quantile_sketch()
    below = np.array([sketch.get_cdf([q], False)[0] for q in points])
    at = np.array([sketch.get_cdf([q], True)[0] for q in points])
    error = a.rank_error + b.rank_error + 1e-12
    assert np.all(probs >= below - error)
    assert np.all(probs <= at + error)
