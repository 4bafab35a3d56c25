"""The open segments of one writer: write by partition hour, fsync, rotate and seal.

Everything here runs on the writer thread except the seals. :meth:`SegmentSet.write`
splits tables by the UTC hour of their time column, appends each part to that hour's open
segment and fsyncs every segment it touched once. :meth:`SegmentSet.rotate` closes
segments that are full, old, or whose hour the clock has left, and hands them to a sealer
thread, which seals them in order, numbering the seals. Sealing 30 seconds of a busy
worker's records into Parquet takes a second or more; on the writer thread it held up
every commit meanwhile, and in strict mode every response waiting for one. When closing,
the remaining seals are done on the writer thread, after the sealer's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from steadyml.adapters.predlog.batches import split_by_hour
from steadyml.adapters.predlog.layout import hour_key, hour_start, partition_dir
from steadyml.adapters.predlog.segments import OpenSegment, seal_file
from steadyml.core.clock import Clock

__all__ = ["SegmentSet"]

_MAX_OPEN = 64  # open segment files per writer at most

_Pending = dict[int, tuple[OpenSegment, list[pa.Table]]]


class SegmentSet:
    """The open and to-be-sealed segments of one worker in one log table.

    Parameters
    ----------
    table_root, service, worker
        Where the segments go.
    schema
        The log schema of every open segment.
    time_column
        The column deciding each record's partition hour.
    max_rows, max_age
        Rotation limits (rows; seconds by ``clock``).
    clock
        The event-time clock.
    on_error
        Called with every ``OSError`` met; the failed rows are handed back to the caller.
    next_seq
        The sequence number of the next seal.
    """

    def __init__(
        self,
        table_root: Path,
        service: str,
        worker: str,
        schema: pa.Schema,
        time_column: str,
        *,
        max_rows: int,
        max_age: float,
        clock: Clock,
        on_error: Callable[[BaseException], None],
        next_seq: int = 1,
    ) -> None:
        self.table_root = table_root
        self.service = service
        self.worker = worker
        self.schema = schema
        self.time_column = time_column
        self.max_rows = max_rows
        self.max_age = max_age
        self.clock = clock
        self.next_seq = next_seq
        self.sealed = 0
        self.last_fsync_ms = 0.0
        self._on_error = on_error
        self._open: dict[int, OpenSegment] = {}
        self._to_seal: list[OpenSegment] = []  # closed, not yet sealed (oldest first)
        self._seal_lock = threading.Lock()  # guards _to_seal, shared with the sealer
        self._sealer: ThreadPoolExecutor | None = None
        self._sealing: Future[OSError | None] | None = None
        #: Event time (epoch seconds) at which the oldest open segment is ``max_age`` old;
        #: read by the appending thread to wake the writer then (a float: atomic to share).
        self.seal_due = float("inf")

    @property
    def count(self) -> int:
        """Open segment files, including those waiting to be sealed."""
        return len(self._open) + len(self._to_seal)

    @property
    def waiting(self) -> bool:
        """True when closed segments wait for a seal that is not under way (a retry)."""
        return bool(self._to_seal) and not self._seal_running()

    def _seal_running(self) -> bool:
        return self._sealing is not None and not self._sealing.done()

    def write(
        self, tables: list[pa.Table], since: datetime | None = None, mark: str | None = None
    ) -> tuple[int, list[pa.Table]]:
        """Append and fsync ``tables``; return ``(rows made durable, parts that failed)``.

        A segment opened for them counts its age from ``since`` (when their first row
        was appended; the clock's now by default). ``mark`` names the journal the rows
        come from: each segment they go to gets its mark first.
        """
        failed: list[pa.Table] = []
        pending: _Pending = {}
        marked: set[int] = set()
        written = 0
        for table in tables:
            for key, part in split_by_hour(table, self.time_column):
                if key not in self._open and len(self._open) >= _MAX_OPEN:
                    # records spread over many hours: make what is written durable and
                    # hand the oldest segments to the sealer before opening more files
                    written += self._sync(pending, failed)
                    self._evict(len(self._open) - _MAX_OPEN + 1)
                try:
                    segment = self._segment_for(key, since)
                    first = mark is not None and id(segment) not in marked
                    segment.write_table(part, mark if first else None)
                    marked.add(id(segment))
                except OSError as exc:
                    self._on_error(exc)
                    failed.append(part)
                    continue
                pending.setdefault(id(segment), (segment, []))[1].append(part)
        written += self._sync(pending, failed)
        return written, failed

    def _sync(self, pending: _Pending, failed: list[pa.Table]) -> int:
        written = 0
        for segment, parts in pending.values():
            started = time.perf_counter()
            try:
                segment.sync()
            except OSError as exc:
                self._on_error(exc)
                failed.extend(parts)
                continue
            self.last_fsync_ms = (time.perf_counter() - started) * 1000.0
            written += sum(part.num_rows for part in parts)
        pending.clear()
        return written

    def _evict(self, count: int) -> None:
        for key, segment in sorted(self._open.items(), key=lambda kv: kv[1].opened_at)[:count]:
            self._retire(key, segment)

    def _retire(self, key: int, segment: OpenSegment) -> None:
        del self._open[key]
        segment.close()
        with self._seal_lock:
            self._to_seal.append(segment)
        self._update_seal_due()

    def _update_seal_due(self) -> None:
        opened = [segment.opened_at.timestamp() for segment in self._open.values()]
        self.seal_due = min(opened) + self.max_age if opened else float("inf")

    def _segment_for(self, key: int, since: datetime | None = None) -> OpenSegment:
        segment = self._open.get(key)
        if segment is not None and not segment.closed:
            return segment
        if segment is not None:
            self._retire(key, segment)
        directory = partition_dir(self.table_root, self.service, key)
        now = self.clock.now()
        opened_at = now if since is None else min(since, now)
        segment = OpenSegment.create(directory, self.worker, self.schema, key, opened_at)
        self._open[key] = segment
        self._update_seal_due()
        return segment

    def rotate(self, *, closing: bool, seal: bool = True) -> None:
        """Close segments due for a seal (all of them when ``closing``); seal if ``seal``.

        A segment is due when it holds ``max_rows`` durable rows, is ``max_age`` old, was
        opened within an hour the clock has left, or broke on a write error.
        """
        now = self.clock.now()
        current = hour_key(now)
        for key, segment in list(self._open.items()):
            ended = key < current and segment.opened_at < hour_start(key + 1)
            old = (now - segment.opened_at).total_seconds() >= self.max_age
            if closing or ended or old or segment.closed or segment.durable_rows >= self.max_rows:
                self._retire(key, segment)
        if closing:
            self._stop_sealer()
            if seal:
                error = self._seal_in_order()
                if error is not None:
                    self._on_error(error)
            return
        if not seal or self._seal_running():
            return
        if self._collect_seals():  # failed: the writer calls again at its retry time
            return
        if self._to_seal:
            if self._sealer is None:
                self._sealer = ThreadPoolExecutor(
                    1, thread_name_prefix=f"predlog-seal-{self.worker}"
                )
            self._sealing = self._sealer.submit(self._seal_in_order)

    def seal_all(self) -> list[Path]:
        """Close every open segment and seal them all on this thread, oldest first.

        Raises
        ------
        OSError
            When a seal fails; the segments not sealed stay for the next recovery.
        """
        for key, segment in list(self._open.items()):
            self._retire(key, segment)
        self._stop_sealer()
        sealed: list[Path] = []
        error = self._seal_in_order(sealed)
        if error is not None:
            raise error
        return sealed

    def _seal_in_order(self, sealed: list[Path] | None = None) -> OSError | None:
        """Seal the closed segments, oldest first; the error that stopped it, if any."""
        with self._seal_lock:
            segments = list(self._to_seal)
        for segment in segments:
            try:
                result = seal_file(segment.path, self.worker, self.next_seq, segment.durable_size)
            except OSError as exc:
                return exc
            with self._seal_lock:
                self._to_seal.remove(segment)
            if result.path is not None:
                self.next_seq += 1
                self.sealed += 1
                if sealed is not None:
                    sealed.append(result.path)
        return None

    def _stop_sealer(self) -> None:
        """Wait for the sealer thread's current seals and end it."""
        if self._sealer is not None:
            self._sealer.shutdown(wait=True)
            self._sealer = None
        self._collect_seals()

    def _collect_seals(self) -> bool:
        """Take the finished sealer run's outcome; True (after reporting it) if it failed."""
        error = self._sealing.result() if self._sealing is not None else None
        self._sealing = None
        if error is not None:
            self._on_error(error)
        return error is not None

    def close_files(self) -> None:
        """Close every descriptor; unsealed files stay for recovery at the next start."""
        self._stop_sealer()
        for segment in [*self._open.values(), *self._to_seal]:
            segment.close()
