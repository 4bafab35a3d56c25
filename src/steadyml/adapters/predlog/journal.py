"""The strict-mode journal: each commit's records, fsynced, before they reach a segment.

In ``strict`` mode a response leaves only once its record is durable. Turning a dozen
records into Arrow and appending them to a segment costs a millisecond or more of the
writer's time per commit, whatever the row count; appending their compact journal form
and fsyncing it costs a tenth of that. The writer therefore appends each commit to its
journal, acknowledges it, and copies the journal's rows into segments once per flush
interval, a second of commits at once, as in ``relaxed`` mode. It then deletes the
journal and starts a new one. A journal left behind by a crash is replayed at the next
start (see :mod:`~steadyml.adapters.predlog.replay`).

File format (little-endian)::

    header   "SMLJRNL1" | u32 n | n bytes of JSON | u32 m | m bytes of Arrow IPC schema
    record*  u32 length | u32 CRC-32 of the body | body (length bytes)
    body     u8 kind, then: 1 (table)    an Arrow IPC stream of rows in any schema
                                2 (deferred) u8 k | k bytes of codec tag | the codec's bytes

The header is durable before the first record. A record is complete when its CRC matches;
reading stops at the first that does not (a torn tail, never acknowledged).
"""

from __future__ import annotations

import json
import os
import secrets
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa

from steadyml.adapters.predlog.append_file import AppendOnlyFile
from steadyml.adapters.predlog.layout import fsync_dir, journal_name, service_dir

__all__ = [
    "DEFERRED",
    "TABLE",
    "Body",
    "Journal",
    "JournalContents",
    "JournalHeader",
    "quarantine",
    "read_journal",
    "remove_journal",
]

MAGIC = b"SMLJRNL1"
TABLE = 1
DEFERRED = 2
_U32 = struct.Struct("<I")
_FRAME = struct.Struct("<II")  # body length, CRC-32 of the body

#: One record's body, in pieces (joined by the write, never copied into one buffer).
Body = Sequence[bytes | memoryview]


@dataclass(frozen=True)
class JournalHeader:
    """What a journal says about itself.

    Attributes
    ----------
    service, worker
        Whose rows it holds.
    number
        Orders one worker's journals (replayed oldest first).
    token
        Unique per journal; the mark that copies of its rows carry in segments.
    time_column
        The log's partition column.
    schema
        The writer's log schema (what its rows are conformed to).
    polars_version
        The Polars version that wrote it (deferred records may hold Polars frames).
    """

    service: str
    worker: str
    number: int
    token: str
    time_column: str
    schema: pa.Schema
    polars_version: str

    def encode(self) -> bytes:
        """The header bytes that open the file."""
        meta = json.dumps(
            {
                "service": self.service,
                "worker": self.worker,
                "number": self.number,
                "token": self.token,
                "time_column": self.time_column,
                "polars": self.polars_version,
            }
        ).encode()
        schema = self.schema.serialize()
        return b"".join([MAGIC, _U32.pack(len(meta)), meta, _U32.pack(schema.size), schema])


class Journal:
    """The open journal of one writer; every method is for the writer thread.

    Use :meth:`create`.
    """

    def __init__(self, file: AppendOnlyFile, header: JournalHeader) -> None:
        self.file = file
        self.header = header
        self.path = file.path
        self.records = 0

    @classmethod
    def create(
        cls,
        table_root: Path,
        service: str,
        worker: str,
        *,
        number: int,
        schema: pa.Schema,
        time_column: str,
    ) -> Journal:
        """Create journal ``number`` of ``worker``, its header durable."""
        token = secrets.token_hex(8)
        header = JournalHeader(service, worker, number, token, time_column, schema, pl.__version__)
        path = service_dir(table_root, service) / journal_name(worker, number, token)
        return cls(AppendOnlyFile.create(path, header.encode()), header)

    @property
    def token(self) -> str:
        """The journal's unique token (the mark its rows carry in segments)."""
        return self.header.token

    @property
    def size(self) -> int:
        """Bytes in the file."""
        return self.file.size

    def append(self, bodies: Sequence[Body]) -> None:
        """Append one record per body in one write (durable after :meth:`sync`).

        Raises
        ------
        OSError
            When the write fails; the file is cut back to where it was.
        """
        chunks: list[bytes | memoryview] = []
        for body in bodies:
            length = 0
            crc = 0
            for piece in body:
                length += memoryview(piece).nbytes  # bytes, as write_all counts them
                crc = zlib.crc32(piece, crc)
            chunks.append(_FRAME.pack(length, crc))
            chunks.extend(body)
        self.file.write(chunks)
        self.records += len(bodies)

    def sync(self) -> None:
        """Make the appended records durable (their acknowledgements may then complete)."""
        self.file.sync()

    def delete(self) -> None:
        """Close and delete the file once its rows are durable in segments."""
        self.file.close()
        remove_journal(self.path)

    def close(self) -> None:
        """Close the descriptor; the file stays (replayed at the next start)."""
        self.file.close()


@dataclass(frozen=True)
class JournalContents:
    """What :func:`read_journal` found.

    Attributes
    ----------
    header
        None when the header is incomplete (the file then holds no acknowledged record).
    records
        The bodies of the complete records, in order.
    torn
        The file ended in a partly written record (never acknowledged), left out.
    """

    header: JournalHeader | None
    records: list[memoryview]
    torn: bool


def read_journal(path: Path) -> JournalContents:
    """Read a journal's header and complete records."""
    data = memoryview(path.read_bytes())
    header, offset = _read_header(data)
    if header is None:
        return JournalContents(None, [], len(data) > 0)
    records: list[memoryview] = []
    end = len(data)
    while offset < end:
        if end - offset < _FRAME.size:
            return JournalContents(header, records, True)
        length, crc = _FRAME.unpack_from(data, offset)
        start = offset + _FRAME.size
        body = data[start : start + length]
        if len(body) < length or zlib.crc32(body) != crc:
            return JournalContents(header, records, True)
        records.append(body)
        offset = start + length
    return JournalContents(header, records, False)


def _read_header(data: memoryview) -> tuple[JournalHeader | None, int]:
    try:
        if bytes(data[: len(MAGIC)]) != MAGIC:
            return None, 0
        offset = len(MAGIC)
        (size,) = _U32.unpack_from(data, offset)
        meta = json.loads(bytes(data[offset + 4 : offset + 4 + size]))
        offset += 4 + size
        (size,) = _U32.unpack_from(data, offset)
        offset += 4
        if offset + size > len(data):
            return None, 0
        schema = pa.ipc.read_schema(pa.py_buffer(data[offset : offset + size]))
        header = JournalHeader(
            str(meta["service"]),
            str(meta["worker"]),
            int(meta["number"]),
            str(meta["token"]),
            str(meta["time_column"]),
            schema,
            str(meta["polars"]),
        )
    except (struct.error, ValueError, KeyError, TypeError, pa.ArrowInvalid):
        return None, 0
    return header, offset + size


def remove_journal(path: Path) -> None:
    """Delete a journal file and make the deletion durable."""
    path.unlink(missing_ok=True)
    fsync_dir(path.parent)


def quarantine(path: Path) -> Path:
    """Rename a journal that cannot be replayed out of the way (kept for an operator)."""
    target = path.with_name(path.name + ".unreadable")
    os.replace(path, target)
    fsync_dir(path.parent)
    return target
