"""The profiling hot path's shortcuts give the same results as the plain computations."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steadyml.core.profiles import Profile, ProfileSchema, reference_from_batches
from steadyml.core.profiles.hll import HyperLogLog
from steadyml.core.profiles.ingest import numeric_column, primitive_values, valid_mask
from steadyml.core.profiles.numeric import NumericAccumulator
from steadyml.core.profiles.reservoir import Reservoir
from steadyml.core.profiles.scratch import SLICE_ROWS, Scratch
from tests.core.profiles.helpers import exact_fields


def test_scratch_reuses_and_grows_its_arrays() -> None:
    scratch = Scratch()
    first = scratch.take("a", 100, np.float64)
    assert np.shares_memory(first, scratch.take("a", 50, np.float64))
    bigger = scratch.take("a", 200, np.float64)
    assert bigger.shape == (200,) and not np.shares_memory(first, bigger)
    assert scratch.take("a", 10, np.uint64).dtype == np.uint64


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), min_size=1, max_size=200),
    data=st.data(),
)
def test_buffer_views_read_sliced_arrays_with_nulls(
    values: list[float | None], data: st.DataObject
) -> None:
    start = data.draw(st.integers(0, len(values) - 1))
    array = pa.array(values, type=pa.float64()).slice(start)
    expected = array.to_pylist()
    assert valid_mask(array).tolist() == [v is not None for v in expected]
    converted = numeric_column(array)
    assert converted is not None
    got, nulls = converted
    assert nulls == sum(v is None for v in expected)
    np.testing.assert_array_equal(got, [np.nan if v is None else v for v in expected])
    present = [v for v in expected if v is not None]
    np.testing.assert_array_equal(primitive_values(array, np.float64)[valid_mask(array)], present)


def test_hyperloglog_with_scratch_matches_without() -> None:
    values = np.random.default_rng(0).normal(size=50_000)
    plain, reused = HyperLogLog(), HyperLogLog()
    plain.update_floats(values)
    scratch = Scratch()
    reused.update_floats(values[:10_000], scratch)
    reused.update_floats(values[10_000:], scratch)
    np.testing.assert_array_equal(plain.registers, reused.registers)
    assert plain.estimate() == pytest.approx(50_000, rel=0.05)


def test_a_chunk_longer_than_a_slice_equals_its_slices() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=SLICE_ROWS + 12_345)
    values[::97] = np.nan
    values[5] = np.inf
    edges = tuple(np.linspace(-2.0, 2.0, 9))
    whole, parts = NumericAccumulator(edges), NumericAccumulator(edges)
    whole.update(values, nulls=0)
    for piece in np.array_split(values, 7):
        parts.update(piece, nulls=0)
    a, b = whole.summary(), parts.summary()
    assert (a.count, a.nans, a.posinf, a.finite) == (b.count, b.nans, b.posinf, b.finite)
    np.testing.assert_array_equal(a.histogram, b.histogram)
    np.testing.assert_array_equal(a.hll, b.hll)
    assert a.mean == pytest.approx(b.mean, rel=1e-12)
    assert a.m2 == pytest.approx(b.m2, rel=1e-9)
    finite = values[np.isfinite(values)]
    assert a.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert a.variance == pytest.approx(finite.var(ddof=1), rel=1e-9)


def test_dictionary_text_is_sampled_like_plain_text() -> None:
    rng = np.random.default_rng(2)
    labels = rng.choice(np.array(["a", "b", "c"], dtype=object), size=30_000)
    labels[::11] = None
    plain = pa.table({"c": pa.array(labels.tolist(), type=pa.string())})
    encoded = pa.table({"c": pa.chunked_array([c.dictionary_encode() for c in plain["c"].chunks])})
    schema = Profile.for_reference(plain).schema
    samples = []
    for table in (plain, encoded):
        reservoir = Reservoir(schema, 1_000, np.random.default_rng(3))
        reservoir.update(table.slice(0, 20_000))
        reservoir.update(table.slice(20_000))
        samples.append(reservoir.sample())
    assert isinstance(schema, ProfileSchema)
    np.testing.assert_array_equal(samples[0].keys, samples[1].keys)
    assert samples[0].columns["c"].tolist() == samples[1].columns["c"].tolist()
    assert None in samples[1].columns["c"].tolist()


def test_a_small_reference_may_be_read_once() -> None:
    rng = np.random.default_rng(4)
    table = pa.table({"x": rng.normal(size=20_000), "c": rng.choice(["a", "b"], 20_000)})
    calls: list[int] = []

    def batches() -> Iterator[pa.RecordBatch]:
        calls.append(1)
        yield from table.to_batches(max_chunksize=4_000)

    once = reference_from_batches(batches, seed=0, keep_bytes=1 << 30)
    assert len(calls) == 1
    twice = reference_from_batches(batches, seed=0, keep_bytes=1_000)
    assert len(calls) == 3
    assert once.rows == twice.rows == 20_000
    assert exact_fields(once)["columns"]["c"] == exact_fields(twice)["columns"]["c"]


def test_profiling_does_not_import_pandas(tmp_path: Path) -> None:
    # Arrow's generic conversions import pandas on first use (0.3 s per process)
    rng = np.random.default_rng(0)
    x = rng.normal(size=300_000)
    x[::7] = np.nan
    table = pa.table(
        {
            "x": pa.array(x, from_pandas=True),
            "n": rng.integers(0, 9, 300_000),
            "c": pa.array(rng.choice(np.array(["a", "b", None], dtype=object), 300_000)),
        }
    )
    path = tmp_path / "data.parquet"
    pq.write_table(table, path)
    code = (
        "import sys, pyarrow.parquet as pq\n"
        "from steadyml.core.drift import compare\n"
        "from steadyml.core.profiles import profile_batches, reference_from_batches\n"
        "def read():\n"
        f"    return pq.ParquetFile({str(path)!r}, read_dictionary=['c']).iter_batches(100_000)\n"
        "ref = reference_from_batches(read, seed=0)\n"
        "cur = profile_batches(read(), ref, seed=1)\n"
        "compare(ref, cur)\n"
        "print('pandas' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "False"
