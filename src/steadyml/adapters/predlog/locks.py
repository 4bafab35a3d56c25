"""One live writer per worker id: an advisory lock file per worker, per table and service.

A writer holds ``<table>/service=<service>/_locks/<worker>.lock`` (``flock``) while it
runs. The kernel drops the lock when the process dies, even by ``kill -9``, so recovery
from outside can tell a crashed worker (lock free: its open segments may be sealed) from a
live one (lock held: its open segments are still being written and must be left alone).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from steadyml.adapters.predlog.layout import service_dir

__all__ = ["WorkerLock"]

LOCK_DIR = "_locks"


class WorkerLock:
    """An exclusive, non-blocking lock on one worker id; release it with :meth:`release`."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    @classmethod
    def try_acquire(cls, table_root: Path, service: str, worker: str) -> WorkerLock | None:
        """Take the lock of ``worker``; None when another live process holds it."""
        directory = service_dir(table_root, service) / LOCK_DIR
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{worker}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return cls(path, fd)

    def release(self) -> None:
        """Let go of the lock (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = -1
