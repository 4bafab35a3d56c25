"""The drift use case: files and frames, columns, time windows, progress and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from steadyml.core.drift import Status
from steadyml.errors import ConfigError, DataError, NotFoundError
from steadyml.services.drift import (
    MAX_WINDOWS,
    DriftCheck,
    DriftProgress,
    FailOn,
    check_drift,
    open_table,
)

RNG = np.random.default_rng(7)
CITIES = ["paris", "lyon", "nice", "lille"]
START = datetime(2024, 5, 1, tzinfo=UTC)


def frame(rows: int, *, shift: float = 0.0, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "age": rng.normal(40 + shift, 10, rows),
            "city": rng.choice(CITIES, rows, p=[0.4, 0.3, 0.2, 0.1]),
            "visits": rng.poisson(3, rows).astype(np.int64),
        }
    )


def timed(rows: int, hours: int, *, shifted_from: int, seed: int = 1) -> pl.DataFrame:
    """Rows spread over ``hours`` hours; age shifts by 5 years from hour ``shifted_from``."""
    rng = np.random.default_rng(seed)
    seconds = np.sort(rng.uniform(0, hours * 3600, rows)).astype(np.int64)
    hour = seconds // 3600
    base = frame(rows, seed=seed)
    return base.with_columns(
        pl.Series("ts", [START + timedelta(seconds=int(s)) for s in seconds]),
        pl.col("age") + np.where(hour >= shifted_from, 5.0, 0.0),
    )


def statuses(check: DriftCheck) -> dict[str, Status]:
    return {r.feature: r.status for r in check.result.features}


def assert_json_safe(check: DriftCheck) -> None:
    text = orjson.dumps(check.to_dict())
    assert b"NaN" not in text and b"Infinity" not in text


# -- inputs -------------------------------------------------------------------------


def test_frames_parquet_and_csv_give_the_same_decisions(tmp_path: Path) -> None:
    reference, current = frame(5_000), frame(3_000, shift=4.0, seed=1)
    reference.write_parquet(tmp_path / "ref.parquet")
    current.write_parquet(tmp_path / "cur.parquet")
    current.write_csv(tmp_path / "cur.csv")
    by_frame = check_drift(reference, current)
    for path in ("cur.parquet", "cur.csv"):
        by_file = check_drift(tmp_path / "ref.parquet", tmp_path / path)
        for a, b in zip(by_frame.result.features, by_file.result.features, strict=True):
            assert (a.feature, a.status, a.histogram) == (b.feature, b.status, b.histogram)
            assert a.effect == pytest.approx(b.effect, abs=1e-12)
    assert statuses(by_frame) == {"age": Status.DRIFT, "city": Status.OK, "visits": Status.OK}
    assert by_frame.current == "frame" and by_file.current.endswith("cur.csv")


def test_statistics_agree_with_scipy_and_numpy() -> None:
    reference, current = frame(4_000), frame(2_500, shift=2.0, seed=3)
    age = check_drift(reference, current).result["age"]
    ref, cur = reference["age"].to_numpy(), current["age"].to_numpy()
    # both windows fit in the row sample, so KS is exact: same as scipy to 1e-12
    expected = stats.ks_2samp(ref, cur)
    assert age.statistics["ks"] == pytest.approx(expected.statistic, abs=1e-12)
    # mean shift in reference standard deviations, to float rounding (1e-9)
    shift = (cur.mean() - ref.mean()) / ref.std(ddof=1)
    assert age.statistics["mean_shift"] == pytest.approx(shift, rel=1e-9)
    # TVD on the reported histogram is the effect, exactly
    hist = age.histogram
    assert hist is not None
    p = np.asarray(hist.reference) / sum(hist.reference)
    q = np.asarray(hist.current) / sum(hist.current)
    assert age.effect == pytest.approx(0.5 * np.abs(p - q).sum(), abs=1e-12)
    assert sum(hist.reference) == 4_000 and sum(hist.current) == 2_500


def test_parquet_folder_is_read_as_one_table(tmp_path: Path) -> None:
    current = frame(3_000, seed=4)
    for part in range(3):
        folder = tmp_path / "log" / f"date=2024-05-0{part + 1}"
        folder.mkdir(parents=True)
        current.slice(part * 1_000, 1_000).write_parquet(folder / "w-0.parquet")
    check = check_drift(frame(5_000), tmp_path / "log")
    assert check.result.n_current == 3_000
    assert ("date", "only in the current data") in check.skipped
    assert check.status is Status.OK


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch_rows=st.integers(min_value=97, max_value=4_000))
def test_batch_size_does_not_change_the_decisions(batch_rows: int) -> None:
    reference, current = frame(4_000), frame(3_000, shift=1.5, seed=5)
    whole = check_drift(reference, current)
    chunked = check_drift(reference, current, batch_rows=batch_rows)
    for a, b in zip(whole.result.features, chunked.result.features, strict=True):
        assert (a.status, a.histogram) == (b.status, b.histogram)
        assert a.effect == pytest.approx(b.effect, abs=1e-12)


def test_same_inputs_and_seed_give_the_same_result(tmp_path: Path) -> None:
    frame(20_000).write_parquet(tmp_path / "ref.parquet")
    frame(5_000, shift=1.0, seed=2).write_parquet(tmp_path / "cur.parquet")
    first = check_drift(tmp_path / "ref.parquet", tmp_path / "cur.parquet")
    second = check_drift(tmp_path / "ref.parquet", tmp_path / "cur.parquet")
    assert [r.histogram for r in first.result.features] == [
        r.histogram for r in second.result.features
    ]
    assert [r.effect for r in first.result.features] == [r.effect for r in second.result.features]


def test_progress_reports_every_row_read(tmp_path: Path) -> None:
    frame(6_000).write_parquet(tmp_path / "ref.parquet")
    frame(4_000, seed=1).write_csv(tmp_path / "cur.csv")
    events: list[DriftProgress] = []
    check_drift(
        tmp_path / "ref.parquet", tmp_path / "cur.csv", progress=events.append, batch_rows=1_000
    )
    rows = [e.rows for e in events]
    assert rows == sorted(rows)
    assert events[-1].stage == "comparing"
    assert events[-1].rows == events[-1].total == 10_000
    assert {"reference", "current"} <= {e.stage for e in events}


# -- columns ------------------------------------------------------------------------


def test_default_columns_are_the_shared_ones() -> None:
    reference = frame(2_000).with_columns(pl.lit(1).alias("target"))
    current = frame(1_000, seed=1).with_columns(pl.lit("x").alias("extra"))
    check = check_drift(reference, current)
    assert check.features == ("age", "city", "visits")
    assert set(check.skipped) == {
        ("target", "only in the reference"),
        ("extra", "only in the current data"),
    }


def test_named_columns_and_a_column_missing_from_current() -> None:
    current = frame(1_000, seed=1).drop("city")
    check = check_drift(frame(2_000), current, columns=["city", "age"])
    assert check.features == ("city", "age")
    assert check.result["city"].status is Status.SCHEMA_MISMATCH
    assert "missing from the current data" in check.result["city"].message
    assert check.failed(FailOn.DRIFT) and not check.failed(FailOn.NEVER)
    with pytest.raises(ConfigError, match="not in the reference"):
        check_drift(frame(2_000), current, columns=["nope"])


def test_unsupported_types_are_skipped_with_a_reason() -> None:
    reference = frame(1_000).with_columns(pl.lit(START.date()).alias("day"))
    check = check_drift(reference, reference)
    assert "day" not in check.features
    assert any(c == "day" and "not profiled" in r for c, r in check.skipped)


# -- windows ------------------------------------------------------------------------


def test_tumbling_windows_find_the_hours_that_moved() -> None:
    current = timed(12_000, 6, shifted_from=4)
    check = check_drift(frame(20_000), current, time_column="ts", window="1h")
    assert [w.start for w in check.windows] == [START + timedelta(hours=h) for h in range(6)]
    expected = current.group_by(pl.col("ts").dt.truncate("1h")).len().sort("ts")["len"]
    assert [w.result.n_current for w in check.windows] == expected.to_list()
    assert check.result.n_current == 12_000
    ages = [w.result["age"].status for w in check.windows]
    assert ages[:4] == [Status.OK] * 4
    assert ages[4:] == [Status.DRIFT] * 2
    assert check.status is Status.DRIFT
    assert check.window == timedelta(hours=1) and check.time_column == "ts"
    assert "ts" not in check.features
    assert_json_safe(check)


def test_windows_from_text_and_date_columns_and_rows_without_time() -> None:
    current = timed(3_000, 3, shifted_from=99).with_columns(
        pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S").alias("ts")
    )
    current = current.with_columns(
        pl.when(pl.int_range(pl.len()) < 10).then(pl.lit("garbage")).otherwise("ts").alias("ts")
    )
    check = check_drift(frame(5_000), current, time_column="ts", window="1h")
    assert len(check.windows) == 3
    assert sum(w.result.n_current for w in check.windows) == 2_990
    assert check.result.n_current == 3_000
    assert any("10 current rows have no usable time" in n for n in check.notes)
    daily = current.with_columns(pl.lit(START.date()).alias("day"))
    by_day = check_drift(frame(5_000), daily, time_column="day", window="1d")
    assert len(by_day.windows) == 1 and by_day.windows[0].result.n_current == 3_000


def test_window_errors_name_the_option() -> None:
    current = timed(500, 2, shifted_from=99)
    with pytest.raises(ConfigError, match="--time-column"):
        check_drift(frame(500), current, window="1h")
    with pytest.raises(ConfigError, match="--window"):
        check_drift(frame(500), current, time_column="ts")
    with pytest.raises(ConfigError, match="is not a duration"):
        check_drift(frame(500), current, time_column="ts", window="soon")
    with pytest.raises(ConfigError, match="ISO-8601"):
        check_drift(frame(500), current, time_column="visits", window="1h")
    with pytest.raises(ConfigError, match="not in the current data"):
        check_drift(frame(500), current.drop("ts"), time_column="ts", window="1h")
    with pytest.raises(ConfigError, match=f"more than {MAX_WINDOWS} windows"):
        check_drift(frame(500), timed(2_000, 2, shifted_from=99), time_column="ts", window="1s")


# -- bad input: a defined status with a message, or one error naming the fix --------------


def test_empty_current_files(tmp_path: Path) -> None:
    frame(0).write_parquet(tmp_path / "empty.parquet")
    (tmp_path / "zero.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text("age,city,visits\n", encoding="utf-8")
    for name in ("empty.parquet", "zero.csv", "header.csv"):
        check = check_drift(frame(2_000), tmp_path / name, columns=["age", "city", "visits"])
        assert set(statuses(check).values()) == {Status.INSUFFICIENT_DATA}, name
        assert "0 rows" in check.result["age"].message
        assert_json_safe(check)


def test_empty_reference_files(tmp_path: Path) -> None:
    frame(0).write_parquet(tmp_path / "empty.parquet")
    check = check_drift(tmp_path / "empty.parquet", frame(1_000))
    assert set(statuses(check).values()) == {Status.INSUFFICIENT_DATA}
    assert "reference has 0 rows" in check.result["age"].message
    (tmp_path / "zero.csv").write_bytes(b"")
    with pytest.raises(DataError, match="the file is empty"):
        check_drift(tmp_path / "zero.csv", frame(1_000))


def test_all_null_mismatched_types_unseen_categories_and_infinities() -> None:
    rows = 2_000
    values = frame(rows, seed=1)["age"].to_numpy().copy()
    values[:20] = np.inf
    current = frame(rows, seed=1).with_columns(
        pl.Series("age", values),
        pl.Series("visits", ["three"] * rows),
        pl.Series("city", RNG.choice(["paris", "atlantis"], rows)),
        pl.lit(None, dtype=pl.Float64).alias("nothing"),
    )
    reference = frame(5_000).with_columns(pl.lit(None, dtype=pl.Float64).alias("nothing"))
    check = check_drift(reference, current)
    found = statuses(check)
    assert found["visits"] is Status.SCHEMA_MISMATCH
    assert "wrong type" in check.result["visits"].message
    assert found["city"] is Status.DRIFT
    assert any("never saw" in n and "atlantis" in n for n in check.result["city"].notes)
    assert found["age"] is Status.OK
    assert any("20 current values are infinite" in n for n in check.result["age"].notes)
    assert found["nothing"] is Status.INSUFFICIENT_DATA
    assert "every reference value is missing" in check.result["nothing"].message
    assert_json_safe(check)


def test_tiny_reference_is_insufficient_data() -> None:
    check = check_drift(frame(50), frame(5_000, shift=10.0))
    assert set(statuses(check).values()) == {Status.INSUFFICIENT_DATA}
    assert "too few to calibrate" in check.result["age"].message
    assert not check.failed(FailOn.WARN)


def test_unreadable_inputs_raise_one_error_naming_the_fix(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such file"):
        check_drift(tmp_path / "missing.parquet", frame(10))
    (tmp_path / "data.xlsx").write_text("x", encoding="utf-8")
    with pytest.raises(DataError, match=r"use a \.parquet or \.csv"):
        check_drift(frame(10), tmp_path / "data.xlsx")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="cannot read it"):
        check_drift(tmp_path / "broken.parquet", frame(10))
    lines = ["x"] + [str(i) for i in range(12_000)] + ["oops"]
    (tmp_path / "late.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="first 10,000 rows"):
        check_drift(pl.DataFrame({"x": np.arange(500.0)}), tmp_path / "late.csv")
    with pytest.raises(DataError, match="DataFrame"):
        open_table(42)
    with pytest.raises(ConfigError, match="--spec"):
        check_drift("champion", frame(10))
    with pytest.raises(ConfigError, match="--fail-on"):
        FailOn.parse("sometimes")
