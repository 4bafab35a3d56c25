"""Bad input ends in a defined status with a message - never an exception, never NaN read as ok."""

from __future__ import annotations

import math

import numpy as np
import orjson
import polars as pl
import pytest

from steadyml.core.drift import CompareSettings, Status, Tolerance, compare
from steadyml.core.profiles import Profile, ProfileView
from steadyml.errors import ConfigError, DataError

RNG = np.random.default_rng(0)
REFERENCE = Profile.for_reference(
    {
        "x": RNG.normal(size=5_000),
        "c": RNG.choice(["a", "b", "c"], size=5_000),
        "const": np.full(5_000, 7.0),
        "nulls": np.full(5_000, np.nan),
    },
    seed=0,
).view()


def _window(data: dict[str, object]) -> ProfileView:
    return REFERENCE.new_profile(seed=1).update(data).view()


def _full(rows: int = 2_000, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "x": RNG.normal(size=rows),
        "c": RNG.choice(["a", "b", "c"], size=rows),
        "const": np.full(rows, 7.0),
        "nulls": np.full(rows, np.nan),
    }
    data.update(overrides)
    return data


def _assert_defined(result_dict: dict[str, object]) -> None:
    text = orjson.dumps(result_dict)  # JSON-safe: no NaN anywhere
    assert b"NaN" not in text


def test_empty_window() -> None:
    empty = REFERENCE.new_profile().view()
    result = compare(REFERENCE, empty)
    assert {r.status for r in result.features} == {Status.INSUFFICIENT_DATA}
    assert "0 rows" in result["x"].message
    _assert_defined(result.to_dict())


def test_all_null_reference_column_and_all_null_current_column() -> None:
    result = compare(REFERENCE, _window(_full(x=np.full(2_000, np.nan))))
    assert result["nulls"].status is Status.INSUFFICIENT_DATA
    assert "every reference value is missing" in result["nulls"].message
    assert (
        result["x"].status is Status.DRIFT
    )  # the column went null: a drift of what the model sees
    assert "every current value is missing" in result["x"].notes
    _assert_defined(result.to_dict())


def test_constant_columns() -> None:
    same = compare(REFERENCE, _window(_full()))
    assert same["const"].status is Status.OK
    assert same["const"].effect == 0.0
    assert "the reference is constant (7)" in same["const"].notes
    moved = compare(REFERENCE, _window(_full(const=np.full(2_000, 8.0))))
    assert moved["const"].status is Status.DRIFT
    assert moved["const"].statistics["wasserstein"] is None  # undefined (zero spread), not NaN


def test_column_missing_from_current_data() -> None:
    data = _full()
    del data["c"]
    result = compare(REFERENCE, _window(data))
    assert result["c"].status is Status.SCHEMA_MISMATCH
    assert "missing from the current data" in result["c"].message
    partial = REFERENCE.new_profile().update(_full()).update({"x": RNG.normal(size=100)}).view()
    assert compare(REFERENCE, partial)["c"].status is Status.SCHEMA_MISMATCH


def test_mismatched_types() -> None:
    result = compare(REFERENCE, _window(_full(x=np.array(["1.0"] * 2_000))))
    assert result["x"].status is Status.SCHEMA_MISMATCH
    assert "wrong type" in result["x"].message
    other = Profile.for_reference({"x": np.array(["a", "b"] * 100)}).view()
    mismatch = compare(REFERENCE, other)
    assert mismatch["x"].status is Status.SCHEMA_MISMATCH
    assert "categorical" in mismatch["x"].message
    rebinned = Profile.for_reference({"x": RNG.normal(size=1_000)}).view()
    assert "bin edges" in compare(REFERENCE, rebinned)["x"].message


def test_categories_never_seen() -> None:
    result = compare(REFERENCE, _window(_full(c=RNG.choice(["a", "zz", "yy"], size=2_000))))
    c = result["c"]
    assert c.status is Status.DRIFT
    assert c.statistics["new_share"] == pytest.approx(2 / 3, abs=0.05)
    assert any("never saw" in note and "'zz'" in note for note in c.notes)


def test_infinities() -> None:
    values = RNG.normal(size=2_000)
    values[:30] = np.inf
    values[30:40] = -np.inf
    result = compare(REFERENCE, _window(_full(x=values)))
    assert result["x"].status is Status.OK  # 2 % of extreme values is under the warn tolerance
    assert any("40 current values are infinite" in note for note in result["x"].notes)
    all_inf = compare(REFERENCE, _window(_full(x=np.full(2_000, np.inf))))
    assert all_inf["x"].status is Status.DRIFT
    assert all_inf["x"].statistics["ks"] is None
    assert all_inf["x"].statistics["mean_shift"] is None


def test_reference_too_small_to_calibrate() -> None:
    tiny = Profile.for_reference({"x": RNG.normal(size=40)}).view()
    result = compare(tiny, tiny.new_profile().update({"x": RNG.normal(size=500)}).view())
    assert result["x"].status is Status.INSUFFICIENT_DATA
    assert "too few to calibrate" in result["x"].message
    small_window = compare(REFERENCE, _window(_full(rows=10)))
    assert small_window["x"].status is Status.INSUFFICIENT_DATA


def test_unknown_features_and_bad_settings() -> None:
    result = compare(REFERENCE, _window(_full()), columns=["x", "ghost"])
    assert result["ghost"].status is Status.SCHEMA_MISMATCH
    with pytest.raises(ConfigError):
        compare(REFERENCE, _window(_full()), tolerances={"typo": Tolerance()})
    with pytest.raises(ConfigError):
        CompareSettings(false_alarm_rate=0.0)
    with pytest.raises(ConfigError):
        CompareSettings(replicates=10)
    with pytest.raises(ConfigError):
        CompareSettings(min_reference_rows=1)
    with pytest.raises(ConfigError):
        Tolerance(warn=0.2, drift=0.1)
    with pytest.raises(ConfigError):
        Tolerance(metric="auc")
    with pytest.raises(ConfigError):
        Tolerance(warn=-1.0)
    with pytest.raises(DataError):
        compare(REFERENCE, {"x": [1.0]})  # type: ignore[arg-type]


def test_no_statistic_is_nan_in_any_result() -> None:
    frames = [_full(), _full(x=np.full(2_000, np.nan)), _full(const=np.full(2_000, np.inf))]
    for data in frames:
        for result in compare(REFERENCE, _window(data)).features:
            for name, value in result.statistics.items():
                assert value is None or math.isfinite(value), (result.feature, name)
            if result.status in (Status.OK, Status.WARN, Status.DRIFT):
                assert result.effect is not None
                assert math.isfinite(result.effect)


def test_polars_nulls_in_categorical_and_numeric() -> None:
    frame = pl.DataFrame(_full()).with_columns(
        pl.when(pl.int_range(pl.len()) % 2 == 0).then(None).otherwise(pl.col("c")).alias("c")
    )
    result = compare(REFERENCE, REFERENCE.new_profile().update(frame).view())
    assert result["c"].status is Status.DRIFT  # half the values went missing
    assert any("missing values" in note for note in result["c"].notes)
