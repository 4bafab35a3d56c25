"""Confidence-based performance estimation (CBPE) for binary classifiers, without labels.

A calibrator (isotonic regression) is fitted on *reference* rows with labels — held-out
rows the model did not train on. On new, unlabelled rows, the calibrated probability
``c_i`` of each row is the chance that it is a positive; with the model's decision
``d_i = [prob_i >= threshold]``, the expected confusion matrix is

``tp = sum c_i d_i``, ``fp = sum (1 - c_i) d_i``, ``fn = sum c_i (1 - d_i)``,
``tn = sum (1 - c_i)(1 - d_i)``,

and accuracy, precision, recall and F1 follow from it. The expected ROC AUC treats each
row as ``c_i`` of a positive and ``1 - c_i`` of a negative and ranks rows by the
model's own score. The estimate is right as long as the calibration holds, i.e. under
covariate shift without concept shift; compare it with realised metrics once labels
arrive and watch the gap.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> p = rng.random(5000)
>>> y = (rng.random(5000) < p).astype(int)
>>> est = CBPE.fit(y, p).estimate(rng.random(2000))
>>> abs(est["accuracy"] - 0.75) < 0.03
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression

from steadyml.core.performance.inputs import (
    Vector,
    binary_probabilities,
    check_threshold,
    prepare,
)
from steadyml.core.performance.ranking import TieGroups, weighted_auc
from steadyml.errors import DataError
from steadyml.spec import Task

__all__ = ["CBPE"]

_FORMAT = "steadyml.cbpe/1"


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan


@dataclass(frozen=True, eq=False)
class CBPE:
    """A fitted CBPE estimator: a monotone calibration map and the decision threshold.

    Attributes
    ----------
    threshold
        The model's decision threshold (``prob >= threshold`` is predicted positive).
    knots_x, knots_y
        The isotonic calibration map: raw probability ``knots_x`` → calibrated
        ``knots_y``, linearly interpolated and clipped at both ends.
    """

    threshold: float
    knots_x: Vector
    knots_y: Vector

    @classmethod
    def fit(
        cls, y_true_reference: object, prob_reference: object, *, threshold: float = 0.5
    ) -> CBPE:
        """Fit the calibrator on labelled reference rows.

        Parameters
        ----------
        y_true_reference
            0/1 labels of reference rows the model was not trained on.
        prob_reference
            The model's P(class 1) on those rows.
        threshold
            The model's decision threshold.

        Raises
        ------
        DataError
            If the inputs are invalid or the reference holds only one class.
        """
        data = prepare(Task.BINARY, y_true_reference, prob_reference, threshold=threshold)
        positives = int(data.y.sum())
        if positives in (0, data.n):
            raise DataError(
                "y_true_reference",
                f"{positives} positives in {data.n} rows",
                "fit CBPE on reference rows that contain both classes",
            )
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        iso.fit(data.score, data.y)
        knots_x = np.asarray(iso.X_thresholds_, dtype=np.float64)
        knots_y = np.asarray(iso.y_thresholds_, dtype=np.float64)
        return cls(threshold=data.threshold, knots_x=knots_x, knots_y=knots_y)

    def calibrate(self, prob: object) -> Vector:
        """Calibrated P(class 1) for each row of ``prob``."""
        return np.interp(binary_probabilities("prob", prob), self.knots_x, self.knots_y)

    def estimate(self, prob: object) -> dict[str, float]:
        """Estimate the classifier's performance on unlabelled rows.

        Parameters
        ----------
        prob
            The model's P(class 1) on the rows, shape ``(n,)``.

        Returns
        -------
        dict of str to float
            Expected ``accuracy``, ``precision``, ``recall``, ``f1``, ``roc_auc`` and
            the expected confusion counts ``tp``, ``fp``, ``tn``, ``fn`` (they sum to
            ``n``). A ratio with an expected denominator of zero is NaN.
        """
        raw = binary_probabilities("prob", prob)
        calibrated = np.interp(raw, self.knots_x, self.knots_y)
        decided = raw >= self.threshold
        tp = float(calibrated[decided].sum())
        fp = float(decided.sum()) - tp
        fn = float(calibrated[~decided].sum())
        tn = float((~decided).sum()) - fn
        auc = weighted_auc(TieGroups.of(raw), np.ones((1, raw.size)), calibrated)
        return {
            "accuracy": (tp + tn) / raw.size,
            "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, tp + fn),
            "f1": _ratio(2.0 * tp, 2.0 * tp + fp + fn),
            "roc_auc": float(auc[0]),
            "tp": tp,
            "fp": fp,
            "tn": tn,
            "fn": fn,
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` restores an identical estimator."""
        return {
            "format": _FORMAT,
            "threshold": self.threshold,
            "knots_x": self.knots_x.tolist(),
            "knots_y": self.knots_y.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CBPE:
        """Restore an estimator stored with :meth:`to_dict`.

        Raises
        ------
        DataError
            If the dict is not a stored CBPE estimator or its calibration map is broken.
        """
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise DataError(
                "cbpe.format", found, f"pass a dict written by CBPE.to_dict ({_FORMAT})"
            )
        try:
            threshold = check_threshold(data["threshold"])
            knots_x = np.asarray(data["knots_x"], dtype=np.float64)
            knots_y = np.asarray(data["knots_y"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(
                "cbpe", repr(exc), "store the dict exactly as CBPE.to_dict wrote it"
            ) from None
        valid = (
            knots_x.ndim == 1
            and knots_x.shape == knots_y.shape
            and knots_x.size >= 1
            and bool(np.isfinite(knots_x).all() and np.isfinite(knots_y).all())
            and bool((np.diff(knots_x) >= 0).all())
            and bool(((knots_y >= 0) & (knots_y <= 1)).all())
        )
        if not valid:
            raise DataError(
                "cbpe.knots",
                f"{knots_x.size} x / {knots_y.size} y knots",
                "refit CBPE: the calibration map must be finite, sorted and within [0, 1]",
            )
        return cls(threshold=threshold, knots_x=knots_x, knots_y=knots_y)
