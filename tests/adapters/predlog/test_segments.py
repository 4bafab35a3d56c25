"""Open segments: append, fsync, torn tails, failed writes, sealing."""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steadyml.adapters.predlog import append_file
from steadyml.adapters.predlog.layout import hour_key, parse_open
from steadyml.adapters.predlog.schema import conform
from steadyml.adapters.predlog.segments import (
    SOURCE_KEY,
    OpenSegment,
    read_stream,
    seal_file,
    sealed_source,
)

from .helpers import SCHEMA, T0, records

FILL = {"service": "churn", "worker": "w0"}


def _table(ids: list[str]) -> pa.Table:
    return conform(records(ids), SCHEMA, fill=FILL)


def _segment(directory: Path) -> OpenSegment:
    return OpenSegment.create(directory, "w0", SCHEMA, hour_key(T0), T0)


def test_written_batches_read_back_after_sync(tmp_path: Path) -> None:
    segment = _segment(tmp_path)
    segment.write_table(_table(["a", "b"]))
    segment.write_table(_table(["c"]))
    segment.sync()
    assert (segment.rows, segment.durable_rows) == (3, 3)
    assert segment.durable_size == segment.path.stat().st_size
    contents = read_stream(segment.path)
    assert contents.table is not None
    assert contents.table.column("request_id").to_pylist() == ["a", "b", "c"]
    assert (contents.batches, contents.torn, contents.ignored_bytes) == (2, False, 0)
    assert parse_open(segment.path.name) is not None
    segment.close()


@settings(max_examples=40, deadline=None)
@given(cut=st.integers(min_value=0, max_value=10_000))
def test_a_torn_tail_loses_only_the_torn_batch(
    tmp_path_factory: pytest.TempPathFactory, cut: int
) -> None:
    directory = tmp_path_factory.mktemp("torn")
    segment = _segment(directory)
    ends = [segment.size]
    for i in range(4):
        segment.write_table(_table([f"r{i}a", f"r{i}b"]))
        ends.append(segment.size)
    segment.sync()
    segment.close()
    cut = cut % (ends[-1] + 1)
    os.truncate(segment.path, cut)
    contents = read_stream(segment.path)
    complete = sum(1 for end in ends[1:] if end <= cut)
    if cut < ends[0]:
        assert contents.table is None
    else:
        assert contents.table is not None
        assert contents.table.num_rows == 2 * complete
        assert contents.torn == (cut not in ends)
        assert contents.ignored_bytes == cut - ends[complete]


def test_a_failed_write_leaves_no_garbage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    segment = _segment(tmp_path)
    segment.write_table(_table(["a"]))
    segment.sync()
    good = segment.size

    def half_then_full(fd: int, chunks: Sequence[bytes | memoryview]) -> int:
        data = b"".join(bytes(chunk) for chunk in chunks)
        os.write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(append_file, "write_all", half_then_full)
    with pytest.raises(OSError, match="space"):
        segment.write_table(_table(["lost"]))
    assert segment.size == good == segment.path.stat().st_size
    monkeypatch.undo()
    segment.write_table(_table(["b"]))
    segment.sync()
    segment.close()
    contents = read_stream(segment.path)
    assert contents.table is not None
    assert contents.table.column("request_id").to_pylist() == ["a", "b"]
    assert not contents.torn


def test_a_failed_fsync_cuts_back_to_the_durable_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    segment = _segment(tmp_path)
    segment.write_table(_table(["a"]))
    segment.sync()
    durable = segment.durable_size
    segment.write_table(_table(["b"]))

    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="I/O"):
        segment.sync()
    monkeypatch.undo()
    assert (segment.size, segment.rows) == (durable, 1)
    assert segment.path.stat().st_size == durable
    segment.close()


def test_seal_writes_parquet_and_removes_the_open_file(tmp_path: Path) -> None:
    segment = _segment(tmp_path)
    segment.write_table(_table(["a", "b"]))
    segment.sync()
    segment.close()
    result = seal_file(segment.path, "w0", 7)
    assert result.path == tmp_path / "w0-0000000007.parquet"
    assert result.rows == 2
    assert not segment.path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w0-0000000007.parquet"]
    table = pq.read_table(result.path)
    assert table.column("request_id").to_pylist() == ["a", "b"]
    assert table.schema.metadata[SOURCE_KEY] == segment.path.name.encode()
    assert sealed_source(result.path) == segment.path.name


def test_seal_honours_the_durable_prefix(tmp_path: Path) -> None:
    segment = _segment(tmp_path)
    segment.write_table(_table(["a"]))
    segment.sync()
    segment.write_table(_table(["unsynced"]))
    segment.close()
    result = seal_file(segment.path, "w0", 1, limit=segment.durable_size)
    assert result.path is not None
    assert pq.read_table(result.path).column("request_id").to_pylist() == ["a"]


def test_sealing_an_empty_segment_deletes_it(tmp_path: Path) -> None:
    segment = _segment(tmp_path)
    segment.close()
    result = seal_file(segment.path, "w0", 1)
    assert result.path is None
    assert list(tmp_path.iterdir()) == []


def test_a_failed_seal_keeps_the_open_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    segment = _segment(tmp_path)
    segment.write_table(_table(["a"]))
    segment.sync()
    segment.close()

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq, "write_table", full)
    with pytest.raises(OSError, match="space"):
        seal_file(segment.path, "w0", 1)
    assert [p.name for p in tmp_path.iterdir()] == [segment.path.name]
