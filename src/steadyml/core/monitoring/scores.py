"""Mergeable summaries of model scores, with and without labels.

Performance metrics such as ROC AUC are not additive, but labels for one window arrive
over days. So the monitor keeps, per window, a histogram of the binary classifier's
scores on a fine *logit* grid (482 bins, 0.05 wide in log-odds between -12 and 12,
with an edge at exactly 0.5), with the sum of the scores per bin; labelled rows keep
one such histogram per class. Histograms merge by addition. Metrics are computed on
the cells (mean score of the bin, label) weighted by their counts with the core's
weighted kernels, and bootstrap intervals resample the cell counts (multinomial).
Threshold metrics (accuracy, F1, ...) are exact at a threshold on the grid (0.5); ROC AUC
is exact up to pairs within the same 0.05-log-odds bin; log-loss uses bin means.

Regression errors and multiclass hits are kept as sums (:class:`ErrorSums`).

Examples
--------
>>> import numpy as np
>>> h = ScoreHistogram.of(np.array([0.1, 0.2, 0.9]))
>>> h.total, h.merge(h).total
(3, 6)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from steadyml.errors import DataError

__all__ = ["EDGES", "N_BINS", "ErrorSums", "ScoreHistogram", "cells"]

_LOGITS = np.round(np.linspace(-12.0, 12.0, 481), 10)
EDGES: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-_LOGITS))
EDGES[240] = 0.5  # exactly: the default decision threshold is a bin edge
N_BINS = EDGES.size + 1


def _bins(scores: NDArray[np.float64]) -> NDArray[np.intp]:
    index: NDArray[np.intp] = np.searchsorted(EDGES, scores, side="right")
    return index


@dataclass(frozen=True, eq=False)
class ScoreHistogram:
    """Counts and score sums of probabilities on the fixed logit grid.

    Attributes
    ----------
    counts
        Rows per bin, shape ``(N_BINS,)``.
    sums
        Sum of the scores per bin (their mean represents the bin).
    """

    counts: NDArray[np.int64]
    sums: NDArray[np.float64]

    @classmethod
    def empty(cls) -> ScoreHistogram:
        """A histogram without rows."""
        return cls(np.zeros(N_BINS, np.int64), np.zeros(N_BINS, np.float64))

    @classmethod
    def of(cls, scores: object) -> ScoreHistogram:
        """Histogram of finite scores in [0, 1]; other values are left out."""
        values = np.asarray(scores, dtype=np.float64).reshape(-1)
        values = values[np.isfinite(values) & (values >= 0.0) & (values <= 1.0)]
        index = _bins(values)
        counts = np.bincount(index, minlength=N_BINS).astype(np.int64)
        sums = np.bincount(index, weights=values, minlength=N_BINS).astype(np.float64)
        return cls(counts, sums)

    @property
    def total(self) -> int:
        """Rows in the histogram."""
        return int(self.counts.sum())

    def means(self) -> NDArray[np.float64]:
        """Mean score per bin (the bin's lower edge where it is empty)."""
        lower = np.r_[0.0, EDGES]
        out = lower.copy()
        np.divide(self.sums, self.counts, out=out, where=self.counts > 0)
        clipped: NDArray[np.float64] = np.clip(out, 0.0, 1.0)
        return clipped

    def merge(self, other: ScoreHistogram) -> ScoreHistogram:
        """Both histograms together."""
        return ScoreHistogram(self.counts + other.counts, self.sums + other.sums)

    def to_dict(self) -> dict[str, Any]:
        """A sparse JSON-safe form: the non-empty bins only."""
        nonzero = np.flatnonzero(self.counts)
        return {
            "bins": nonzero.tolist(),
            "counts": self.counts[nonzero].tolist(),
            "sums": self.sums[nonzero].tolist(),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ScoreHistogram:
        """Inverse of :meth:`to_dict`; raises :class:`~steadyml.errors.DataError`."""
        try:
            bins = np.asarray(raw["bins"], dtype=np.int64)
            counts = np.asarray(raw["counts"], dtype=np.int64)
            sums = np.asarray(raw["sums"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError("scores", repr(exc), "store histograms with to_dict()") from None
        if not (bins.shape == counts.shape == sums.shape) or (
            bins.size and (bins.min() < 0 or bins.max() >= N_BINS)
        ):
            raise DataError("scores.bins", bins.size, "the histogram does not fit the grid")
        dense_counts = np.zeros(N_BINS, np.int64)
        dense_sums = np.zeros(N_BINS, np.float64)
        dense_counts[bins] = counts
        dense_sums[bins] = sums
        return cls(dense_counts, dense_sums)


def cells(
    negatives: ScoreHistogram, positives: ScoreHistogram
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Labelled histograms as weighted rows: ``(score, label, count)`` of non-empty cells.

    The weighted rows give the core's metric kernels (and their bootstrap) the same
    inputs as the raw rows, except that scores are bin means.
    """
    neg = np.flatnonzero(negatives.counts)
    pos = np.flatnonzero(positives.counts)
    score = np.concatenate([negatives.means()[neg], positives.means()[pos]])
    label = np.concatenate([np.zeros(neg.size), np.ones(pos.size)])
    count = np.concatenate([negatives.counts[neg], positives.counts[pos]]).astype(np.float64)
    return score, label, count


@dataclass(frozen=True)
class ErrorSums:
    """Additive sums of a regression's errors (or a classifier's hits), mergeable.

    ``n`` rows; ``abs_sum`` = Σ|e|, ``sq_sum`` = Σe², ``quad_sum`` = Σe⁴, ``y_sum`` and
    ``y_sq_sum`` of the targets (for R²). For multiclass, ``abs_sum`` counts misses.
    """

    n: int = 0
    abs_sum: float = 0.0
    sq_sum: float = 0.0
    quad_sum: float = 0.0
    y_sum: float = 0.0
    y_sq_sum: float = 0.0

    @classmethod
    def of(cls, predictions: object, targets: object) -> ErrorSums:
        """Sums over rows where both are finite."""
        pred = np.asarray(predictions, dtype=np.float64).reshape(-1)
        true = np.asarray(targets, dtype=np.float64).reshape(-1)
        keep = np.isfinite(pred) & np.isfinite(true)
        error = pred[keep] - true[keep]
        square = error * error
        return cls(
            n=int(keep.sum()),
            abs_sum=float(np.abs(error).sum()),
            sq_sum=float(square.sum()),
            quad_sum=float((square * square).sum()),
            y_sum=float(true[keep].sum()),
            y_sq_sum=float((true[keep] ** 2).sum()),
        )

    def merge(self, other: ErrorSums) -> ErrorSums:
        """Both together."""
        return ErrorSums(
            self.n + other.n,
            self.abs_sum + other.abs_sum,
            self.sq_sum + other.sq_sum,
            self.quad_sum + other.quad_sum,
            self.y_sum + other.y_sum,
            self.y_sq_sum + other.y_sq_sum,
        )

    def mae(self, z: float = 1.959963984540054) -> tuple[float, float, float]:
        """MAE with a normal-approximation interval ``(value, low, high)``."""
        if self.n == 0:
            return math.nan, math.nan, math.nan
        mean = self.abs_sum / self.n
        spread = math.sqrt(max(self.sq_sum / self.n - mean * mean, 0.0) / self.n)
        return mean, max(0.0, mean - z * spread), mean + z * spread

    def rmse(self, z: float = 1.959963984540054) -> tuple[float, float, float]:
        """RMSE with a delta-method interval on the mean squared error."""
        if self.n == 0:
            return math.nan, math.nan, math.nan
        mse = self.sq_sum / self.n
        spread = math.sqrt(max(self.quad_sum / self.n - mse * mse, 0.0) / self.n)
        low = max(0.0, mse - z * spread)
        return math.sqrt(mse), math.sqrt(low), math.sqrt(mse + z * spread)

    def r2(self) -> float:
        """Coefficient of determination (NaN when the targets do not vary)."""
        if self.n < 2:
            return math.nan
        total = self.y_sq_sum - self.y_sum * self.y_sum / self.n
        return 1.0 - self.sq_sum / total if total > 0 else math.nan

    def to_dict(self) -> dict[str, float]:
        """A JSON-safe mapping."""
        return {
            "n": self.n,
            "abs_sum": self.abs_sum,
            "sq_sum": self.sq_sum,
            "quad_sum": self.quad_sum,
            "y_sum": self.y_sum,
            "y_sq_sum": self.y_sq_sum,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ErrorSums:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(
                n=int(raw["n"]),
                abs_sum=float(raw["abs_sum"]),
                sq_sum=float(raw["sq_sum"]),
                quad_sum=float(raw["quad_sum"]),
                y_sum=float(raw["y_sum"]),
                y_sq_sum=float(raw["y_sq_sum"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError("errors", repr(exc), "store error sums with to_dict()") from None
