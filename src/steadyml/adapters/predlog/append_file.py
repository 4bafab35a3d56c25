"""A file written only at its end, whose durable prefix is always known.

Open segments and journals are both such files: a header made durable at creation, then
appends, each followed (eventually) by an fsync. A failed write or fsync cuts the file
back to its last durable size, so it never holds garbage in the middle; after a crash it
ends at most with one torn append, which its reader leaves out.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from steadyml.adapters.predlog.layout import fsync_dir

__all__ = ["AppendOnlyFile", "write_all"]

_IOV_MAX = os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024


def write_all(fd: int, chunks: Sequence[bytes | memoryview]) -> int:
    """Write every byte of ``chunks``, in order, to ``fd``; return the bytes written.

    One ``writev`` per :data:`_IOV_MAX` chunks, not one ``write`` per chunk: each system
    call releases the GIL, and taking it back behind a busy event loop can cost up to
    the interpreter's switch interval (5 ms), many times per commit. ``writev`` may
    write fewer bytes than asked; the rest is written by the next call.
    """
    views = [view for view in map(_bytes_view, chunks) if view.nbytes]
    total = sum(view.nbytes for view in views)
    first = 0
    while first < len(views):
        written = os.writev(fd, views[first : first + _IOV_MAX])
        while written and first < len(views):
            size = views[first].nbytes
            if written < size:
                views[first] = views[first][written:]
                break
            written -= size
            first += 1
    return total


def _bytes_view(chunk: bytes | memoryview) -> memoryview:
    view = memoryview(chunk)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


class AppendOnlyFile:
    """One append-only file, owned by a single thread.

    Use :meth:`create`.

    Attributes
    ----------
    path
        The file.
    size
        Bytes written so far.
    durable_size
        Bytes made durable by the latest successful :meth:`sync`.
    closed
        True once closed, or after an error the file could not be repaired from (it then
        takes no more writes; its durable prefix stays valid).
    """

    def __init__(self, path: Path, fd: int, size: int) -> None:
        self.path = path
        self.size = size
        self.durable_size = size
        self.closed = False
        self._fd = fd

    @classmethod
    def create(cls, path: Path, header: bytes | memoryview) -> AppendOnlyFile:
        """Create ``path`` (it must not exist) holding ``header``, made durable with its entry."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            write_all(fd, [header])
            os.fsync(fd)
            fsync_dir(path.parent)
        except OSError:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        return cls(path, fd, memoryview(header).nbytes)

    def write(self, chunks: Sequence[bytes | memoryview]) -> int:
        """Append ``chunks`` (not yet durable; see :meth:`sync`); return the bytes written.

        On an ``OSError`` the file is cut back to where it was, so either every chunk is
        written or none, and the error is re-raised.
        """
        if self.closed:
            raise OSError(f"{self.path.name} is closed after an earlier error")
        start = self.size
        try:
            self.size += write_all(self._fd, chunks)
        except OSError:
            self._truncate(start)
            raise
        return self.size - start

    def sync(self) -> None:
        """Make every write durable (fsync).

        On an ``OSError`` what was written since the last sync is cut off (its fate on
        disk is unknown) and the error re-raised; the caller writes it again.
        """
        try:
            os.fsync(self._fd)
        except OSError:
            self._truncate(self.durable_size)
            raise
        self.durable_size = self.size

    def _truncate(self, size: int) -> None:
        try:
            os.ftruncate(self._fd, size)
            os.lseek(self._fd, size, os.SEEK_SET)
        except OSError:
            self.closed = True  # cannot repair it: write no more; its durable prefix stands
            return
        self.size = size

    def close(self) -> None:
        """Close the descriptor; the file stays."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.closed = True
