"""The log writer: a bounded queue in front of one background thread that owns the files.

The caller's side (:meth:`SegmentWriter.append`) only checks the batch's schema (once per
distinct schema) and puts it on a queue: it never blocks and never touches the disk. The
writer thread takes everything queued, converts it to the log schema, splits it by
partition hour, appends it to the open segments, fsyncs each once and completes the
acknowledgements of every batch it took (group commit); in ``relaxed`` mode it does so
every ``flush_interval`` seconds (or earlier when the queue fills up). In ``strict`` mode
it wakes for every append, appends what is queued to a journal, fsyncs it and completes
the acknowledgements, then copies a flush interval's worth of journaled rows into the
segments at once (see :mod:`~steadyml.adapters.predlog.journaled`). Segments are sealed
into Parquet when they reach ``segment_max_rows``, ``segment_max_age`` or the end of their
hour.

Write errors (disk full, I/O errors) are counted and retried with backoff; the queue holds
at most ``max_queue_rows`` meanwhile and drops (and counts) the rest.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pyarrow as pa

from steadyml.adapters.predlog.acks import Ack, Commit
from steadyml.adapters.predlog.batches import BatchAdmitter, Item, release_gradually, to_table
from steadyml.adapters.predlog.commit_queue import CommitQueue
from steadyml.adapters.predlog.journal_items import Codecs
from steadyml.adapters.predlog.journaled import JournaledCommits
from steadyml.adapters.predlog.layout import PREDICTIONS, check_name
from steadyml.adapters.predlog.locks import WorkerLock
from steadyml.adapters.predlog.recovery import next_seq, recover_table
from steadyml.adapters.predlog.segment_set import SegmentSet
from steadyml.core.clock import Clock, SystemClock
from steadyml.errors import ConfigError, SteadyError

__all__ = ["PredictionLogError", "PredictionLogWriter", "SegmentWriter", "WriterStats"]

_log = logging.getLogger("steadyml.predlog")
_MAX_BACKOFF = 5.0
_NEVER = float("inf")  # no row waits for a segment


class PredictionLogError(SteadyError):
    """The log writer cannot do what was asked (closed, or its directory is unusable)."""

    kind = "prediction log error"
    http_status = 503


@dataclass(frozen=True)
class WriterStats:
    """Counters of one log writer (a consistent snapshot).

    Attributes
    ----------
    queued_rows
        Rows accepted and not yet durable (queued, being written or awaiting a retry).
    dropped_rows
        Rows refused because the queue was full, or lost because the writer gave up.
    written_rows
        Rows made durable, in open segments or (strict mode) in the journal.
    sealed_segments
        Segments sealed into Parquet.
    last_fsync_ms
        Duration of the latest fsync of an open segment.
    errors
        Write, fsync, seal and conversion errors so far.
    queue_depth
        Batches waiting in the queue.
    open_segments
        Open segment files (including those waiting to be sealed).
    last_error
        The latest error message, or None.
    journal_rows
        Rows durable in a strict-mode journal, not yet copied into a segment.
    """

    queued_rows: int
    dropped_rows: int
    written_rows: int
    sealed_segments: int
    last_fsync_ms: float
    errors: int
    queue_depth: int
    open_segments: int
    last_error: str | None
    journal_rows: int = 0


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(name, value, "give a positive number")
    return value


class SegmentWriter:
    """Append record batches to one worker's segments of one log table.

    See :class:`PredictionLogWriter` for the parameters; ``table_root`` is the table
    directory itself and ``time_column`` the timestamp that decides the partition.
    """

    def __init__(
        self,
        table_root: Path,
        service: str,
        worker: str,
        schema: pa.Schema,
        *,
        durability: Literal["strict", "relaxed"] = "relaxed",
        flush_interval: float = 1.0,
        max_queue_rows: int = 200_000,
        segment_max_rows: int = 250_000,
        segment_max_age: float = 60.0,
        clock: Clock | None = None,
        time_column: str = "event_time",
        codecs: Codecs | None = None,
    ) -> None:
        if durability not in ("strict", "relaxed"):
            raise ConfigError("durability", durability, "use 'strict' or 'relaxed'")
        self.table_root = Path(table_root)
        self.service = check_name("service", service)
        self.worker = check_name("worker", worker)
        self.schema = schema
        self._interval = _positive("flush_interval", flush_interval)
        max_rows = int(_positive("segment_max_rows", segment_max_rows))
        queue_rows = int(_positive("max_queue_rows", max_queue_rows))
        fill = {"service": service, "worker": worker}
        self._admitter = BatchAdmitter(schema, time_column, fill)
        self._wake_rows = max(1, min(queue_rows // 4, max_rows))
        self._queue = CommitQueue(queue_rows, self._wake_rows, strict=durability == "strict")
        self._codecs = dict(codecs or {})
        self._wake = threading.Event()
        self._closing = False
        self._deadline = float("inf")
        self._thread: threading.Thread | None = None
        self._lock_file: WorkerLock | None = None
        self._errors = 0
        self._last_error: str | None = None
        self._clock = clock or SystemClock()
        # event time (epoch s) of the first append not yet in a segment; floats are
        # shared between the caller and the writer thread without a lock
        self._unsealed_since = _NEVER
        # owned by the writer thread
        self._files = SegmentSet(
            self.table_root,
            self.service,
            self.worker,
            schema,
            time_column,
            max_rows=max_rows,
            max_age=_positive("segment_max_age", segment_max_age),
            clock=self._clock,
            on_error=self._failed,
        )
        self._retry: list[pa.Table] = []
        self._retry_commits: list[Commit] = []
        self._retry_at = 0.0
        self._backoff = 0.0
        self._journaled: JournaledCommits | None = None
        if durability == "strict":
            self._journaled = JournaledCommits(
                self.table_root,
                self.service,
                self.worker,
                schema,
                time_column,
                queue=self._queue,
                admitter=self._admitter,
                files=self._files,
                on_error=self._failed,
            )
        # flush() in strict mode waits until its rows are copied into segments
        self._copied = threading.Condition()
        self._copy_requests = 0
        self._copies_done = 0

    # -- the caller's side -----------------------------------------------------------

    def start(self) -> None:
        """Recover this worker's leftover open segments, then start the writer thread.

        Raises
        ------
        PredictionLogError
            When another live process writes as this worker, or the log directory cannot
            be read or written.
        """
        if self._thread is not None:
            return
        try:
            self._lock_file = WorkerLock.try_acquire(self.table_root, self.service, self.worker)
            if self._lock_file is None:
                raise PredictionLogError(
                    "worker",
                    self.worker,
                    "another live writer uses this worker id; give each process its own",
                )
            report = recover_table(
                self.table_root, self.service, self.worker, held=True, codecs=self._codecs
            )
            self._files.next_seq = next_seq(self.table_root, self.service, self.worker)
        except OSError as exc:
            self._release()
            raise PredictionLogError(
                str(self.table_root), None, f"cannot recover the log ({exc}); check it is writable"
            ) from exc
        if report.sealed or report.removed:
            _log.info(
                "recovered %d rows in %d segments and %d rows from journals",
                report.recovered_rows,
                len(report.sealed),
                report.replayed_rows,
            )
        self._thread = threading.Thread(
            target=self._run, name=f"predlog-{self.service}-{self.worker}", daemon=True
        )
        self._thread.start()

    def append(self, batch: Item) -> Ack:
        """Queue a batch of records; never blocks.

        Returns
        -------
        Ack
            ``accepted`` is False when the queue was full (the rows are counted as dropped);
            :meth:`Ack.wait` / :meth:`Ack.wait_async` tell when the rows are durable.

        Raises
        ------
        LogSchemaError
            When the batch does not fit the log schema (checked once per distinct schema).
        PredictionLogError
            When the writer is closed.
        """
        if self._closing:
            raise PredictionLogError(
                "worker", self.worker, "the log writer is closed; append before close()"
            )
        ack, wake = self._queue.put(batch, self._admitter.admit(batch))
        now = self._clock.now().timestamp()
        if self._unsealed_since == _NEVER:
            self._unsealed_since = now
        if wake or now >= self._seal_due():
            # a segment reached its age on the event clock: seal it now, not at the next
            # flush tick (on a simulated clock a wall second can be a minute of traffic)
            self._wake.set()
        return ack

    def _seal_due(self) -> float:
        """Event time (epoch s) when the oldest row not yet sealed should be sealed."""
        oldest = self._unsealed_since
        if self._journaled is not None:
            oldest = min(oldest, self._journaled.oldest)
        return min(self._files.seal_due, oldest + self._files.max_age)

    def flush(self, timeout: float | None = None) -> bool:
        """Write and fsync everything appended so far into segments; True once it is.

        Returns False on timeout, on a write error that persists, or before :meth:`start`.
        """
        targets = self._queue.request_flush()
        journaled = self._journaled
        if not targets and (journaled is None or journaled.idle):
            return True
        if self._thread is None or not self._thread.is_alive():
            return False
        self._wake.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        for commit in targets:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not commit.wait(left):
                return False
        if journaled is None:
            return True
        with self._copied:
            self._copy_requests += 1
            request = self._copy_requests
            self._wake.set()
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            return self._copied.wait_for(lambda: self._copies_done >= request, left)

    def close(self, timeout: float = 30.0) -> None:
        """Stop accepting, drain the queue, fsync and seal every open segment.

        Gives up after ``timeout`` seconds (e.g. disk full): what is still queued is
        counted as dropped and left open segments are recovered at the next start.
        """
        with self._queue.lock:
            if self._closing:
                return
            self._closing = True
            self._deadline = time.monotonic() + timeout
        if self._thread is None:
            self.start()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout + 5.0)

    @property
    def stats(self) -> WriterStats:
        """A snapshot of the writer's counters."""
        queue = self._queue
        with queue.lock:
            return WriterStats(
                queued_rows=queue.held_rows,
                dropped_rows=queue.dropped_rows,
                written_rows=queue.written_rows,
                sealed_segments=self._files.sealed,
                last_fsync_ms=self._files.last_fsync_ms,
                errors=self._errors,
                queue_depth=queue.depth,
                open_segments=self._files.count,
                last_error=self._last_error,
                journal_rows=queue.staged_rows,
            )

    # -- the writer thread -----------------------------------------------------------

    def _run(self) -> None:
        next_flush = time.monotonic() + self._interval
        while True:
            now = time.monotonic()
            wait = next_flush - now
            journal_waits = self._journaled is not None and self._journaled.waiting
            if self._retry or self._files.waiting or journal_waits:
                wait = min(wait, self._retry_at - now)
            if not self._closing:
                self._wake.wait(max(0.0, wait))
            self._wake.clear()
            now = time.monotonic()
            closing = self._closing
            try:
                sealing = self._clock.now().timestamp() >= self._seal_due()
                due = self._queue.due() or closing or now >= next_flush or sealing
                if self._journaled is not None:
                    self._journal_cycle(copy=closing or now >= next_flush or sealing)
                    if now >= next_flush:
                        next_flush = now + self._interval
                elif due or (self._retry and now >= self._retry_at):
                    self._commit_cycle()
                    if now >= next_flush:
                        next_flush = now + self._interval
                if self._journaled is None or not self._journaled.copying:
                    self._files.rotate(closing=closing, seal=time.monotonic() >= self._retry_at)
            except Exception as exc:  # the thread must never die: count, log, go on
                self._failed(exc)
            if closing and (self._idle() or time.monotonic() >= self._deadline):
                break
            if closing and self._backoff:
                time.sleep(min(self._backoff, max(0.0, self._deadline - time.monotonic())))
        self._files.close_files()  # what is not sealed is recovered at the next start
        if self._journaled is not None:
            self._journaled.close()
        self._queue.abandon()
        self._release()
        with self._copied:  # wake flushes still waiting: they time out as failed
            self._copied.notify_all()

    def _idle(self) -> bool:
        journaled = self._journaled is None or self._journaled.idle
        return self._queue.empty() and journaled and not (self._retry or self._files.count)

    def _journal_cycle(self, *, copy: bool) -> None:
        """Strict mode: journal what is queued, then copy staged rows when it is time."""
        journaled = self._journaled
        assert journaled is not None
        since, self._unsealed_since = self._unsealed_since, _NEVER
        with self._copied:
            requested = self._copy_requests
        taken = self._queue.take()
        if not journaled.commit(taken, since, self._retry_at):
            return
        copy = copy or requested > self._copies_done or journaled.copy_wanted(self._wake_rows)
        if copy:
            journaled.start_copy()
        if journaled.copy(self._retry_at) and copy:
            self._backoff = 0.0
            with self._copied:
                if not journaled.idle or requested <= self._copies_done:
                    return
                self._copies_done = requested
                self._copied.notify_all()

    def _commit_cycle(self) -> None:
        since, self._unsealed_since = self._unsealed_since, _NEVER
        taken = self._queue.take()
        tables, self._retry = self._retry, []
        commits, self._retry_commits = self._retry_commits, []
        if taken is not None:
            try:
                tables.append(to_table(taken.items, self._admitter))
                commits.append(taken.commit)
            except Exception as exc:  # schemas were checked at append: should not happen
                self._failed(exc)
                self._queue.finish([taken.commit], False, dropped=taken.rows)
            release_gradually(taken.items)
        if not tables:
            return
        opened = None if since == _NEVER else datetime.fromtimestamp(since, UTC)
        written, failed = self._files.write(tables, opened)
        self._queue.settle(written)
        if failed:
            self._retry, self._retry_commits = failed, commits
            return
        self._backoff = 0.0
        self._queue.finish(commits, True)

    def _failed(self, exc: BaseException) -> None:
        self._backoff = min(max(2 * self._backoff, 0.05), _MAX_BACKOFF)
        self._retry_at = time.monotonic() + self._backoff
        message = f"{type(exc).__name__}: {exc}"
        with self._queue.lock:
            self._errors += 1
            self._last_error = message
        _log.warning("prediction log %s/%s: %s", self.service, self.worker, message)

    def _release(self) -> None:
        if self._lock_file is not None:
            self._lock_file.release()
            self._lock_file = None


class PredictionLogWriter(SegmentWriter):
    """Append prediction records of one worker to the crash-safe prediction log.

    Parameters
    ----------
    root
        The log directory; records go to ``<root>/predictions/service=<service>/...``.
    service, worker
        Names used in paths; ``worker`` must be unique among live writer processes.
    schema
        The log schema, from :func:`~steadyml.adapters.predlog.prediction_schema`.
    durability
        ``strict``: an :class:`Ack` completes only once its batch is fsynced, and the
        writer commits as soon as anything is queued. ``relaxed``: write and fsync every
        ``flush_interval`` seconds; a crash loses at most that much.
    flush_interval
        Seconds between commits in relaxed mode (and between rotation checks).
    max_queue_rows
        Rows held in memory at most (queued plus awaiting a retry); beyond, batches are
        dropped and counted.
    segment_max_rows, segment_max_age
        Seal a segment once it holds this many rows or is this many seconds old (by
        ``clock``); segments are also sealed when the clock leaves their hour.
    clock
        Event-time clock; defaults to the system clock.
    codecs
        Journal tag → the :class:`~steadyml.adapters.predlog.DeferredRows` class that
        reads its records back: needed to replay a strict-mode journal of such rows
        after a crash (items of other types need none).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from steadyml.adapters.predlog import prediction_schema
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> writer = PredictionLogWriter(root, "churn", "w0", prediction_schema({"x": "numeric"}))
    >>> writer.start()
    >>> writer.close()
    >>> writer.stats.dropped_rows
    0
    """

    def __init__(
        self,
        root: Path,
        service: str,
        worker: str,
        schema: pa.Schema,
        *,
        durability: Literal["strict", "relaxed"] = "relaxed",
        flush_interval: float = 1.0,
        max_queue_rows: int = 200_000,
        segment_max_rows: int = 250_000,
        segment_max_age: float = 60.0,
        clock: Clock | None = None,
        codecs: Codecs | None = None,
    ) -> None:
        super().__init__(
            Path(root) / PREDICTIONS,
            service,
            worker,
            schema,
            durability=durability,
            flush_interval=flush_interval,
            max_queue_rows=max_queue_rows,
            segment_max_rows=segment_max_rows,
            segment_max_age=segment_max_age,
            clock=clock,
            codecs=codecs,
        )
        self.root = Path(root)
