"""Checked, prepared inputs of the performance metrics.

:func:`prepare` validates labels and scores once (shape, length, type, finiteness,
label coding) and returns a :class:`Prepared` object whose derived per-row vectors
(predictions, hits, per-row losses, sort order) are computed lazily, once, and shared
by every metric and every bootstrap round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from steadyml.core.performance.ranking import TieGroups
from steadyml.errors import ConfigError, DataError
from steadyml.spec import Task

__all__ = [
    "Matrix",
    "Prepared",
    "Vector",
    "as_task",
    "binary_probabilities",
    "check_threshold",
    "prepare",
]

Matrix = NDArray[np.float64]
Vector = NDArray[np.float64]

_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True, eq=False)
class Prepared:
    """Validated labels and scores of one task, with lazily derived per-row vectors.

    Attributes
    ----------
    task
        The model's task.
    y
        Labels as float64 (0/1 for binary, ``0..k-1`` for multiclass) or targets.
    score
        Float64 scores: ``(n,)`` for binary and regression, ``(n, k)`` for multiclass.
    threshold
        Binary decision threshold (``score >= threshold`` is predicted positive).
    """

    task: Task
    y: Vector
    score: NDArray[np.float64]
    threshold: float = 0.5

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.y.size)

    def subset(self, rows: NDArray[np.intp] | NDArray[np.bool_]) -> Prepared:
        """The same inputs restricted to ``rows`` (indices or a boolean mask)."""
        return Prepared(self.task, self.y[rows], self.score[rows], self.threshold)

    @cached_property
    def predicted(self) -> Vector:
        """Predicted class per row as float64."""
        if self.task is Task.MULTICLASS:
            chosen: Vector = np.argmax(self.score, axis=1).astype(np.float64)
            return chosen
        return (self.score >= self.threshold).astype(np.float64)

    @cached_property
    def true_positive(self) -> Vector:
        """1.0 where a binary row is a true positive."""
        hits: Vector = self.predicted * self.y
        return hits

    @cached_property
    def correct(self) -> Vector:
        """1.0 where the predicted class is the true class."""
        return np.equal(self.predicted, self.y).astype(np.float64)

    @cached_property
    def row_log_loss(self) -> Vector:
        """Per-row cross-entropy of the true class, probabilities clipped to [eps, 1-eps]."""
        if self.task is Task.MULTICLASS:
            p_true = self.score[np.arange(self.n), self.y.astype(np.intp)]
        else:
            p_true = np.where(self.y == 1.0, self.score, 1.0 - self.score)
        loss: Vector = -np.log(np.clip(p_true, _EPS, 1.0 - _EPS))
        return loss

    @cached_property
    def squared_error(self) -> Vector:
        """Per-row squared error (Brier score terms for a binary classifier)."""
        error: Vector = np.square(self.score - self.y)
        return error

    @cached_property
    def absolute_error(self) -> Vector:
        """Per-row absolute error of a regression."""
        error: Vector = np.abs(self.score - self.y)
        return error

    @cached_property
    def groups(self) -> TieGroups:
        """Tie groups of a binary score, for the ranking metrics."""
        return TieGroups.of(self.score)

    @cached_property
    def onehot_true(self) -> Matrix:
        """One-hot true class, ``(n, k)``."""
        return self._onehot(self.y)

    @cached_property
    def onehot_pred(self) -> Matrix:
        """One-hot predicted class, ``(n, k)``."""
        return self._onehot(self.predicted)

    @cached_property
    def onehot_hit(self) -> Matrix:
        """One-hot true class on correctly predicted rows, zero elsewhere, ``(n, k)``."""
        hits: Matrix = self.onehot_true * self.correct[:, None]
        return hits

    @cached_property
    def y_centred(self) -> Vector:
        """Regression targets minus their mean (keeps weighted variances accurate)."""
        centred: Vector = self.y - self.y.mean()
        return centred

    def _onehot(self, classes: Vector) -> Matrix:
        k = self.score.shape[1]
        return np.equal(classes[:, None], np.arange(k, dtype=np.float64)[None, :]).astype(
            np.float64
        )


def as_task(task: Task | str) -> Task:
    """``task`` as a :class:`~steadyml.spec.Task`, or a ConfigError naming the choices."""
    try:
        return Task(task)
    except ValueError:
        choices = ", ".join(t.value for t in Task)
        raise ConfigError("task", task, f"use one of: {choices}") from None


def check_threshold(threshold: float) -> float:
    """Return ``threshold`` as a float, or raise if it is not in [0, 1]."""
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ConfigError("threshold", threshold, "use a decision threshold between 0 and 1")
    return value


def _numeric(name: str, value: object) -> NDArray[np.float64]:
    try:
        array = np.asarray(value)
    except ValueError:  # ragged nested sequences
        raise DataError(name, type(value).__name__, "pass a rectangular numeric array") from None
    if array.dtype == np.bool_:
        array = array.astype(np.float64)
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise DataError(name, str(array.dtype), "pass a numeric array (int, float or bool)")
    array = array.astype(np.float64, copy=False)
    bad = ~np.isfinite(array)
    if bad.any():
        raise DataError(
            name,
            f"{int(bad.sum())} non-finite values",
            "drop or impute the rows with NaN or infinite values first",
            details={"non_finite": int(bad.sum())},
        )
    return array


def _check_unit(name: str, score: NDArray[np.float64]) -> None:
    if ((score < 0.0) | (score > 1.0)).any():
        raise DataError(
            name,
            f"range [{score.min():g}, {score.max():g}]",
            "pass probabilities in [0, 1] (e.g. predict_proba), not raw scores",
        )


def binary_probabilities(name: str, value: object) -> Vector:
    """Validated P(class 1) of a binary classifier as a non-empty 1-D float64 array.

    An ``(n, 2)`` ``predict_proba`` output is accepted (its second column is used).

    Raises
    ------
    DataError
        If ``value`` is not numeric, finite, non-empty, 1-D, or within [0, 1].
    """
    score = _numeric(name, value)
    if score.ndim == 2 and score.shape[1] == 2:
        score = score[:, 1]
    if score.ndim != 1 or score.size == 0:
        raise DataError(name, f"shape {score.shape}", "pass a non-empty 1-D array of P(class 1)")
    _check_unit(name, score)
    return score


def _check_labels(y: Vector, allowed: int) -> None:
    valid = (y >= 0) & (y < allowed) & (y == np.round(y))
    if not valid.all():
        examples = np.unique(y[~valid])[:5].tolist()
        fix = (
            "encode the positive class as 1 and the negative class as 0"
            if allowed == 2
            else f"encode the classes as integers 0..{allowed - 1}, one per score column"
        )
        raise DataError("y_true", examples, fix)


def prepare(
    task: Task | str, y_true: object, y_score: object, *, threshold: float = 0.5
) -> Prepared:
    """Validate labels and scores for ``task`` and wrap them as :class:`Prepared`.

    Raises
    ------
    DataError
        Empty data, mismatched lengths, wrong shapes, non-numeric or non-finite values,
        labels not coded 0/1 (binary) or ``0..k-1`` (multiclass), probabilities
        outside [0, 1].
    ConfigError
        If ``threshold`` is not in [0, 1].
    """
    task = as_task(task)
    y = _numeric("y_true", y_true)
    score = _numeric("y_score", y_score)
    if y.ndim != 1:
        raise DataError("y_true", f"shape {y.shape}", "pass a 1-D array with one label per row")
    if y.size == 0:
        raise DataError("y_true", "0 rows", "pass at least one labelled row")
    if task is Task.BINARY and score.ndim == 2 and score.shape[1] == 2:
        score = score[:, 1]  # a predict_proba output: keep P(class 1)
    want = 2 if task is Task.MULTICLASS else 1
    if score.ndim != want or score.shape[0] != y.size:
        expected = "(n, k) class probabilities" if want == 2 else "(n,) one score per row"
        raise DataError(
            "y_score", f"shape {score.shape} for {y.size} labels", f"pass shape {expected}"
        )
    if task.is_classification:
        _check_unit("y_score", score)
        if task is Task.MULTICLASS and score.shape[1] < 2:
            raise DataError("y_score", f"{score.shape[1]} column", "pass one column per class")
        _check_labels(y, 2 if task is Task.BINARY else score.shape[1])
    return Prepared(task, y, score, check_threshold(threshold))
