"""Feedback events: same machinery, joined to predictions by request id."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from steadyml.adapters.predlog import (
    FEEDBACK,
    FeedbackLogWriter,
    PredictionLogWriter,
    join_feedback,
    latest_feedback,
    list_segments,
    read_feedback,
    read_predictions,
    recover,
)
from steadyml.adapters.predlog.layout import hour_key, partition_dir
from steadyml.adapters.predlog.schema import FEEDBACK_SCHEMA, conform
from steadyml.adapters.predlog.segments import OpenSegment
from steadyml.core.clock import ManualClock
from steadyml.errors import DataError

from .helpers import SCHEMA, T0, records


def _feedback(
    ids: list[str],
    values: list[float],
    when: datetime,
    *,
    name: str = "employed",
    kind: str = "label",
) -> pl.DataFrame:
    n = len(ids)
    return pl.DataFrame(
        {
            "request_id": ids,
            "event_time": [when] * n,
            "received_at": [when] * n,
            "kind": [kind] * n,
            "name": [name] * n,
            "value": values,
        },
        schema_overrides={
            "event_time": pl.Datetime("us", "UTC"),
            "received_at": pl.Datetime("us", "UTC"),
        },
    )


@pytest.fixture
def log(tmp_path: Path) -> Path:
    clock = ManualClock(T0)
    predictions = PredictionLogWriter(
        tmp_path, "churn", "w0", SCHEMA, durability="strict", clock=clock
    )
    feedback = FeedbackLogWriter(tmp_path, "churn", "w0", durability="strict", clock=clock)
    predictions.start()
    feedback.start()
    assert predictions.append(records(["a", "b", "c"])).wait(5.0)
    day = T0 + timedelta(days=1)
    assert feedback.append(_feedback(["a", "b", "zzz"], [1.0, 0.0, 1.0], day)).wait(5.0)
    assert feedback.append(_feedback(["b"], [1.0], day + timedelta(hours=1))).wait(5.0)
    assert feedback.append(_feedback(["a"], [12.5], day, name="converted", kind="outcome")).wait(
        5.0
    )
    predictions.close()
    feedback.close()
    return tmp_path


def test_feedback_has_its_own_partitioned_table(log: Path) -> None:
    found = list_segments(log, "churn", table=FEEDBACK)
    assert {s.path.parent.name for s in found} == {"hour=10", "hour=11"}
    assert all(s.path.is_relative_to(log / FEEDBACK / "service=churn") for s in found)
    frame = read_feedback(log, "churn").collect()
    assert frame.height == 5
    assert set(frame.get_column("worker").to_list()) == {"w0"}
    assert frame.get_column("value_str").null_count() == 5


def test_join_by_request_id_takes_the_latest_label(log: Path) -> None:
    joined = (
        join_feedback(read_predictions(log, "churn"), read_feedback(log, "churn"), "employed")
        .sort("request_id")
        .collect()
    )
    assert joined.get_column("request_id").to_list() == ["a", "b", "c"]
    assert joined.get_column("value").to_list() == [1.0, 1.0, None]  # b was corrected to 1
    assert joined.get_column("feedback_time").to_list()[1] == T0 + timedelta(days=1, hours=1)


def test_outcomes_are_kept_apart_from_labels(log: Path) -> None:
    outcomes = latest_feedback(read_feedback(log, "churn"), "converted", "outcome").collect()
    assert outcomes.rows() == [("a", 12.5, None, T0 + timedelta(days=1), T0 + timedelta(days=1))]
    with pytest.raises(DataError, match="kind"):
        latest_feedback(read_feedback(log, "churn"), "converted", "score")  # type: ignore[arg-type]


def test_feedback_range_is_by_the_feedback_time(log: Path) -> None:
    late = read_feedback(log, "churn", T0 + timedelta(days=1, minutes=30)).collect()
    assert late.get_column("request_id").to_list() == ["b"]


def test_recover_covers_the_feedback_log(tmp_path: Path) -> None:
    directory = partition_dir(tmp_path / FEEDBACK, "churn", hour_key(T0))
    segment = OpenSegment.create(directory, "w0", FEEDBACK_SCHEMA, hour_key(T0), T0)
    table = conform(
        _feedback(["a"], [1.0], T0).to_arrow(),
        FEEDBACK_SCHEMA,
        fill={"service": "churn", "worker": "w0"},
    )
    segment.write_table(table)
    segment.sync()
    segment.close()
    report = recover(tmp_path, "churn")
    assert report.recovered_rows == 1
    assert read_feedback(tmp_path, "churn").collect().get_column("request_id").to_list() == ["a"]
