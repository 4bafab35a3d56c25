"""Infer column rules from training data, one aggregate pass per column kind.

* Float columns become ``numeric``, integer columns ``integer``, String / Categorical /
  Enum columns ``categorical`` (with the observed categories), Boolean ``boolean``.
* ``nullable`` is true when a null was seen; every inferred column is ``required``.
  NaN and infinity are not nulls: the contract never allows them, so data with NaN
  fails its own contract until NaN is turned into null (``fill_nan(None)``).
* The range is the observed finite ``[min, max]`` widened by ``range_margin`` times
  its width on both sides; a constant column is widened by ``range_margin * |v|``
  (or ``range_margin`` when ``v`` is 0), so the range is never zero-width.
* A categorical column with more than ``max_categories`` distinct values gets
  ``categories=None``: any string is accepted.
* The default used by IMPUTE is the median (numeric), the observed value nearest the
  median (integer) or the most frequent value (categorical, boolean; ties go to the
  smallest).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import polars as pl

from steadyml.core.contract.rules import ColumnKind, ColumnRule
from steadyml.errors import DataError

__all__ = ["infer_rules", "kind_of"]


def kind_of(dtype: pl.DataType) -> ColumnKind | None:
    """The contract kind for a Polars dtype, or ``None`` when there is none."""
    if dtype.is_float() or isinstance(dtype, pl.Decimal):
        return "numeric"
    if dtype.is_integer():
        return "integer"
    if isinstance(dtype, pl.String | pl.Categorical | pl.Enum):
        return "categorical"
    if isinstance(dtype, pl.Boolean):
        return "boolean"
    return None


def _check_arguments(
    frame: object, features: Sequence[str], range_margin: float, max_categories: int
) -> None:
    if not isinstance(frame, pl.DataFrame):
        raise DataError("frame", type(frame).__name__, "pass a polars DataFrame")
    if isinstance(features, str) or not features:
        raise DataError("features", features, "name the feature columns as a non-empty list")
    if not (isinstance(range_margin, int | float) and 0 <= range_margin < math.inf):
        raise DataError("range_margin", range_margin, "use a finite number >= 0, e.g. 0.1")
    if isinstance(max_categories, bool) or not isinstance(max_categories, int):
        raise DataError("max_categories", max_categories, "use a positive integer, e.g. 1000")
    if max_categories < 1:
        raise DataError("max_categories", max_categories, "use a positive integer, e.g. 1000")
    seen: set[str] = set()
    for name in features:
        if name in seen:
            raise DataError("features", name, "list each feature once")
        seen.add(name)
        if name not in frame.columns:
            raise DataError(
                f"features.{name}", name, f"the data has no such column; use one of {frame.columns}"
            )
    if frame.height == 0:
        raise DataError("frame", "0 rows", "infer the contract from a non-empty frame")


def _number_stats(name: str, kind: ColumnKind, dtype: pl.DataType) -> list[pl.Expr]:
    col = pl.col(name)
    if isinstance(dtype, pl.Decimal):
        col = col.cast(pl.Float64)
    finite = col.filter(col.is_finite()) if kind == "numeric" else col
    median = finite.median() if kind == "numeric" else finite.quantile(0.5, interpolation="nearest")
    return [
        finite.min().cast(pl.Float64).alias(f"{name}\0min"),
        finite.max().cast(pl.Float64).alias(f"{name}\0max"),
        median.cast(pl.Float64).alias(f"{name}\0median"),
    ]


def _widen(lo: float | None, hi: float | None, margin: float) -> tuple[float | None, ...]:
    if lo is None or hi is None:
        return (None, None)
    span = hi - lo
    if span == 0:
        span = abs(lo) or 1.0
    return (lo - margin * span, hi + margin * span)


def _mode(series: pl.Series) -> Any:
    counts = series.drop_nulls().value_counts(name="n")
    if counts.height == 0:
        return None
    value_column = counts.columns[0]
    best = counts.sort(["n", value_column], descending=[True, False]).row(0)
    return best[0]


def infer_rules(
    frame: pl.DataFrame,
    features: Sequence[str],
    *,
    range_margin: float = 0.1,
    max_categories: int = 1000,
) -> tuple[ColumnRule, ...]:
    """Infer one :class:`ColumnRule` per feature of ``frame``.

    Parameters
    ----------
    frame
        Training data.
    features
        The columns the contract covers, in order.
    range_margin
        Fraction of the observed range added below the minimum and above the maximum.
    max_categories
        Above this many distinct values a categorical column accepts any string.

    Raises
    ------
    DataError
        When a feature is absent, listed twice, of an unsupported dtype (dates, lists,
        structs: convert them in the feature transform), or the frame is empty.
    """
    _check_arguments(frame, features, range_margin, max_categories)
    kinds: dict[str, ColumnKind] = {}
    for name in features:
        dtype = frame.schema[name]
        kind = kind_of(dtype)
        if kind is None:
            if isinstance(dtype, pl.Null):
                fix = "the column is entirely null; drop it from the features or fill it"
            else:
                fix = "convert it to a number, string or boolean in the feature transform"
            raise DataError(f"features.{name}", str(dtype), fix)
        kinds[name] = kind
    exprs = [pl.col(name).null_count().alias(f"{name}\0nulls") for name in features]
    for name in features:
        if kinds[name] in ("numeric", "integer"):
            exprs += _number_stats(name, kinds[name], frame.schema[name])
        elif kinds[name] == "categorical":
            exprs.append(pl.col(name).cast(pl.String).n_unique().alias(f"{name}\0distinct"))
    stats = frame.select(exprs).row(0, named=True)

    rules: list[ColumnRule] = []
    for name in features:
        kind = kinds[name]
        minimum: float | None = None
        maximum: float | None = None
        categories: tuple[str, ...] | None = None
        default: Any = None
        if kind in ("numeric", "integer"):
            minimum, maximum = _widen(stats[f"{name}\0min"], stats[f"{name}\0max"], range_margin)
            median = stats[f"{name}\0median"]
            if median is not None:
                default = float(median) if kind == "numeric" else round(median)
        elif kind == "categorical":
            values = frame.get_column(name).cast(pl.String)
            if stats[f"{name}\0distinct"] <= max_categories + 1:  # +1: null counts as one
                categories = tuple(values.drop_nulls().unique().to_list())
                if len(categories) > max_categories:
                    categories = None
            default = _mode(values)
        else:
            default = _mode(frame.get_column(name))
        rules.append(
            ColumnRule(
                name=name,
                kind=kind,
                nullable=stats[f"{name}\0nulls"] > 0,
                required=True,
                minimum=minimum,
                maximum=maximum,
                categories=categories,
                default=default,
            )
        )
    return tuple(rules)
