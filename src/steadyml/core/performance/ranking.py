"""Weighted ranking metrics for many weight vectors at once: ROC AUC and average precision.

Scores are sorted once into groups of tied values (:class:`TieGroups`). A batch of
weight vectors — one row per bootstrap round, or a single row of ones — is then summed
per group, and each metric follows from cumulative sums over the groups, with no loop
over rows or rounds. Weights are split into a *positive* and a *negative* part, so the
same kernel serves observed labels (``w * y`` and ``w * (1 - y)``) and the fractional
labels of label-free estimation (``p`` and ``1 - p``).

Examples
--------
>>> import numpy as np
>>> groups = TieGroups.of(np.array([0.1, 0.4, 0.35, 0.8]))
>>> y = np.array([0.0, 0.0, 1.0, 1.0])
>>> float(weighted_auc(groups, np.ones((1, 4)), y)[0])
0.75
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["TieGroups", "ratio", "weighted_auc", "weighted_average_precision"]

Matrix = NDArray[np.float64]
Vector = NDArray[np.float64]


@dataclass(frozen=True)
class TieGroups:
    """Scores sorted ascending and cut into runs of equal values.

    Attributes
    ----------
    order
        Permutation that sorts the scores ascending (stable).
    starts
        Position, in sorted order, where each run of equal scores begins.
    """

    order: NDArray[np.intp]
    starts: NDArray[np.intp]

    @classmethod
    def of(cls, score: NDArray[np.float64]) -> TieGroups:
        """Sort ``score`` (1-D, finite, non-empty) and find its runs of ties."""
        order = np.argsort(score, kind="stable")
        ranked = score[order]
        starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
        return cls(order=order, starts=starts)

    @property
    def count(self) -> int:
        """Number of distinct scores."""
        return int(self.starts.size)

    def split(self, weights: Matrix, share: Vector) -> tuple[Matrix, Matrix]:
        """Positive and negative weight per group, in ascending score order.

        Parameters
        ----------
        weights
            Row weights of shape ``(rounds, n)``, in the original row order.
        share
            Positive share of each row, shape ``(n,)``: a 0/1 label, or a probability.

        Returns
        -------
        tuple of numpy.ndarray
            ``(positive, negative)``, each of shape ``(rounds, groups)``.
        """
        ranked = weights[:, self.order]  # one gather; reused in place below
        positive = ranked * share[self.order]
        ranked -= positive
        if self.count == self.order.size:  # no ties: every row is its own group
            return positive, ranked
        return (
            np.add.reduceat(positive, self.starts, axis=1),
            np.add.reduceat(ranked, self.starts, axis=1),
        )


def ratio(numerator: Vector, denominator: Vector) -> Vector:
    """``numerator / denominator`` element-wise, NaN where the denominator is not positive."""
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def weighted_auc(groups: TieGroups, weights: Matrix, share: Vector) -> Vector:
    """ROC AUC for each row of a weight batch (weighted Mann-Whitney statistic).

    Parameters
    ----------
    groups
        Tie groups of the scores.
    weights
        Row weights of shape ``(rounds, n)`` (bootstrap counts, or ones).
    share
        How much of each row is a positive, shape ``(n,)``: the 0/1 label, or a
        calibrated probability for label-free estimation; the rest is a negative.

    Returns
    -------
    numpy.ndarray
        Shape ``(rounds,)``: the probability that a positive outranks a negative, ties
        counted as one half; NaN for a round without positive or negative weight.
    """
    pos, neg = groups.split(weights, share)
    total = pos.sum(axis=1) * neg.sum(axis=1)
    at_or_below = np.cumsum(neg, axis=1)
    neg *= 0.5
    at_or_below -= neg  # negatives strictly below, plus half of the tied ones
    return ratio(np.einsum("rg,rg->r", pos, at_or_below), total)


def weighted_average_precision(groups: TieGroups, weights: Matrix, share: Vector) -> Vector:
    """Average precision (area under the step precision-recall curve) for a weight batch.

    Thresholds are the distinct scores, highest first, as in scikit-learn's
    ``average_precision_score``: ``AP = sum_k (R_k - R_{k-1}) P_k``.

    Parameters
    ----------
    groups, weights, share
        As for :func:`weighted_auc`.

    Returns
    -------
    numpy.ndarray
        Shape ``(rounds,)``; NaN for a round without positive weight.
    """
    pos, neg = groups.split(weights, share)
    pos, neg = pos[:, ::-1], neg[:, ::-1]
    tps = np.cumsum(pos, axis=1)
    flagged = np.cumsum(neg, axis=1)
    flagged += tps
    precision = np.zeros_like(tps)
    np.divide(tps, flagged, out=precision, where=flagged > 0)
    return ratio(np.einsum("rg,rg->r", pos, precision), tps[:, -1])
