"""Summary of one categorical column: exact frequencies up to a cap, a sketch beyond.

Arrow counts each chunk (``value_counts``); Python then loops over the *distinct* values
of the chunk only. Up to ``max_categories`` distinct values the counts are exact; past
it the summary switches to a DataSketches frequent-items sketch (error at most
``epsilon * total``) and a HyperLogLog for the distinct count.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import datasketches as ds
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from steadyml.core.profiles.hll import HyperLogLog
from steadyml.core.profiles.ingest import primitive_values

__all__ = ["DEFAULT_MAX_CATEGORIES", "CategoricalAccumulator", "CategoricalSummary"]

DEFAULT_MAX_CATEGORIES = 10_000
_LG_MAP = 12  # frequent-items map of 4096 slots: error <= 3.5 / 4096 of the total


def _new_sketch() -> ds.frequent_strings_sketch:
    return ds.frequent_strings_sketch(_LG_MAP)


def _sketch_of(counts: dict[str, int]) -> tuple[ds.frequent_strings_sketch, HyperLogLog]:
    sketch = _new_sketch()
    for value, weight in counts.items():
        if weight > 0:
            sketch.update(value, int(weight))
    hll = HyperLogLog()
    hll.update_strings(counts)
    return sketch, hll


@dataclass(frozen=True, eq=False)
class CategoricalSummary:
    """Immutable, mergeable summary of a categorical column.

    Attributes
    ----------
    count
        Rows seen, whatever their value.
    nulls
        Missing values.
    type_errors
        Values of a type with no text form (nested, binary); counted, never profiled.
    counts
        Exact frequency of each category, or ``None`` once past ``max_categories``.
    sketch
        Serialised frequent-items sketch when ``counts`` is ``None``.
    hll
        HyperLogLog registers when ``counts`` is ``None``.
    max_categories
        The cap on exact counting.
    """

    count: int
    nulls: int
    type_errors: int
    counts: dict[str, int] | None
    sketch: bytes | None = None
    hll: np.ndarray | None = None
    max_categories: int = DEFAULT_MAX_CATEGORIES

    @property
    def present(self) -> int:
        """Non-missing values that were profiled."""
        return self.count - self.nulls - self.type_errors

    @property
    def missing(self) -> int:
        """Null values."""
        return self.nulls

    @property
    def is_exact(self) -> bool:
        """True while frequencies are exact."""
        return self.counts is not None

    @property
    def error_bound(self) -> float:
        """Largest absolute error of a frequency (0 when exact)."""
        if self.counts is not None:
            return 0.0
        return float(ds.frequent_strings_sketch.get_apriori_error(_LG_MAP, self.present))

    def frequent_sketch(self) -> ds.frequent_strings_sketch:
        """A fresh frequent-items sketch of the values (built from exact counts if needed)."""
        if self.counts is not None:
            return _sketch_of(self.counts)[0]
        return ds.frequent_strings_sketch.deserialize(self.sketch)

    def frequencies(self, categories: Sequence[str]) -> np.ndarray:
        """Counts (exact, or sketch estimates) of ``categories``."""
        if self.counts is not None:
            counts = self.counts
            return np.array([counts.get(c, 0) for c in categories], dtype=np.int64)
        sketch = self.frequent_sketch()
        return np.array([sketch.get_estimate(c) for c in categories], dtype=np.int64)

    def top(self, n: int | None = None) -> list[tuple[str, int]]:
        """The most frequent categories with their counts, most frequent first."""
        if self.counts is not None:
            items = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        else:
            rows = self.frequent_sketch().get_frequent_items(
                ds.frequent_items_error_type.NO_FALSE_NEGATIVES
            )
            items = sorted(((r[0], int(r[1])) for r in rows), key=lambda kv: (-kv[1], kv[0]))
        return items if n is None else items[:n]

    def distinct(self) -> float:
        """Number of distinct categories (exact while ``counts`` is kept)."""
        if self.counts is not None:
            return float(len(self.counts))
        return HyperLogLog(self.hll).estimate()

    def merge(self, other: CategoricalSummary) -> CategoricalSummary:
        """The summary of both windows together."""
        count = self.count + other.count
        nulls = self.nulls + other.nulls
        errors = self.type_errors + other.type_errors
        if self.counts is not None and other.counts is not None:
            merged = dict(self.counts)
            for value, weight in other.counts.items():
                merged[value] = merged.get(value, 0) + weight
            if len(merged) <= self.max_categories:
                return CategoricalSummary(
                    count, nulls, errors, merged, None, None, self.max_categories
                )
        sketch, hll = self._sketches()
        other_sketch, other_hll = other._sketches()
        sketch.merge(other_sketch)
        hll.merge(other_hll)
        return CategoricalSummary(
            count,
            nulls,
            errors,
            None,
            bytes(sketch.serialize()),
            hll.registers,
            self.max_categories,
        )

    def _sketches(self) -> tuple[ds.frequent_strings_sketch, HyperLogLog]:
        if self.counts is not None:
            return _sketch_of(self.counts)
        return ds.frequent_strings_sketch.deserialize(self.sketch), HyperLogLog(self.hll)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping (sketches as base64)."""
        return {
            "count": self.count,
            "nulls": self.nulls,
            "type_errors": self.type_errors,
            "counts": None if self.counts is None else dict(sorted(self.counts.items())),
            "sketch": None if self.sketch is None else base64.b64encode(self.sketch).decode(),
            "hll": None if self.hll is None else base64.b64encode(self.hll.tobytes()).decode(),
            "max_categories": self.max_categories,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CategoricalSummary:
        """Inverse of :meth:`to_dict`."""
        counts = raw["counts"]
        sketch = hll = None
        if counts is None:
            sketch = base64.b64decode(raw["sketch"], validate=True)
            ds.frequent_strings_sketch.deserialize(sketch)
            hll = HyperLogLog(
                np.frombuffer(base64.b64decode(raw["hll"], validate=True), dtype=np.uint8)
            ).registers
        else:
            counts = {str(k): int(v) for k, v in dict(counts).items()}
        return cls(
            count=int(raw["count"]),
            nulls=int(raw["nulls"]),
            type_errors=int(raw["type_errors"]),
            counts=counts,
            sketch=sketch,
            hll=hll,
            max_categories=int(raw["max_categories"]),
        )


class CategoricalAccumulator:
    """Mutable summary of one categorical column, updated chunk by chunk.

    Parameters
    ----------
    max_categories
        Distinct values counted exactly before switching to a frequent-items sketch.
    """

    def __init__(self, max_categories: int = DEFAULT_MAX_CATEGORIES) -> None:
        self._max = max_categories
        self._count = self._nulls = self._type_errors = 0
        self._counts: dict[str, int] | None = {}
        self._sketch: ds.frequent_strings_sketch | None = None
        self._hll: HyperLogLog | None = None

    def update(self, column: pa.Array | pa.ChunkedArray) -> None:
        """Add a chunk of Arrow strings (or a dictionary of strings)."""
        self._count += len(column)
        self._nulls += column.null_count
        if pa.types.is_null(column.type) or column.null_count == len(column):
            return
        counted = pc.value_counts(column)
        values = counted.field("values")
        if pa.types.is_dictionary(values.type):
            values = values.cast(values.type.value_type)
        counts = counted.field("counts")
        self._add(values.to_pylist(), primitive_values(counts, np.int64))

    def _add(self, values: Iterable[str | None], weights: np.ndarray) -> None:
        pairs = [(v, int(w)) for v, w in zip(values, weights, strict=True) if v is not None]
        if self._counts is not None:
            counts = self._counts
            for value, weight in pairs:
                counts[value] = counts.get(value, 0) + weight
            if len(counts) > self._max:
                self._sketch, self._hll = _sketch_of(counts)
                self._counts = None
            return
        sketch, hll = self._sketched()
        for value, weight in pairs:
            sketch.update(value, weight)
        hll.update_strings(v for v, _ in pairs)

    def _sketched(self) -> tuple[ds.frequent_strings_sketch, HyperLogLog]:
        if self._sketch is None or self._hll is None:
            raise RuntimeError("categorical accumulator lost its sketches")
        return self._sketch, self._hll

    def add_type_errors(self, count: int) -> None:
        """Count ``count`` values of an unusable type."""
        self._count += count
        self._type_errors += count

    def summary(self) -> CategoricalSummary:
        """An immutable snapshot."""
        if self._counts is not None:
            return CategoricalSummary(
                self._count,
                self._nulls,
                self._type_errors,
                dict(self._counts),
                None,
                None,
                self._max,
            )
        sketch, hll = self._sketched()
        return CategoricalSummary(
            self._count,
            self._nulls,
            self._type_errors,
            None,
            bytes(sketch.serialize()),
            hll.registers,
            self._max,
        )
