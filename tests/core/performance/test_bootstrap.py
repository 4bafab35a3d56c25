"""Bootstrap intervals and the paired bootstrap test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score

from steadyml.core.performance import (
    Interval,
    bootstrap_interval,
    bootstrap_intervals,
    compute_metrics,
    metric_names,
    paired_bootstrap,
)
from steadyml.core.performance.bootstrap import resample_counts
from steadyml.errors import ConfigError, DataError
from steadyml.spec import Task


def _data(n: int, seed: int, signal: float = 0.3) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return y, np.clip(signal * y + (1.0 - signal) * rng.random(n), 0.0, 1.0)


def _reference_auc_replicates(
    y: NDArray[np.int64], p: NDArray[np.float64], rounds: int, seed: int
) -> NDArray[np.float64]:
    """The slow way: resample rows round by round and call scikit-learn."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(rounds):
        rows = rng.integers(0, y.size, size=y.size)
        out.append(roc_auc_score(y[rows], p[rows]) if np.ptp(y[rows]) else math.nan)
    return np.array(out)


def test_auc_interval_equals_slow_reference_loop_with_same_seed() -> None:
    y, p = _data(150, seed=1)
    p = np.round(p, 2)  # ties
    ref = _reference_auc_replicates(y, p, rounds=300, seed=7)
    low, high = np.quantile(ref, [0.05, 0.95])
    ci = bootstrap_interval(Task.BINARY, "roc_auc", y, p, rounds=300, level=0.9, seed=7)
    # Same seed gives the same resamples: only float summation order differs.
    assert ci.low == pytest.approx(low, abs=1e-12)
    assert ci.high == pytest.approx(high, abs=1e-12)
    assert ci.estimate == pytest.approx(roc_auc_score(y, p), abs=1e-12)


def test_auc_interval_close_to_independent_reference_loop() -> None:
    """Different seeds: the intervals agree up to Monte-Carlo error (stated: 0.015)."""
    y, p = _data(400, seed=2)
    ref = _reference_auc_replicates(y, p, rounds=600, seed=123)
    low, high = np.quantile(ref, [0.025, 0.975])
    ci = bootstrap_interval(Task.BINARY, "roc_auc", y, p, rounds=600, seed=9)
    assert abs(ci.low - low) < 0.015
    assert abs(ci.high - high) < 0.015


def test_resample_counts_match_round_by_round_draws_across_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("steadyml.core.performance.bootstrap.CHUNK_ELEMENTS", 250)
    n, rounds = 60, 17  # 4 rounds per chunk, a partial last chunk
    chunks = list(resample_counts(n, rounds, np.random.default_rng(5)))
    assert len(chunks) == 5
    counts = np.vstack(chunks)
    rng = np.random.default_rng(5)
    want = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(rounds)])
    np.testing.assert_array_equal(counts, want)
    assert (counts.sum(axis=1) == n).all()


def test_wider_level_gives_wider_interval_and_seed_reproduces() -> None:
    y, p = _data(500, seed=3)
    narrow = bootstrap_interval(Task.BINARY, "accuracy", y, p, rounds=300, level=0.5)
    wide = bootstrap_interval(Task.BINARY, "accuracy", y, p, rounds=300, level=0.99)
    assert wide.low < narrow.low < narrow.high < wide.high
    assert bootstrap_interval(Task.BINARY, "accuracy", y, p, rounds=300, level=0.5) == narrow


def test_intervals_cover_every_metric_and_round_trip_to_dict() -> None:
    y, p = _data(600, seed=4)
    found = bootstrap_intervals(Task.BINARY, y, p, rounds=100)
    assert list(found) == list(metric_names(Task.BINARY))
    point = compute_metrics(Task.BINARY, y, p)
    for name, ci in found.items():
        assert ci.estimate == point[name]
        assert ci.low <= ci.high
        assert Interval(**ci.to_dict()) == ci


def test_regression_and_multiclass_intervals() -> None:
    rng = np.random.default_rng(5)
    y = rng.normal(size=300)
    reg = bootstrap_intervals(Task.REGRESSION, y, y + 0.5 * rng.normal(size=300), rounds=200)
    assert 0.4 < reg["rmse"].low < 0.5 < reg["rmse"].high < 0.6
    labels = rng.integers(0, 3, 300)
    prob = rng.dirichlet(np.ones(3), size=300)
    multi = bootstrap_intervals(Task.MULTICLASS, labels, prob, rounds=200)
    assert multi["accuracy"].low < 1 / 3 < multi["accuracy"].high  # scores ignore the labels


def test_paired_bootstrap_detects_a_real_improvement() -> None:
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 3000)
    noise = rng.random(3000)
    champion = np.clip(0.15 * y + 0.85 * noise, 0, 1)
    candidate = np.clip(0.30 * y + 0.70 * noise, 0, 1)
    result = paired_bootstrap(Task.BINARY, "roc_auc", y, candidate, champion, rounds=300)
    assert result.delta == pytest.approx(result.candidate - result.champion)
    assert result.delta > 0.05
    assert 0 < result.low < result.delta < result.high
    assert result.p_value < 0.01
    assert result.prob_better == 1.0
    strict = paired_bootstrap(
        Task.BINARY, "roc_auc", y, candidate, champion, rounds=300, min_effect=0.5
    )
    assert strict.p_value == 1.0  # the improvement is real but far below 0.5 AUC
    backwards = paired_bootstrap(Task.BINARY, "roc_auc", y, champion, candidate, rounds=300)
    assert backwards.delta < 0
    assert backwards.p_value == 1.0


def test_paired_bootstrap_on_identical_models_finds_nothing() -> None:
    y, p = _data(1000, seed=7)
    for metric in ("roc_auc", "log_loss", "accuracy"):
        result = paired_bootstrap(Task.BINARY, metric, y, p, p, rounds=200)
        assert result.delta == 0.0
        assert result.low == result.high == 0.0
        assert result.p_value > 0.5
        assert result.prob_better == 0.0


def test_paired_delta_is_oriented_for_losses() -> None:
    rng = np.random.default_rng(8)
    y = rng.normal(size=500)
    better, worse = y + 0.1 * rng.normal(size=500), y + 0.5 * rng.normal(size=500)
    result = paired_bootstrap(Task.REGRESSION, "rmse", y, better, worse, rounds=200)
    assert result.candidate < result.champion
    assert result.delta == pytest.approx(result.champion - result.candidate)
    assert result.delta > 0
    assert result.p_value < 0.01
    assert result.to_dict()["metric"] == "rmse"


def test_paired_bootstrap_rejects_mismatched_scores() -> None:
    y, p = _data(50, seed=9)
    with pytest.raises(DataError) as info:
        paired_bootstrap(Task.BINARY, "roc_auc", y, p, p[:-1])
    assert info.value.field == "y_score"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rounds": 0}, "rounds"),
        ({"rounds": 2.5}, "rounds"),
        ({"level": 1.0}, "level"),
        ({"level": 0}, "level"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_settings_raise_config_error(kwargs: dict[str, float], field: str) -> None:
    y, p = _data(20, seed=10)
    with pytest.raises(ConfigError) as info:
        bootstrap_interval(Task.BINARY, "roc_auc", y, p, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_metric_undefined_in_every_resample_gives_nan_bounds() -> None:
    ci = bootstrap_interval(Task.BINARY, "roc_auc", np.ones(10), np.linspace(0, 1, 10))
    assert math.isnan(ci.estimate)
    assert math.isnan(ci.low)
    assert math.isnan(ci.high)


@settings(max_examples=40, deadline=None)
@given(
    labels=st.lists(st.integers(0, 1), min_size=1, max_size=40),
    seed=st.integers(0, 2**16),
    metric=st.sampled_from(metric_names(Task.BINARY)),
)
def test_interval_is_ordered_and_estimate_equals_compute_metrics(
    labels: list[int], seed: int, metric: str
) -> None:
    rng = np.random.default_rng(seed)
    y = np.array(labels)
    p = np.round(rng.random(y.size), 1)
    ci = bootstrap_interval(Task.BINARY, metric, y, p, rounds=25, seed=seed)
    point = compute_metrics(Task.BINARY, y, p)[metric]
    assert ci.estimate == point or (math.isnan(ci.estimate) and math.isnan(point))
    if not math.isnan(ci.low):
        assert ci.low <= ci.high
