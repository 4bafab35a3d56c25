"""Building profiles from Polars, Arrow and NumPy, and what gets profiled."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from steadyml.core.profiles import ColumnKind, Profile, ProfileSettings, ProfileView
from steadyml.errors import DataError
from tests.core.profiles.helpers import assert_same_up_to_sketches, exact_fields


def _frame(n: int = 1_000, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "amount": rng.lognormal(size=n),
            "count": rng.integers(0, 10, size=n),
            "city": rng.choice(["paris", "lyon", "nice"], size=n),
            "flag": rng.random(n) > 0.5,
            "when": pl.datetime_range(
                pl.datetime(2024, 1, 1),
                pl.datetime(2024, 1, 1) + pl.duration(seconds=n - 1),
                "1s",
                eager=True,
            ),
        }
    )


def test_kinds_are_inferred_and_unsupported_columns_left_out() -> None:
    view = Profile.for_reference(_frame()).view()
    kinds = {c.name: c.kind for c in view.schema.columns}
    assert kinds == {
        "amount": ColumnKind.NUMERIC,
        "count": ColumnKind.NUMERIC,
        "city": ColumnKind.CATEGORICAL,
        "flag": ColumnKind.CATEGORICAL,
    }
    assert set(view.categorical("flag").counts or {}) == {"true", "false"}


def test_forced_categorical_and_explicit_columns() -> None:
    view = Profile.for_reference(_frame(), ["count", "city"], categorical=["count"]).view()
    assert view.schema.names == ("count", "city")
    assert view.schema["count"].kind is ColumnKind.CATEGORICAL
    assert sum((view.categorical("count").counts or {}).values()) == 1_000


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"columns": ["nope"]}, "columns"),
        ({"columns": ["when"]}, "when"),
        ({"categorical": ["nope"]}, "categorical"),
        ({"bins": 0}, "bins"),
        ({"sample_size": -1}, "sample_size"),
    ],
)
def test_bad_reference_options_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(DataError) as caught:
        Profile.for_reference(_frame(), **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_every_container_gives_the_same_profile() -> None:
    frame = _frame().drop("when")
    as_polars = Profile.for_reference(frame, seed=3).view()
    as_arrow = Profile.for_reference(frame.to_arrow(), seed=3).view()
    as_batch = Profile.for_reference(frame.to_arrow().to_batches()[0], seed=3).view()
    as_numpy = Profile.for_reference({c: frame[c].to_numpy() for c in frame.columns}, seed=3).view()
    for other in (as_arrow, as_batch, as_numpy):
        assert exact_fields(other, moments=True, sample=True) == exact_fields(
            as_polars, moments=True, sample=True
        )


def test_bad_containers_raise_data_error() -> None:
    with pytest.raises(DataError, match="dict of arrays"):
        Profile.for_reference([1, 2, 3])
    with pytest.raises(DataError, match="equal length"):
        Profile.for_reference({"a": [1, 2], "b": [1]})
    with pytest.raises(DataError, match="collect"):
        Profile.for_reference(pl.LazyFrame({"a": [1]}))
    with pytest.raises(DataError, match="one-dimensional"):
        Profile.for_reference({"a": np.zeros((2, 2))})


def test_chunks_with_missing_or_mistyped_columns_are_counted() -> None:
    reference = Profile.for_reference({"x": np.arange(100.0), "c": ["a"] * 100}).view()
    profile = reference.new_profile()
    profile.update({"x": np.arange(10.0)})  # no "c"
    profile.update({"x": ["a", "b"], "c": ["a", "b"]})  # text in a numeric column
    profile.update(pa.table({"x": pa.array([], pa.float64()), "c": pa.array([], pa.string())}))
    view = profile.view()
    assert view.rows == 12
    assert profile.rows == 12
    assert view.absent("c") == 10
    assert view.numeric("x").type_errors == 2
    assert view.categorical("c").counts == {"a": 1, "b": 1}


def test_threads_do_not_change_the_result() -> None:
    frame = _frame(100_000, seed=1).drop("when")
    reference = Profile.for_reference(frame.head(1_000), seed=0).view()
    one = reference.new_profile(seed=5, threads=1).update(frame).view()
    four = reference.new_profile(seed=5, threads=4).update(frame).view()
    assert_same_up_to_sketches(one, four)
    assert exact_fields(one, sample=True) == exact_fields(four, sample=True)


def test_view_accessors_check_kinds() -> None:
    view = Profile.for_reference(_frame()).view()
    with pytest.raises(DataError, match="categorical, not numeric"):
        view.numeric("city")
    with pytest.raises(DataError, match="numeric, not categorical"):
        view.categorical("amount")
    with pytest.raises(DataError, match="not a profiled column"):
        view.column("when")
    assert view.settings == ProfileSettings()
    assert isinstance(hash(view), int)
    assert view.__eq__(1) is NotImplemented


def test_sample_frame_has_the_profile_columns() -> None:
    view = Profile.for_reference(_frame(50), sample_size=20).view()
    frame = view.sample_frame()
    assert frame.shape == (20, 4)
    assert frame.schema["amount"] == pl.Float64
    assert not view.sample_is_complete
    assert isinstance(ProfileView.from_bytes(view.to_bytes()), ProfileView)
