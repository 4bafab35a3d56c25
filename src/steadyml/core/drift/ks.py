"""Two-sample Kolmogorov-Smirnov: exact on samples, bounded from quantile sketches.

On samples the statistic ``D = sup |F_ref - F_cur|`` is exact and the p-value follows
:func:`scipy.stats.ks_2samp` (``method="asymp"``). From KLL sketches ``D`` is read on a
grid of both sketches' quantiles and is only known to within the sketches' rank errors
``eps_ref + eps_cur``; that error is *added* to the critical distance and *subtracted*
from ``D`` before the p-value is computed, so a sketch can never make a test more
confident than the data would.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import datasketches as ds
import numpy as np

__all__ = ["KSResult", "ks_from_samples", "ks_from_sketches"]

_GRID = 512


@dataclass(frozen=True)
class KSResult:
    """KS statistic, p-value, critical distance at ``alpha``, and the statistic's error."""

    statistic: float
    p_value: float
    critical_value: float
    error: float
    exact: bool


def _effective_n(n: int, m: int) -> float:
    return float(np.round(n * m / (n + m)))


@lru_cache(maxsize=256)
def _critical(alpha: float, en: float) -> float:
    """``kstwo.isf`` (a root search, about 1 ms): columns of one window share it."""
    from scipy import stats  # heavy to import; only needed here

    return float(stats.kstwo.isf(alpha, en))


def _result(d: float, n: int, m: int, *, error: float, alpha: float) -> KSResult:
    from scipy import stats  # heavy to import; only needed here

    en = _effective_n(n, m)
    p_value = float(stats.kstwo.sf(max(d - error, 0.0), en))
    critical = _critical(alpha, en) + error
    return KSResult(d, min(max(p_value, 0.0), 1.0), critical, error, error == 0.0)


def ks_from_samples(reference: np.ndarray, current: np.ndarray, alpha: float = 0.05) -> KSResult:
    """Exact two-sample KS on finite values (NaN and infinities dropped).

    Raises
    ------
    ValueError
        When either sample has no finite value.
    """
    a = np.sort(reference[np.isfinite(reference)])
    b = np.sort(current[np.isfinite(current)])
    if a.size == 0 or b.size == 0:
        raise ValueError("KS needs at least one finite value in each sample")
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / a.size
    cdf_b = np.searchsorted(b, points, side="right") / b.size
    d = float(np.max(np.abs(cdf_a - cdf_b)))
    return _result(d, a.size, b.size, error=0.0, alpha=alpha)


def ks_from_sketches(
    reference: ds.kll_doubles_sketch, current: ds.kll_doubles_sketch, alpha: float = 0.05
) -> KSResult:
    """KS from two KLL sketches (``datasketches.kll_doubles_sketch``).

    Raises
    ------
    ValueError
        When either sketch is empty.
    """
    if reference.is_empty() or current.is_empty():
        raise ValueError("KS needs two non-empty sketches")
    ranks = np.linspace(0.0, 1.0, _GRID)
    points = np.unique(
        np.concatenate(
            [
                np.asarray(reference.get_quantiles(ranks)),
                np.asarray(current.get_quantiles(ranks)),
            ]
        )
    )
    cdf_a = np.asarray(reference.get_cdf(points, True))[:-1]
    cdf_b = np.asarray(current.get_cdf(points, True))[:-1]
    d = float(np.max(np.abs(cdf_a - cdf_b)))
    error = _rank_error(reference) + _rank_error(current)
    n = int(reference.n)
    m = int(current.n)
    return _result(d, n, m, error=error, alpha=alpha)


def _rank_error(sketch: ds.kll_doubles_sketch) -> float:
    if not sketch.is_estimation_mode():
        return 0.0
    return float(sketch.normalized_rank_error(False))
