"""Turn what users hand us (Polars, Arrow, NumPy) into Arrow columns, and columns into arrays.

Every input is converted once to a :class:`pyarrow.Table`; numeric columns become
``float64`` NumPy arrays (nulls as NaN, the null count kept apart) and categorical columns
stay Arrow strings or dictionaries, which Arrow counts without a Python loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from steadyml.core.profiles.schema import is_text
from steadyml.errors import DataError

__all__ = [
    "FrameLike",
    "as_table",
    "numeric_column",
    "primitive_values",
    "take_rows",
    "text_column",
    "valid_mask",
]

FrameLike = pl.DataFrame | pa.Table | pa.RecordBatch | Mapping[str, Any]
"""Anything a profile can be updated with: a Polars frame, an Arrow table or record batch,
or a mapping of column name to a NumPy array, a Polars series, an Arrow array or a list."""


def as_table(data: object) -> pa.Table:
    """Convert ``data`` to an Arrow table without copying where Arrow allows it.

    Raises
    ------
    DataError
        When ``data`` is none of the supported containers, or a mapping whose columns
        cannot be converted or have different lengths.
    """
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, pl.DataFrame):
        # the newest layout hands strings over as Arrow string views without a copy
        return data.to_arrow(compat_level=pl.CompatLevel.newest())
    if isinstance(data, pl.LazyFrame):
        raise DataError("data", "LazyFrame", "collect() the LazyFrame before profiling it")
    if isinstance(data, Mapping):
        arrays: dict[str, pa.Array | pa.ChunkedArray] = {}
        for name, values in data.items():
            arrays[str(name)] = _as_array(str(name), values)
        lengths = {len(a) for a in arrays.values()}
        if len(lengths) > 1:
            raise DataError(
                "data", {k: len(v) for k, v in arrays.items()}, "give columns of equal length"
            )
        return pa.table(arrays)
    raise DataError(
        "data",
        type(data).__name__,
        "pass a Polars DataFrame, an Arrow Table or RecordBatch, or a dict of arrays",
    )


def _as_array(name: str, values: object) -> pa.Array | pa.ChunkedArray:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    if isinstance(values, pl.Series):
        return values.to_arrow(compat_level=pl.CompatLevel.newest())
    try:
        if isinstance(values, np.ndarray):
            if values.ndim != 1:
                raise DataError(name, f"shape {values.shape}", "give one-dimensional arrays")
            if values.dtype.kind in "fiub":
                return pa.array(values)
            return pa.array(values.tolist())
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
        raise DataError(name, type(values).__name__, f"cannot read this column ({exc})") from None


def numeric_column(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, int] | None:
    """A numeric column as ``float64`` (nulls as NaN; may be read-only) and its null count.

    Returns ``None`` when the column is not numeric (a string column given for a
    numeric feature), which profiles count as a type error instead of guessing.
    """
    dtype = column.type
    nulls = column.null_count
    if pa.types.is_null(dtype):
        return np.full(len(column), np.nan), nulls
    if not (
        pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype)
    ):
        return None
    if not pa.types.is_float64(dtype):
        column = pc.cast(column, pa.float64(), safe=False)
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    values = primitive_values(column, np.float64)
    if nulls:
        values = np.where(valid_mask(column), values, np.nan)
    return values, nulls


def valid_mask(array: pa.Array) -> np.ndarray:
    """``True`` where ``array`` holds a value, ``False`` where it is null."""
    bitmap = array.buffers()[0]
    if bitmap is None:
        return np.ones(len(array), dtype=bool)
    bits = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little")
    return bits[array.offset : array.offset + len(array)].astype(bool)


def primitive_values(array: pa.Array, dtype: type[np.generic]) -> np.ndarray:
    """A read-only NumPy view of a primitive Arrow array's values (no copy).

    Null slots hold whatever the buffer has there: mask them with :func:`valid_mask`.
    ``Array.to_numpy`` and ``pc.fill_null`` with a Python scalar import pandas on first
    use (0.3 s in a fresh process); reading the data buffer directly does not.
    """
    if len(array) == 0:
        return np.empty(0, dtype=dtype)
    width = np.dtype(dtype).itemsize
    return np.frombuffer(
        array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * width
    )


def text_column(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array | None:
    """A categorical column as Arrow strings (or a dictionary of strings).

    Integers, booleans and floats are cast to their text form; ``None`` for types that
    have no sensible text form (nested or binary data).
    """
    dtype = column.type
    if _is_view(dtype):
        # Arrow's value_counts loses the null marker on string views (it reports nulls
        # as ""), so views are cast to large strings first - cheap next to counting
        return column.cast(pa.large_string())
    if is_text(dtype) or pa.types.is_null(dtype):
        return column
    if pa.types.is_dictionary(dtype):
        if is_text(dtype.value_type) and not _is_view(dtype.value_type):
            return column
        if _is_view(dtype.value_type):
            # Polars' Categorical and Enum: Arrow cannot decode a dictionary of string
            # views (no take kernel), but it can re-type the dictionary itself
            return column.cast(pa.dictionary(dtype.index_type, pa.large_string()))
        return pc.cast(column, pa.large_string())
    if pa.types.is_boolean(dtype) or pa.types.is_integer(dtype) or pa.types.is_floating(dtype):
        return pc.cast(column, pa.large_string())
    if pa.types.is_decimal(dtype):
        return pc.cast(column, pa.large_string())
    return None


def take_rows(column: pa.ChunkedArray, rows: np.ndarray) -> pa.ChunkedArray:
    """The given rows of a column (Arrow has no ``take`` for string views: cast first)."""
    dtype = column.type
    if _is_view(dtype):
        column = column.cast(pa.large_string())
    elif pa.types.is_dictionary(dtype) and _is_view(dtype.value_type):
        column = column.cast(pa.dictionary(dtype.index_type, pa.large_string()))
    # from_buffers: pa.array(ndarray) imports pandas on first use (0.3 s)
    indices = np.ascontiguousarray(rows, dtype=np.int64)
    return column.take(
        pa.Array.from_buffers(pa.int64(), indices.size, [None, pa.py_buffer(indices)])
    )


def _is_view(dtype: pa.DataType) -> bool:
    return bool(getattr(pa.types, "is_string_view", lambda _: False)(dtype))
