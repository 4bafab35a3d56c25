"""A bounded, uniform, mergeable sample of rows (bottom-k sampling).

Every row gets a uniform random key; the sample keeps the ``capacity`` rows with the
smallest keys. Merging two samples keeps the smallest keys of both, which is again a
uniform sample of the union: merge is exact, associative and commutative. A chunk costs
``O(capacity)``, not ``O(rows)``: only the rows whose key can enter the sample are drawn
(their number is binomial, their keys are order statistics built from exponential
spacings), so a million-row chunk is sampled in well under a millisecond.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from steadyml.core.profiles.floats import from_json_float, to_json_float
from steadyml.core.profiles.ingest import (
    numeric_column,
    primitive_values,
    take_rows,
    text_column,
    valid_mask,
)
from steadyml.core.profiles.schema import ColumnKind, ProfileSchema

__all__ = ["DEFAULT_SAMPLE_SIZE", "Reservoir", "RowSample"]

DEFAULT_SAMPLE_SIZE = 10_000


@dataclass(frozen=True, eq=False)
class RowSample:
    """Immutable sample of rows: their keys (ascending) and their values per column.

    Numeric columns are ``float64`` (missing as NaN); categorical columns are object
    arrays of ``str`` or ``None``.
    """

    capacity: int
    keys: np.ndarray
    columns: Mapping[str, np.ndarray]

    def __len__(self) -> int:
        return int(self.keys.size)

    def merge(self, other: RowSample) -> RowSample:
        """The bottom-k sample of both samples' rows."""
        capacity = min(self.capacity, other.capacity)
        keys = np.concatenate([self.keys, other.keys])
        order = np.argsort(keys, kind="stable")[:capacity]
        columns = {
            name: np.concatenate([values, other.columns[name]])[order]
            for name, values in self.columns.items()
        }
        return RowSample(capacity, keys[order], columns)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping (NaN as ``None``)."""
        columns: dict[str, list[Any]] = {}
        for name, values in self.columns.items():
            if values.dtype == object:
                columns[name] = values.tolist()
            else:
                columns[name] = [None if np.isnan(v) else to_json_float(v) for v in values.tolist()]
        return {"capacity": self.capacity, "keys": self.keys.tolist(), "columns": columns}

    @classmethod
    def from_dict(cls, raw: dict[str, Any], schema: ProfileSchema) -> RowSample:
        """Inverse of :meth:`to_dict`."""
        keys = np.asarray(raw["keys"], dtype=np.float64)
        columns: dict[str, np.ndarray] = {}
        for column in schema.columns:
            values = list(raw["columns"][column.name])
            if len(values) != keys.size:
                raise ValueError(f"sample column {column.name!r} has the wrong length")
            if column.kind is ColumnKind.NUMERIC:
                columns[column.name] = np.array(
                    [np.nan if v is None else from_json_float(v) for v in values], dtype=np.float64
                )
            else:
                columns[column.name] = np.array(
                    [None if v is None else str(v) for v in values], dtype=object
                )
        return cls(int(raw["capacity"]), keys, columns)


def empty_sample(schema: ProfileSchema, capacity: int) -> RowSample:
    """A sample with no rows."""
    columns = {
        c.name: np.empty(0, dtype=np.float64 if c.kind is ColumnKind.NUMERIC else object)
        for c in schema.columns
    }
    return RowSample(capacity, np.empty(0, dtype=np.float64), columns)


class Reservoir:
    """Mutable bottom-k row sampler.

    Parameters
    ----------
    schema
        The profiled columns.
    capacity
        Rows kept at most.
    rng
        The random generator for the keys.
    """

    def __init__(self, schema: ProfileSchema, capacity: int, rng: np.random.Generator) -> None:
        self._schema = schema
        self._rng = rng
        self._sample = empty_sample(schema, capacity)

    def update(self, table: pa.Table) -> None:
        """Offer every row of ``table`` to the sample."""
        n = table.num_rows
        capacity = self._sample.capacity
        if n == 0 or capacity == 0:
            return
        full = len(self._sample) >= capacity
        threshold = float(self._sample.keys[-1]) if full else 1.0
        below = n if threshold >= 1.0 else int(self._rng.binomial(n, threshold))
        take = min(below, capacity)
        if take == 0:
            return
        rows = (
            self._rng.choice(n, size=take, replace=False) if take < n else self._rng.permutation(n)
        )
        if take == below:
            keys = self._rng.uniform(0.0, threshold, size=take)
        else:
            spacings = np.cumsum(self._rng.standard_exponential(take))
            total = spacings[-1] + self._rng.standard_gamma(below - take + 1)
            keys = threshold * spacings / total
        chunk = RowSample(capacity, keys, self._values(table, rows))
        self._sample = self._sample.merge(chunk)

    def _values(self, table: pa.Table, rows: np.ndarray) -> dict[str, np.ndarray]:
        present = set(table.column_names)
        values: dict[str, np.ndarray] = {}
        for column in self._schema.columns:
            numeric = column.kind is ColumnKind.NUMERIC
            taken = take_rows(table.column(column.name), rows) if column.name in present else None
            if numeric:
                converted = None if taken is None else numeric_column(taken)
                values[column.name] = (
                    np.full(rows.size, np.nan) if converted is None else np.array(converted[0])
                )
            else:
                text = None if taken is None else text_column(taken)
                if text is None:
                    values[column.name] = np.full(rows.size, None, dtype=object)
                elif pa.types.is_dictionary(text.type):
                    values[column.name] = _dictionary_objects(text)
                else:
                    values[column.name] = np.array(text.to_pylist(), dtype=object)
        return values

    def sample(self) -> RowSample:
        """The current sample (immutable)."""
        return self._sample


def _dictionary_objects(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Dictionary-encoded text as an object array, decoding each distinct value once."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = [np.empty(0, dtype=object)]
    for chunk in chunks:
        labels = np.empty(len(chunk.dictionary) + 1, dtype=object)  # the last one: null
        labels[:-1] = chunk.dictionary.to_pylist()
        indices = chunk.indices.cast(pa.int64())
        codes = primitive_values(indices, np.int64)
        if indices.null_count:
            codes = np.where(valid_mask(indices), codes, -1)
        parts.append(labels[codes])
    return np.concatenate(parts)
