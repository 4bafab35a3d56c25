"""Every metric against scikit-learn on the same data, plain and weighted."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn import metrics as skm

from steadyml.core.performance import compute_metrics, get_metric, higher_is_better, metric_names
from steadyml.core.performance.inputs import prepare
from steadyml.errors import ConfigError, DataError
from steadyml.spec import Task

TOL = 1e-12  # deterministic sums: only floating-point summation order differs


def _binary(n: int, seed: int, *, ties: bool) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.3 * y + 0.7 * rng.random(n), 0.0, 1.0)
    if ties:
        p = np.round(p, 1)  # heavy ties, exact 0.0 / 0.5 / 1.0 values included
    return y, p


def _sklearn_binary(
    y: NDArray[np.int64],
    p: NDArray[np.float64],
    w: NDArray[np.float64] | None = None,
    threshold: float = 0.5,
) -> dict[str, float]:
    pred = (p >= threshold).astype(int)
    return {
        "roc_auc": skm.roc_auc_score(y, p, sample_weight=w),
        "accuracy": skm.accuracy_score(y, pred, sample_weight=w),
        "f1": skm.f1_score(y, pred, sample_weight=w),
        "precision": skm.precision_score(y, pred, sample_weight=w),
        "recall": skm.recall_score(y, pred, sample_weight=w),
        "log_loss": skm.log_loss(y, p, sample_weight=w, labels=[0, 1]),
        "brier": skm.brier_score_loss(y, p, sample_weight=w),
        "average_precision": skm.average_precision_score(y, p, sample_weight=w),
    }


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_binary_metrics_match_sklearn(ties: bool, threshold: float) -> None:
    y, p = _binary(3000, seed=1, ties=ties)
    ours = compute_metrics(Task.BINARY, y, p, threshold=threshold)
    theirs = _sklearn_binary(y, p, threshold=threshold)
    assert list(ours) == list(metric_names(Task.BINARY))
    for name, value in theirs.items():
        assert ours[name] == pytest.approx(value, abs=TOL, rel=TOL), name


@pytest.mark.parametrize("ties", [False, True])
def test_weighted_kernels_match_sklearn_sample_weight(ties: bool) -> None:
    """A bootstrap round is a weighted evaluation with counts as weights."""
    y, p = _binary(800, seed=2, ties=ties)
    rng = np.random.default_rng(3)
    resample = np.bincount(rng.integers(0, y.size, y.size), minlength=y.size)
    counts = np.vstack([resample, rng.integers(0, 4, (2, y.size))]).astype(np.float64)
    data = prepare(Task.BINARY, y, p)
    for name in metric_names(Task.BINARY):
        got = get_metric(Task.BINARY, name)(data, counts)
        for row, weights in enumerate(counts):
            keep = weights > 0  # sklearn's curves also drop zero-weight rows
            want = _sklearn_binary(y[keep], p[keep], weights[keep])[name]
            assert got[row] == pytest.approx(want, abs=TOL, rel=TOL), name


def test_multiclass_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(4)
    n, k = 2500, 4
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[y]
    prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    ours = compute_metrics(Task.MULTICLASS, y, prob)
    pred = prob.argmax(axis=1)
    assert ours["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=TOL)
    assert ours["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"), abs=TOL)
    want_ll = skm.log_loss(y, prob, labels=list(range(k)))
    assert ours["log_loss"] == pytest.approx(want_ll, abs=TOL, rel=TOL)


def test_multiclass_f1_macro_ignores_classes_neither_true_nor_predicted() -> None:
    y = np.array([0, 0, 1, 1, 0])  # class 2 is never true and never predicted
    prob = np.array(
        [[0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.9, 0.05, 0.05]]
    )
    pred = prob.argmax(axis=1)
    ours = compute_metrics(Task.MULTICLASS, y, prob)["f1_macro"]
    assert ours == pytest.approx(skm.f1_score(y, pred, average="macro"), abs=TOL)


def test_regression_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(5)
    y = 1e4 + 50.0 * rng.normal(size=4000)  # large offset: tests the centred variance
    pred = y + 20.0 * rng.normal(size=4000)
    ours = compute_metrics(Task.REGRESSION, y, pred)
    assert ours["mae"] == pytest.approx(skm.mean_absolute_error(y, pred), rel=TOL)
    assert ours["rmse"] == pytest.approx(skm.root_mean_squared_error(y, pred), rel=TOL)
    assert ours["r2"] == pytest.approx(skm.r2_score(y, pred), abs=1e-10)


def test_undefined_metrics_are_nan_without_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one_class = compute_metrics(Task.BINARY, np.ones(5), np.array([0.1, 0.2, 0.6, 0.7, 0.9]))
        no_positive_pred = compute_metrics(Task.BINARY, np.array([0, 1]), np.array([0.1, 0.2]))
        constant = compute_metrics(Task.REGRESSION, np.full(4, 0.1), np.array([0.1, 0.2, 0, 1]))
    assert np.isnan(one_class["roc_auc"])
    assert one_class["precision"] == 1.0
    assert one_class["recall"] == pytest.approx(0.6)
    assert np.isfinite(one_class["log_loss"])
    assert np.isnan(no_positive_pred["precision"])
    assert no_positive_pred["recall"] == 0.0
    assert no_positive_pred["f1"] == 0.0
    assert np.isnan(constant["r2"])
    assert np.isfinite(constant["rmse"])


def test_log_loss_clips_certain_mistakes_like_sklearn() -> None:
    y = np.array([0, 1, 1, 0])
    p = np.array([1.0, 0.0, 1.0, 0.0])
    ours = compute_metrics(Task.BINARY, y, p, metrics=["log_loss"])["log_loss"]
    assert ours == pytest.approx(skm.log_loss(y, p), rel=TOL)


def test_predict_proba_output_is_accepted_for_binary() -> None:
    y, p = _binary(200, seed=6, ties=False)
    two_columns = np.column_stack([1.0 - p, p])
    assert compute_metrics(Task.BINARY, y, two_columns) == compute_metrics(Task.BINARY, y, p)


def test_registry_names_and_directions() -> None:
    assert metric_names("regression") == ("mae", "rmse", "r2")
    assert metric_names(Task.MULTICLASS) == ("accuracy", "f1_macro", "log_loss")
    lower = {"log_loss", "brier", "mae", "rmse"}
    for task in Task:
        for name in metric_names(task):
            assert higher_is_better(name) is (name not in lower)
            assert get_metric(task, name).higher_is_better is higher_is_better(name)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: higher_is_better("auc"), "metric"),
        (lambda: get_metric(Task.REGRESSION, "roc_auc"), "metric"),
        (lambda: metric_names("ranking"), "task"),
        (lambda: compute_metrics(Task.BINARY, [0, 1], [0.2, 0.8], threshold=1.5), "threshold"),
        (lambda: compute_metrics(Task.BINARY, [0, 1], [0.2, 0.8], threshold=math.nan), "threshold"),
    ],
)
def test_configuration_errors_name_the_field(call: Callable[[], object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        call()
    assert info.value.field == field
    assert info.value.fix


@pytest.mark.parametrize(
    ("task", "y_true", "y_score", "field"),
    [
        (Task.BINARY, [], [], "y_true"),
        (Task.BINARY, [0, 1, 2], [0.1, 0.5, 0.9], "y_true"),
        (Task.BINARY, [0, 1], [0.1, 0.5, 0.9], "y_score"),
        (Task.BINARY, [0, 1], [0.1, np.nan], "y_score"),
        (Task.BINARY, [0, 1], [-2.0, 3.0], "y_score"),
        (Task.BINARY, ["a", "b"], [0.1, 0.2], "y_true"),
        (Task.BINARY, [[0, 1]], [[0.1, 0.2]], "y_true"),
        (Task.BINARY, [0, 1], [[0.1], [0.2, 0.3]], "y_score"),
        (Task.MULTICLASS, [0, 3], [[0.5, 0.5], [0.2, 0.8]], "y_true"),
        (Task.MULTICLASS, [0, 1], [0.5, 0.5], "y_score"),
        (Task.REGRESSION, [1.0, np.inf], [1.0, 2.0], "y_true"),
    ],
)
def test_bad_data_raises_data_error_naming_the_field(
    task: Task, y_true: object, y_score: object, field: str
) -> None:
    with pytest.raises(DataError) as info:
        compute_metrics(task, y_true, y_score)
    assert info.value.field == field
    assert info.value.fix
