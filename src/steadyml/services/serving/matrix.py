"""The model-input matrix of a micro-batch, built without per-batch setup costs.

:meth:`steadyml.core.encoding.FeatureEncoder.transform` builds its Polars expressions
(category code tables included) on every call and runs them as a query, which costs about
a millisecond per micro-batch however small. For the server, :class:`MatrixEncoder`
prepares the encoding once per loaded model:

* ordinal mode: one category → code dictionary per column, applied with a dictionary
  lookup per value, and numeric columns cast to ``float64`` — the same mapping the
  encoder's ``replace_strict`` applies (unknown and null → NaN);
* one-hot mode: the encoder's own expressions, built once.

Before it is used, the prepared path is checked against ``encoder.transform`` on sample
rows plus a row of nulls and a row of unseen categories; if the results differ in any
way, every call goes through ``encoder.transform``. Training and serving thus keep one
definition of the encoding.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

from steadyml.core.encoding import FeatureEncoder

__all__ = ["MatrixEncoder", "probe_frame"]

Matrix = np.ndarray[Any, np.dtype[np.float64]]
Plan = list[tuple[str, dict[str, float] | None]]
_UNSEEN = "\x00steadyml-unseen"


def probe_frame(sample: pl.DataFrame, encoder: FeatureEncoder) -> pl.DataFrame:
    """``sample`` plus a row of nulls and a row of unseen categories (where possible)."""
    first = sample.head(1)
    nulls = first.select(pl.lit(None, dtype).alias(name) for name, dtype in first.schema.items())
    unseen = first.with_columns(
        pl.lit(_UNSEEN).alias(name)
        for name in encoder.categories
        if name in first.columns and first.schema[name] == pl.String
    )
    return pl.concat([sample, nulls, unseen], how="vertical")


def _lookup(frame: pl.DataFrame, plan: Plan) -> Matrix:
    matrix = np.empty((frame.height, len(plan)), dtype=np.float64)
    for index, (name, codes) in enumerate(plan):
        series = frame.get_column(name)
        if codes is None:
            matrix[:, index] = series.cast(pl.Float64).to_numpy()
            continue
        if series.dtype != pl.String:
            series = series.cast(pl.String)
        get = codes.get
        matrix[:, index] = [get(value, math.nan) for value in series.to_list()]
    return matrix


def _select(frame: pl.DataFrame, expressions: list[pl.Expr]) -> Matrix:
    matrix = frame.select(expressions).to_numpy(order="c").astype(np.float64, copy=False)
    return np.ascontiguousarray(matrix)


class MatrixEncoder:
    """Encode transformed features exactly like ``encoder.transform``, faster.

    Parameters
    ----------
    encoder
        The fitted encoder stored with the model.
    sample
        Transformed feature rows to check the prepared path against ``transform``; when
        None, or when the results differ, every call goes through ``transform``.
    """

    def __init__(self, encoder: FeatureEncoder, sample: pl.DataFrame | None = None) -> None:
        self.encoder = encoder
        self._plan: Plan | None = None
        self._expressions: list[pl.Expr] | None = None
        if sample is None or sample.height == 0:
            return
        try:
            probe = probe_frame(sample, encoder)
            reference = encoder.transform(probe)
            if encoder.mode == "ordinal":
                plan: Plan = [
                    (
                        name,
                        None
                        if name not in encoder.categories
                        else {value: float(i) for i, value in enumerate(encoder.categories[name])},
                    )
                    for name in encoder.columns
                ]
                if _same(_lookup(probe, plan), reference):
                    self._plan = plan
            else:
                expressions = encoder._expressions()  # the encoder's own, built once
                if _same(_select(probe, expressions), reference):
                    self._expressions = expressions
        except Exception:  # any doubt: the reference path
            self._plan = self._expressions = None

    @property
    def prepared(self) -> bool:
        """True when the prepared (faster) path is used."""
        return self._plan is not None or self._expressions is not None

    def __call__(self, frame: pl.DataFrame) -> Matrix:
        """The C-contiguous ``float64`` model-input matrix of ``frame``."""
        if not set(self.encoder.columns) <= set(frame.columns):
            return self.encoder.transform(frame)  # raises the encoder's own error
        if self._plan is not None:
            return _lookup(frame, self._plan)
        if self._expressions is not None:
            return _select(frame, self._expressions)
        return self.encoder.transform(frame)


def _same(fast: Matrix, reference: Matrix) -> bool:
    return fast.shape == reference.shape and bool(np.array_equal(fast, reference, equal_nan=True))
