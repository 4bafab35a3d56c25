"""Recovery: leftover open segments are sealed once, temp files removed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from steadyml.adapters.predlog import (
    PREDICTIONS,
    PredictionLogError,
    PredictionLogWriter,
    list_segments,
    read_predictions,
    recover,
)
from steadyml.adapters.predlog.layout import (
    hour_key,
    partition_dir,
    scan_journals,
    scan_open,
    tmp_name,
)
from steadyml.adapters.predlog.recovery import next_seq
from steadyml.adapters.predlog.schema import conform
from steadyml.adapters.predlog.segments import OpenSegment, seal_file
from steadyml.errors import ConfigError

from .helpers import SCHEMA, T0, records


def _open(root: Path, worker: str, ids: list[str], *, key: int | None = None) -> OpenSegment:
    key = hour_key(T0) if key is None else key
    directory = partition_dir(root / PREDICTIONS, "churn", key)
    segment = OpenSegment.create(directory, worker, SCHEMA, key, T0)
    table = conform(records(ids), SCHEMA, fill={"service": "churn", "worker": worker})
    segment.write_table(table)
    segment.sync()
    segment.close()
    return segment


def _ids(root: Path) -> list[str]:
    frame = read_predictions(root, "churn").select("request_id").collect()
    return sorted(frame.get_column("request_id").to_list())


def test_recover_seals_a_torn_open_segment(tmp_path: Path) -> None:
    segment = _open(tmp_path, "w0", ["a", "b"])
    with segment.path.open("ab") as handle:
        handle.write(b"\xff\xff\xff\xff\x40\x00\x00\x00partial")
    report = recover(tmp_path, "churn")
    assert report.recovered_rows == 2
    assert report.torn_files == 1
    assert report.ignored_bytes == 15
    assert [p.name for p in report.sealed] == ["w0-0000000001.parquet"]
    assert _ids(tmp_path) == ["a", "b"]
    assert scan_open(tmp_path / PREDICTIONS, "churn") == ([], [])


def test_a_crash_between_rename_and_delete_is_not_sealed_twice(tmp_path: Path) -> None:
    _open(tmp_path, "w0", ["x"], key=hour_key(T0) - 1)  # an unrelated leftover, an hour before
    segment = _open(tmp_path, "w0", ["a", "b"])
    copy = tmp_path / "copy"
    shutil.copy(segment.path, copy)
    assert seal_file(segment.path, "w0", 1).path is not None
    shutil.copy(copy, segment.path)  # as if the delete never reached the disk
    copy.unlink()
    report = recover(tmp_path, "churn")
    assert segment.path in report.removed
    assert report.recovered_rows == 1
    assert _ids(tmp_path) == ["a", "b", "x"]
    assert [s.seq for s in list_segments(tmp_path, "churn")] == [1, 2]


def test_leftover_temp_files_are_removed(tmp_path: Path) -> None:
    directory = partition_dir(tmp_path / PREDICTIONS, "churn", hour_key(T0))
    directory.mkdir(parents=True)
    temp = directory / tmp_name("w0", 3)
    temp.write_bytes(b"PAR1 half a parquet file")
    report = recover(tmp_path, "churn", "w0")
    assert report.removed == (temp,)
    assert not temp.exists()


def test_recover_one_worker_leaves_the_others_alone(tmp_path: Path) -> None:
    mine = _open(tmp_path, "w0", ["a"])
    theirs = _open(tmp_path, "w1", ["b"])
    report = recover(tmp_path, "churn", "w0")
    assert report.recovered_rows == 1
    assert not mine.path.exists()
    assert theirs.path.exists()
    assert _ids(tmp_path) == ["a"]


def test_an_open_segment_without_a_complete_schema_is_removed(tmp_path: Path) -> None:
    segment = _open(tmp_path, "w0", ["a"])
    os.truncate(segment.path, 5)
    report = recover(tmp_path, "churn")
    assert report.sealed == ()
    assert report.removed == (segment.path,)
    assert report.torn_files == 1
    assert not segment.path.exists()


def test_sequence_numbers_continue_after_recovery(tmp_path: Path) -> None:
    table_root = tmp_path / PREDICTIONS
    assert next_seq(table_root, "churn", "w0") == 1
    _open(tmp_path, "w0", ["a"])
    _open(tmp_path, "w0", ["b"], key=hour_key(T0) + 1)
    recover(tmp_path, "churn")
    assert next_seq(table_root, "churn", "w0") == 3
    assert next_seq(table_root, "churn", "w0-b") == 1


def test_recover_refuses_bad_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="service"):
        recover(tmp_path, "../etc")
    with pytest.raises(ConfigError, match="worker"):
        recover(tmp_path, "churn", "a/b")


def test_recover_on_an_empty_root_does_nothing(tmp_path: Path) -> None:
    report = recover(tmp_path, "churn")
    assert (report.sealed, report.removed, report.recovered_rows) == ((), (), 0)


def test_recover_leaves_a_live_writer_alone(tmp_path: Path) -> None:
    writer = PredictionLogWriter(tmp_path, "churn", "w0", SCHEMA, durability="strict")
    writer.start()
    try:
        assert writer.append(records(["a"])).wait(5.0)
        assert writer.flush(5.0)  # the live writer's row is in an open segment
        assert writer.append(records(["a2"])).wait(5.0)  # and one only in its journal
        leftover = _open(tmp_path, "w1", ["b"])  # a crashed worker next to a live one
        opened, _ = scan_open(tmp_path / PREDICTIONS, "churn", worker="w0")
        journals = scan_journals(tmp_path / PREDICTIONS, "churn", worker="w0")
        assert (len(opened), len(journals)) == (1, 1)
        report = recover(tmp_path, "churn")
        assert report.skipped_workers == ("w0",)
        assert report.recovered_rows == 1
        assert not leftover.path.exists()
        assert all(path.exists() for _, path in opened)
        assert all(journal.path.exists() for journal in journals)
        with pytest.raises(PredictionLogError, match="worker"):
            PredictionLogWriter(tmp_path, "churn", "w0", SCHEMA).start()
    finally:
        writer.close()
    assert _ids(tmp_path) == ["a", "a2", "b"]
    assert recover(tmp_path, "churn").skipped_workers == ()
