"""The bounded uniform row sample."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from scipy import stats

from steadyml.core.profiles.reservoir import Reservoir, RowSample
from steadyml.core.profiles.schema import ColumnKind, ColumnSchema, ProfileSchema

SCHEMA = ProfileSchema(
    (ColumnSchema("i", ColumnKind.NUMERIC), ColumnSchema("c", ColumnKind.CATEGORICAL))
)


def _table(start: int, n: int) -> pa.Table:
    index = np.arange(start, start + n, dtype=np.float64)
    return pa.table({"i": index, "c": [f"r{int(v)}" for v in index]})


def _sample(capacity: int, sizes: list[int], seed: int) -> RowSample:
    reservoir = Reservoir(SCHEMA, capacity, np.random.default_rng(seed))
    start = 0
    for n in sizes:
        reservoir.update(_table(start, n))
        start += n
    return reservoir.sample()


def test_size_is_bounded_and_rows_stay_whole() -> None:
    sample = _sample(100, [30, 500, 2_000], seed=0)
    assert len(sample) == 100
    assert np.all(np.diff(sample.keys) >= 0)
    rows = sample.columns["i"].astype(int)
    assert len(set(rows.tolist())) == 100
    assert rows.max() < 2_530
    assert [f"r{r}" for r in rows] == sample.columns["c"].tolist()  # values stay aligned
    assert len(_sample(100, [10, 20], seed=0)) == 30


def test_inclusion_is_uniform_over_chunks_of_any_size() -> None:
    hits = np.zeros(1_000)
    for seed in range(400):
        sample = _sample(50, [10, 90, 300, 600], seed=seed)
        hits[sample.columns["i"].astype(int)] += 1
    # every row is kept with probability 50 / 1000: counts are binomial(400, 0.05)
    by_chunk = [hits[:10].sum(), hits[10:100].sum(), hits[100:400].sum(), hits[400:].sum()]
    expected = np.array([10, 90, 300, 600]) * 400 * 0.05
    assert stats.chisquare(by_chunk, expected).pvalue > 0.001
    assert stats.chisquare(hits.reshape(20, 50).sum(axis=1)).pvalue > 0.001


def test_merge_is_associative_and_commutative() -> None:
    a, b, c = (_sample(40, [n], seed) for n, seed in ((100, 1), (70, 2), (30, 3)))
    left = a.merge(b).merge(c)
    right = a.merge(b.merge(c))
    swapped = c.merge(a).merge(b)
    for other in (right, swapped):
        np.testing.assert_array_equal(left.keys, other.keys)
        np.testing.assert_array_equal(left.columns["i"], other.columns["i"])
    assert len(left) == 40


def test_missing_and_mistyped_columns_become_missing_values() -> None:
    reservoir = Reservoir(SCHEMA, 10, np.random.default_rng(0))
    reservoir.update(pa.table({"i": ["not", "numbers"]}))
    sample = reservoir.sample()
    assert np.isnan(sample.columns["i"]).all()
    assert sample.columns["c"].tolist() == [None, None]


def test_dict_round_trip_keeps_nan_and_none() -> None:
    sample = RowSample(
        3,
        np.array([0.1, 0.2]),
        {"i": np.array([np.nan, 1.0]), "c": np.array([None, "x"], dtype=object)},
    )
    again = RowSample.from_dict(sample.to_dict(), SCHEMA)
    assert again.to_dict() == sample.to_dict()
    assert np.isnan(again.columns["i"][0])
    assert again.columns["c"][0] is None
