"""From a transformed feature frame to the model's numeric matrix.

The encoder is fitted once on the training features and stored with the model, so the
serving path encodes exactly as training did. Categories are mapped to stable integer
codes (``ordinal``, for estimators with native categorical support such as LightGBM) or
to indicator columns (``onehot``, for every other estimator). A category the encoder has
never seen becomes NaN (ordinal: LightGBM treats it as missing) or an all-zero block
(one-hot).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from steadyml.errors import DataError

__all__ = ["EncodingMode", "FeatureEncoder"]

EncodingMode = Literal["ordinal", "onehot"]

_CATEGORICAL_DTYPES = (pl.String, pl.Categorical, pl.Enum)


def _is_categorical(dtype: pl.DataType) -> bool:
    return isinstance(dtype, _CATEGORICAL_DTYPES) or dtype == pl.String


@dataclass(frozen=True)
class FeatureEncoder:
    """Encode model input columns into a ``float64`` matrix.

    Attributes
    ----------
    columns
        Model input columns in matrix order (before one-hot expansion).
    categories
        For each categorical column, its categories; the position is the ordinal code.
    mode
        ``ordinal`` or ``onehot``.
    """

    columns: tuple[str, ...]
    categories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    mode: EncodingMode = "ordinal"

    @classmethod
    def fit(
        cls, frame: pl.DataFrame, columns: Sequence[str], mode: EncodingMode = "ordinal"
    ) -> FeatureEncoder:
        """Learn the column order and the category codes from training features."""
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise DataError(
                "features", missing, "the transform output lacks these model input columns"
            )
        categories: dict[str, tuple[str, ...]] = {}
        for name in columns:
            if _is_categorical(frame.schema[name]):
                values = frame.get_column(name).cast(pl.String).drop_nulls().unique().sort()
                categories[name] = tuple(values.to_list())
            elif not (frame.schema[name].is_numeric() or frame.schema[name] == pl.Boolean):
                raise DataError(
                    f"features.{name}",
                    str(frame.schema[name]),
                    "model inputs must be numeric, boolean or categorical (string)",
                )
        return cls(columns=tuple(columns), categories=categories, mode=mode)

    @property
    def output_names(self) -> tuple[str, ...]:
        """Names of the matrix columns (one-hot columns are ``<column>=<category>``)."""
        if self.mode == "ordinal":
            return self.columns
        names: list[str] = []
        for column in self.columns:
            if column in self.categories:
                names.extend(f"{column}={value}" for value in self.categories[column])
            else:
                names.append(column)
        return tuple(names)

    @property
    def categorical_indices(self) -> list[int]:
        """Matrix positions of categorical columns (ordinal mode), for LightGBM."""
        if self.mode != "ordinal":
            return []
        return [i for i, c in enumerate(self.columns) if c in self.categories]

    def _expressions(self) -> list[pl.Expr]:
        expressions: list[pl.Expr] = []
        for column in self.columns:
            values = self.categories.get(column)
            if values is None:
                expressions.append(pl.col(column).cast(pl.Float64).alias(column))
            elif self.mode == "ordinal":
                codes = (
                    pl.col(column)
                    .cast(pl.String)
                    .replace_strict(
                        list(values),
                        list(range(len(values))),
                        default=None,
                        return_dtype=pl.Float64,
                    )
                )
                expressions.append(codes.alias(column))
            else:
                text = pl.col(column).cast(pl.String)
                expressions.extend(
                    (text == value)
                    .fill_null(value=False)
                    .cast(pl.Float64)
                    .alias(f"{column}={value}")
                    for value in values
                )
        return expressions

    def transform(self, frame: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Encode ``frame`` into a C-contiguous ``float64`` matrix; nulls become NaN."""
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise DataError(
                "features", missing, "these model inputs are missing after the transform"
            )
        encoded = frame.select(self._expressions())
        matrix = encoded.to_numpy(order="c").astype(np.float64, copy=False)
        return np.ascontiguousarray(matrix)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored beside the model."""
        return {
            "columns": list(self.columns),
            "categories": {k: list(v) for k, v in self.categories.items()},
            "mode": self.mode,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureEncoder:
        """Rebuild an encoder written by :meth:`to_dict`."""
        try:
            mode = data.get("mode", "ordinal")
            if mode not in ("ordinal", "onehot"):
                raise DataError("encoder.mode", mode, "use 'ordinal' or 'onehot'")
            return cls(
                columns=tuple(str(c) for c in data["columns"]),
                categories={
                    str(k): tuple(str(v) for v in vs) for k, vs in data["categories"].items()
                },
                mode=mode,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise DataError("encoder", str(exc), "the stored encoder.json is malformed") from None
