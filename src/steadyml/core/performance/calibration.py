"""Calibration of classifiers: expected calibration error and the reliability table.

Probabilities are cut into ``bins`` equal-width bins on [0, 1]. As in scikit-learn's
``calibration_curve``, bins are closed on the right (``(a, b]``) except the first,
which also holds 0. For a binary classifier the probability is P(class 1) and the
outcome is ``y_true == 1``; for a multiclass classifier (``prob`` of shape ``(n, k)``)
the *top-label* confidence ``max(prob)`` is compared with ``argmax(prob) == y_true``.

Examples
--------
>>> import numpy as np
>>> y = np.array([0, 0, 1, 1])
>>> p = np.array([0.1, 0.3, 0.6, 0.9])
>>> round(expected_calibration_error(y, p, bins=2), 6)
0.225
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numpy.typing import NDArray

from steadyml.core.performance.inputs import Vector, prepare
from steadyml.errors import ConfigError
from steadyml.spec import Task

__all__ = ["expected_calibration_error", "reliability_table"]


def _check_bins(bins: int) -> int:
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise ConfigError("bins", bins, "use a whole number of calibration bins >= 1")
    return int(bins)


def _confidence(y_true: object, prob: object) -> tuple[Vector, Vector]:
    """Per-row (confidence, outcome) for a binary or a multiclass classifier."""
    shape = np.asarray(prob).shape
    multiclass = len(shape) == 2 and shape[1] != 2
    data = prepare(Task.MULTICLASS if multiclass else Task.BINARY, y_true, prob)
    if data.task is Task.MULTICLASS:
        return data.score.max(axis=1), data.correct
    return data.score, data.y


def _binned(
    y_true: object, prob: object, bins: int
) -> tuple[NDArray[np.float64], NDArray[np.int64], Vector, Vector]:
    """Bin edges, and per bin: row count, sum of probabilities, sum of outcomes."""
    confidence, outcome = _confidence(y_true, prob)
    edges = np.linspace(0.0, 1.0, _check_bins(bins) + 1)
    ids = np.searchsorted(edges[1:-1], confidence)
    counts = np.bincount(ids, minlength=bins).astype(np.int64)
    sum_prob = np.bincount(ids, weights=confidence, minlength=bins).astype(np.float64)
    sum_pos = np.bincount(ids, weights=outcome, minlength=bins).astype(np.float64)
    return edges, counts, sum_prob, sum_pos


def expected_calibration_error(y_true: object, prob: object, *, bins: int = 10) -> float:
    """Expected calibration error: the row-weighted mean gap between confidence and outcome.

    ``ECE = sum_b (n_b / n) * |frac_pos_b - mean_prob_b|`` over non-empty bins.

    Parameters
    ----------
    y_true
        Labels: 0/1, or ``0..k-1`` for a multiclass ``prob``.
    prob
        P(class 1) of shape ``(n,)`` (or a binary ``predict_proba`` output ``(n, 2)``),
        or class probabilities ``(n, k)`` with ``k > 2`` (top-label ECE).
    bins
        Number of equal-width bins on [0, 1].

    Returns
    -------
    float
        Between 0 (perfectly calibrated on these bins) and 1.

    Raises
    ------
    DataError
        If labels or probabilities are invalid.
    ConfigError
        If ``bins`` is not a whole number >= 1.
    """
    _, counts, sum_prob, sum_pos = _binned(y_true, prob, bins)
    return float(np.abs(sum_pos - sum_prob).sum() / counts.sum())


def reliability_table(y_true: object, prob: object, *, bins: int = 10) -> pl.DataFrame:
    """The reliability diagram as a table: one row per bin, empty bins included.

    Parameters
    ----------
    y_true, prob, bins
        As for :func:`expected_calibration_error`.

    Returns
    -------
    polars.DataFrame
        Columns ``bin`` (0-based), ``low`` and ``high`` (bin edges), ``count``,
        ``mean_prob`` (mean predicted probability) and ``frac_pos`` (observed share
        of positives); the two means are null for an empty bin.
    """
    edges, counts, sum_prob, sum_pos = _binned(y_true, prob, bins)
    filled = counts > 0
    safe = np.where(filled, counts, 1)
    return pl.DataFrame(
        {
            "bin": np.arange(counts.size, dtype=np.int64),
            "low": edges[:-1],
            "high": edges[1:],
            "count": counts,
            "mean_prob": np.where(filled, sum_prob / safe, np.nan),
            "frac_pos": np.where(filled, sum_pos / safe, np.nan),
        },
        nan_to_null=True,
    )
