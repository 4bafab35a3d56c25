"""Reading log segments for the monitor: whole sealed segments, bad ones skipped and counted.

The monitor's watermark is a :class:`~steadyml.adapters.predlog.SegmentCursor`: only
segments sealed after it are read, at most ``limit`` per pass. Each segment is read on
its own, so one corrupt or half-written file (a torn copy, another server's bad write)
is skipped with its reason and counted, and never stops the rest. Segments written
under different contracts are combined with their struct fields unified; when even
that fails, they are handed over one by one.

Joining feedback to its predictions looks request ids up in every sealed segment of
the hours that can hold them (up to ``labels.max_delay`` back). A
:class:`RequestIndex` keeps the hashed request ids of the segments the monitor has
read, so that a join reads only the segments that may hold a wanted id.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from steadyml.adapters.predlog import FEEDBACK, PREDICTIONS, Segment, SegmentCursor, list_segments
from steadyml.adapters.predlog.layout import hour_key, scan_sealed

__all__ = [
    "REQUIRED",
    "WATERMARK_KEY",
    "LogBatch",
    "RequestIndex",
    "index_rows",
    "read_new",
    "read_range",
]

REQUIRED = {
    PREDICTIONS: ("request_id", "event_time", "status"),
    FEEDBACK: ("request_id", "event_time", "received_at", "kind", "name"),
}
_TS = pa.timestamp("us", tz="UTC")
#: The cursor position that holds a foreign table's watermark.
WATERMARK_KEY = "watermark"
_TIME_COLUMNS = ("event_time", "received_at")
#: Request ids a :class:`RequestIndex` keeps at least (4 bytes each: 16 MB) ...
INDEX_ROWS = 4_000_000
#: ... and at most (256 MB), whatever the label window holds.
INDEX_ROWS_MAX = 64_000_000


def index_rows(expected_rps: float, max_delay_seconds: float) -> int:
    """Room for every request id of the label window at the expected rate, plus a quarter.

    A join looks ids up in every segment of the last ``labels.max_delay``; an index
    smaller than that window evicts, on every pass, the segments the next pass needs.

    Examples
    --------
    >>> index_rows(27, 7 * 86400)  # 2.3M requests a day, labels up to a week late
    20412000
    """
    wanted = int(expected_rps * max_delay_seconds * 1.25)
    return min(max(wanted, INDEX_ROWS), INDEX_ROWS_MAX)


@dataclass
class LogBatch:
    """What one pass read from one log table.

    Attributes
    ----------
    segments
        Every segment consumed, the skipped ones included (the cursor moves past all).
    tables
        The readable segments' records.
    skipped
        ``(path, reason)`` of the segments that could not be read.
    watermark
        For a foreign table: the watermark after these rows (stored as the cursor).
    more
        True when the read stopped at a limit that is not a segment count.
    counters
        Counts to add to the cursor's totals (e.g. foreign rows dropped, by reason).
    """

    segments: list[Segment] = field(default_factory=list)
    tables: list[pa.Table] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    watermark: int | None = None
    more: bool = False
    counters: dict[str, int] = field(default_factory=dict)

    def advance(self, positions: Mapping[str, int]) -> dict[str, int]:
        """The cursor positions after this batch."""
        if self.watermark is not None:
            return {**positions, WATERMARK_KEY: self.watermark}
        return dict(SegmentCursor(positions).advance(self.segments).positions)

    @property
    def rows(self) -> int:
        """Records read."""
        return sum(t.num_rows for t in self.tables)

    def frames(self) -> list[pl.DataFrame]:
        """The records as one frame, or one frame per segment if their schemas conflict."""
        if not self.tables:
            return []
        try:
            combined = pa.concat_tables(self.tables, promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return [_frame(t) for t in self.tables]
        return [_frame(combined)]


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    if not isinstance(frame, pl.DataFrame):  # pragma: no cover - a table gives a frame
        raise TypeError(type(frame).__name__)
    return frame


def _normalise(table: pa.Table, table_name: str) -> pa.Table:
    missing = [c for c in REQUIRED[table_name] if c not in table.column_names]
    if missing:
        raise ValueError(f"required columns {missing} are missing")
    for name in _TIME_COLUMNS:
        if name in table.column_names:
            index = table.column_names.index(name)
            column = table.column(index)
            if column.type != _TS:
                if not pa.types.is_timestamp(column.type):
                    raise ValueError(f"{name} is {column.type}, not a timestamp")
                if column.type.tz is None:
                    column = pc.assume_timezone(column, "UTC")
                table = table.set_column(index, name, column.cast(_TS))
    return table.replace_schema_metadata(None)


def _read(path: Path, table_name: str, columns: Sequence[str] | None = None) -> pa.Table:
    if columns is None:
        table = pq.read_table(path)
    else:
        available = pq.read_schema(path).names
        table = pq.read_table(path, columns=[c for c in columns if c in available])
    return _normalise(table, table_name)


def hash_ids(ids: pa.Array | pa.ChunkedArray | Sequence[str]) -> np.ndarray:
    """Sorted distinct 32-bit hashes of request ids (stable within one process).

    32 bits are plenty to rule a segment out: with 3,000 wanted ids and a segment of
    10,000, a false match (the segment read for nothing) has odds below 1 in 100.
    """
    series = pl.Series(ids, dtype=pl.String) if isinstance(ids, Sequence) else pl.Series(ids)
    wide = series.hash(seed=0).to_numpy()
    return np.unique((wide ^ (wide >> np.uint64(32))).astype(np.uint32))


def _any_common(sorted_a: np.ndarray, sorted_b: np.ndarray) -> bool:
    """True when two sorted arrays share a value (the smaller is searched in the larger)."""
    if sorted_a.size == 0 or sorted_b.size == 0:
        return False
    small, large = (sorted_a, sorted_b) if sorted_a.size <= sorted_b.size else (sorted_b, sorted_a)
    positions = np.minimum(np.searchsorted(large, small), large.size - 1)
    return bool((large[positions] == small).any())


@dataclass(frozen=True)
class _Indexed:
    """One sealed segment in a :class:`RequestIndex`."""

    stamp: tuple[int, int]  # (mtime in ns, size): a rewritten file is read again
    schema: pa.Schema  # the schema of the whole segment
    hashes: np.ndarray  # sorted distinct hashes of its request ids


def _stamp(path: Path) -> tuple[int, int]:
    status = os.stat(path)
    return status.st_mtime_ns, status.st_size


class RequestIndex:
    """Hashed request ids of sealed prediction segments, to read only those a join needs.

    Sealed segments never change. For each segment the monitor reads, the index keeps
    the sorted 32-bit hashes of its request ids (4 bytes a record) and its schema; a
    segment none of whose hashes is wanted holds none of the wanted ids and is not read
    again (a matching hash may be a collision: the ids themselves are compared after
    reading). A segment not yet indexed is indexed from its ``request_id`` column
    alone. At most ``max_rows`` ids are kept, the least recently used segments dropped
    first. A file whose modification time or size changed is indexed again.

    Parameters
    ----------
    max_rows
        Request ids kept at most.
    """

    def __init__(self, max_rows: int = INDEX_ROWS) -> None:
        self.max_rows = max_rows
        self._entries: OrderedDict[str, _Indexed] = OrderedDict()
        self._rows = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def rows(self) -> int:
        """Request ids held."""
        return self._rows

    def add(self, path: Path, table: pa.Table, stamp: tuple[int, int]) -> None:
        """Index a segment read whole (``table``, normalised) with its file ``stamp``."""
        self._put(str(path), _Indexed(stamp, table.schema, hash_ids(table.column("request_id"))))

    def entry(self, path: Path) -> _Indexed:
        """The segment's entry, indexed now from its ``request_id`` column if needed.

        Raises
        ------
        OSError, ValueError, pyarrow.ArrowException
            When the segment cannot be read (as reading it whole would).
        """
        key, stamp = str(path), _stamp(path)
        found = self._entries.get(key)
        if found is not None and found.stamp == stamp:
            self._entries.move_to_end(key)
            return found
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow.remove_metadata()  # as a normalised table's
        if "request_id" not in schema.names:
            raise ValueError("required columns ['request_id'] are missing")
        ids = parquet.read(columns=["request_id"]).column("request_id")
        made = _Indexed(stamp, schema, hash_ids(ids))
        self._put(key, made)
        return made

    def _put(self, key: str, entry: _Indexed) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._rows -= old.hashes.size
        if entry.hashes.size > self.max_rows:
            return
        self._entries[key] = entry
        self._rows += entry.hashes.size
        while self._rows > self.max_rows:
            _, dropped = self._entries.popitem(last=False)
            self._rows -= dropped.hashes.size


def read_new(
    root: Path,
    service: str,
    table_name: str,
    cursor: SegmentCursor,
    limit: int,
    *,
    index: RequestIndex | None = None,
) -> LogBatch:
    """Read up to ``limit`` segments sealed after ``cursor`` (skipping unreadable ones).

    Prediction segments read are added to ``index`` when one is given.
    """
    batch = LogBatch()
    for segment in list_segments(root, service, cursor, table=table_name, limit=limit):
        batch.segments.append(segment)
        try:
            stamp = _stamp(segment.path) if index is not None else (0, 0)
            table = _read(segment.path, table_name)
            batch.tables.append(table)
            if index is not None and table_name == PREDICTIONS:
                index.add(segment.path, table, stamp)
        except (OSError, ValueError, pa.ArrowException) as exc:
            reason = (
                str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            )
            batch.skipped.append((str(segment.path), reason))
    return batch


def read_range(
    root: Path,
    service: str,
    *,
    start: datetime,
    end: datetime,
    columns: Sequence[str],
    request_ids: Iterable[str],
    index: RequestIndex | None = None,
) -> pl.DataFrame:
    """Predictions with one of ``request_ids`` in the partition hours ``[start, end]``.

    Only ``columns`` are read; unreadable segments are skipped (their predictions
    count as unknown to the feedback that names them). With an ``index``, a segment
    that holds none of the ids is not read (it adds no rows, only its columns).
    """
    ids = sorted(set(request_ids))
    wanted = pa.array(ids, pa.string())
    hashes = hash_ids(ids) if index is not None else None
    parts: list[pa.Table] = []
    skipped: set[pa.Schema] = set()  # an empty part per schema gives the same columns
    table_root = Path(root) / PREDICTIONS
    for segment in scan_sealed(
        table_root, service, first_key=hour_key(start), last_key=hour_key(end)
    ):
        try:
            if index is not None and hashes is not None:
                entry = index.entry(segment.path)
                if not _any_common(entry.hashes, hashes):  # no rows, but its columns
                    if entry.schema not in skipped:
                        skipped.add(entry.schema)
                        names = [c for c in columns if c in entry.schema.names]
                        empty = pa.schema([entry.schema.field(c) for c in names]).empty_table()
                        parts.append(_normalise(empty, PREDICTIONS))
                    continue
            table = _read(segment.path, PREDICTIONS, columns)
        except (OSError, ValueError, pa.ArrowException):
            continue
        keep = pc.is_in(table.column("request_id"), value_set=wanted)
        parts.append(table.filter(keep))
    if not parts:
        return pl.DataFrame()
    try:
        combined = pa.concat_tables(parts, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        combined = pa.concat_tables([p.select(["request_id"]) for p in parts])
    return _frame(combined)
