"""Tables to profile, read batch by batch: Parquet files and folders, CSV files, frames.

A :class:`TableSource` knows its columns (as an Arrow schema) and, where it is cheap to
learn, its row count (for a progress bar), and yields Arrow tables of at most
``batch_rows`` rows, so memory stays flat in the number of rows. Parquet is read without
pre-buffering (see :mod:`steadyml.adapters.profile_files` for why); a folder of Parquet
files (a Hive-partitioned prediction log) is read as one dataset; CSV goes through a
Polars streaming scan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from steadyml.adapters.profile_files import DEFAULT_BATCH_ROWS
from steadyml.core.profiles.schema import is_text
from steadyml.errors import DataError, NotFoundError

__all__ = ["DEFAULT_BATCH_ROWS", "TableSource", "open_table"]

_PARQUET = (".parquet", ".pq", ".parq")
_CSV = (".csv", ".tsv", ".txt")
_INFER_ROWS = 10_000
# Polars hands text over as large strings, not string views: Arrow cannot take rows of
# views (windows need it), and categoricals of views trip the profile's text cast
_COMPAT = pl.CompatLevel.oldest()

Reader = Callable[[Sequence[str] | None, int], Iterator[pa.Table]]


@dataclass(frozen=True)
class TableSource:
    """A table that can be read in batches, any number of times.

    Attributes
    ----------
    label
        How messages and reports name it (a path, or ``"frame"``).
    schema
        Column names and Arrow types.
    rows
        Row count, or ``None`` when unknown.
    """

    label: str
    schema: pa.Schema
    rows: int | None
    _read: Reader = field(repr=False, compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in file order."""
        return tuple(self.schema.names)

    def batches(
        self, columns: Sequence[str] | None = None, batch_rows: int = DEFAULT_BATCH_ROWS
    ) -> Iterator[pa.Table]:
        """Yield the table in batches (at least one, possibly empty) of ``columns``.

        Columns not in the table are left out; ``None`` reads every column.
        """
        wanted = None if columns is None else [c for c in columns if c in self.schema.names]
        empty = True
        for batch in self._read(wanted, batch_rows):
            empty = False
            yield batch
        if empty:  # an empty file is an empty window, not an error
            schema = (
                self.schema if wanted is None else pa.schema(self.schema.field(c) for c in wanted)
            )
            yield schema.empty_table()


def open_table(
    data: object, *, field_name: str = "current", text_columns: Sequence[str] = ()
) -> TableSource:
    """Open a Parquet or CSV path, a Parquet folder, a Polars frame or an Arrow table.

    Parameters
    ----------
    data
        A path (``.parquet``/``.pq``, ``.csv``/``.tsv``, or a folder of Parquet files),
        a :class:`polars.DataFrame` or a :class:`pyarrow.Table`.
    field_name
        What errors call it (``reference`` or ``current``).
    text_columns
        CSV only: columns read as text (categorical codes such as ``"01"`` would
        otherwise be parsed as numbers and lose their leading zeros).

    Raises
    ------
    NotFoundError
        When the path does not exist.
    DataError
        When it cannot be read as a table.
    """
    if isinstance(data, pl.DataFrame):
        return _frame_source(data.to_arrow(compat_level=_COMPAT))
    if isinstance(data, pa.Table):
        return _frame_source(data)
    if not isinstance(data, str | Path):
        raise DataError(
            field_name,
            type(data).__name__,
            "give a Parquet or CSV path, a Polars DataFrame or an Arrow table",
        )
    path = Path(data).expanduser()
    if not path.exists():
        raise NotFoundError(field_name, str(path), "no such file; give a Parquet or CSV file")
    suffix = path.suffix.lower()
    if path.is_dir():
        return _dataset_source(path, field_name)
    if suffix in _PARQUET:
        return _parquet_source(path, field_name)
    if suffix in _CSV:
        return _csv_source(path, field_name, text_columns)
    raise DataError(field_name, str(path), "use a .parquet or .csv file (or a Parquet folder)")


def _frame_source(table: pa.Table) -> TableSource:
    def read(columns: Sequence[str] | None, batch_rows: int) -> Iterator[pa.Table]:
        selected = table if columns is None else table.select(list(columns))
        for offset in range(0, selected.num_rows, batch_rows):
            yield selected.slice(offset, batch_rows)

    return TableSource("frame", table.schema, table.num_rows, read)


def _unreadable(field_name: str, path: Path, exc: BaseException) -> DataError:
    reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return DataError(field_name, str(path), f"cannot read it as a table: {reason}")


def _parquet_source(path: Path, field_name: str) -> TableSource:
    try:
        metadata = pq.read_metadata(path)
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as exc:
        raise _unreadable(field_name, path, exc) from None
    text = [f.name for f in schema if is_text(f.type)]

    def read(columns: Sequence[str] | None, batch_rows: int) -> Iterator[pa.Table]:
        try:
            # pre-buffering would keep every row group read: memory would grow with the file;
            # text is read as dictionaries (counting codes beats decoding every string)
            with pq.ParquetFile(
                path, pre_buffer=False, buffer_size=1 << 20, read_dictionary=text or None
            ) as parquet:
                for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
                    yield pa.Table.from_batches([batch])
        except (OSError, pa.ArrowException) as exc:
            raise _unreadable(field_name, path, exc) from None

    return TableSource(str(path), schema, metadata.num_rows, read)


def _dataset_source(path: Path, field_name: str) -> TableSource:
    try:
        schema = pads.dataset(path, format="parquet", partitioning="hive").schema
        options = pads.ParquetReadOptions(
            dictionary_columns=[f.name for f in schema if is_text(f.type)]
        )
        parquet = pads.ParquetFileFormat(read_options=options)
        dataset = pads.dataset(path, format=parquet, partitioning="hive")
        rows = dataset.count_rows()
    except (OSError, pa.ArrowException) as exc:
        raise _unreadable(field_name, path, exc) from None
    if not dataset.files:
        raise DataError(field_name, str(path), "the folder holds no Parquet files")

    def read(columns: Sequence[str] | None, batch_rows: int) -> Iterator[pa.Table]:
        try:
            scanner = dataset.scanner(
                columns=None if columns is None else list(columns),
                batch_size=batch_rows,
                batch_readahead=1,
                fragment_readahead=1,
            )
            for batch in scanner.to_batches():
                if batch.num_rows:
                    yield pa.Table.from_batches([batch])
        except (OSError, pa.ArrowException) as exc:
            raise _unreadable(field_name, path, exc) from None

    return TableSource(str(path), dataset.schema, rows, read)


def _csv_source(path: Path, field_name: str, text_columns: Sequence[str]) -> TableSource:
    separator = "\t" if path.suffix.lower() == ".tsv" else ","

    def scan(overrides: dict[str, pl.DataType] | None = None) -> pl.LazyFrame:
        return pl.scan_csv(
            path,
            separator=separator,
            infer_schema_length=_INFER_ROWS,
            schema_overrides=overrides,
            try_parse_dates=True,
        )

    try:
        header = scan().collect_schema()
        overrides: dict[str, pl.DataType] = {c: pl.String() for c in text_columns if c in header}
        polars_schema = scan(overrides).collect_schema() if overrides else header
        rows = int(scan(overrides).select(pl.len()).collect().item())
    except pl.exceptions.NoDataError:
        # a file of zero bytes: no columns, no rows
        return TableSource(str(path), pa.schema([]), 0, lambda _c, _n: iter(()))
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise _unreadable(field_name, path, exc) from None
    schema = pl.DataFrame(schema=polars_schema).to_arrow(compat_level=_COMPAT)
    inferred = schema.schema

    def read(columns: Sequence[str] | None, batch_rows: int) -> Iterator[pa.Table]:
        frame = scan(overrides)
        if columns is not None:
            frame = frame.select(list(columns))
        try:
            for chunk in frame.collect_batches(chunk_size=batch_rows):
                yield chunk.to_arrow(compat_level=_COMPAT)
        except pl.exceptions.PolarsError as exc:
            reason = str(exc).splitlines()[0][:200]
            raise DataError(
                field_name,
                str(path),
                f"a value does not fit the column type inferred from the first "
                f"{_INFER_ROWS:,} rows ({reason}); convert the file to Parquet with "
                "explicit types",
            ) from None

    return TableSource(str(path), inferred, rows, read)
