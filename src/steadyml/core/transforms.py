"""Feature transforms as code: the only path from raw inputs to model inputs.

Derived features are written once, as a function ``pl.DataFrame -> pl.DataFrame``, in a
module the spec names. Training applies it to the training frame; the server applies
the *same* object to each batch of validated requests. Training-serving skew is thus
prevented by construction, provided the function treats rows independently: a
function that uses batch statistics (a mean over the frame) gives a different answer
for a batch of one. :meth:`FeatureTransform.check_rowwise` catches that in training.

Examples
--------
>>> import polars as pl
>>> def add_decade(frame: pl.DataFrame) -> pl.DataFrame:
...     return frame.with_columns((pl.col("age") // 10).alias("decade"))
>>> transform = FeatureTransform(add_decade, name="features:add_decade")
>>> transform.apply(pl.DataFrame({"age": [34.0, 71.0]}))["decade"].to_list()
[3.0, 7.0]
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
from polars.testing import assert_frame_equal

from steadyml.core.contract.rules import safe_repr
from steadyml.errors import DataError

__all__ = ["FeatureTransform", "TransformError", "TransformFunction"]

TransformFunction = Callable[[pl.DataFrame], pl.DataFrame]


class TransformError(DataError):
    """The feature transform failed or broke its contract with the pipeline."""

    kind = "transform error"


def _identity(frame: pl.DataFrame) -> pl.DataFrame:
    return frame


class FeatureTransform:
    """A feature function shared by training and serving.

    Parameters
    ----------
    function
        ``frame -> frame``; ``None`` means the identity (raw inputs are model inputs).
    name
        How errors and lineage name it, e.g. ``"features.py:transform"``.
    """

    def __init__(self, function: TransformFunction | None, name: str = "identity") -> None:
        if function is not None and not callable(function):
            raise TransformError(
                f"transform {name}", safe_repr(function), "pass a function frame -> frame"
            )
        self._function: TransformFunction = _identity if function is None else function
        self._name = name

    @property
    def name(self) -> str:
        """The transform's name, as given."""
        return self._name

    @property
    def is_identity(self) -> bool:
        """True when no function was given."""
        return self._function is _identity

    def __repr__(self) -> str:
        return f"FeatureTransform(name={self._name!r})"

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Turn raw inputs into model inputs.

        Raises
        ------
        TransformError
            Naming the transform when the function raises, returns something that is
            not a DataFrame, or changes the number of rows (every input row must give
            exactly one model input row, in the same order).
        """
        field = f"transform {self._name}"
        if not isinstance(frame, pl.DataFrame):
            raise TransformError(field, type(frame).__name__, "pass a polars DataFrame")
        try:
            result = self._function(frame)
        except Exception as exc:
            raise TransformError(
                field,
                f"{type(exc).__name__}: {exc}",
                "fix the function so it handles this input (test it on a sample of the data)",
            ) from exc
        if isinstance(result, pl.LazyFrame):
            raise TransformError(field, "LazyFrame", "return a DataFrame: call .collect()")
        if not isinstance(result, pl.DataFrame):
            raise TransformError(
                field, type(result).__name__, "return a polars DataFrame from the function"
            )
        if result.height != frame.height:
            raise TransformError(
                field,
                f"{frame.height} rows in, {result.height} out",
                "return exactly one row per input row, in order; do not filter, "
                "aggregate or explode",
            )
        return result

    __call__ = apply

    def check_rowwise(self, frame: pl.DataFrame, rows: int = 8) -> None:
        """Check that each row is transformed the same alone as inside the batch.

        Serving transforms small batches; a function that depends on other rows
        (a mean, a rank, a lag over the frame) gives model inputs that differ from
        training. This applies the transform to the first ``rows`` rows one by one
        and compares with the batch result.

        Raises
        ------
        TransformError
            Naming the first row whose result differs.
        """
        whole = self.apply(frame)
        for i in range(min(rows, frame.height)):
            alone = self.apply(frame.slice(i, 1))
            try:
                assert_frame_equal(alone, whole.slice(i, 1), check_exact=False)
            except AssertionError:
                raise TransformError(
                    f"transform {self._name}",
                    f"row {i}",
                    "the row gives different features alone than in a batch; compute "
                    "features from each row only, or freeze batch statistics as constants",
                ) from None
