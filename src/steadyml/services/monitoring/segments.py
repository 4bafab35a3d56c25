"""Reading log segments for the monitor: whole sealed segments, bad ones skipped and counted.

The monitor's watermark is a :class:`~steadyml.adapters.predlog.SegmentCursor`: only
segments sealed after it are read, at most ``limit`` per pass. Each segment is read on
its own, so one corrupt or half-written file (a torn copy, another server's bad write)
is skipped with its reason and counted, and never stops the rest. Segments written
under different contracts are combined with their struct fields unified; when even
that fails, they are handed over one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from steadyml.adapters.predlog import FEEDBACK, PREDICTIONS, Segment, SegmentCursor, list_segments
from steadyml.adapters.predlog.layout import hour_key, scan_sealed

__all__ = ["REQUIRED", "WATERMARK_KEY", "LogBatch", "read_new", "read_range"]

REQUIRED = {
    PREDICTIONS: ("request_id", "event_time", "status"),
    FEEDBACK: ("request_id", "event_time", "received_at", "kind", "name"),
}
_TS = pa.timestamp("us", tz="UTC")
#: The cursor position that holds a foreign table's watermark.
WATERMARK_KEY = "watermark"
_TIME_COLUMNS = ("event_time", "received_at")


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


def read_new(
    root: Path, service: str, table_name: str, cursor: SegmentCursor, limit: int
) -> LogBatch:
    """Read up to ``limit`` segments sealed after ``cursor`` (skipping unreadable ones)."""
    batch = LogBatch()
    for segment in list_segments(root, service, cursor, table=table_name, limit=limit):
        batch.segments.append(segment)
        try:
            batch.tables.append(_read(segment.path, table_name))
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
) -> pl.DataFrame:
    """Predictions with one of ``request_ids`` in the partition hours ``[start, end]``.

    Only ``columns`` are read; unreadable segments are skipped (their predictions
    count as unknown to the feedback that names them).
    """
    wanted = pa.array(sorted(set(request_ids)), pa.string())
    parts: list[pa.Table] = []
    table_root = Path(root) / PREDICTIONS
    for segment in scan_sealed(
        table_root, service, first_key=hour_key(start), last_key=hour_key(end)
    ):
        try:
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
