"""Confidence-based performance estimation."""

from __future__ import annotations

import json
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.isotonic import IsotonicRegression

from steadyml.core.performance import CBPE, compute_metrics
from steadyml.datasets import FEATURES, TARGET, load_employment
from steadyml.errors import ConfigError, DataError
from steadyml.spec import Task


def _calibrated(n: int, seed: int, alpha: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.beta(alpha, alpha, n)
    return (rng.random(n) < p).astype(int), p


def test_estimate_matches_realised_on_a_calibrated_problem() -> None:
    y_ref, p_ref = _calibrated(20000, seed=1)
    estimator = CBPE.fit(y_ref, p_ref)
    # A shifted population (more confident scores): accuracy changes, calibration holds.
    y, p = _calibrated(20000, seed=2, alpha=0.7)
    estimate = estimator.estimate(p)
    realised = compute_metrics(Task.BINARY, y, p)
    assert realised["accuracy"] - compute_metrics(Task.BINARY, y_ref, p_ref)["accuracy"] > 0.05
    # Stated tolerance: 0.015 (sampling error of 20k rows is ~0.003; calibration error adds).
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert estimate[name] == pytest.approx(realised[name], abs=0.015), name
    counts = [estimate[k] for k in ("tp", "fp", "tn", "fn")]
    assert sum(counts) == pytest.approx(p.size)
    assert min(counts) > 0


def test_calibration_map_equals_sklearn_isotonic() -> None:
    rng = np.random.default_rng(3)
    p_ref = rng.random(3000)
    y_ref = (rng.random(3000) < p_ref**2).astype(int)  # over-confident model
    estimator = CBPE.fit(y_ref, p_ref)
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(p_ref, y_ref)
    grid = np.linspace(0, 1, 501)
    np.testing.assert_allclose(estimator.calibrate(grid), iso.predict(grid), atol=1e-12)


def test_expected_counts_and_auc_by_hand() -> None:
    estimator = CBPE(threshold=0.5, knots_x=np.array([0.0, 1.0]), knots_y=np.array([0.0, 1.0]))
    estimate = estimator.estimate([0.2, 0.6, 0.9])  # identity calibration
    assert estimate["tp"] == pytest.approx(1.5)
    assert estimate["fp"] == pytest.approx(0.5)
    assert estimate["fn"] == pytest.approx(0.2)
    assert estimate["tn"] == pytest.approx(0.8)
    assert estimate["accuracy"] == pytest.approx(2.3 / 3)
    # Fractional labels: every pair (i, j) with s_i > s_j counts c_i (1 - c_j), ties 1/2.
    c = np.array([0.2, 0.6, 0.9])
    wins = sum(c[i] * (1 - c[j]) * (1.0 if i > j else 0.5 if i == j else 0.0)
               for i in range(3) for j in range(3))  # fmt: skip
    assert estimate["roc_auc"] == pytest.approx(wins / (c.sum() * (1 - c).sum()), abs=1e-12)


def test_to_dict_round_trip_through_json() -> None:
    y_ref, p_ref = _calibrated(2000, seed=4)
    estimator = CBPE.fit(y_ref, p_ref, threshold=0.4)
    restored = CBPE.from_dict(json.loads(json.dumps(estimator.to_dict())))
    probe = np.random.default_rng(5).random(500)
    assert restored.threshold == 0.4
    assert restored.estimate(probe) == estimator.estimate(probe)


@settings(max_examples=30, deadline=None)
@given(
    labels=st.lists(st.integers(0, 1), min_size=2, max_size=60).filter(
        lambda v: 0 < sum(v) < len(v)
    ),
    seed=st.integers(0, 2**16),
    threshold=st.floats(0.05, 0.95),
)
def test_fit_estimate_and_round_trip_never_break(
    labels: list[int], seed: int, threshold: float
) -> None:
    p = np.random.default_rng(seed).random(len(labels))
    estimator = CBPE.fit(labels, p, threshold=threshold)
    restored = CBPE.from_dict(estimator.to_dict())
    estimate = restored.estimate(p)
    assert estimate == estimator.estimate(p)
    assert 0.0 <= estimate["accuracy"] <= 1.0
    assert sum(estimate[k] for k in ("tp", "fp", "tn", "fn")) == pytest.approx(len(labels))


@pytest.mark.parametrize(
    ("stored", "field"),
    [
        ({"format": "other"}, "cbpe.format"),
        ({"format": "steadyml.cbpe/1", "threshold": 0.5}, "cbpe"),
        (
            {
                "format": "steadyml.cbpe/1",
                "threshold": 0.5,
                "knots_x": [0.5, 0.1],
                "knots_y": [0, 1],
            },
            "cbpe.knots",
        ),
        (
            {"format": "steadyml.cbpe/1", "threshold": 0.5, "knots_x": [0.1], "knots_y": [2.0]},
            "cbpe.knots",
        ),
    ],
)
def test_from_dict_rejects_broken_dicts(stored: dict[str, Any], field: str) -> None:
    with pytest.raises(DataError) as info:
        CBPE.from_dict(stored)
    assert info.value.field == field


def test_fit_and_estimate_reject_bad_input() -> None:
    with pytest.raises(DataError) as one_class:
        CBPE.fit([1, 1, 1], [0.2, 0.5, 0.9])
    assert one_class.value.field == "y_true_reference"
    with pytest.raises(ConfigError):
        CBPE.fit([0, 1], [0.2, 0.9], threshold=2.0)
    estimator = CBPE.fit([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.6])
    for bad in ([], [0.5, np.nan], [[0.1, 0.2, 0.7]], [1.5]):
        with pytest.raises(DataError) as info:
            estimator.estimate(bad)
        assert info.value.field == "prob"


def _features(frame: pl.DataFrame) -> np.ndarray:
    return frame.select(pl.col(c).cast(pl.Float64) for c in FEATURES).to_numpy()


def _positive(model: lgb.LGBMClassifier, frame: pl.DataFrame) -> np.ndarray:
    return np.asarray(model.predict_proba(_features(frame)))[:, 1]


def test_census_lightgbm_estimate_matches_realised_2016() -> None:
    """Train on half of 2015, calibrate on the other half, estimate 2016 without labels."""
    data = load_employment()
    ref = data.reference
    fit_rows = pl.Series(np.random.default_rng(0).random(ref.height) < 0.5)
    train, calib = ref.filter(fit_rows), ref.filter(~fit_rows)
    model = lgb.LGBMClassifier(
        n_estimators=150, learning_rate=0.08, verbose=-1, random_state=0, n_jobs=1
    )
    model.fit(_features(train), train[TARGET].to_numpy(), categorical_feature=list(range(1, 16)))
    estimator = CBPE.fit(calib[TARGET].to_numpy(), _positive(model, calib))
    year = data.analysis.filter(pl.col("year") == 2016).join(data.analysis_labels, on="id")
    prob = _positive(model, year)
    estimate = estimator.estimate(prob)
    realised = compute_metrics(Task.BINARY, year[TARGET].to_numpy(), prob)
    # Observed: accuracy 0.827 vs 0.826, ROC AUC 0.903 vs 0.902 (gap ~0.001-0.002).
    assert estimate["accuracy"] == pytest.approx(realised["accuracy"], abs=0.02)
    assert estimate["roc_auc"] == pytest.approx(realised["roc_auc"], abs=0.02)
    assert estimate["f1"] == pytest.approx(realised["f1"], abs=0.02)
