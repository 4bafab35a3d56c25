"""Acknowledgements: a caller learns when its records are durable.

Every batch appended between two commits of the writer thread shares one
:class:`Commit`; the writer completes it once after the fsync that covers all of them
(group commit). An :class:`Ack` is the caller's handle on it, waitable from a thread
(:meth:`Ack.wait`) or from an event loop (:meth:`Ack.wait_async`) without tying up a
thread per waiter.
"""

from __future__ import annotations

import asyncio
import threading

__all__ = ["Ack", "Commit"]


def _resolve(future: asyncio.Future[bool], ok: bool) -> None:
    if not future.done():
        future.set_result(ok)


class Commit:
    """One group commit: completed once, with success or failure, by the writer thread."""

    __slots__ = ("_done", "_event", "_lock", "_ok", "_waiters")

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._done = False
        self._ok = False
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[bool]]] = []

    @classmethod
    def completed(cls, ok: bool) -> Commit:
        """A commit that is already complete (for empty or dropped batches)."""
        commit = cls()
        commit.complete(ok)
        return commit

    @property
    def done(self) -> bool:
        """True once completed."""
        return self._done

    @property
    def ok(self) -> bool:
        """True when completed and durable."""
        return self._done and self._ok

    def complete(self, ok: bool) -> None:
        """Mark the commit durable (``ok``) or failed; wake every waiter. Idempotent."""
        with self._lock:
            if self._done:
                return
            self._ok = ok
            self._done = True
            waiters, self._waiters = self._waiters, []
        self._event.set()
        for loop, future in waiters:
            try:
                loop.call_soon_threadsafe(_resolve, future, ok)
            except RuntimeError:  # the loop was closed meanwhile
                continue

    def wait(self, timeout: float | None = None) -> bool:
        """Block until complete or ``timeout`` seconds; True if durable."""
        self._event.wait(timeout)
        return self.ok

    async def wait_async(self, timeout: float | None = None) -> bool:
        """Await completion for at most ``timeout`` seconds; True if durable."""
        if self._done:
            return self._ok
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        with self._lock:
            if self._done:
                return self._ok
            self._waiters.append((loop, future))
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return False


class Ack:
    """The answer to :meth:`~steadyml.adapters.predlog.PredictionLogWriter.append`.

    Attributes
    ----------
    accepted
        False when the batch was dropped because the queue was full.
    rows
        Rows in the batch.
    """

    __slots__ = ("_commit", "accepted", "rows")

    def __init__(self, accepted: bool, rows: int, commit: Commit) -> None:
        self.accepted = accepted
        self.rows = rows
        self._commit = commit

    @property
    def done(self) -> bool:
        """True once the writer has finished with the batch (durable or failed)."""
        return self._commit.done

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the batch is durable (fsynced); False if dropped, failed or timed out.

        Do not call it on an event loop; use :meth:`wait_async` there.
        """
        if not self.accepted:
            return False
        return self._commit.wait(timeout)

    async def wait_async(self, timeout: float | None = None) -> bool:
        """Await durability without blocking the event loop; False if dropped or timed out."""
        if not self.accepted:
            return False
        return await self._commit.wait_async(timeout)

    def __repr__(self) -> str:
        state = "durable" if self._commit.ok else "failed" if self._commit.done else "pending"
        return f"Ack(accepted={self.accepted}, rows={self.rows}, {state})"
