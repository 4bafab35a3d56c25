"""Numeric column summaries: counts, moments, histogram and sketches."""

from __future__ import annotations

import numpy as np
import pytest

from steadyml.core.profiles.bins import reference_edges
from steadyml.core.profiles.numeric import NumericAccumulator, NumericSummary


def _summary(
    values: np.ndarray, edges: tuple[float, ...], nulls: int = 0, chunks: int = 1
) -> NumericSummary:
    accumulator = NumericAccumulator(edges)
    for part, part_nulls in zip(
        np.array_split(values, chunks), [nulls] + [0] * (chunks - 1), strict=True
    ):
        accumulator.update(part, part_nulls)
    return accumulator.summary()


def test_counts_of_missing_and_infinite_values() -> None:
    values = np.array([1.0, np.nan, np.nan, np.inf, -np.inf, -np.inf, 2.0, 3.0])
    summary = _summary(values, (1.0, 2.0, 3.5), nulls=1)
    assert (summary.count, summary.nulls, summary.nans) == (8, 1, 1)
    assert (summary.posinf, summary.neginf, summary.finite) == (1, 2, 3)
    assert summary.missing == 2
    assert (summary.minimum, summary.maximum) == (1.0, 3.0)
    np.testing.assert_array_equal(summary.histogram, [2, 1, 2, 1])


def test_moments_match_numpy_across_chunks() -> None:
    values = np.random.default_rng(0).lognormal(3.0, 1.0, size=100_003)
    summary = _summary(values, (), chunks=7)
    # Chan's merge of chunk moments: relative error at the level of float rounding
    assert summary.mean == pytest.approx(values.mean(), rel=1e-12)
    assert summary.variance == pytest.approx(values.var(ddof=1), rel=1e-9)
    assert summary.std == pytest.approx(values.std(ddof=1), rel=1e-9)


def test_histogram_is_exact() -> None:
    rng = np.random.default_rng(1)
    edges = reference_edges(np.sort(rng.normal(size=10_000)), 20)
    values = rng.normal(0.3, 1.2, size=50_000)
    summary = _summary(values, edges, chunks=5)
    expected = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    np.testing.assert_array_equal(summary.histogram, expected)


def test_quantiles_are_within_the_recorded_rank_error() -> None:
    values = np.random.default_rng(2).gamma(2.0, size=200_000)
    summary = _summary(values, (), chunks=4)
    assert 0 < summary.rank_error < 0.02  # KLL k=200: about 1.3 %
    probs = np.linspace(0.01, 0.99, 50)
    estimates = summary.quantiles(probs)
    ranks = np.searchsorted(np.sort(values), estimates) / values.size
    assert np.max(np.abs(ranks - probs)) <= summary.rank_error


def test_small_inputs_are_exact_and_empty_inputs_are_safe() -> None:
    small = _summary(np.array([3.0, 1.0, 2.0]), ())
    assert small.rank_error == 0.0
    np.testing.assert_array_equal(small.quantiles(np.array([0.0, 1.0])), [1.0, 3.0])
    empty = _summary(np.array([np.nan, np.nan]), (0.0, 1.0), nulls=2)
    assert empty.finite == 0
    assert empty.minimum is None
    assert np.isnan(empty.variance)
    assert np.isnan(empty.quantiles(np.array([0.5]))).all()
    assert empty.distinct() == 0.0


def test_distinct_count_estimate() -> None:
    values = np.random.default_rng(3).integers(0, 5_000, size=100_000).astype(float)
    summary = _summary(values, (), chunks=3)
    assert abs(summary.distinct() - np.unique(values).size) <= 0.07 * 5_000


def test_type_errors_are_counted_not_profiled() -> None:
    accumulator = NumericAccumulator((0.0, 1.0))
    accumulator.update(np.array([0.5]), 0)
    accumulator.add_type_errors(4)
    summary = accumulator.summary()
    assert (summary.count, summary.type_errors, summary.finite) == (5, 4, 1)


def test_merge_and_dict_round_trip() -> None:
    rng = np.random.default_rng(4)
    edges = reference_edges(np.sort(rng.normal(size=1_000)), 8)
    a, b = rng.normal(size=3_000), rng.normal(1.0, size=2_000)
    merged = _summary(a, edges).merge(_summary(b, edges))
    whole = _summary(np.concatenate([a, b]), edges)
    np.testing.assert_array_equal(merged.histogram, whole.histogram)
    assert (merged.count, merged.minimum, merged.maximum) == (
        whole.count,
        whole.minimum,
        whole.maximum,
    )
    assert merged.mean == pytest.approx(whole.mean, rel=1e-12)
    np.testing.assert_array_equal(merged.hll, whole.hll)
    again = NumericSummary.from_dict(merged.to_dict())
    assert again.to_dict() == merged.to_dict()
    with pytest.raises(ValueError, match="different bins"):
        merged.merge(_summary(a, ()))
