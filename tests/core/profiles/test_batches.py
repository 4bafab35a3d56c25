"""Profiles of data given in batches (one pass for windows, two for a reference)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from steadyml.core.profiles import Profile, profile_batches, reference_from_batches
from steadyml.errors import DataError
from tests.core.profiles.helpers import assert_same_up_to_sketches, exact_fields

FRAME = pl.DataFrame(
    {
        "x": np.random.default_rng(0).normal(size=30_000),
        "c": np.random.default_rng(1).choice(["a", "b", "c"], size=30_000),
    }
)


def _batches(frame: pl.DataFrame, rows: int) -> Iterator[pa.RecordBatch]:
    yield from frame.to_arrow().to_batches(max_chunksize=rows)


def test_window_from_batches_equals_window_from_the_whole() -> None:
    reference = Profile.for_reference(FRAME.head(5_000), seed=0).view()
    chunked = profile_batches(_batches(FRAME, 4_096), reference, seed=1)
    whole = reference.new_profile(seed=1).update(FRAME).view()
    assert_same_up_to_sketches(chunked, whole)


def test_reference_from_batches_reads_twice_and_fixes_edges() -> None:
    calls = []

    def batches() -> Iterator[pa.RecordBatch]:
        calls.append(1)
        return _batches(FRAME, 5_000)

    chunked = reference_from_batches(batches, categorical=["c"], bins=10, seed=0)
    in_memory = Profile.for_reference(FRAME, bins=10, seed=0).view()
    assert len(calls) == 2
    assert chunked.rows == in_memory.rows == 30_000
    edges, exact = np.asarray(chunked.schema["x"].edges), np.asarray(in_memory.schema["x"].edges)
    assert edges.shape == exact.shape
    assert edges[0] == exact[0]
    sorted_x = np.sort(FRAME["x"].to_numpy())
    ranks = np.searchsorted(sorted_x, edges[1:-1]) / sorted_x.size
    np.testing.assert_allclose(ranks, np.linspace(0.1, 0.9, 9), atol=0.01)  # KLL k=400 edges
    assert exact_fields(chunked)["columns"]["c"] == exact_fields(in_memory)["columns"]["c"]


def test_no_batches_is_a_data_error() -> None:
    with pytest.raises(DataError, match="no batches"):
        reference_from_batches(lambda: iter([]))
    with pytest.raises(DataError, match="bins"):
        reference_from_batches(lambda: _batches(FRAME, 10), bins=0)
