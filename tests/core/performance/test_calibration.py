"""Expected calibration error and the reliability table."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from numpy.typing import NDArray
from sklearn.calibration import calibration_curve

from steadyml.core.performance import expected_calibration_error, reliability_table
from steadyml.errors import ConfigError, DataError


def _direct_ece(y: NDArray[np.float64], p: NDArray[np.float64], bins: int) -> float:
    """Straight from the definition, one bin at a time (bins (a, b], the first [0, b])."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for b in range(bins):
        low, high = edges[b], edges[b + 1]
        inside = (p > low) & (p <= high) if b else (p >= low) & (p <= high)
        if inside.any():
            total += inside.sum() / p.size * abs(y[inside].mean() - p[inside].mean())
    return total


@pytest.mark.parametrize("bins", [1, 5, 10, 15])
def test_ece_matches_direct_computation(bins: int) -> None:
    rng = np.random.default_rng(1)
    p = rng.random(5000) ** 2
    y = (rng.random(5000) < np.sqrt(p)).astype(np.float64)  # under-confident model
    p[:20] = np.linspace(0, 1, 20)  # values exactly on bin edges
    assert expected_calibration_error(y, p, bins=bins) == pytest.approx(
        _direct_ece(y, p, bins), abs=1e-12
    )


def test_ece_is_small_for_a_calibrated_model_and_large_for_a_bad_one() -> None:
    rng = np.random.default_rng(2)
    p = rng.random(20000)
    y = (rng.random(20000) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.02
    assert expected_calibration_error(y, np.clip(p + 0.3, 0, 1)) > 0.2


def test_reliability_table_matches_sklearn_calibration_curve() -> None:
    rng = np.random.default_rng(3)
    p = rng.beta(2, 5, 3000)
    y = (rng.random(3000) < p).astype(int)
    table = reliability_table(y, p, bins=10)
    assert table.columns == ["bin", "low", "high", "count", "mean_prob", "frac_pos"]
    assert table.height == 10
    assert table["count"].sum() == 3000
    filled = table.filter(pl.col("count") > 0)
    frac_pos, mean_prob = calibration_curve(y, p, n_bins=10)
    np.testing.assert_allclose(filled["frac_pos"].to_numpy(), frac_pos, atol=1e-12)
    np.testing.assert_allclose(filled["mean_prob"].to_numpy(), mean_prob, atol=1e-12)


def test_reliability_table_keeps_empty_bins_with_null_means() -> None:
    table = reliability_table([0, 1, 1], [0.05, 0.95, 0.9], bins=4)
    assert table["count"].to_list() == [1, 0, 0, 2]
    assert table["mean_prob"].null_count() == 2
    assert table["frac_pos"].to_list() == [0.0, None, None, 1.0]
    assert table["high"].to_list() == [0.25, 0.5, 0.75, 1.0]


def test_multiclass_uses_top_label_confidence() -> None:
    prob = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.4, 0.35, 0.25], [0.2, 0.7, 0.1]])
    y = np.array([0, 1, 0, 1])  # rows 0, 2 and 3 are right
    confidence = prob.max(axis=1)
    correct = (prob.argmax(axis=1) == y).astype(np.float64)
    assert expected_calibration_error(y, prob, bins=5) == pytest.approx(
        _direct_ece(correct, confidence, 5), abs=1e-12
    )


def test_bad_input() -> None:
    with pytest.raises(ConfigError) as config:
        expected_calibration_error([0, 1], [0.1, 0.9], bins=0)
    assert config.value.field == "bins"
    with pytest.raises(DataError) as data:
        reliability_table([0, 1], [0.1, 1.2])
    assert data.value.field == "y_score"
