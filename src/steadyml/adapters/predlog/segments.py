"""Open segments (append-only Arrow IPC streams) and sealing them into Parquet.

An open segment is an Arrow IPC *stream* file: the schema message, then one record-batch
message per write. Writes go straight to the file descriptor and :meth:`OpenSegment.sync`
fsyncs them; a failed write or fsync truncates the file back to its last durable size, so
the file never holds garbage in the middle. After a crash the file ends at most with one
torn message, which :func:`read_stream` leaves out.

In ``strict`` mode the writer copies rows from its journal into segments once a second;
each copy starts with a row-less *mark* batch naming the journal (custom metadata
``steadyml.journal``). A journal still present at recovery was not fully copied: reading
stops at its mark and the journal is replayed whole.

Sealing writes the valid prefix to a temporary Parquet file, fsyncs it, renames it
atomically to its final name, fsyncs the directory and only then deletes the open file.
The Parquet footer records which open file it came from (``steadyml.source``), so that a
crash between the rename and the delete is recognised on recovery instead of sealing the
same records twice.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from steadyml.adapters.predlog.append_file import AppendOnlyFile
from steadyml.adapters.predlog.layout import (
    fsync_dir,
    open_name,
    sealed_name,
    tmp_name,
)

__all__ = [
    "MARK_KEY",
    "SOURCE_KEY",
    "OpenSegment",
    "SealResult",
    "StreamContents",
    "mark_message",
    "read_stream",
    "seal_file",
    "sealed_source",
]

SOURCE_KEY = b"steadyml.source"
MARK_KEY = b"steadyml.journal"
_COMPRESSION = "zstd"


class OpenSegment:
    """One append-only open segment file of one worker in one partition.

    Use :meth:`create`; every method is meant for the single writer thread that owns it.

    Parameters
    ----------
    file
        The ``_open-<worker>-<token>.arrows`` file, holding the schema message.
    key
        The partition hour key.
    opened_at
        Clock time the segment was opened (drives age-based rotation).
    schema
        The schema its stream was opened with.
    """

    def __init__(
        self, file: AppendOnlyFile, key: int, opened_at: datetime, schema: pa.Schema
    ) -> None:
        self.file = file
        self.path = file.path
        self.key = key
        self.opened_at = opened_at
        self.rows = 0
        self.durable_rows = 0
        self.schema = schema

    @classmethod
    def create(
        cls, directory: Path, worker: str, schema: pa.Schema, key: int, opened_at: datetime
    ) -> OpenSegment:
        """Create a new open segment file holding only the schema, made durable."""
        path = directory / open_name(worker, secrets.token_hex(8))
        return cls(AppendOnlyFile.create(path, schema.serialize()), key, opened_at, schema)

    @property
    def closed(self) -> bool:
        """True once closed, or broken by a write error it could not be repaired from."""
        return self.file.closed

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self.file.size

    @property
    def durable_size(self) -> int:
        """Bytes made durable (the prefix a seal reads)."""
        return self.file.durable_size

    def write_table(self, table: pa.Table, mark: str | None = None) -> None:
        """Append the batches of ``table`` (not yet durable; see :meth:`sync`).

        ``mark`` names the journal whose rows these are (see :func:`mark_message`): a
        row-less batch carrying it goes first. On an ``OSError`` the file is cut back to
        where it was, so either every batch of ``table`` is written or none, and the error
        is re-raised.
        """
        chunks = [batch.serialize() for batch in table.to_batches()]
        if mark is not None:
            chunks.insert(0, mark_message(self.schema, mark))
        self.file.write(chunks)
        self.rows += table.num_rows

    def sync(self) -> None:
        """Make every written batch durable (fsync).

        On an ``OSError`` the batches written since the last sync are cut off (their fate
        on disk is unknown) and the error re-raised; the caller writes them again.
        """
        try:
            self.file.sync()
        except OSError:
            self.rows = self.durable_rows
            raise
        self.durable_rows = self.rows

    def close(self) -> None:
        """Close the descriptor; the file stays until it is sealed."""
        self.file.close()


def mark_message(schema: pa.Schema, journal: str) -> pa.Buffer:
    """An IPC message of a row-less batch whose custom metadata names ``journal``.

    The writer puts one before the rows of a journal it copies into a segment. If it
    crashes before the journal is deleted, recovery cuts the segment at the mark and
    replays the journal whole: no row is lost or written twice.
    """
    sink = pa.BufferOutputStream()
    writer = pa.ipc.new_stream(sink, schema)
    empty = pa.record_batch([pa.array([], field.type) for field in schema], schema=schema)
    writer.write_batch(empty, custom_metadata={MARK_KEY: journal.encode()})
    data = sink.getvalue()
    stream = pa.BufferReader(data)
    pa.ipc.read_message(stream)  # the schema message the writer put first
    return data.slice(stream.tell())


@dataclass(frozen=True)
class StreamContents:
    """What :func:`read_stream` found in an open segment file.

    Attributes
    ----------
    table
        The complete batches read (None when not even the schema message is complete).
    batches
        How many batches were read.
    torn
        The file ended in a partly written message, left out.
    ignored_bytes
        Bytes left out: a torn message, or everything from a stop mark on.
    cut
        Reading stopped at a mark of a journal still to be replayed.
    """

    table: pa.Table | None
    batches: int
    torn: bool
    ignored_bytes: int
    cut: bool = False


def read_stream(
    path: Path, limit: int | None = None, stop_marks: Collection[str] = ()
) -> StreamContents:
    """Read the complete batches of an open segment; stop at the first torn message.

    Parameters
    ----------
    path
        The open segment file.
    limit
        Read only the first ``limit`` bytes (the durable prefix); None reads the file.
    stop_marks
        Journals still to be replayed: reading stops at the mark of any of them (see
        :func:`mark_message`), leaving out the rows the journal holds too.
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
    torn = cut = False
    while True:
        try:
            batch, metadata = reader.read_next_batch_with_custom_metadata()
            batch.validate(full=True)
        except StopIteration:
            break
        except (pa.ArrowInvalid, OSError):
            torn = True
            break
        if metadata is not None and stop_marks:
            mark = metadata.get(MARK_KEY)
            if mark is not None and mark.decode() in stop_marks:
                cut = True
                break
        batches.append(batch)
    table = pa.Table.from_batches(batches, schema=reader.schema)
    ignored = 0
    if torn or cut:
        used = reader.schema.serialize().size + sum(b.serialize().size for b in batches)
        ignored = max(size - used, 0)
    return StreamContents(table, len(batches), torn, ignored, cut)


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


def seal_file(
    open_path: Path,
    worker: str,
    seq: int,
    limit: int | None = None,
    stop_marks: Collection[str] = (),
) -> SealResult:
    """Turn an open segment into the sealed segment ``<worker>-<seq>.parquet``.

    Parameters
    ----------
    open_path
        The open segment; deleted once the sealed file is durable.
    worker, seq
        The sealed name; ``seq`` must be the worker's next sequence number.
    limit
        Seal only the first ``limit`` bytes (the durable prefix).
    stop_marks
        Journals still to be replayed: rows from the first mark of one on are left out.

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
    contents = read_stream(open_path, limit, stop_marks)
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
