"""Hellinger distance: ``sqrt(1 - sum_i sqrt(p_i q_i))``, in ``[0, 1]``.

Equal to ``||sqrt(p) - sqrt(q)||_2 / sqrt(2)``; for a normal location shift of ``d``
standard deviations, ``H^2 = 1 - exp(-d^2 / 8)``. Finite with empty bins.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from steadyml.core.drift.distributions import as_counts, shares

__all__ = ["hellinger"]


def hellinger(reference: ArrayLike, current: ArrayLike) -> np.ndarray:
    """Hellinger distance between two binned distributions (counts; vectorized).

    Examples
    --------
    >>> float(hellinger([1, 0], [0, 1]))
    1.0
    """
    ref, cur = as_counts(reference, current)
    affinity = np.sqrt(shares(ref) * shares(cur)).sum(axis=-1)
    return np.asarray(np.sqrt(np.maximum(1.0 - affinity, 0.0)))
