"""Population stability index on the reference bins (stable bins plus out-of-range bins).

``PSI = sum_i (q_i - p_i) * ln(q_i / p_i)``: the symmetrised Kullback-Leibler divergence.
Empty bins make it infinite, so both histograms get Jeffreys smoothing (half a count per
bin); bins empty in both windows contribute nothing. Classic reading: < 0.1 stable,
0.1-0.25 some shift, > 0.25 major shift. Because of the log ratio a new bin holding a
fraction of a percent (values above the reference maximum, a new category) weighs a lot.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from steadyml.core.drift.distributions import as_counts, smoothed_shares

__all__ = ["population_stability_index"]


def population_stability_index(
    reference: ArrayLike, current: ArrayLike, pseudo: float = 0.5
) -> np.ndarray:
    """PSI between two binned distributions (counts; vectorized over leading axes).

    Examples
    --------
    >>> round(float(population_stability_index([500, 500], [400, 600])), 4)
    0.0405
    """
    ref, cur = as_counts(reference, current)
    p = smoothed_shares(ref, pseudo)
    q = smoothed_shares(cur, pseudo)
    terms = np.where((ref == 0) & (cur == 0), 0.0, (q - p) * np.log(q / p))
    return np.asarray(terms.sum(axis=-1))
