"""KLL sketches built from sorted chunks: a valid library sketch, within its error bound."""

from __future__ import annotations

import struct

import datasketches as ds
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steadyml.core.profiles.kll import DIRECT_UPDATE_ROWS, sketch_of_sorted, total_capacity


def _exact_below(ordered: np.ndarray, points: np.ndarray) -> np.ndarray:
    return np.searchsorted(ordered, points, side="left") / ordered.size


def _max_rank_error(sketch: ds.kll_doubles_sketch, ordered: np.ndarray) -> float:
    points = np.unique(np.quantile(ordered, np.linspace(0.005, 0.995, 199)))
    estimated = np.asarray(sketch.get_cdf(points.tolist(), False))[:-1]
    return float(np.max(np.abs(estimated - _exact_below(ordered, points))))


@pytest.mark.parametrize(("n", "k"), [(1_000, 200), (12_345, 200), (100_000, 400), (300_001, 64)])
def test_total_capacity_is_the_library_formula(n: int, k: int) -> None:
    sketch = ds.kll_doubles_sketch(k)
    sketch.update(np.random.default_rng(n).normal(size=n))
    raw = bytes(sketch.serialize())
    num_levels = struct.unpack_from("<B", raw, 18)[0]
    first = struct.unpack_from("<I", raw, 20)[0]  # free slots before level 0
    assert total_capacity(k, num_levels) - first == sketch.num_retained


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng: rng.normal(size=400_000),
        lambda rng: rng.lognormal(3.0, 1.0, size=400_000),
        lambda rng: rng.poisson(4.0, size=400_000).astype(float),
    ],
)
def test_summary_of_a_sorted_chunk_is_within_the_sketch_error(draw: object) -> None:
    rng = np.random.default_rng(7)
    ordered = np.sort(draw(rng))  # type: ignore[operator]
    sketch = sketch_of_sorted(ordered, 400, rng)
    assert sketch.n == ordered.size
    assert sketch.get_min_value() == ordered[0] and sketch.get_max_value() == ordered[-1]
    assert sketch.num_retained <= 400 + 20
    # measured against exact ranks: no worse than the error the library records for k
    assert _max_rank_error(sketch, ordered) <= sketch.normalized_rank_error(False)


def test_merged_chunk_summaries_match_the_whole_within_the_bound() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=800_000)
    merged = ds.kll_doubles_sketch(400)
    for chunk in np.array_split(values, 8):
        merged.merge(sketch_of_sorted(np.sort(chunk), 400, rng))
    ordered = np.sort(values)
    assert merged.n == values.size
    assert _max_rank_error(merged, ordered) <= merged.normalized_rank_error(False)


def test_small_chunks_are_fed_to_the_sketch_directly() -> None:
    ordered = np.sort(np.random.default_rng(1).normal(size=DIRECT_UPDATE_ROWS))
    direct = ds.kll_doubles_sketch(400)
    direct.update(ordered)
    built = sketch_of_sorted(ordered, 400, np.random.default_rng(2))
    assert built.n == direct.n and built.num_retained == direct.num_retained
    assert sketch_of_sorted(np.empty(0), 400, np.random.default_rng(0)).is_empty()


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(DIRECT_UPDATE_ROWS + 1, 60_000),
    k=st.sampled_from([8, 16, 50, 200]),
    seed=st.integers(0, 2**32 - 1),
    levels=st.integers(1, 50),
)
def test_summary_error_never_exceeds_two_over_k(n: int, k: int, seed: int, levels: int) -> None:
    # each level is compacted once, so the rank error is below the top weight 2**h,
    # and the top level keeps more than k/2 items: at most 2/k of the rows, always
    rng = np.random.default_rng(seed)
    ordered = np.sort(rng.integers(0, levels, size=n).astype(float) + rng.random(n) * 0.5)
    sketch = sketch_of_sorted(ordered, k, rng)
    assert sketch.n == n
    assert sketch.get_min_value() == ordered[0] and sketch.get_max_value() == ordered[-1]
    assert _max_rank_error(sketch, ordered) < 2.0 / k + 1.0 / n
