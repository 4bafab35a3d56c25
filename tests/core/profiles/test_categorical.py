"""Categorical column summaries: exact counts up to a cap, sketches beyond."""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from steadyml.core.profiles import Profile
from steadyml.core.profiles.categorical import CategoricalAccumulator, CategoricalSummary


def _summary(values: list[str | None], cap: int = 10_000, chunks: int = 1) -> CategoricalSummary:
    accumulator = CategoricalAccumulator(cap)
    for part in np.array_split(np.array(values, dtype=object), chunks):
        accumulator.update(pa.array(part.tolist(), type=pa.string()))
    return accumulator.summary()


def test_exact_counts_match_counter() -> None:
    rng = np.random.default_rng(0)
    values: list[str | None] = [str(v) for v in rng.choice(list("abcde"), size=10_000)]
    values[::97] = [None] * len(values[::97])
    summary = _summary(values, chunks=4)
    expected = Counter(v for v in values if v is not None)
    assert summary.counts == dict(expected)
    assert summary.nulls == values.count(None)
    assert summary.present == len(values) - values.count(None)
    assert summary.is_exact
    assert summary.error_bound == 0.0
    assert summary.distinct() == 5.0
    np.testing.assert_array_equal(summary.frequencies(["a", "zz"]), [expected["a"], 0])
    assert summary.top(1)[0] == expected.most_common(1)[0]


def test_dictionary_and_all_null_chunks() -> None:
    accumulator = CategoricalAccumulator()
    accumulator.update(pa.array(["x", "y", "x", None]).dictionary_encode())
    accumulator.update(pa.nulls(3))
    summary = accumulator.summary()
    assert summary.counts == {"x": 2, "y": 1}
    assert (summary.count, summary.nulls) == (7, 4)


def test_switches_to_a_sketch_past_the_cap() -> None:
    rng = np.random.default_rng(1)
    heavy = [str(v) for v in rng.choice(["a", "b", "c"], size=30_000, p=[0.5, 0.3, 0.2])]
    rare = [f"id-{i}" for i in range(5_000)]
    values: list[str | None] = [*heavy, *rare]
    summary = _summary(values, cap=1_000, chunks=5)
    assert not summary.is_exact
    assert summary.counts is None
    bound = summary.error_bound
    assert 0 < bound < 0.001 * len(values)  # 3.5 / 4096 of the total
    truth = Counter(heavy)
    estimates = summary.frequencies(["a", "b", "c"])
    for estimate, category in zip(estimates, ["a", "b", "c"], strict=True):
        assert abs(int(estimate) - truth[category]) <= bound
    assert abs(summary.distinct() - 5_003) <= 0.07 * 5_003
    assert [c for c, _ in summary.top(3)] == ["a", "b", "c"]


def test_merge_exact_and_sketched() -> None:
    small = _summary(["a", "b", "a"])
    merged = small.merge(_summary(["b", "c"]))
    assert merged.counts == {"a": 2, "b": 2, "c": 1}
    big = _summary([f"v{i}" for i in range(50)], cap=10)
    mixed = small.merge(big)
    assert mixed.counts is None
    assert mixed.count == 53
    assert int(mixed.frequencies(["a"])[0]) == 2
    capped = _summary(["a", "b"], cap=2).merge(_summary(["c"], cap=2))
    assert capped.counts is None  # three categories exceed the cap of two


@pytest.mark.parametrize("cap", [10_000, 3])
def test_dict_round_trip(cap: int) -> None:
    summary = _summary(["a", "b", "c", "d", None], cap=cap)
    again = CategoricalSummary.from_dict(summary.to_dict())
    assert again.to_dict() == summary.to_dict()


def test_type_errors_are_counted() -> None:
    accumulator = CategoricalAccumulator()
    accumulator.add_type_errors(3)
    summary = accumulator.summary()
    assert (summary.count, summary.type_errors, summary.present) == (3, 3, 0)


def test_polars_categorical_and_enum_count_like_plain_strings() -> None:
    """Polars hands Categorical/Enum over as dictionaries of string views."""
    values = ["a", "b", None, "a", "c"] * 40
    plain = pl.DataFrame({"c": values})
    reference = Profile.for_reference(plain)
    expected = reference.view().categorical("c").counts
    assert expected == {"a": 80, "b": 40, "c": 40}
    for dtype in (pl.Categorical, pl.Enum(["a", "b", "c", "z"])):
        frame = plain.with_columns(pl.col("c").cast(dtype))
        profile = Profile(reference.view().schema, seed=1).update(frame)
        view = profile.view()
        assert view.categorical("c").counts == expected, dtype
        assert view.categorical("c").nulls == 40
        assert len(view.sample) > 0  # the row sample takes from the dictionary too
