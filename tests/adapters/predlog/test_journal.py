"""The strict-mode journal: its file format, the marks in segments, and replay after a crash.

Each crash test builds, with the writer's own pieces, the files a crash leaves at one
point of a strict writer's cycle, then recovers: every journaled row must be stored
exactly once.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steadyml.adapters.predlog import (
    PREDICTIONS,
    DeferredRows,
    PredictionLogWriter,
    read_predictions,
    recover,
)
from steadyml.adapters.predlog.batches import BatchAdmitter
from steadyml.adapters.predlog.journal import Journal, read_journal
from steadyml.adapters.predlog.journal_items import (
    JournalDecodeError,
    decode_item,
    encode_item,
)
from steadyml.adapters.predlog.layout import hour_key, partition_dir, scan_journals, scan_open
from steadyml.adapters.predlog.schema import conform
from steadyml.adapters.predlog.segments import OpenSegment, read_stream

from .helpers import SCHEMA, T0, records

FILL = {"service": "churn", "worker": "w0"}


def _journal(root: Path, number: int = 1) -> Journal:
    return Journal.create(
        root / PREDICTIONS, "churn", "w0", number=number, schema=SCHEMA, time_column="event_time"
    )


def _admitter() -> BatchAdmitter:
    return BatchAdmitter(SCHEMA, "event_time", FILL)


def _journaled(root: Path, batches: Sequence[Sequence[str]], number: int = 1) -> Journal:
    """A journal holding one record per batch of ids, durable."""
    journal = _journal(root, number)
    journal.append([encode_item(records(list(ids)), _admitter()) for ids in batches])
    journal.sync()
    return journal


def _segment(root: Path) -> OpenSegment:
    key = hour_key(T0)
    return OpenSegment.create(
        partition_dir(root / PREDICTIONS, "churn", key), "w0", SCHEMA, key, T0
    )


def _rows(ids: Sequence[str]) -> pa.Table:
    return conform(records(list(ids)), SCHEMA, fill=FILL)


def _stored(root: Path) -> list[str]:
    frame = read_predictions(root, "churn").select("request_id").collect()
    return sorted(frame.get_column("request_id").to_list())


def test_records_read_back_in_order_with_the_header(tmp_path: Path) -> None:
    journal = _journaled(tmp_path, [["a", "b"], ["c"]])
    contents = read_journal(journal.path)
    assert contents.header is not None
    assert (contents.header.worker, contents.header.number) == ("w0", 1)
    assert contents.header.token == journal.token
    assert contents.header.schema.equals(SCHEMA)
    assert not contents.torn
    items = [decode_item(body, SCHEMA, {}) for body in contents.records]
    assert [item.column("request_id").to_pylist() for item in items] == [["a", "b"], ["c"]]  # type: ignore[union-attr]
    journal.delete()
    assert not journal.path.exists()


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(min_value=0, max_value=100_000))
def test_a_torn_journal_keeps_exactly_its_complete_records(
    tmp_path_factory: pytest.TempPathFactory, cut: int
) -> None:
    root = tmp_path_factory.mktemp("torn")
    journal = _journal(root)
    ends = [journal.size]
    for i in range(3):
        journal.append([encode_item(records([f"r{i}"]), _admitter())])
        ends.append(journal.size)
    journal.sync()
    journal.close()
    cut %= ends[-1] + 1
    os.truncate(journal.path, cut)
    contents = read_journal(journal.path)
    if cut < ends[0]:
        assert contents.header is None
        assert contents.records == []
        return
    complete = sum(1 for end in ends[1:] if end <= cut)
    assert len(contents.records) == complete
    assert contents.torn == (cut not in ends)


def test_a_flipped_byte_ends_the_journal_there(tmp_path: Path) -> None:
    journal = _journaled(tmp_path, [["a"], ["b"], ["c"]])
    journal.close()
    data = bytearray(journal.path.read_bytes())
    data[-10] ^= 0xFF  # inside the last record's body: its CRC no longer matches
    journal.path.write_bytes(bytes(data))
    contents = read_journal(journal.path)
    assert (len(contents.records), contents.torn) == (2, True)


def test_reading_a_segment_stops_at_a_mark_it_is_told_of(tmp_path: Path) -> None:
    segment = _segment(tmp_path)
    segment.write_table(_rows(["a"]), mark="0123456789abcdef")
    segment.write_table(_rows(["b", "c"]), mark="fedcba9876543210")
    segment.write_table(_rows(["d"]))
    segment.sync()
    segment.close()
    whole = read_stream(segment.path)
    assert whole.table is not None
    assert whole.table.column("request_id").to_pylist() == ["a", "b", "c", "d"]
    assert not whole.cut
    cut = read_stream(segment.path, stop_marks={"fedcba9876543210"})
    assert cut.table is not None
    assert cut.table.column("request_id").to_pylist() == ["a"]
    assert cut.cut and cut.ignored_bytes > 0


@pytest.mark.parametrize(
    "stage",
    ["journaled", "copied", "copied-torn", "copied-then-next-journal", "header-only"],
)
def test_recovery_stores_every_journaled_row_once(tmp_path: Path, stage: str) -> None:
    """The files a crash leaves at each point of a strict writer's copy."""
    segment = _segment(tmp_path)
    segment.write_table(_rows(["old"]))  # copied from a journal deleted long ago
    segment.sync()
    expected = ["old"]
    if stage == "header-only":  # a crash right after a journal was created
        _journal(tmp_path).close()
    else:
        journal = _journaled(tmp_path, [["a", "b"], ["c"]])
        expected += ["a", "b", "c"]
        if stage.startswith("copied"):
            segment.write_table(_rows(["a", "b", "c"]), mark=journal.token)
            segment.sync()
        if stage == "copied-torn":
            os.truncate(segment.path, segment.durable_size - 7)
        if stage == "copied-then-next-journal":  # the first journal's delete failed
            second = _journaled(tmp_path, [["d"]], number=2)
            segment.write_table(_rows(["d"]), mark=second.token)
            segment.sync()
            second.close()
            expected += ["d"]
        journal.close()
    segment.close()
    report = recover(tmp_path, "churn")
    assert _stored(tmp_path) == sorted(expected)
    assert scan_journals(tmp_path / PREDICTIONS, "churn") == []
    assert scan_open(tmp_path / PREDICTIONS, "churn") == ([], [])
    assert report.replayed_rows == len(expected) - 1
    assert report.recovered_rows == 1
    assert report.unreadable_journals == ()


@settings(max_examples=25, deadline=None)
@given(cut=st.integers(min_value=0, max_value=1_000_000))
def test_a_copy_cut_anywhere_recovers_every_row_once(
    tmp_path_factory: pytest.TempPathFactory, cut: int
) -> None:
    root = tmp_path_factory.mktemp("copy")
    segment = _segment(root)
    segment.write_table(_rows(["old"]))
    segment.sync()
    start = segment.size
    journal = _journaled(root, [["a"], ["b", "c"]])
    segment.write_table(_rows(["a", "b", "c"]), mark=journal.token)
    segment.sync()
    segment.close()
    journal.close()
    os.truncate(segment.path, start + cut % (segment.size - start + 1))
    recover(root, "churn")
    assert _stored(root) == ["a", "b", "c", "old"]


class _Tagged(DeferredRows):
    """Deferred rows with a journal form of their own."""

    journal_tag: ClassVar[str | None] = "tests.tagged/1"

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.num_rows = len(ids)
        self.schema = SCHEMA

    @classmethod
    def build(cls, items: Sequence[DeferredRows]) -> pa.Table:
        return records([i for item in items if isinstance(item, _Tagged) for i in item.ids])

    def to_journal(self) -> list[bytes | memoryview]:
        return ["\n".join(self.ids).encode()]

    @classmethod
    def from_journal(cls, data: memoryview, schema: pa.Schema) -> DeferredRows:
        return cls(bytes(data).decode().split("\n"))


def test_deferred_rows_are_journaled_in_their_own_form_and_replayed(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    journal.append([encode_item(_Tagged(["x", "y"]), _admitter())])
    journal.sync()
    journal.close()
    [body] = read_journal(journal.path).records
    assert b"x\ny" in bytes(body)  # not an Arrow table: the class's own bytes
    with pytest.raises(JournalDecodeError, match=r"tests\.tagged/1"):
        decode_item(body, SCHEMA, {})
    report = recover(tmp_path, "churn", codecs={"tests.tagged/1": _Tagged})
    assert report.replayed_rows == 2
    assert _stored(tmp_path) == ["x", "y"]


def test_a_journal_no_codec_can_read_is_set_aside_and_reported(tmp_path: Path) -> None:
    segment = _segment(tmp_path)
    journal = _journal(tmp_path)
    journal.append([encode_item(_Tagged(["x"]), _admitter())])
    journal.sync()
    journal.close()
    segment.write_table(_rows(["x"]), mark=journal.token)  # copied before the crash
    segment.sync()
    segment.close()
    report = recover(tmp_path, "churn")  # no codec for "tests.tagged/1"
    [aside] = report.unreadable_journals
    assert aside.name == journal.path.name + ".unreadable"
    assert aside.exists() and not journal.path.exists()
    assert _stored(tmp_path) == ["x"]  # what was copied stays; nothing is replayed twice
    assert recover(tmp_path, "churn").unreadable_journals == ()  # set aside once


def test_a_strict_ack_is_in_the_journal_and_a_flush_copies_it(tmp_path: Path) -> None:
    writer = PredictionLogWriter(
        tmp_path, "churn", "w0", SCHEMA, durability="strict", flush_interval=60.0
    )
    writer.start()
    try:
        assert writer.append(records(["a", "b"])).wait(5.0)
        [entry] = scan_journals(tmp_path / PREDICTIONS, "churn", worker="w0")
        bodies = read_journal(entry.path).records
        ids = [decode_item(body, SCHEMA, {}).column("request_id").to_pylist() for body in bodies]  # type: ignore[union-attr]
        assert ids == [["a", "b"]]
        assert writer.stats.journal_rows == 2
        assert writer.flush(5.0)
        assert writer.stats.journal_rows == 0
        assert scan_journals(tmp_path / PREDICTIONS, "churn") == []
        [(_, path)] = scan_open(tmp_path / PREDICTIONS, "churn")[0]
        table = read_stream(path).table
        assert table is not None
        assert table.column("request_id").to_pylist() == ["a", "b"]
    finally:
        writer.close()
    assert _stored(tmp_path) == ["a", "b"]


def test_the_queue_bound_counts_journaled_rows_not_yet_copied(tmp_path: Path) -> None:
    writer = PredictionLogWriter(
        tmp_path,
        "churn",
        "w0",
        SCHEMA,
        durability="strict",
        flush_interval=60.0,
        max_queue_rows=40,  # copies start once 10 rows are staged
    )
    writer.start()
    try:
        staged = []
        for i in range(30):
            assert writer.append(records([f"r{i}"])).wait(5.0)
            staged.append(writer.stats.journal_rows)
        assert max(staged) <= 10  # copied in bulk once 10 are staged, well before the bound
        assert writer.stats.dropped_rows == 0
    finally:
        writer.close()
    assert _stored(tmp_path) == sorted(f"r{i}" for i in range(30))


def test_a_failing_segment_write_holds_the_copy_not_the_acks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Strict acks need only the journal: while segment writes fail, commits go on,
    the journal is kept, and the copy is retried until it lands, each row once."""
    real = OpenSegment.write_table
    failures = {"left": 3}

    def flaky(self: OpenSegment, table: pa.Table, mark: str | None = None) -> None:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise OSError(errno.EIO, "Input/output error")
        real(self, table, mark)

    monkeypatch.setattr(OpenSegment, "write_table", flaky)
    writer = PredictionLogWriter(
        tmp_path, "churn", "w0", SCHEMA, durability="strict", flush_interval=0.05
    )
    writer.start()
    try:
        for i in range(10):
            assert writer.append(records([f"r{i}"])).wait(5.0)
        assert writer.flush(10.0)
        stats = writer.stats
        assert stats.errors == 3
        assert stats.last_error is not None and "Input/output" in stats.last_error
        assert (stats.journal_rows, stats.dropped_rows) == (0, 0)
    finally:
        writer.close()
    assert _stored(tmp_path) == sorted(f"r{i}" for i in range(10))
    assert scan_journals(tmp_path / PREDICTIONS, "churn") == []
