"""Reading the log: time ranges, the segment watermark, schema changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from steadyml.adapters.predlog import (
    PREDICTIONS,
    PredictionLogWriter,
    SegmentCursor,
    fixed_prediction_schema,
    list_segments,
    prediction_schema,
    read_predictions,
    read_segments,
)
from steadyml.adapters.predlog import reader as reader_module
from steadyml.adapters.predlog.layout import (
    Segment,
    hour_key,
    partition_dir,
    scan_sealed,
    sealed_name,
    tmp_name,
)
from steadyml.adapters.predlog.segments import OpenSegment
from steadyml.core.clock import ManualClock
from steadyml.errors import DataError

from .helpers import SCHEMA, T0, minutes, records


def _write(
    root: Path, tables: list[pa.Table], *, worker: str = "w0", schema: pa.Schema = SCHEMA
) -> None:
    writer = PredictionLogWriter(
        root, "churn", worker, schema, durability="strict", clock=ManualClock(T0)
    )
    writer.start()
    for table in tables:
        assert writer.append(table).wait(5.0)
    writer.close()


@pytest.fixture(scope="module")
def three_hours(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[datetime]]:
    root = tmp_path_factory.mktemp("log")
    times = minutes(36, T0, step=5.0)  # 10:00 .. 12:55
    _write(root, [records([f"r{i:02d}" for i in range(36)], times)])
    return root, times


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (None, None),
        (T0 + timedelta(minutes=30), T0 + timedelta(hours=1, minutes=30)),
        (T0 + timedelta(minutes=61), None),
        (None, T0 + timedelta(minutes=5)),
        (T0 + timedelta(hours=5), None),
        (datetime(2016, 3, 1, 11, 0), datetime(2016, 3, 1, 11, 0, 1)),  # naive = UTC
    ],
)
def test_time_range_filtering(
    three_hours: tuple[Path, list[datetime]], start: datetime | None, end: datetime | None
) -> None:
    root, times = three_hours
    frame = read_predictions(root, "churn", start, end).collect()
    lower = start.replace(tzinfo=T0.tzinfo) if start else None
    upper = end.replace(tzinfo=T0.tzinfo) if end else None
    expected = [
        f"r{i:02d}"
        for i, t in enumerate(times)
        if (lower is None or t >= lower) and (upper is None or t < upper)
    ]
    assert sorted(frame.get_column("request_id").to_list()) == expected


def test_partitions_out_of_range_are_not_opened(tmp_path: Path) -> None:
    _write(tmp_path, [records(["a"], [T0]), records(["b"], [T0 + timedelta(hours=2)])])
    broken = partition_dir(tmp_path / PREDICTIONS, "churn", hour_key(T0)) / sealed_name("w9", 1)
    broken.write_bytes(b"not parquet at all")
    frame = read_predictions(tmp_path, "churn", T0 + timedelta(hours=1)).collect()
    assert frame.get_column("request_id").to_list() == ["b"]


def test_an_empty_log_reads_as_an_empty_frame_with_the_fixed_columns(tmp_path: Path) -> None:
    frame = read_predictions(tmp_path, "churn").collect()
    assert frame.height == 0
    assert frame.columns == fixed_prediction_schema().names


def test_open_and_temp_files_are_never_listed(tmp_path: Path) -> None:
    _write(tmp_path, [records(["a"])])
    directory = partition_dir(tmp_path / PREDICTIONS, "churn", hour_key(T0))
    OpenSegment.create(directory, "w0", SCHEMA, hour_key(T0), T0).close()
    (directory / tmp_name("w0", 2)).write_bytes(b"half")
    (directory / "notes.txt").write_text("hello", encoding="utf-8")
    assert [(s.worker, s.seq) for s in list_segments(tmp_path, "churn")] == [("w0", 1)]
    assert read_predictions(tmp_path, "churn").collect().height == 1


def test_the_cursor_sees_each_segment_once_even_late_ones(tmp_path: Path) -> None:
    _write(tmp_path, [records(["a"], [T0 + timedelta(hours=3)])], worker="w0")
    _write(tmp_path, [records(["b"], [T0 + timedelta(hours=3)])], worker="w1")
    cursor = SegmentCursor()
    first = list_segments(tmp_path, "churn", cursor)
    assert [(s.worker, s.seq) for s in first] == [("w0", 1), ("w1", 1)]
    cursor = cursor.advance(first)
    assert list_segments(tmp_path, "churn", cursor) == []
    # a late record lands in an *earlier* hour, sealed after the cursor moved
    _write(tmp_path, [records(["late"], [T0])], worker="w0")
    new = list_segments(tmp_path, "churn", cursor)
    assert [(s.worker, s.seq, s.start) for s in new] == [("w0", 2, T0)]
    cursor = SegmentCursor.from_json(cursor.advance(new).to_json())
    assert cursor.positions == {"w0": 2, "w1": 1}
    assert list_segments(tmp_path, "churn", cursor) == []


def test_any_prefix_of_the_listing_is_safe(tmp_path: Path) -> None:
    for i in range(3):
        _write(tmp_path, [records([f"a{i}"], [T0 + timedelta(hours=2 - i)])], worker="w0")
        _write(tmp_path, [records([f"b{i}"])], worker="w1")
    seen: list[str] = []
    cursor = SegmentCursor()
    while batch := list_segments(tmp_path, "churn", cursor, limit=2):
        seen += read_segments(batch).collect().get_column("request_id").to_list()
        cursor = cursor.advance(batch)
    assert sorted(seen) == ["a0", "a1", "a2", "b0", "b1", "b2"]


def test_bad_cursors_are_refused() -> None:
    with pytest.raises(DataError, match="positions"):
        SegmentCursor.from_dict({"positions": {"w0": -1}})
    with pytest.raises(DataError, match="positions"):
        SegmentCursor.from_dict({"nope": 1})
    with pytest.raises(DataError, match="cursor"):
        SegmentCursor.from_json("{")


def test_segments_of_different_schemas_read_as_one_table(tmp_path: Path) -> None:
    _write(tmp_path, [records(["old"])])
    newer = prediction_schema(
        {"AGEP": "numeric", "SEX": "categorical", "WKHP": "integer", "COW": "categorical"},
        {"AGEP_log": "numeric"},
    )
    table = records(["new"])
    inputs = pa.array(
        [{"AGEP": 1.0, "SEX": "2", "WKHP": 3, "COW": "4"}], newer.field("inputs").type
    )
    table = table.set_column(table.schema.get_field_index("inputs"), "inputs", inputs)
    table = table.append_column(
        "features", pa.array([{"AGEP_log": 0.5}], newer.field("features").type)
    )
    _write(tmp_path, [table], schema=newer)
    frame = read_predictions(tmp_path, "churn").sort("request_id").collect()
    assert frame.get_column("request_id").to_list() == ["new", "old"]
    inputs_rows = frame.get_column("inputs").to_list()
    assert inputs_rows[0]["COW"] == "4"
    assert inputs_rows[1]["COW"] is None
    assert frame.get_column("features").to_list()[1] is None


def test_conflicting_schemas_raise_a_clear_error(tmp_path: Path) -> None:
    _write(tmp_path, [records(["old"])])
    changed = prediction_schema({"AGEP": "categorical", "SEX": "categorical", "WKHP": "integer"})
    table = records(["new"])
    inputs = pa.array([{"AGEP": "old", "SEX": "2", "WKHP": 3}], changed.field("inputs").type)
    table = table.set_column(table.schema.get_field_index("inputs"), "inputs", inputs)
    _write(tmp_path, [table], schema=changed)
    with pytest.raises(DataError, match="conflict"):
        read_predictions(tmp_path, "churn")


def test_a_corrupt_segment_is_named(tmp_path: Path) -> None:
    _write(tmp_path, [records(["a"])])
    broken = partition_dir(tmp_path / PREDICTIONS, "churn", hour_key(T0)) / sealed_name("w9", 1)
    broken.write_bytes(b"PAR1 garbage")
    with pytest.raises(DataError, match="w9-0000000001") as caught:
        read_predictions(tmp_path, "churn")
    assert caught.value.details["path"] == str(broken)
    good = [s for s in list_segments(tmp_path, "churn") if s.path != broken]
    assert read_segments(good).collect().get_column("request_id").to_list() == ["a"]


def test_a_seal_in_flight_during_a_listing_is_not_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(4):
        _write(tmp_path, [records([f"r{i}"], [T0 + timedelta(hours=i)])])
    complete = scan_sealed(tmp_path / PREDICTIONS, "churn")
    listings = iter([[complete[0], complete[2]], complete])  # seq 2 was mid-rename

    def racing_scan(*args: object, **kwargs: object) -> list[Segment]:
        return next(listings)

    monkeypatch.setattr(reader_module, "scan_sealed", racing_scan)
    found = list_segments(tmp_path, "churn")
    assert [s.seq for s in found] == [1, 2, 3]  # 4 waits for the next listing


def test_a_deleted_segment_does_not_block_the_cursor(tmp_path: Path) -> None:
    for i in range(3):
        _write(tmp_path, [records([f"r{i}"])])
    first = list_segments(tmp_path, "churn")
    first[1].path.unlink()
    assert [s.seq for s in list_segments(tmp_path, "churn")] == [1, 3]
    cursor = SegmentCursor().advance(first[:1])
    assert [s.seq for s in list_segments(tmp_path, "churn", cursor)] == [3]
