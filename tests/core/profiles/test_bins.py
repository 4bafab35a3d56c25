"""Reference bin edges and exact histograms on them."""

from __future__ import annotations

import numpy as np

from steadyml.core.profiles.bins import (
    bin_labels,
    edges_from_quantiles,
    edges_from_sketch,
    histogram_sorted,
    reference_edges,
)


def _direct_histogram(values: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    index = np.searchsorted(np.asarray(edges), values, side="right")
    return np.bincount(index, minlength=len(edges) + 1)


def test_continuous_edges_give_equal_frequency_bins() -> None:
    values = np.sort(np.random.default_rng(0).normal(size=100_000))
    edges = reference_edges(values, 20)
    assert len(edges) == 21
    counts = histogram_sorted(values, np.asarray(edges))
    assert counts[0] == 0
    assert counts[-1] == 0
    np.testing.assert_allclose(counts[1:-1], 5_000, atol=2)


def test_histogram_matches_a_direct_count_with_infinities() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=5_000)
    edges = reference_edges(np.sort(rng.normal(size=1_000)), 10)
    finite = np.sort(values)
    counts = histogram_sorted(finite, np.asarray(edges), neginf=3, posinf=4)
    expected = _direct_histogram(values, edges)
    expected[0] += 3
    expected[-1] += 4
    np.testing.assert_array_equal(counts, expected)


def test_spikes_get_a_bin_of_their_own() -> None:
    values = np.sort(np.concatenate([np.zeros(6_000), np.linspace(1, 10, 4_000)]))
    edges = reference_edges(values, 10)
    counts = histogram_sorted(values, np.asarray(edges))
    assert 0.0 in edges
    assert np.nextafter(0.0, 1.0) in edges
    assert counts[edges.index(0.0) + 1] == 6_000  # the bin [0, 0+) holds exactly the zeros


def test_constant_and_empty_columns() -> None:
    assert edges_from_quantiles(np.full(5, 3.0)) == (3.0, float(np.nextafter(3.0, 4.0)))
    assert reference_edges(np.array([]), 10) == ()
    assert edges_from_quantiles(np.array([np.nan, np.inf])) == ()
    counts = histogram_sorted(
        np.array([1.0, 3.0, 3.0, 5.0]), np.array([3.0, np.nextafter(3.0, 4.0)])
    )
    np.testing.assert_array_equal(counts, [1, 2, 1])


def test_discrete_values_are_each_a_bin() -> None:
    values = np.sort(np.random.default_rng(2).integers(0, 5, 10_000).astype(float))
    edges = reference_edges(values, 20)
    counts = histogram_sorted(values, np.asarray(edges))
    nonzero = counts[counts > 0]
    assert nonzero.size == 5
    np.testing.assert_array_equal(np.sort(nonzero), np.sort(np.bincount(values.astype(int))))


def test_edges_from_sketch_are_close_to_exact_quantiles() -> None:
    import datasketches as ds

    values = np.random.default_rng(3).exponential(size=50_000)
    sketch = ds.kll_doubles_sketch(400)
    sketch.update(values)
    approx = np.asarray(edges_from_sketch(sketch, 10))
    exact = np.asarray(reference_edges(np.sort(values), 10))
    assert approx.shape == exact.shape
    assert approx[0] == exact[0]
    assert approx[-1] == exact[-1]
    ranks_approx = np.searchsorted(np.sort(values), approx) / values.size
    ranks_exact = np.searchsorted(np.sort(values), exact) / values.size
    np.testing.assert_allclose(ranks_approx, ranks_exact, atol=0.01)  # KLL k=400: < 1 % rank error
    assert edges_from_sketch(ds.kll_doubles_sketch(200), 10) == ()


def test_labels_describe_every_bin() -> None:
    edges = (0.0, float(np.nextafter(0.0, 1.0)), 1.0, float(np.nextafter(2.0, 3.0)))
    assert bin_labels(edges) == ["< 0", "= 0", "[4.94066e-324, 1)", "[1, 2)", "> 2"]
    assert bin_labels(()) == ["all values"]
