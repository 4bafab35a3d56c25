"""The metric registry: which metrics each task reports, their direction, their kernels.

Every metric is a *weighted, batched kernel*: it takes prepared inputs and a weight
matrix of shape ``(rounds, n)`` and returns one value per row. A plain evaluation is a
single row of ones; a bootstrap is a matrix of resampling counts (see
:mod:`steadyml.core.performance.bootstrap`). So one implementation serves both, and
each agrees with scikit-learn's ``sample_weight`` version of the metric.

Conventions: a binary classifier's ``y_score`` is P(class 1) and a row is predicted
positive when ``y_score >= threshold``; a multiclass classifier's ``y_score`` holds one
probability column per class ``0..k-1`` and predicts the arg-max; log-loss clips
probabilities to ``[eps, 1 - eps]`` as scikit-learn does. A metric that is undefined
on the data (ROC AUC with one class present, precision without predicted positives,
R² of a constant target) is NaN, without a warning.

Examples
--------
>>> import numpy as np
>>> from steadyml.spec import Task
>>> y, p = np.array([0, 1, 1, 0]), np.array([0.2, 0.9, 0.4, 0.6])
>>> m = compute_metrics(Task.BINARY, y, p)
>>> m["roc_auc"], m["accuracy"], higher_is_better("log_loss")
(0.75, 0.5, False)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from steadyml.core.performance.inputs import Matrix, Prepared, Vector, as_task, prepare
from steadyml.core.performance.ranking import ratio, weighted_auc, weighted_average_precision
from steadyml.errors import ConfigError
from steadyml.spec import Task

__all__ = [
    "Metric",
    "compute_metrics",
    "get_metric",
    "higher_is_better",
    "metric_names",
]

Kernel = Callable[[Prepared, Matrix], Vector]


@dataclass(frozen=True)
class Metric:
    """One metric: its name, its direction and its batched kernel.

    Attributes
    ----------
    name
        Registry name, e.g. ``"roc_auc"``.
    higher_is_better
        True when a larger value means a better model.
    kernel
        ``kernel(prepared, weights)`` → one value per row of ``weights`` (``(rounds, n)``).
    """

    name: str
    higher_is_better: bool
    kernel: Kernel

    def __call__(self, prepared: Prepared, weights: Matrix) -> Vector:
        """Evaluate the metric for each row of ``weights``."""
        return self.kernel(prepared, weights)


def _accuracy(d: Prepared, w: Matrix) -> Vector:
    return ratio(w @ d.correct, w.sum(axis=1))


def _log_loss(d: Prepared, w: Matrix) -> Vector:
    return ratio(w @ d.row_log_loss, w.sum(axis=1))


def _brier(d: Prepared, w: Matrix) -> Vector:
    return ratio(w @ d.squared_error, w.sum(axis=1))


def _precision(d: Prepared, w: Matrix) -> Vector:
    return ratio(w @ d.true_positive, w @ d.predicted)


def _recall(d: Prepared, w: Matrix) -> Vector:
    return ratio(w @ d.true_positive, w @ d.y)


def _f1(d: Prepared, w: Matrix) -> Vector:
    tp = w @ d.true_positive
    return ratio(2.0 * tp, w @ d.predicted + w @ d.y)


def _roc_auc(d: Prepared, w: Matrix) -> Vector:
    return weighted_auc(d.groups, w, d.y)


def _average_precision(d: Prepared, w: Matrix) -> Vector:
    return weighted_average_precision(d.groups, w, d.y)


def _f1_macro(d: Prepared, w: Matrix) -> Vector:
    tp = w @ d.onehot_hit
    per_class = np.full(tp.shape, np.nan)
    denominator = w @ d.onehot_pred + w @ d.onehot_true
    np.divide(2.0 * tp, denominator, out=per_class, where=denominator > 0)
    present = np.isfinite(per_class)
    # Like scikit-learn, a class that is neither true nor predicted does not count.
    return ratio(np.where(present, per_class, 0.0).sum(axis=1), present.sum(axis=1) * 1.0)


def _mae(d: Prepared, w: Matrix) -> Vector:
    return ratio(w @ d.absolute_error, w.sum(axis=1))


def _rmse(d: Prepared, w: Matrix) -> Vector:
    return np.sqrt(ratio(w @ d.squared_error, w.sum(axis=1)))


def _r2(d: Prepared, w: Matrix) -> Vector:
    total = w.sum(axis=1)
    centred = d.y_centred
    mean = ratio(w @ centred, total)
    spread = w @ np.square(centred)
    ss_tot = spread - total * np.square(mean)
    ss_res = w @ d.squared_error
    # A (resampled) constant target has no variance to explain: R² is undefined.
    defined = ss_tot > 1e-10 * spread
    out = np.full(total.shape, np.nan)
    np.divide(ss_res, ss_tot, out=out, where=defined)
    return np.where(defined, 1.0 - out, np.nan)


_REGISTRY: dict[Task, tuple[Metric, ...]] = {
    Task.BINARY: (
        Metric("roc_auc", True, _roc_auc),
        Metric("accuracy", True, _accuracy),
        Metric("f1", True, _f1),
        Metric("precision", True, _precision),
        Metric("recall", True, _recall),
        Metric("log_loss", False, _log_loss),
        Metric("brier", False, _brier),
        Metric("average_precision", True, _average_precision),
    ),
    Task.MULTICLASS: (
        Metric("accuracy", True, _accuracy),
        Metric("f1_macro", True, _f1_macro),
        Metric("log_loss", False, _log_loss),
    ),
    Task.REGRESSION: (
        Metric("mae", False, _mae),
        Metric("rmse", False, _rmse),
        Metric("r2", True, _r2),
    ),
}
_DIRECTION = {m.name: m.higher_is_better for ms in _REGISTRY.values() for m in ms}


def metric_names(task: Task | str) -> tuple[str, ...]:
    """The metrics reported for ``task``, in report order.

    Parameters
    ----------
    task
        The model's task.

    Returns
    -------
    tuple of str
        binary: roc_auc, accuracy, f1, precision, recall, log_loss, brier,
        average_precision; multiclass: accuracy, f1_macro, log_loss; regression: mae,
        rmse, r2.
    """
    return tuple(m.name for m in _REGISTRY[as_task(task)])


def higher_is_better(metric: str) -> bool:
    """True when a larger value of ``metric`` means a better model.

    Raises
    ------
    ConfigError
        If ``metric`` is not a known metric.
    """
    if metric not in _DIRECTION:
        raise ConfigError("metric", metric, f"use one of: {', '.join(sorted(_DIRECTION))}")
    return _DIRECTION[metric]


def get_metric(task: Task | str, metric: str) -> Metric:
    """The registry entry of ``metric`` for ``task``.

    Raises
    ------
    ConfigError
        If ``metric`` is not defined for ``task``; the message lists the valid names.
    """
    kind = as_task(task)
    for entry in _REGISTRY[kind]:
        if entry.name == metric:
            return entry
    names = ", ".join(metric_names(kind))
    raise ConfigError("metric", metric, f"use one of the {kind.value} metrics: {names}")


def compute_metrics(
    task: Task | str,
    y_true: object,
    y_score: object,
    *,
    threshold: float = 0.5,
    metrics: Sequence[str] | None = None,
) -> dict[str, float]:
    """Compute every metric of ``task`` (or the ones named) on the whole data.

    Parameters
    ----------
    task
        Binary, multiclass or regression.
    y_true
        Labels: 0/1 (binary), ``0..k-1`` (multiclass) or numbers (regression).
    y_score
        Binary: P(class 1), shape ``(n,)`` (an ``(n, 2)`` ``predict_proba`` output is
        accepted); multiclass: probabilities ``(n, k)``; regression: predictions.
    threshold
        Binary decision threshold: predicted positive when ``y_score >= threshold``.
    metrics
        Names to compute; default all of :func:`metric_names`.

    Returns
    -------
    dict of str to float
        Metric name → value; NaN when the metric is undefined on this data.

    Raises
    ------
    DataError
        If the arrays have the wrong shape, length, type or non-finite values.
    ConfigError
        If a metric name or the threshold is invalid.
    """
    chosen = [get_metric(task, m) for m in (metrics or metric_names(task))]
    prepared = prepare(task, y_true, y_score, threshold=threshold)
    ones = np.ones((1, prepared.n))
    return {m.name: float(m(prepared, ones)[0]) for m in chosen}
