"""Read the rows of another server's prediction table after a watermark.

Two backends with one interface (:class:`ForeignSource`): Parquet (a file, a directory
or a glob; Hive partitions such as ``date=2024-05-01/`` are read as columns) through
Polars, and a PostgreSQL table through SQLAlchemy. Each returns the rows whose
watermark column is above the stored watermark, in watermark order, at most a limit
per read and never splitting rows that share one watermark value, so that nothing is
read twice or skipped across passes and restarts. The watermark is kept as an integer:
microseconds since the epoch (UTC) for a timestamp column, the value itself for an id.
"""

from __future__ import annotations

import glob
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

import polars as pl
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from steadyml.adapters.foreign_logs.mapping import ColumnKind, kind_of
from steadyml.errors import SpecError, SteadyError

__all__ = [
    "WATERMARK",
    "ForeignRead",
    "ForeignSource",
    "ForeignSourceUnavailable",
    "ParquetSource",
    "PostgresSource",
]

WATERMARK = "_steadyml_watermark"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ForeignSourceUnavailable(SteadyError):
    """The foreign table cannot be reached (database down, files unreadable)."""

    kind = "source unavailable"
    exit_code = 3


@dataclass
class ForeignRead:
    """Rows read after a watermark.

    Attributes
    ----------
    frame
        The rows, with :data:`WATERMARK` (an integer) added, in watermark order.
    watermark
        The watermark to store once the rows are processed (unchanged without rows).
    skipped
        ``(path, reason)`` of files that could not be read (retried at the next read).
    full
        True when the read stopped at its limit (more rows may be waiting).
    """

    frame: pl.DataFrame
    watermark: int | None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    full: bool = False


class ForeignSource(Protocol):
    """A foreign prediction table."""

    def kinds(self) -> dict[str, ColumnKind]:
        """Column name -> kind (empty when the table has no rows or files yet)."""
        ...

    def read(
        self,
        columns: list[str],
        watermark_column: str,
        after: int | None,
        until: int | None,
        limit: int,
    ) -> ForeignRead:
        """Rows with ``after < watermark <= until`` (either bound optional), at most ``limit``."""
        ...

    def lookup(
        self,
        columns: list[str],
        id_column: str,
        ids: list[str],
        *,
        time_column: str,
        start: datetime,
        end: datetime,
    ) -> pl.DataFrame:
        """Rows whose ``id_column`` is one of ``ids``, with ``time_column`` in [start, end]."""
        ...


def _bound(value: int, temporal: bool, aware: bool) -> object:
    """The watermark as a value comparable with the column (a datetime for timestamps)."""
    if not temporal:
        return value
    moment = _EPOCH + timedelta(microseconds=value)
    return moment if aware else moment.replace(tzinfo=None)


def _with_watermark(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    dtype = frame.schema[column]
    if isinstance(dtype, pl.Datetime):
        expr = pl.col(column)
        if dtype.time_zone is None:
            expr = expr.dt.replace_time_zone("UTC")
        value = expr.dt.epoch("us")
    elif isinstance(dtype, pl.Date):
        value = pl.col(column).cast(pl.Datetime("us")).dt.epoch("us")
    else:
        value = pl.col(column).cast(pl.Int64)
    return frame.with_columns(value.alias(WATERMARK)).filter(pl.col(WATERMARK).is_not_null())


def _settle(frame: pl.DataFrame, limit: int) -> tuple[pl.DataFrame, bool]:
    """Sort, and cut at ``limit`` rows without splitting one watermark value.

    Returns the rows to process and whether the cut left rows behind. When every row
    of the cut shares the last value, the caller must read that value whole.
    """
    frame = frame.sort(WATERMARK)
    if frame.height <= limit:
        return frame, False
    last = frame.item(limit - 1, WATERMARK)
    head = frame.head(limit).filter(pl.col(WATERMARK) < last)
    if head.height:
        return head, True
    return frame.filter(pl.col(WATERMARK) == last), True


_Condition_co = TypeVar("_Condition_co", covariant=True)


class _Ordered(Protocol[_Condition_co]):
    """A column that compares into a condition: a Polars expression or a SQL column."""

    def __gt__(self, other: Any, /) -> _Condition_co: ...

    def __le__(self, other: Any, /) -> _Condition_co: ...


@dataclass(frozen=True)
class _Page:
    """One read of a foreign table: rows with ``after < watermark <= until``, at most ``limit``.

    Every source reads a page the same way: it keeps the rows in the page's range
    (:meth:`conditions`), reads :attr:`size` rows at most in watermark order, adds
    :data:`WATERMARK` and hands them to :meth:`cut`.
    """

    after: int | None
    until: int | None
    limit: int

    @property
    def size(self) -> int:
        """Rows to read: one more than the limit shows whether more are waiting."""
        return self.limit + 1

    def conditions(
        self, column: _Ordered[_Condition_co], temporal: bool, aware: bool
    ) -> list[_Condition_co]:
        """The range of the page on ``column`` (a datetime bound for a timestamp column)."""
        found: list[_Condition_co] = []
        if self.after is not None:
            found.append(column > _bound(self.after, temporal, aware))
        if self.until is not None:
            found.append(column <= _bound(self.until, temporal, aware))
        return found

    def cut(
        self,
        frame: pl.DataFrame,
        skipped: list[tuple[str, str]] | None = None,
        whole: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    ) -> ForeignRead:
        """The page's rows from ``frame`` (with :data:`WATERMARK`, or empty).

        ``whole``, when given, reads again every row of the one watermark value that
        fills the page alone (it gets that value's rows read so far).
        """
        skipped = [] if skipped is None else skipped
        if frame.height == 0:
            return ForeignRead(pl.DataFrame(), self.after, skipped)
        frame, full = _settle(frame, self.limit)
        if whole is not None and full and frame.height >= self.limit:
            frame = whole(frame)
            if frame.height == 0:
                return ForeignRead(pl.DataFrame(), self.after, skipped)
        watermark = int(frame.get_column(WATERMARK).max())  # type: ignore[arg-type]
        return ForeignRead(frame, watermark, skipped, full)


class ParquetSource:
    """Parquet files: one file, every ``*.parquet`` under a directory, or a glob.

    Each file is read on its own, with its row groups pruned by the watermark, so that
    a file another server is still writing (or a corrupt one) is skipped with its reason
    and read at a later pass once whole; its rows are not lost because the watermark
    only moves past rows that were read.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def files(self) -> list[Path]:
        """The table's files, sorted."""
        if self.path.is_file():
            return [self.path]
        if self.path.is_dir():
            return sorted(p for p in self.path.rglob("*.parquet") if p.is_file())
        return sorted(Path(p) for p in glob.glob(str(self.path), recursive=True))

    def _scan(self, path: Path) -> pl.LazyFrame:
        return pl.scan_parquet(path, hive_partitioning=self.path.is_dir() or None)

    def kinds(self) -> dict[str, ColumnKind]:
        """Column kinds of the first readable file (empty without files)."""
        for path in self.files():
            try:
                schema = self._scan(path).collect_schema()
            except (OSError, pl.exceptions.PolarsError):
                continue
            return {name: kind_of(dtype) for name, dtype in schema.items()}
        return {}

    def read(
        self,
        columns: list[str],
        watermark_column: str,
        after: int | None,
        until: int | None,
        limit: int,
    ) -> ForeignRead:
        """Rows after ``after`` (see :class:`ForeignSource`); unreadable files skipped.

        A watermark value with more rows than the page holds is read whole (from every
        file), so that moving the watermark to it never leaves some of its rows behind.
        """
        page = _Page(after, until, limit)
        skipped: list[tuple[str, str]] = []

        def whole(rows: pl.DataFrame) -> pl.DataFrame:
            value = int(rows.get_column(WATERMARK).max())  # type: ignore[arg-type]
            return self._collect(_Page(value - 1, value, limit), columns, watermark_column, [])

        frame = self._collect(page, columns, watermark_column, skipped, head=page.size)
        return page.cut(frame, skipped, whole=whole)

    def _collect(
        self,
        page: _Page,
        columns: list[str],
        watermark_column: str,
        skipped: list[tuple[str, str]],
        head: int | None = None,
    ) -> pl.DataFrame:
        """The rows of ``page``'s range from every file (the first ``head`` of each)."""
        parts: list[pl.DataFrame] = []
        for path in self.files():
            try:
                scan = self._scan(path)
                dtype = scan.collect_schema()[watermark_column]
                temporal = dtype.is_temporal()
                aware = isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
                for condition in page.conditions(pl.col(watermark_column), temporal, aware):
                    scan = scan.filter(condition)
                present = [c for c in columns if c in scan.collect_schema()]
                scan = scan.select(present).sort(watermark_column)
                part = (scan if head is None else scan.head(head)).collect()
            except (OSError, KeyError, pl.exceptions.PolarsError) as exc:
                reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
                skipped.append((str(path), reason or type(exc).__name__))
                continue
            if part.height:
                parts.append(_with_watermark(part, watermark_column))
        return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()

    def lookup(
        self,
        columns: list[str],
        id_column: str,
        ids: list[str],
        *,
        time_column: str,
        start: datetime,
        end: datetime,
    ) -> pl.DataFrame:
        """Rows of the given request ids in a time range (unreadable files skipped)."""
        wanted = pl.Series(ids, dtype=pl.String)
        parts: list[pl.DataFrame] = []
        for path in self.files():
            try:
                scan = self._scan(path)
                dtype = scan.collect_schema()[time_column]
                if isinstance(dtype, pl.Datetime):
                    aware = dtype.time_zone is not None
                    low, high = _aware(start, aware), _aware(end, aware)
                    scan = scan.filter(pl.col(time_column).is_between(low, high))
                present = [c for c in columns if c in scan.collect_schema()]
                scan = scan.filter(pl.col(id_column).cast(pl.String).is_in(wanted.implode()))
                part = scan.select(present).collect()
            except (OSError, KeyError, pl.exceptions.PolarsError):
                continue
            if part.height:
                parts.append(part)
        return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()


def _aware(moment: datetime, aware: bool) -> datetime:
    utc = moment.astimezone(UTC)
    return utc if aware else utc.replace(tzinfo=None)


_SA_KINDS: tuple[tuple[type[sa.types.TypeEngine[Any]], ColumnKind], ...] = (
    (sa.Boolean, "boolean"),
    (sa.Integer, "integer"),
    (sa.Numeric, "numeric"),
    (sa.Float, "numeric"),
    (sa.DateTime, "temporal"),
    (sa.Date, "temporal"),
    (sa.JSON, "json"),
    (sa.String, "text"),
)


def _sa_kind(type_: sa.types.TypeEngine[Any]) -> ColumnKind:
    for klass, kind in _SA_KINDS:
        if isinstance(type_, klass):
            return kind
    if type(type_).__name__.upper() in ("JSONB", "JSON"):
        return "json"
    return "other"


class PostgresSource:
    """A PostgreSQL (or any SQLAlchemy) table; read with an indexed range query.

    Parameters
    ----------
    url
        SQLAlchemy URL.
    table
        ``table`` or ``schema.table``.
    """

    def __init__(self, url: str, table: str) -> None:
        self.url = url
        schema, _, name = table.rpartition(".")
        self.table_name, self.schema = name, schema or None
        # one connection per read and none held between passes: a monitor that is
        # dropped leaves nothing open
        self.engine = sa.create_engine(url, poolclass=NullPool)
        self._table: sa.Table | None = None

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    def table(self) -> sa.Table:
        """The reflected table.

        Raises
        ------
        SpecError
            When the table does not exist.
        ForeignSourceUnavailable
            When the database cannot be reached.
        """
        if self._table is None:
            try:
                self._table = sa.Table(
                    self.table_name, sa.MetaData(), schema=self.schema, autoload_with=self.engine
                )
            except sa.exc.NoSuchTableError:
                raise SpecError(
                    "monitors.source.table",
                    self.table_name,
                    "no such table in the database; check the name (schema.table)",
                ) from None
            except sa.exc.SQLAlchemyError as exc:
                raise ForeignSourceUnavailable(
                    "monitors.source.url",
                    self.engine.url.render_as_string(hide_password=True),
                    f"cannot reach the database ({type(exc).__name__}); it is retried",
                ) from None
        return self._table

    def kinds(self) -> dict[str, ColumnKind]:
        """Column kinds of the table, from the database's catalogue."""
        return {c.name: _sa_kind(c.type) for c in self.table().columns}

    def _select(self, table: sa.Table, columns: list[str]) -> list[sa.ColumnElement[Any]]:
        out: list[sa.ColumnElement[Any]] = []
        for name in columns:
            column = table.c[name]
            if _sa_kind(column.type) == "json":
                out.append(sa.cast(column, sa.Text).label(name))
            else:
                out.append(column)
        return out

    def read(
        self,
        columns: list[str],
        watermark_column: str,
        after: int | None,
        until: int | None,
        limit: int,
    ) -> ForeignRead:
        """Rows after ``after`` (see :class:`ForeignSource`), one range query."""
        page = _Page(after, until, limit)
        table = self.table()
        wm = table.c[watermark_column]
        temporal = _sa_kind(wm.type) == "temporal"
        aware = bool(getattr(wm.type, "timezone", False))
        query = sa.select(*self._select(table, columns)).order_by(wm)
        for condition in page.conditions(wm, temporal, aware):
            query = query.where(condition)
        try:
            with self.engine.connect() as connection:

                def whole(rows: pl.DataFrame) -> pl.DataFrame:
                    value = rows.item(0, watermark_column)
                    found = pl.read_database(query.where(wm == value), connection)
                    return _with_watermark(found, watermark_column)

                frame = pl.read_database(query.limit(page.size), connection)
                frame = _with_watermark(frame, watermark_column) if frame.height else frame
                return page.cut(frame, whole=whole)
        except sa.exc.SQLAlchemyError as exc:
            raise ForeignSourceUnavailable(
                "monitors.source.url",
                self.engine.url.render_as_string(hide_password=True),
                f"cannot read the table ({type(exc).__name__}); it is retried",
            ) from None

    def lookup(
        self,
        columns: list[str],
        id_column: str,
        ids: list[str],
        *,
        time_column: str,
        start: datetime,
        end: datetime,
    ) -> pl.DataFrame:
        """Rows of the given request ids in a time range, 10,000 ids per query."""
        table = self.table()
        key, when = table.c[id_column], table.c[time_column]
        query = sa.select(*self._select(table, columns))
        if _sa_kind(when.type) == "temporal":
            aware = bool(getattr(when.type, "timezone", False))
            query = query.where(when.between(_aware(start, aware), _aware(end, aware)))
        parts: list[pl.DataFrame] = []
        try:
            with self.engine.connect() as connection:
                for first in range(0, len(ids), 10_000):
                    chunk = ids[first : first + 10_000]
                    found = pl.read_database(
                        query.where(sa.cast(key, sa.Text).in_(chunk)), connection
                    )
                    if found.height:
                        parts.append(found)
        except sa.exc.SQLAlchemyError as exc:
            raise ForeignSourceUnavailable(
                "monitors.source.url",
                self.engine.url.render_as_string(hide_password=True),
                f"cannot read the table ({type(exc).__name__}); it is retried",
            ) from None
        return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()
