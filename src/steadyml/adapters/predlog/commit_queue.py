"""A bounded queue of batches whose acknowledgements complete together (group commit).

Callers :meth:`~CommitQueue.put` batches; the writer thread :meth:`~CommitQueue.take`\\ s
everything queued at once with the :class:`~steadyml.adapters.predlog.acks.Commit` they
share, and later settles the rows it made durable and finishes the commits. Rows count
against the bound from ``put`` until they are in a segment or given up (rows a
strict-mode writer made durable in its journal are *staged*: they still count until they
are copied), so a slow or full disk makes new batches drop (counted) instead of memory
growing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from steadyml.adapters.predlog.acks import Ack, Commit
from steadyml.adapters.predlog.batches import Item

__all__ = ["CommitQueue", "Taken"]


@dataclass(frozen=True)
class Taken:
    """What the writer thread took from the queue in one go."""

    items: list[Item]
    rows: int
    commit: Commit


class CommitQueue:
    """Thread-safe; every counter changes under one lock.

    Parameters
    ----------
    max_rows
        Rows held at most (queued, being written or awaiting a retry).
    wake_rows
        Queued rows at which the writer should commit early.
    strict
        Wake the writer for every batch.
    """

    def __init__(self, max_rows: int, wake_rows: int, *, strict: bool) -> None:
        self.lock = threading.Lock()
        self._max_rows = max_rows
        self._wake_rows = wake_rows
        self._strict = strict
        self._items: list[Item] = []
        self._item_rows = 0
        self.held_rows = 0
        self.staged_rows = 0
        self.dropped_rows = 0
        self.written_rows = 0
        self._commit = Commit()
        self._unfinished: list[Commit] = []
        self._flush_requested = False
        self._done = Commit.completed(True)
        self._refused = Commit.completed(False)

    @property
    def depth(self) -> int:
        """Batches waiting to be taken."""
        return len(self._items)

    def put(self, item: Item, rows: int) -> tuple[Ack, bool]:
        """Queue ``item`` (``rows`` rows): ``(ack, wake the writer?)``; drops when full."""
        if rows == 0:
            return Ack(True, 0, self._done), False
        with self.lock:
            if self.held_rows + self.staged_rows + rows > self._max_rows:
                self.dropped_rows += rows
                return Ack(False, rows, self._refused), False
            self._items.append(item)
            self._item_rows += rows
            self.held_rows += rows
            commit = self._commit
            wake = self._strict or self._item_rows >= self._wake_rows
        return Ack(True, rows, commit), wake

    def request_flush(self) -> list[Commit]:
        """Ask for a commit now; return the commits covering everything put so far."""
        with self.lock:
            targets = list(self._unfinished)
            if self._items:
                targets.append(self._commit)
            self._flush_requested = True
        return targets

    def due(self) -> bool:
        """True when the writer should commit without waiting for its interval."""
        with self.lock:
            due = self._flush_requested or self._item_rows >= self._wake_rows
            due = due or (self._strict and bool(self._items))
            self._flush_requested = False
        return due

    def take(self) -> Taken | None:
        """Everything queued, with the commit it shares; None when empty."""
        with self.lock:
            if not self._items:
                return None
            taken = Taken(self._items, self._item_rows, self._commit)
            self._items, self._item_rows = [], 0
            self._commit = Commit()
            self._unfinished.append(taken.commit)
        return taken

    def settle(self, written: int) -> None:
        """``written`` rows became durable."""
        with self.lock:
            self.held_rows -= written
            self.written_rows += written

    def stage(self, rows: int) -> None:
        """``rows`` became durable in a journal; they count against the bound until copied."""
        with self.lock:
            self.held_rows -= rows
            self.staged_rows += rows
            self.written_rows += rows

    def unstage(self, rows: int) -> None:
        """``rows`` staged were copied into segments."""
        with self.lock:
            self.staged_rows -= rows

    def abandon_staged(self) -> None:
        """The writer stops: staged rows stay in its journal, replayed at the next start."""
        with self.lock:
            self.staged_rows = 0

    def finish(self, commits: list[Commit], ok: bool, *, dropped: int = 0) -> None:
        """Complete ``commits``; ``dropped`` rows held for them are given up."""
        with self.lock:
            for commit in commits:
                self._unfinished.remove(commit)
            self.held_rows -= dropped
            self.dropped_rows += dropped
        for commit in commits:
            commit.complete(ok)

    def abandon(self) -> None:
        """Give up on everything held: count it as dropped and fail every pending ack."""
        with self.lock:
            commits = [*self._unfinished]
            if self._items:
                commits.append(self._commit)
            self.dropped_rows += self.held_rows
            self.held_rows = 0
            self._items, self._item_rows = [], 0
            self._unfinished = []
        for commit in commits:
            commit.complete(False)

    def empty(self) -> bool:
        """True when nothing waits to be taken."""
        with self.lock:
            return not self._items
