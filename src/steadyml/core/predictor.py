"""A predictor: the one path from raw input rows to model scores.

raw frame → :class:`~steadyml.core.transforms.FeatureTransform` → :class:`FeatureEncoder`
→ estimator. Training, the gate, the server and the simulator all score through it, which
is how steadyml rules out training-serving skew by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import polars as pl

from steadyml.core.encoding import FeatureEncoder
from steadyml.core.transforms import FeatureTransform
from steadyml.spec import Task

__all__ = ["Estimator", "Predictor", "Scores"]

Scores = np.ndarray[Any, np.dtype[np.float64]]


class Estimator(Protocol):
    """The scikit-learn estimator interface steadyml needs."""

    def fit(self, x: Any, y: Any, **kwargs: Any) -> Any:
        """Fit on a matrix and targets."""
        ...

    def predict(self, x: Any) -> Any:
        """Predict targets."""
        ...


@dataclass(frozen=True)
class Predictor:
    """Transform, encode and score raw rows with one fitted estimator.

    Attributes
    ----------
    task
        What the model predicts.
    transform
        The spec's feature transform (identity when the spec names none).
    encoder
        The fitted encoder of model inputs.
    estimator
        The fitted scikit-learn-compatible estimator.
    classes
        Class labels for classifiers (as strings), in the estimator's order.
    """

    task: Task
    transform: FeatureTransform
    encoder: FeatureEncoder
    estimator: Any
    classes: tuple[str, ...] = ()

    def features(self, raw: pl.DataFrame) -> pl.DataFrame:
        """Model input columns after the transform (before encoding)."""
        return self.transform.apply(raw).select(self.encoder.columns)

    def matrix(self, raw: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
        """The encoded model input matrix."""
        return self.encoder.transform(self.transform.apply(raw))

    def score_matrix(self, matrix: np.ndarray[Any, np.dtype[np.float64]]) -> Scores:
        """Scores from an encoded matrix.

        Binary classification: P(positive class), shape ``(n,)``; multiclass: class
        probabilities, shape ``(n, k)``; regression: predictions, shape ``(n,)``.
        A LightGBM scikit-learn model is scored through its native booster (about 20x
        faster for single rows); the result is the same.
        """
        booster = getattr(self.estimator, "booster_", None)
        if booster is not None:
            raw = np.asarray(booster.predict(matrix), dtype=np.float64)
            return raw
        if self.task is Task.REGRESSION:
            return np.asarray(self.estimator.predict(matrix), dtype=np.float64)
        proba = np.asarray(self.estimator.predict_proba(matrix), dtype=np.float64)
        return proba[:, 1] if self.task is Task.BINARY else proba

    def score(self, raw: pl.DataFrame) -> Scores:
        """Transform, encode and score raw rows."""
        return self.score_matrix(self.matrix(raw))

    def predict_labels(self, scores: Scores, threshold: float = 0.5) -> list[str]:
        """Class labels for classifier scores (positive class when P >= threshold)."""
        if self.task is Task.REGRESSION or not self.classes:
            return [str(v) for v in scores.tolist()]
        if self.task is Task.BINARY:
            picks = (scores >= threshold).astype(np.int64)
        else:
            picks = np.argmax(scores, axis=1)
        labels = np.asarray(self.classes, dtype=object)[picks]
        return [str(v) for v in labels.tolist()]
