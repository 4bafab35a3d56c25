"""Adaptive micro-batching: concurrent requests share one validation and one predict.

Requests (:class:`Job`) queue on the event loop. When the batch thread is idle, the
batcher takes queued jobs, up to ``max_batch_size`` records (a request is never split),
and hands them to ``process`` on a single-thread executor, off the event loop. While
that batch runs, new requests queue up, so batches grow with the load by themselves.

The adaptive part: the batcher keeps a moving average of recent batch sizes. When the
thread is idle but fewer records are queued than that average suggests are on their
way, it waits up to ``max_wait_ms`` (from the oldest queued request) for more. A lone
client therefore never waits, while concurrent clients get fuller batches.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["Job", "MicroBatcher"]


class Job:
    """One request on its way through the batcher.

    Attributes
    ----------
    records
        The decoded records of the request.
    request_ids, event_us
        Client-given ids and event times per record, or None.
    received_us
        Receipt time, microseconds since the epoch (serving clock).
    start
        ``time.perf_counter()`` at receipt.
    deadline
        ``perf_counter`` time by which the model must have answered.
    protocol
        How to render the answer: ``predict`` or ``oip``.
    model_name, reference
        Open Inference Protocol only: the model name in the path and the request ``id``.
    future
        Resolved with ``(status, body)`` on the event loop.
    answered
        True once a response was sent (by the batch, or by the watchdog when late).
    claimed
        True once the batch thread (its batch produced the answer and its log rows) or
        the watchdog (it is late) has taken it on; the other one then leaves it alone.
    """

    __slots__ = (
        "answered",
        "claimed",
        "deadline",
        "event_us",
        "future",
        "model_name",
        "protocol",
        "received_us",
        "records",
        "reference",
        "request_ids",
        "size",
        "start",
    )

    def __init__(
        self,
        records: list[object],
        *,
        request_ids: list[str] | None,
        event_us: list[int] | None,
        received_us: int,
        start: float,
        deadline: float,
        future: asyncio.Future[tuple[int, bytes]],
        protocol: str = "predict",
        model_name: str = "",
        reference: str | None = None,
    ) -> None:
        self.records = records
        self.size = len(records)
        self.request_ids = request_ids
        self.event_us = event_us
        self.received_us = received_us
        self.start = start
        self.deadline = deadline
        self.future = future
        self.protocol = protocol
        self.model_name = model_name
        self.reference = reference
        self.answered = False
        self.claimed = False


class MicroBatcher:
    """Group queued jobs into batches and run ``process`` on them off the event loop.

    Parameters
    ----------
    process
        Runs on the batch thread with a list of jobs; its result (or exception) goes to
        ``on_done``.
    on_done
        Called on the event loop with the jobs and the result, or the exception.
    max_batch_size
        Records per batch at most (a bigger request is a batch of its own).
    max_wait_ms
        How long an idle batcher may wait for a batch to fill.
    """

    def __init__(
        self,
        process: Callable[[list[Job]], Any],
        on_done: Callable[[list[Job], Any, BaseException | None], None],
        *,
        max_batch_size: int,
        max_wait_ms: float,
    ) -> None:
        self._process = process
        self._on_done = on_done
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000.0
        self._queue: deque[Job] = deque()
        self._queued_rows = 0
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="steadyml-batch")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._busy = False
        self._scheduled = False
        self._timer: asyncio.TimerHandle | None = None
        self._average = 1.0
        self.inflight: list[Job] = []
        self._idle = asyncio.Event()

    @property
    def queued(self) -> int:
        """Jobs waiting for a batch."""
        return len(self._queue)

    def queued_jobs(self) -> list[Job]:
        """A snapshot of the waiting jobs."""
        return list(self._queue)

    def submit(self, job: Job) -> None:
        """Queue a job; call on the event loop."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        self._queue.append(job)
        self._queued_rows += job.size
        self._idle.clear()
        if self._busy:
            return
        if self._timer is not None and self._queued_rows >= self._target():
            self._timer.cancel()
            self._timer = None
            self._dispatch()
        elif not self._scheduled and self._timer is None:
            self._scheduled = True
            self._loop.call_soon(self._dispatch)

    def discard(self, jobs: list[Job]) -> None:
        """Remove waiting jobs (answered elsewhere) from the queue."""
        gone = {id(job) for job in jobs}
        kept = [job for job in self._queue if id(job) not in gone]
        self._queue = deque(kept)
        self._queued_rows = sum(job.size for job in kept)

    def _target(self) -> float:
        return min(float(self.max_batch_size), self._average)

    def _dispatch(self, waited_enough: bool = False) -> None:
        self._scheduled = False
        self._timer = None
        loop = self._loop
        if self._busy or not self._queue or loop is None:
            if not self._busy and not self._queue:
                self._idle.set()
            return
        if not waited_enough and self.max_wait > 0 and self._queued_rows < self._target() - 0.5:
            waited = time.perf_counter() - self._queue[0].start
            if waited < self.max_wait:
                # the timer's expiry dispatches whatever is queued, without looking at the
                # clock again: uvloop keeps time in whole milliseconds and runs a timer due
                # in under 0.5 ms at once, so re-checking would spin the loop, re-arming a
                # zero-delay timer until perf_counter catches up
                self._timer = loop.call_later(self.max_wait - waited, self._dispatch, True)
                return
        batch = [self._queue.popleft()]
        rows = batch[0].size
        while self._queue and rows + self._queue[0].size <= self.max_batch_size:
            job = self._queue.popleft()
            batch.append(job)
            rows += job.size
        self._queued_rows -= rows
        self._average = 0.7 * self._average + 0.3 * rows
        self._busy = True
        self.inflight = batch
        future = loop.run_in_executor(self._executor, self._process, batch)
        future.add_done_callback(lambda done: self._finished(batch, done))

    def _finished(self, batch: list[Job], done: asyncio.Future[Any]) -> None:
        self._busy = False
        self.inflight = []
        error = done.exception()
        try:
            self._on_done(batch, None if error else done.result(), error)
        finally:
            if self._queue:
                self._dispatch()
            else:
                self._idle.set()

    async def drain(self, timeout: float) -> bool:
        """Wait until no job is queued or running; False on timeout."""
        if not self._busy and not self._queue:
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        """Stop the batch thread once its current batch returns."""
        if self._timer is not None:
            self._timer.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
