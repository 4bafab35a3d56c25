"""Reading the log: sealed segments only, as one Polars LazyFrame.

:func:`list_segments` with a :class:`SegmentCursor` is the monitor's watermark. Each
worker seals its segments one at a time, numbering them ``1, 2, 3, ...`` in the order it
seals them, and a seal becomes visible by an atomic rename; so "every segment of worker
*w* with a number above the cursor's" is exactly what is new since the cursor, across
restarts and any number of concurrent writers, and whatever hour a late segment lands in.

One race remains: a listing walks the hour directories one after the other, so a worker
may seal segment *n* into a directory already walked and then *n + 1* into one not yet
walked. A listing that shows a gap in a worker's numbers is therefore taken again, and
only segments up to the highest number of the first walk are kept: by then every seal
before those has completed, so a gap that is still there is a deleted segment, not a
seal in flight.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from steadyml.adapters.predlog.layout import PREDICTIONS, Segment, check_name, hour_key, scan_sealed
from steadyml.adapters.predlog.schema import fixed_prediction_schema
from steadyml.core.clock import utc
from steadyml.errors import DataError

__all__ = [
    "SegmentCursor",
    "list_segments",
    "read_predictions",
    "read_segments",
    "read_table",
]


@dataclass(frozen=True)
class SegmentCursor:
    """How far a reader has consumed a log: the last segment number seen per worker.

    Examples
    --------
    >>> cursor = SegmentCursor().advance([])
    >>> SegmentCursor.from_dict(cursor.to_dict()) == cursor
    True
    """

    positions: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "positions", MappingProxyType(dict(self.positions)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SegmentCursor) and dict(self.positions) == dict(other.positions)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.positions.items())))

    def position(self, worker: str) -> int:
        """The last segment number consumed from ``worker`` (0 when none)."""
        return self.positions.get(worker, 0)

    def includes(self, segment: Segment) -> bool:
        """True when ``segment`` was consumed already."""
        return segment.seq <= self.position(segment.worker)

    def advance(self, segments: Iterable[Segment]) -> SegmentCursor:
        """The cursor after consuming ``segments`` (a prefix of a :func:`list_segments` answer)."""
        positions = dict(self.positions)
        for segment in segments:
            positions[segment.worker] = max(positions.get(segment.worker, 0), segment.seq)
        return SegmentCursor(positions)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, for the monitor store."""
        return {"positions": dict(sorted(self.positions.items()))}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SegmentCursor:
        """Rebuild a cursor from :meth:`to_dict`.

        Raises
        ------
        DataError
            When ``data`` is not such a mapping of worker to a non-negative integer.
        """
        positions = data.get("positions") if isinstance(data, Mapping) else None
        if not isinstance(positions, Mapping) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
            for k, v in positions.items()
        ):
            raise DataError(
                "cursor.positions",
                positions,
                "give a mapping of worker id to a segment number >= 0",
            )
        return cls(positions)

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SegmentCursor:
        """Rebuild a cursor from :meth:`to_json`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError("cursor", text, f"not valid JSON ({exc})") from None
        return cls.from_dict(data)


def list_segments(
    root: Path,
    service: str,
    after: SegmentCursor | None = None,
    *,
    table: str = PREDICTIONS,
    limit: int | None = None,
) -> list[Segment]:
    """Sealed segments of a service not yet consumed, in a stable order.

    Parameters
    ----------
    root
        The log directory (holding ``predictions/`` and ``feedback/``).
    service
        The service.
    after
        Leave out what this cursor has consumed; None lists every segment.
    table
        ``"predictions"`` or ``"feedback"``.
    limit
        At most this many segments. Any prefix of the answer is safe to consume and pass
        to :meth:`SegmentCursor.advance`.

    Returns
    -------
    list of Segment
        Sorted by worker, then by the order that worker sealed them. Open segments and
        seals in progress are never listed.
    """
    check_name("service", service)
    cursor = after or SegmentCursor()
    table_root = Path(root) / table
    segments = [s for s in scan_sealed(table_root, service) if not cursor.includes(s)]
    if _has_gap(segments, cursor):
        highest: dict[str, int] = {}
        for segment in segments:
            highest[segment.worker] = max(highest.get(segment.worker, 0), segment.seq)
        segments = [
            s
            for s in scan_sealed(table_root, service)
            if not cursor.includes(s) and s.seq <= highest.get(s.worker, 0)
        ]
    return segments if limit is None else segments[:limit]


def _has_gap(segments: Sequence[Segment], cursor: SegmentCursor) -> bool:
    expected: dict[str, int] = {}
    for segment in segments:  # sorted by worker, then seq
        if segment.seq != expected.get(segment.worker, cursor.position(segment.worker) + 1):
            return True
        expected[segment.worker] = segment.seq + 1
    return False


def _unified_schema(paths: Sequence[Path]) -> pa.Schema:
    schemas: dict[str, pa.Schema] = {}
    for path in paths:
        try:
            schema = pq.read_schema(path).remove_metadata()
        except (OSError, pa.ArrowInvalid) as exc:
            raise DataError(
                "segment",
                str(path),
                f"{path.name} is not readable Parquet ({exc}); move it out of the log",
                details={"path": str(path)},
            ) from None
        schemas.setdefault(str(schema), schema)
    try:
        return pa.unify_schemas(list(schemas.values()))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataError(
            "segments",
            str(paths[0].parent),
            f"the segments' schemas conflict ({exc}); "
            "read the segments of each schema version separately",
        ) from None


def _empty(schema: pa.Schema | None) -> pl.LazyFrame:
    if schema is None:
        return pl.LazyFrame()
    frame = pl.from_arrow(pa.Table.from_batches([], schema=schema))
    if not isinstance(frame, pl.DataFrame):  # pragma: no cover - a table gives a frame
        raise TypeError(type(frame).__name__)
    return frame.lazy()


def read_segments(
    segments: Sequence[Segment] | Sequence[Path], empty_schema: pa.Schema | None = None
) -> pl.LazyFrame:
    """One LazyFrame over the given sealed segments, their schemas unified.

    A column or struct field missing from older segments reads as null; with no segments,
    an empty frame of ``empty_schema`` (no columns when None).

    Raises
    ------
    DataError
        When a segment is not readable Parquet (``details['path']`` names it), or the
        segments' schemas conflict (a column changed type).
    """
    paths = [item.path if isinstance(item, Segment) else Path(item) for item in segments]
    if not paths:
        return _empty(empty_schema)
    schema = _unified_schema(paths)
    polars_schema = _empty(schema).collect_schema()
    return pl.scan_parquet(
        paths,
        schema=polars_schema,
        hive_partitioning=False,
        missing_columns="insert",
        cast_options=pl.ScanCastOptions(
            missing_struct_fields="insert", extra_struct_fields="ignore"
        ),
    )


def read_table(
    table_root: Path,
    service: str,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    time_column: str = "event_time",
    empty_schema: pa.Schema | None = None,
) -> pl.LazyFrame:
    """Records of one log table with ``start <= time_column < end`` (None: no bound)."""
    check_name("service", service)
    first = None if start is None else hour_key(start)
    last = None if end is None else hour_key(end)
    segments = scan_sealed(Path(table_root), service, first_key=first, last_key=last)
    frame = read_segments(segments, empty_schema)
    if not segments:
        return frame
    if start is not None:
        frame = frame.filter(pl.col(time_column) >= utc(start))
    if end is not None:
        frame = frame.filter(pl.col(time_column) < utc(end))
    return frame


def read_predictions(
    root: Path, service: str, start: datetime | None = None, end: datetime | None = None
) -> pl.LazyFrame:
    """Prediction records with ``start <= event_time < end``, as a Polars LazyFrame.

    Only the partitions of the hours in range are opened; only sealed segments are read.

    Parameters
    ----------
    root
        The log directory (holding ``predictions/``).
    service
        The service.
    start, end
        The half-open event-time range (naive datetimes are taken as UTC); None for no
        bound.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> read_predictions(pathlib.Path(tempfile.mkdtemp()), "churn").collect().height
    0
    """
    return read_table(
        Path(root) / PREDICTIONS, service, start, end, empty_schema=fixed_prediction_schema()
    )
