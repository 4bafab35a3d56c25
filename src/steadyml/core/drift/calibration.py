"""Calibration: replay the reference against itself at the current window's size.

Under "no drift" both windows are samples of one population. Taking the reference
histogram as that population, each replicate draws a reference-sized and a
current-sized window from it (multinomial resampling of the bins) and computes the
decision statistic between them. The replicates are the statistic's null distribution
*for these window sizes*: wide for a 200-row window, narrow for 20 million rows.

A gamma distribution fitted to the replicates' mean and variance gives smooth tail
p-values and quantiles far beyond ``1 / replicates``, which false-discovery-rate control
across features needs. A reference histogram with one occupied bin (a constant column)
has a degenerate null: any difference is significant.

Windows are drawn exactly (multinomial) unless every occupied bin expects at least
``GAUSSIAN_MIN_EXPECTED`` rows; then the multinomial's normal limit with the same mean
and covariance ``n (diag(p) - p p^T)`` is drawn instead: about ten times cheaper, and
indistinguishable at those counts (the tests compare both).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from steadyml.core.drift.metrics import HistogramMetric

__all__ = ["GAUSSIAN_MIN_EXPECTED", "NullModel", "bootstrap_interval", "replay", "resample"]

DEFAULT_REPLICATES = 400
GAUSSIAN_MIN_EXPECTED = 100.0
_TINY = 1e-12


def resample(total: int, probs: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` windows of ``total`` rows drawn from bin shares ``probs``, shape ``(size, K)``.

    Multinomial draws, or their normal limit (same mean and covariance, real-valued
    counts) when every occupied bin expects at least ``GAUSSIAN_MIN_EXPECTED`` rows.
    """
    occupied = probs[probs > 0]
    if occupied.size == 0 or total * float(occupied.min()) < GAUSSIAN_MIN_EXPECTED:
        return rng.multinomial(total, probs, size=size).astype(np.float64)
    roots = np.sqrt(probs)
    normal = rng.standard_normal((size, probs.size))
    # sqrt(p) z minus its component along sqrt(p): the counts then sum to ``total``
    # exactly and their covariance is n (diag(p) - p p^T), as for the multinomial
    along = normal @ roots
    counts = normal * roots - np.outer(along, probs)
    counts *= np.sqrt(total)
    counts += total * probs
    result: np.ndarray = np.maximum(counts, 0.0)
    return result


@dataclass(frozen=True)
class NullModel:
    """The statistic's distribution when nothing changed, at given window sizes.

    Attributes
    ----------
    mean, sd
        Moments of the replayed statistic.
    shape, scale
        The fitted gamma distribution (``shape = 0`` when the null is degenerate).
    replicates
        How many replays were drawn.
    """

    mean: float
    sd: float
    shape: float
    scale: float
    replicates: int

    @property
    def degenerate(self) -> bool:
        """True when every replay gave the same value (a constant reference)."""
        return self.shape == 0.0

    def p_value(self, value: float) -> float:
        """Probability that noise alone reaches ``value``."""
        if self.degenerate:
            return 1.0 if value <= self.mean + _TINY else 0.0
        return float(special.gammaincc(self.shape, max(value, 0.0) / self.scale))

    def critical_value(self, alpha: float) -> float:
        """The value noise exceeds with probability ``alpha``."""
        if self.degenerate:
            return self.mean
        return float(special.gammainccinv(self.shape, alpha) * self.scale)

    def detection_limit(self, alpha: float, power: float = 0.8) -> float:
        """The effect flagged with probability about ``power`` at level ``alpha``.

        A normal approximation of the statistic under a small change: the critical
        value plus ``z(power)`` null standard deviations.
        """
        return self.critical_value(alpha) + float(special.ndtri(power)) * self.sd


def replay(
    reference: np.ndarray,
    current_rows: int,
    metric: HistogramMetric,
    rng: np.random.Generator,
    replicates: int = DEFAULT_REPLICATES,
) -> NullModel:
    """Null distribution of ``metric`` for windows of ``current_rows`` rows.

    Parameters
    ----------
    reference
        Reference counts per bin.
    current_rows
        Size of the current window (every bin, missing values included).
    metric
        The vectorized statistic.
    rng
        Random generator (seed it for reproducible decisions).
    replicates
        Number of replayed window pairs.
    """
    counts = np.asarray(reference, dtype=np.int64)
    total = int(counts.sum())
    probs = counts / total
    ref = resample(total, probs, replicates, rng)
    cur = resample(current_rows, probs, replicates, rng)
    values = np.asarray(metric(ref, cur), dtype=np.float64)
    values = values[np.isfinite(values)]
    mean = float(values.mean()) if values.size else 0.0
    var = float(values.var(ddof=1)) if values.size > 1 else 0.0
    if mean <= _TINY or var <= _TINY * _TINY:
        return NullModel(mean, float(np.sqrt(max(var, 0.0))), 0.0, 0.0, replicates)
    return NullModel(mean, float(np.sqrt(var)), mean * mean / var, var / mean, replicates)


def bootstrap_interval(
    reference: np.ndarray,
    current: np.ndarray,
    metric: HistogramMetric,
    rng: np.random.Generator,
    *,
    replicates: int = 200,
    level: float = 0.95,
    null: NullModel | None = None,
) -> tuple[float, float]:
    """Basic (bias-corrected) bootstrap interval for the true value of ``metric``.

    Both windows are resampled. A plug-in distance is biased upwards by sampling noise,
    and the resampled distances are biased upwards again by about as much; the basic
    interval ``[2 E - q_high, 2 E - q_low]`` removes that bias (clipped at 0). When the
    change is small next to the noise, the interval can therefore lie below the
    estimate ``E`` itself. Near zero the bootstrap alone under-covers, so when ``null``
    (the replayed null distribution) is given and it does not reject "no change" at
    ``1 - level``, the interval is extended down to 0 - the test, inverted.
    """
    ref_counts = np.asarray(reference, dtype=np.int64)
    cur_counts = np.asarray(current, dtype=np.int64)
    ref = resample(int(ref_counts.sum()), ref_counts / ref_counts.sum(), replicates, rng)
    cur = resample(int(cur_counts.sum()), cur_counts / cur_counts.sum(), replicates, rng)
    values = np.asarray(metric(ref, cur), dtype=np.float64)
    estimate = float(np.asarray(metric(ref_counts, cur_counts)))
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    lower = max(2.0 * estimate - float(high), 0.0)
    upper = max(2.0 * estimate - float(low), 0.0)
    if null is not None and null.p_value(estimate) > 1.0 - level:
        lower = 0.0
    return lower, upper
