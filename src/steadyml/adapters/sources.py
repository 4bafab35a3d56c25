"""Read a training table from the spec's data source: a Parquet/CSV file or a SQL query."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import sqlalchemy as sa

from steadyml.errors import DataError, NotFoundError
from steadyml.spec import ServiceSpec, SourceSpec

__all__ = ["read_source", "read_table"]

_PARQUET = (".parquet", ".pq", ".parq")
_CSV = (".csv", ".tsv", ".txt")


def read_table(path: Path, field: str = "data.source.path") -> pl.DataFrame:
    """Read a Parquet or CSV file (by suffix) into a DataFrame.

    Raises
    ------
    NotFoundError
        When the file does not exist.
    DataError
        When it cannot be read, has an unknown suffix, or has no rows.
    """
    if not path.exists():
        raise NotFoundError(field, str(path), "no such file; check the path (relative to the spec)")
    suffix = path.suffix.lower()
    try:
        if suffix in _PARQUET or path.is_dir():
            frame = pl.read_parquet(path)
        elif suffix in _CSV:
            frame = pl.read_csv(
                path, separator="\t" if suffix == ".tsv" else ",", infer_schema_length=10_000
            )
        else:
            raise DataError(field, str(path), "use a .parquet or .csv file")
    except DataError:
        raise
    except (OSError, pl.exceptions.PolarsError, ValueError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise DataError(
            field, str(path), f"cannot read it as {suffix or 'a table'}: {reason}"
        ) from None
    if frame.height == 0:
        raise DataError(field, str(path), "the table has no rows; point it at non-empty data")
    return frame


def _read_sql(source: SourceSpec) -> pl.DataFrame:
    url = source.url or ""
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise DataError("data.source.url", url, f"not a usable SQLAlchemy URL ({exc})") from None
    try:
        with engine.connect() as connection:
            frame = pl.read_database(sa.text(source.sql or ""), connection)
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else "cannot connect"
        raise DataError("data.source.url", url, f"cannot run the query: {reason}") from None
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise DataError("data.source.sql", source.sql, f"the query failed: {reason}") from None
    finally:
        engine.dispose()
    if frame.height == 0:
        raise DataError("data.source.sql", source.sql, "the query returned no rows")
    return frame


def read_source(spec: ServiceSpec) -> pl.DataFrame:
    """Read the spec's training table."""
    source = spec.data.source
    if source.path is not None:
        return read_table(spec.resolve(source.path))
    return _read_sql(source)
