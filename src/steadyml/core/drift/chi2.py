"""Pearson's chi-squared test of homogeneity on a ``2 x K`` table of counts.

Reported for categorical features (and numeric bins) as the classic test, with the
classic caveat: on large windows its p-value is tiny for any difference at all, so
steadyml never decides on it alone (see :mod:`steadyml.core.drift.decision`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

__all__ = ["ChiSquaredResult", "chi_squared"]


@dataclass(frozen=True)
class ChiSquaredResult:
    """Statistic, degrees of freedom and p-value."""

    statistic: float
    dof: int
    p_value: float


def chi_squared(reference: ArrayLike, current: ArrayLike) -> ChiSquaredResult:
    """Chi-squared homogeneity test; bins empty in both windows are dropped.

    Examples
    --------
    >>> result = chi_squared([50, 50], [30, 70])
    >>> round(result.statistic, 3), result.dof
    (8.333, 1)
    """
    table = np.vstack(
        [np.asarray(reference, dtype=np.float64), np.asarray(current, dtype=np.float64)]
    )
    table = table[:, table.sum(axis=0) > 0]
    rows = table.sum(axis=1, keepdims=True)
    if table.shape[1] < 2 or np.any(rows == 0):
        return ChiSquaredResult(0.0, 0, 1.0)
    expected = rows * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    dof = table.shape[1] - 1
    return ChiSquaredResult(statistic, dof, float(special.chdtrc(dof, statistic)))
