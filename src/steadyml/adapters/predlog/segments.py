"""Open segments (append-only Arrow IPC streams) and sealing them into Parquet.

An open segment is an Arrow IPC *stream* file: the schema message, then one record-batch
message per write. Writes go straight to the file descriptor and :meth:`OpenSegment.sync`
fsyncs them; a failed write or fsync truncates the file back to its last durable size, so
the file never holds garbage in the middle. After a crash the file ends at most with one
torn message, which :func:`read_stream` leaves out.

Sealing writes the valid prefix to a temporary Parquet file, fsyncs it, renames it
atomically to its final name, fsyncs the directory and only then deletes the open file.
The Parquet footer records which open file it came from (``steadyml.source``), so that a
crash between the rename and the delete is recognised on recovery instead of sealing the
same records twice.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from steadyml.adapters.predlog.layout import (
    fsync_dir,
    open_name,
    sealed_name,
    tmp_name,
)

__all__ = [
    "SOURCE_KEY",
    "OpenSegment",
    "SealResult",
    "StreamContents",
    "read_stream",
    "seal_file",
    "sealed_source",
    "write_all",
]

SOURCE_KEY = b"steadyml.source"
_COMPRESSION = "zstd"


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte of ``data`` to ``fd`` (``os.write`` may write fewer)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class OpenSegment:
    """One append-only open segment file of one worker in one partition.

    Use :meth:`create`; every method is meant for the single writer thread that owns it.

    Parameters
    ----------
    path
        The ``_open-<worker>-<token>.arrows`` file.
    fd
        Its descriptor, opened for writing.
    key
        The partition hour key.
    opened_at
        Clock time the segment was opened (drives age-based rotation).
    size
        Bytes already in the file (the schema message).
    """

    def __init__(self, path: Path, fd: int, key: int, opened_at: datetime, size: int) -> None:
        self.path = path
        self.key = key
        self.opened_at = opened_at
        self.rows = 0
        self.durable_rows = 0
        self.size = size
        self.durable_size = size
        self.closed = False
        self._fd = fd

    @classmethod
    def create(
        cls, directory: Path, worker: str, schema: pa.Schema, key: int, opened_at: datetime
    ) -> OpenSegment:
        """Create a new open segment file holding only the schema, made durable."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / open_name(worker, secrets.token_hex(8))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            header = schema.serialize()
            write_all(fd, header)
            os.fsync(fd)
            fsync_dir(directory)
        except OSError:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        return cls(path, fd, key, opened_at, header.size)

    def write_table(self, table: pa.Table) -> None:
        """Append the batches of ``table`` (not yet durable; see :meth:`sync`).

        On an ``OSError`` the file is cut back to where it was, so either every batch of
        ``table`` is written or none, and the error is re-raised.
        """
        if self.closed:
            raise OSError(f"open segment {self.path.name} is closed after an earlier error")
        start = self.size
        try:
            for batch in table.to_batches():
                data = batch.serialize()
                write_all(self._fd, data)
                self.size += data.size
        except OSError:
            self._truncate(start)
            raise
        self.rows += table.num_rows

    def sync(self) -> None:
        """Make every written batch durable (fsync).

        On an ``OSError`` the batches written since the last sync are cut off (their fate
        on disk is unknown) and the error re-raised; the caller writes them again.
        """
        try:
            os.fsync(self._fd)
        except OSError:
            self._truncate(self.durable_size)
            self.rows = self.durable_rows
            raise
        self.durable_size = self.size
        self.durable_rows = self.rows

    def _truncate(self, size: int) -> None:
        try:
            os.ftruncate(self._fd, size)
            os.lseek(self._fd, size, os.SEEK_SET)
        except OSError:
            self.closed = True  # cannot repair it: write no more; seal its durable prefix
            return
        self.size = size

    def close(self) -> None:
        """Close the descriptor; the file stays until it is sealed."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.closed = True


@dataclass(frozen=True)
class StreamContents:
    """What :func:`read_stream` found in an open segment file."""

    table: pa.Table | None
    batches: int
    torn: bool
    ignored_bytes: int


def read_stream(path: Path, limit: int | None = None) -> StreamContents:
    """Read the complete batches of an open segment; stop at the first torn message.

    Parameters
    ----------
    path
        The open segment file.
    limit
        Read only the first ``limit`` bytes (the durable prefix); None reads the file.

    Returns
    -------
    StreamContents
        ``table`` is None when not even the schema message is complete.
    """
    size = path.stat().st_size
    if limit is not None:
        size = min(size, limit)
    if size == 0:
        return StreamContents(None, 0, False, 0)
    with pa.memory_map(str(path)) as source:
        data = source.read_buffer(size)
    try:
        reader = pa.ipc.open_stream(data)
    except (pa.ArrowInvalid, OSError):
        return StreamContents(None, 0, True, size)
    batches: list[pa.RecordBatch] = []
    torn = False
    while True:
        try:
            batch = reader.read_next_batch()
            batch.validate(full=True)
        except StopIteration:
            break
        except (pa.ArrowInvalid, OSError):
            torn = True
            break
        batches.append(batch)
    table = pa.Table.from_batches(batches, schema=reader.schema)
    ignored = 0
    if torn:
        used = reader.schema.serialize().size + sum(b.serialize().size for b in batches)
        ignored = max(size - used, 0)
    return StreamContents(table, len(batches), torn, ignored)


def sealed_source(path: Path) -> str | None:
    """The open-file name a sealed segment came from, read from its Parquet footer."""
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid):
        return None
    source = metadata.get(SOURCE_KEY)
    return None if source is None else source.decode()


@dataclass(frozen=True)
class SealResult:
    """What :func:`seal_file` did: the sealed file (None if there was nothing to seal)."""

    path: Path | None
    rows: int
    torn: bool
    ignored_bytes: int


def seal_file(open_path: Path, worker: str, seq: int, limit: int | None = None) -> SealResult:
    """Turn an open segment into the sealed segment ``<worker>-<seq>.parquet``.

    Parameters
    ----------
    open_path
        The open segment; deleted once the sealed file is durable.
    worker, seq
        The sealed name; ``seq`` must be the worker's next sequence number.
    limit
        Seal only the first ``limit`` bytes (the durable prefix).

    Returns
    -------
    SealResult
        ``path`` is None when the open file held no complete batch (it is then deleted).

    Raises
    ------
    OSError
        When writing fails (disk full...); nothing is renamed and the open file stays.
    """
    directory = open_path.parent
    contents = read_stream(open_path, limit)
    if contents.table is None or contents.table.num_rows == 0:
        open_path.unlink(missing_ok=True)
        fsync_dir(directory)
        return SealResult(None, 0, contents.torn, contents.ignored_bytes)
    table = contents.table
    metadata = dict(table.schema.metadata or {})
    metadata[SOURCE_KEY] = open_path.name.encode()
    table = table.replace_schema_metadata(metadata)
    temp = directory / tmp_name(worker, seq)
    final = directory / sealed_name(worker, seq)
    try:
        with temp.open("wb") as handle:
            pq.write_table(table, handle, compression=_COMPRESSION)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(directory)
    open_path.unlink(missing_ok=True)
    fsync_dir(directory)
    return SealResult(final, table.num_rows, contents.torn, contents.ignored_bytes)
