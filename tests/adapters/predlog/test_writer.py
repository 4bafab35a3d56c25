"""The log writer: acks, durability modes, rotation, workers, back-pressure, disk errors."""

from __future__ import annotations

import asyncio
import errno
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
import pyarrow as pa
import pytest

from steadyml.adapters.predlog import (
    DeferredRows,
    LogSchemaError,
    PredictionLogError,
    PredictionLogWriter,
    list_segments,
    read_predictions,
)
from steadyml.adapters.predlog import append_file as append_file_module
from steadyml.adapters.predlog import segment_set as segment_set_module
from steadyml.adapters.predlog import segments as segments_module
from steadyml.adapters.predlog.batches import release_gradually
from steadyml.core.clock import ManualClock
from steadyml.errors import ConfigError

from .helpers import SCHEMA, T0, ids_in, minutes, records


def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0 + timedelta(minutes=30))


@pytest.fixture
def writers(tmp_path: Path, clock: ManualClock) -> Iterator[Callable[..., PredictionLogWriter]]:
    made: list[PredictionLogWriter] = []

    def make(worker: str = "w0", **options: object) -> PredictionLogWriter:
        options.setdefault("clock", clock)
        writer = PredictionLogWriter(tmp_path, "churn", worker, SCHEMA, **options)  # type: ignore[arg-type]
        made.append(writer)
        return writer

    yield make
    for writer in made:
        writer.close(timeout=5)


def _ids(root: Path) -> list[str]:
    frame = read_predictions(root, "churn").select("request_id").collect()
    return sorted(frame.get_column("request_id").to_list())


def test_strict_ack_means_durable(
    tmp_path: Path, writers: Callable[..., PredictionLogWriter]
) -> None:
    writer = writers(durability="strict", flush_interval=30.0)
    writer.start()
    ack = writer.append(records(["a", "b"]))
    assert ack.accepted
    assert ack.wait(5.0)
    assert writer.stats.written_rows == 2
    assert writer.stats.queued_rows == 0
    writer.close()
    assert _ids(tmp_path) == ["a", "b"]
    assert writer.stats.sealed_segments == 1
    assert writer.stats.open_segments == 0


def test_relaxed_acks_complete_at_the_flush_interval(
    writers: Callable[..., PredictionLogWriter],
) -> None:
    writer = writers(flush_interval=0.2)
    writer.start()
    started = time.monotonic()
    ack = writer.append(records(["a"]))
    assert not ack.done
    assert ack.wait(5.0)
    assert time.monotonic() - started >= 0.1
    assert writer.stats.last_fsync_ms > 0


def test_flush_makes_everything_durable_now(writers: Callable[..., PredictionLogWriter]) -> None:
    writer = writers(flush_interval=30.0)
    assert writer.flush(0.0)  # nothing to flush
    acks = [writer.append(records([f"r{i}"])) for i in range(5)]
    assert not writer.flush(0.1)  # not started: nothing can be written
    writer.start()
    assert writer.flush(5.0)
    assert all(ack.done and ack.wait(0) for ack in acks)
    assert writer.stats.written_rows == 5
    assert writer.flush(0.0)


def test_written_batches_are_let_go_of(writers: Callable[..., PredictionLogWriter]) -> None:
    writer = writers(flush_interval=30.0)
    writer.start()
    tables = [records([f"r{i}-{j}" for j in range(3)]) for i in range(50)]
    refs = [weakref.ref(table) for table in tables]
    for table in tables:
        writer.append(table)
    del tables, table
    assert writer.flush(5.0)
    assert writer.stats.written_rows == 150
    assert eventually(lambda: all(ref() is None for ref in refs))


def test_release_gradually_empties_the_list_in_steps() -> None:
    freed: list[int] = []

    class Tracked:
        def __init__(self, number: int) -> None:
            self.number = number

        def __del__(self) -> None:
            freed.append(self.number)

    items: list[Any] = [Tracked(i) for i in range(20)]
    release_gradually(items, step=8)
    assert items == []
    assert sorted(freed) == list(range(20))
    assert sorted(freed[:8]) == list(range(12, 20))  # one step of 8 at a time


def test_polars_frames_are_accepted(
    tmp_path: Path, writers: Callable[..., PredictionLogWriter]
) -> None:
    writer = writers(durability="strict")
    writer.start()
    frame = pl.from_arrow(records(["p1", "p2"]))
    assert isinstance(frame, pl.DataFrame)
    assert writer.append(frame).wait(5.0)
    assert writer.append(records(["a1"])).wait(5.0)
    writer.close()
    assert _ids(tmp_path) == ["a1", "p1", "p2"]


class _Ids(DeferredRows):
    """Deferred rows that only know their ids; counts how often tables are built."""

    builds: ClassVar[list[int]] = []

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.num_rows = len(ids)
        self.schema = SCHEMA

    @classmethod
    def build(cls, items: Sequence[DeferredRows]) -> pa.Table:
        cls.builds.append(len(items))
        return records([rid for item in items if isinstance(item, _Ids) for rid in item.ids])


def test_deferred_rows_are_built_once_per_commit_in_order(
    tmp_path: Path, writers: Callable[..., PredictionLogWriter]
) -> None:
    _Ids.builds = []
    writer = writers(flush_interval=30.0)
    writer.start()
    acks = [writer.append(_Ids([f"d{i}-{j}" for j in range(i % 3 + 1)])) for i in range(40)]
    writer.append(records(["t1"]))  # a table between two runs of deferred rows
    acks.append(writer.append(_Ids(["d-last"])))
    assert writer.stats.queued_rows == sum(i % 3 + 1 for i in range(40)) + 2
    assert writer.flush(5.0)
    assert all(ack.wait(0) for ack in acks)
    assert _Ids.builds == [40, 1]  # one build per run of deferred items, not per item
    assert writer.stats.written_rows == 81
    writer.close()
    written = read_predictions(tmp_path, "churn").select("request_id").collect()
    assert written.get_column("request_id").to_list()[-3:] == ["d39-0", "t1", "d-last"]
    assert written.height == 81


def test_deferred_rows_that_fail_to_build_are_counted_not_written(
    tmp_path: Path, writers: Callable[..., PredictionLogWriter]
) -> None:
    class Broken(_Ids):
        @classmethod
        def build(cls, items: Sequence[DeferredRows]) -> pa.Table:
            raise ValueError("cannot build")

    writer = writers(durability="strict")
    writer.start()
    assert not writer.append(Broken(["b1", "b2"])).wait(5.0)
    assert writer.append(records(["ok1"])).wait(5.0)
    assert writer.stats.errors >= 1
    assert writer.stats.dropped_rows == 2
    writer.close()
    assert _ids(tmp_path) == ["ok1"]


def test_async_wait(writers: Callable[..., PredictionLogWriter]) -> None:
    writer = writers(durability="strict")
    writer.start()

    async def main() -> list[bool]:
        acks = [writer.append(records([f"r{i}"])) for i in range(20)]
        return list(await asyncio.gather(*(ack.wait_async(5.0) for ack in acks)))

    assert asyncio.run(main()) == [True] * 20


def test_async_wait_times_out_without_a_writer_thread(
    writers: Callable[..., PredictionLogWriter],
) -> None:
    writer = writers()
    ack = writer.append(records(["a"]))

    async def main() -> bool:
        return await ack.wait_async(0.05)

    assert asyncio.run(main()) is False


def test_rotation_at_the_hour_boundary(
    tmp_path: Path, clock: ManualClock, writers: Callable[..., PredictionLogWriter]
) -> None:
    writer = writers(flush_interval=0.05)
    writer.start()
    assert writer.append(records(["a", "b"], [T0 + timedelta(minutes=59)] * 2)).wait(5.0)
    assert writer.stats.sealed_segments == 0
    clock.set(T0 + timedelta(hours=1, seconds=1))
    assert eventually(lambda: writer.stats.sealed_segments == 1)
    assert writer.append(records(["c"], [T0 + timedelta(hours=1, seconds=1)])).wait(5.0)
    writer.close()
    found = list_segments(tmp_path, "churn")
    assert [(s.seq, s.key - found[0].key) for s in found] == [(1, 0), (2, 1)]
    assert [s.path.parent.name for s in found] == ["hour=10", "hour=11"]
    assert found[0].path.parent.parent.name == "date=2016-03-01"
    assert ids_in([s.path for s in found]) == ["a", "b", "c"]


def test_a_batch_spanning_hours_is_split(
    tmp_path: Path, writers: Callable[..., PredictionLogWriter]
) -> None:
    writer = writers(durability="strict")
    writer.start()
    times = minutes(4, T0 + timedelta(minutes=58))  # 10:58, 10:59, 11:00, 11:01
    assert writer.append(records(["a", "b", "c", "d"], times)).wait(5.0)
    writer.close()
    found = list_segments(tmp_path, "churn")
    assert [ids_in([s.path]) for s in found] == [["a", "b"], ["c", "d"]]


def test_rotation_by_rows_and_by_age(
    tmp_path: Path, clock: ManualClock, writers: Callable[..., PredictionLogWriter]
) -> None:
    writer = writers(
        durability="strict", flush_interval=0.05, segment_max_rows=4, segment_max_age=60.0
    )
    writer.start()
    for i in range(3):
        assert writer.append(records([f"r{i}a", f"r{i}b"])).wait(5.0)
    assert eventually(lambda: writer.stats.sealed_segments == 1)  # after 4 rows
    clock.set(clock.now() + timedelta(seconds=61))
    assert eventually(lambda: writer.stats.sealed_segments == 2)  # the last 2 rows, by age
    assert writer.stats.open_segments == 0
    assert _ids(tmp_path) == ["r0a", "r0b", "r1a", "r1b", "r2a", "r2b"]


def test_an_append_past_the_seal_age_seals_at_once_on_a_fast_clock(
    tmp_path: Path, clock: ManualClock, writers: Callable[..., PredictionLogWriter]
) -> None:
    """A simulated clock moves minutes per wall second: sealing must follow it, with
    every row queued before the seal inside the sealed segment, not a flush later."""
    writer = writers(durability="relaxed", flush_interval=30.0, segment_max_age=30.0)
    writer.start()
    writer.append(records(["a", "b"]))
    clock.set(clock.now() + timedelta(seconds=20))
    writer.append(records(["c"]))
    time.sleep(0.3)
    assert writer.stats.sealed_segments == 0  # 20 s old: not yet
    clock.set(clock.now() + timedelta(seconds=11))
    started = time.monotonic()
    writer.append(records(["d"]))  # the clock passed 30 s: this append wakes the writer
    assert eventually(lambda: writer.stats.sealed_segments == 1, timeout=5.0)
    assert time.monotonic() - started < 5.0  # far sooner than the 30 s flush interval
    [segment] = list_segments(tmp_path, "churn")
    assert ids_in([segment.path]) == ["a", "b", "c", "d"]


def test_a_slow_seal_does_not_hold_up_strict_acks(
    tmp_path: Path,
    clock: ManualClock,
    writers: Callable[..., PredictionLogWriter],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Seals run beside the commits: a strict append is durable while a seal is slow."""
    real_seal = segments_module.seal_file
    sealing, release = threading.Event(), threading.Event()

    def slow_seal(*args: Any, **kwargs: Any) -> Any:
        sealing.set()
        release.wait(10.0)
        return real_seal(*args, **kwargs)

    monkeypatch.setattr(segment_set_module, "seal_file", slow_seal)
    writer = writers(durability="strict", segment_max_age=30.0)
    writer.start()
    assert writer.append(records(["a"])).wait(5.0)
    clock.set(clock.now() + timedelta(seconds=31))
    writer.append(records(["b"]))  # past the seal age: the segment goes to the sealer
    assert sealing.wait(5.0)
    ack = writer.append(records(["c"]))
    assert ack.wait(5.0)  # durable in a new segment while the seal still waits
    assert not release.is_set() and writer.stats.sealed_segments == 0
    release.set()
    assert eventually(lambda: writer.stats.sealed_segments == 1)
    writer.close(timeout=5)
    assert sorted(ids_in([seg.path for seg in list_segments(tmp_path, "churn")])) == [
        "a",
        "b",
        "c",
    ]


def test_workers_share_a_root_and_sequence_numbers_continue(
    tmp_path: Path, writers: Callable[..., PredictionLogWriter]
) -> None:
    first = [writers(worker, durability="strict") for worker in ("w0", "w1", "w0-b")]
    for writer in first:
        writer.start()
    for i in range(10):
        for writer in first:
            writer.append(records([f"{writer.worker}-{i}"]))
    for writer in first:
        writer.close()
    again = writers("w0", durability="strict")
    again.start()
    assert again.append(records(["w0-again"])).wait(5.0)
    again.close()
    found = list_segments(tmp_path, "churn")
    assert [(s.worker, s.seq) for s in found] == [("w0", 1), ("w0", 2), ("w0-b", 1), ("w1", 1)]
    ids = _ids(tmp_path)
    assert len(ids) == len(set(ids)) == 31
    assert {i.rsplit("-", 1)[0] for i in ids} == {"w0", "w1", "w0-b"}


def test_a_full_queue_drops_and_counts(writers: Callable[..., PredictionLogWriter]) -> None:
    writer = writers(max_queue_rows=10, flush_interval=30.0)
    acks = [writer.append(records([f"r{i}a", f"r{i}b", f"r{i}c"])) for i in range(4)]
    assert [ack.accepted for ack in acks] == [True, True, True, False]
    assert acks[3].wait(0) is False
    stats = writer.stats
    assert (stats.queued_rows, stats.dropped_rows, stats.queue_depth) == (9, 3, 3)
    writer.start()
    assert writer.flush(5.0)
    assert writer.stats.written_rows == 9
    assert writer.append(records(["late"])).accepted


def test_disk_errors_are_counted_and_retried(
    tmp_path: Path, writers: Callable[..., PredictionLogWriter], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = append_file_module.write_all
    failures = {"left": 3}

    def flaky(fd: int, chunks: Sequence[bytes | memoryview]) -> int:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, chunks)

    monkeypatch.setattr(append_file_module, "write_all", flaky)
    writer = writers(durability="strict", flush_interval=0.05)
    writer.start()
    acks = [writer.append(records([f"r{i}"])) for i in range(5)]
    assert all(ack.wait(10.0) for ack in acks)
    stats = writer.stats
    assert stats.errors >= 1
    assert stats.last_error is not None
    assert "No space" in stats.last_error
    assert stats.written_rows == 5
    writer.close()
    assert _ids(tmp_path) == [f"r{i}" for i in range(5)]  # each once


def test_close_gives_up_on_a_dead_disk(
    writers: Callable[..., PredictionLogWriter], monkeypatch: pytest.MonkeyPatch
) -> None:
    def dead(fd: int, chunks: Sequence[bytes | memoryview]) -> int:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(append_file_module, "write_all", dead)
    writer = writers(durability="strict", flush_interval=0.05)
    writer.start()
    ack = writer.append(records(["a", "b"]))
    started = time.monotonic()
    writer.close(timeout=0.5)
    assert time.monotonic() - started < 5.0
    assert ack.wait(0) is False
    assert writer.stats.dropped_rows == 2
    assert writer.stats.errors >= 1


def test_append_after_close_and_bad_batches_raise(
    writers: Callable[..., PredictionLogWriter],
) -> None:
    writer = writers()
    writer.start()
    with pytest.raises(LogSchemaError, match="colour"):
        writer.append(records(["a"]).append_column("colour", [["red"]]))
    with pytest.raises(LogSchemaError, match="batch"):
        writer.append([{"request_id": "a"}])
    with pytest.raises(LogSchemaError, match="request_id"):
        writer.append(pl.from_arrow(records(["a"])).with_columns(request_id=None))  # type: ignore[union-attr]
    frame = pl.from_arrow(records(["a"]))
    assert isinstance(frame, pl.DataFrame)
    objects = frame.with_columns(  # a Python object column would never seal into Parquet
        pl.Series("prediction", [object()], dtype=pl.Object)
    )
    with pytest.raises(LogSchemaError, match=r"prediction.*concrete type"):
        writer.append(objects)
    assert writer.append(records([])).wait(0)
    assert writer.flush(5.0) and writer.stats.dropped_rows == 0
    writer.close()
    with pytest.raises(PredictionLogError, match="closed"):
        writer.append(records(["a"]))


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("durability", "eventual"),
        ("flush_interval", 0.0),
        ("max_queue_rows", -1),
        ("segment_max_age", "1m"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, option: str, value: object) -> None:
    with pytest.raises(ConfigError, match=option):
        PredictionLogWriter(tmp_path, "churn", "w0", SCHEMA, **{option: value})  # type: ignore[arg-type]


def test_bad_worker_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="worker"):
        PredictionLogWriter(tmp_path, "churn", "../w0", SCHEMA)


def test_records_over_many_hours_keep_few_files_open(
    tmp_path: Path, writers: Callable[..., PredictionLogWriter], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(segment_set_module, "_MAX_OPEN", 3)
    created: list[int] = []
    real_create = segments_module.OpenSegment.create

    def counting_create(*args: object, **kwargs: object) -> segments_module.OpenSegment:
        segment = real_create(*args, **kwargs)  # type: ignore[arg-type]
        created.append(len(writer._files._open))  # files open before this one
        return segment

    monkeypatch.setattr(segments_module.OpenSegment, "create", counting_create)
    writer = writers(durability="strict")
    writer.start()
    times = [T0 - timedelta(hours=h) for h in range(10)]
    assert writer.append(records([f"h{h}" for h in range(10)], times)).wait(5.0)
    writer.close()
    assert len(created) == 10
    assert max(created) <= 2
    found = list_segments(tmp_path, "churn")
    assert len({s.key for s in found}) == 10
    assert sorted(ids_in([s.path for s in found])) == sorted(f"h{h}" for h in range(10))
