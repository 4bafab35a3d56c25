"""Metrics per slice."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from steadyml.core.performance import compute_metrics, slice_metrics
from steadyml.errors import ConfigError, DataError
from steadyml.spec import Task


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    n = 1200
    group = rng.choice(np.array(["a", "b", "c"]), size=n, p=[0.6, 0.3, 0.1])
    y = rng.integers(0, 2, n)
    signal = np.select([group == "a", group == "b"], [0.5, 0.2], 0.0)
    p = np.clip(signal * y + (1 - signal) * rng.random(n), 0, 1)
    return y, p, group


def test_each_slice_matches_compute_metrics_on_its_rows() -> None:
    y, p, group = _data()
    results = slice_metrics(Task.BINARY, y, p, group, metric="roc_auc", rounds=100)
    assert [r.value for r in results] == ["a", "b", "c"]  # largest first
    assert sum(r.rows for r in results) == y.size
    for r in results:
        rows = group == r.value
        assert r.rows == int(rows.sum())
        assert r.interval.estimate == compute_metrics(Task.BINARY, y[rows], p[rows])["roc_auc"]
        assert r.interval.low <= r.interval.estimate <= r.interval.high
        assert r.to_dict()["value"] == r.value
    by_value = {r.value: r.interval.estimate for r in results}
    assert by_value["a"] > by_value["b"] > by_value["c"]


def test_min_rows_drops_small_slices() -> None:
    y, p, group = _data()
    results = slice_metrics(Task.BINARY, y, p, group, metric="accuracy", min_rows=200, rounds=50)
    assert [r.value for r in results] == ["a", "b"]


def test_slice_interval_does_not_depend_on_other_slices() -> None:
    y, p, group = _data()
    full = slice_metrics(Task.BINARY, y, p, group, metric="accuracy", rounds=50, seed=3)
    rows = group != "c"
    part = slice_metrics(
        Task.BINARY, y[rows], p[rows], group[rows], metric="accuracy", rounds=50, seed=3
    )
    assert full[:2] == part


def test_values_of_any_type_and_nulls() -> None:
    y = np.array([0, 1, 0, 1, 1, 0])
    p = np.array([0.2, 0.8, 0.6, 0.4, 0.9, 0.1])
    codes = pl.Series([1, 1, 2, 2, None, None])
    results = slice_metrics(Task.BINARY, y, p, codes, metric="accuracy", rounds=20)
    assert sorted(r.value for r in results) == ["1", "2", "null"]
    assert {r.value: r.interval.estimate for r in results} == {"1": 1.0, "2": 0.0, "null": 1.0}


def test_single_class_slice_is_kept_with_nan() -> None:
    y = np.array([0, 1, 0, 1, 1, 1])
    p = np.array([0.2, 0.8, 0.6, 0.4, 0.9, 0.7])
    sex = np.array(["1", "1", "1", "1", "2", "2"])
    results = slice_metrics(Task.BINARY, y, p, sex, metric="roc_auc", rounds=20)
    assert math.isnan(results[1].interval.estimate)
    assert results[1].rows == 2


def test_bad_input() -> None:
    y = np.array([0, 1, 0])
    p = np.array([0.2, 0.8, 0.6])
    with pytest.raises(DataError) as data:
        slice_metrics(Task.BINARY, y, p, np.array(["a", "b"]), metric="accuracy")
    assert data.value.field == "slice_values"
    with pytest.raises(ConfigError) as config:
        slice_metrics(Task.BINARY, y, p, np.array(["a", "b", "c"]), metric="rmse")
    assert config.value.field == "metric"
    with pytest.raises(ConfigError):
        slice_metrics(Task.BINARY, y, p, np.array(["a", "b", "c"]), metric="f1", min_rows=0)
