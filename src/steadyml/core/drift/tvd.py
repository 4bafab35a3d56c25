"""Total variation distance: the share of the population that would have to move.

``TVD = 1/2 * sum_i |p_i - q_i|``, in ``[0, 1]``. For a categorical column it is exactly
the points of frequency moved between categories (moving 5 % of rows from one category
to another gives 0.05); for a normal location shift of ``d`` standard deviations it is
``2 * Phi(d / 2) - 1`` (0.08 for ``d = 0.2``, 0.20 for ``d = 0.5``). It needs no
smoothing and ignores how rare a bin is, so tiny out-of-range or new-category shares
cannot inflate it. It is the default decision metric.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from steadyml.core.drift.distributions import as_counts, shares

__all__ = ["total_variation"]


def total_variation(reference: ArrayLike, current: ArrayLike) -> np.ndarray:
    """TVD between two binned distributions (counts; vectorized over leading axes).

    Examples
    --------
    >>> round(float(total_variation([50, 50], [45, 55])), 6)
    0.05
    """
    ref, cur = as_counts(reference, current)
    return np.asarray(0.5 * np.abs(shares(ref) - shares(cur)).sum(axis=-1))
