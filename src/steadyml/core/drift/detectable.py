"""Translate a minimum detectable effect into units people think in.

For a numeric feature: the location shift, in reference standard deviations, that would
move the binned reference distribution by that effect. It is computed on the feature's
own distribution (its quantile sketch and bins), not on a normal approximation, so a
skewed or discrete feature gets its true figure. For a categorical feature under TVD the
effect already *is* the share of rows moved; it is reported in points (percent).
"""

from __future__ import annotations

import numpy as np

from steadyml.core.drift.metrics import HistogramMetric
from steadyml.core.profiles.numeric import NumericSummary

__all__ = ["numeric_shift_for_effect", "points_for_effect"]

_SHIFTS = np.concatenate([[0.0], np.geomspace(0.002, 5.0, 160)])


def numeric_shift_for_effect(
    summary: NumericSummary,
    edges: tuple[float, ...],
    metric: HistogramMetric,
    effect: float,
) -> float | None:
    """Smallest location shift (in reference std) whose binned effect reaches ``effect``.

    Returns ``None`` when it cannot be computed (no spread, no values) or when even a
    shift of 5 standard deviations stays below ``effect``.
    """
    std = summary.std
    if not edges or summary.finite < 2 or not np.isfinite(std) or std <= 0:
        return None
    sketch = summary.quantile_sketch()
    bounds = np.asarray(edges, dtype=np.float64)
    missing = summary.missing / max(summary.count - summary.type_errors, 1)
    # every shifted edge in one query; a spike's bin is one ulp wide, so shifted edges
    # can coincide, and the sketch wants distinct increasing split points: map back
    moved = bounds[np.newaxis, :] - _SHIFTS[:, np.newaxis] * std
    unique, inverse = np.unique(moved, return_inverse=True)
    cdf = np.asarray(sketch.get_cdf(unique.tolist()), dtype=np.float64)[:-1]
    cdf = cdf[inverse.reshape(moved.shape)]
    ends = np.ones((_SHIFTS.size, 1))
    rows = np.diff(np.hstack([0.0 * ends, cdf, ends]), axis=1)
    shifted = np.clip(rows, 0.0, None) * (1.0 - missing)
    shifted = np.column_stack([shifted, np.full(_SHIFTS.size, missing)])
    values = np.asarray(metric(shifted[:1], shifted), dtype=np.float64)
    reached = np.nonzero(values >= effect)[0]
    if reached.size == 0:
        return None
    i = int(reached[0])
    if i == 0:
        return 0.0
    low, high = values[i - 1], values[i]
    weight = (effect - low) / (high - low) if high > low else 1.0
    return float(_SHIFTS[i - 1] + weight * (_SHIFTS[i] - _SHIFTS[i - 1]))


def points_for_effect(effect: float) -> float:
    """A TVD effect as points of frequency moved (0.05 -> 5.0)."""
    return 100.0 * effect
