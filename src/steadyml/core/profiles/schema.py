"""What a profile summarises: its columns, their kind and (for numbers) the reference bins.

A :class:`ProfileSchema` is fixed when the reference is profiled and shared by every
profile built from it (``reference_view.new_profile()``), so that histograms of any
window line up with the reference bins exactly and stay mergeable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pyarrow as pa

from steadyml.core.profiles.floats import from_json_float, to_json_float
from steadyml.errors import DataError

__all__ = ["ColumnKind", "ColumnSchema", "ProfileSchema", "infer_kind"]


class ColumnKind(StrEnum):
    """How a column is summarised."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


@dataclass(frozen=True)
class ColumnSchema:
    """One profiled column.

    Parameters
    ----------
    name
        The column name.
    kind
        Numeric (moments, quantile sketch, histogram) or categorical (frequencies).
    edges
        Numeric only: the sorted reference bin edges. Bin ``i`` holds values in
        ``[edges[i-1], edges[i])``; bin 0 holds everything below ``edges[0]`` and the
        last bin everything at or above ``edges[-1]`` (the out-of-range bins).
    """

    name: str
    kind: ColumnKind
    edges: tuple[float, ...] = ()

    @property
    def n_bins(self) -> int:
        """Number of histogram bins (numeric: ``len(edges) + 1``; categorical: 0)."""
        return len(self.edges) + 1 if self.kind is ColumnKind.NUMERIC else 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping."""
        return {
            "name": self.name,
            "kind": self.kind.value,
            "edges": [to_json_float(e) for e in self.edges],
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ColumnSchema:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=str(raw["name"]),
            kind=ColumnKind(raw["kind"]),
            edges=tuple(from_json_float(e) for e in raw.get("edges", ())),
        )


@dataclass(frozen=True)
class ProfileSchema:
    """The ordered columns of a profile."""

    columns: tuple[ColumnSchema, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {c.name: i for i, c in enumerate(self.columns)}
        if len(index) != len(self.columns):
            names = [c.name for c in self.columns]
            dup = sorted({n for n in names if names.count(n) > 1})
            raise DataError("columns", dup, "give each column once")
        object.__setattr__(self, "_index", index)

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in order."""
        return tuple(c.name for c in self.columns)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __getitem__(self, name: str) -> ColumnSchema:
        return self.columns[self._index[name]]

    def to_dict(self) -> list[dict[str, Any]]:
        """A JSON-safe list of columns."""
        return [c.to_dict() for c in self.columns]

    @classmethod
    def from_dict(cls, raw: Iterable[dict[str, Any]]) -> ProfileSchema:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(ColumnSchema.from_dict(c) for c in raw))


def infer_kind(name: str, dtype: pa.DataType, categorical: Sequence[str] = ()) -> ColumnKind | None:
    """The kind of a column from its Arrow type, or ``None`` for unsupported types.

    Integers, floats and decimals are numeric unless listed in ``categorical``; strings,
    dictionaries (Polars categoricals) and booleans are categorical. An all-null column
    (Arrow type ``null``) is numeric unless listed. Dates, times, binary and nested
    types are not profiled.
    """
    if name in categorical:
        if pa.types.is_nested(dtype) or pa.types.is_binary(dtype):
            return None
        return ColumnKind.CATEGORICAL
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return ColumnKind.NUMERIC
    if pa.types.is_null(dtype):
        return ColumnKind.NUMERIC
    if is_text(dtype) or pa.types.is_boolean(dtype) or pa.types.is_dictionary(dtype):
        return ColumnKind.CATEGORICAL
    return None


def is_text(dtype: pa.DataType) -> bool:
    """True for the Arrow string types (``string``, ``large_string``, ``string_view``)."""
    return bool(
        pa.types.is_string(dtype)
        or pa.types.is_large_string(dtype)
        or getattr(pa.types, "is_string_view", lambda _: False)(dtype)
    )
