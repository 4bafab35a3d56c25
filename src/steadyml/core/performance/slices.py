"""Metrics per slice: one bootstrap interval and a row count for each value of a column.

Slice values are compared as strings (a null becomes ``"null"``), so integer codes,
categories and booleans all slice alike. Each slice is resampled within itself with a
random stream derived from ``seed`` and the slice value, so a slice's interval does
not change when other slices appear or disappear.

Examples
--------
>>> import numpy as np
>>> from steadyml.spec import Task
>>> y = np.array([0, 1] * 50)
>>> p = np.where(y == 1, 0.8, 0.3)
>>> sex = np.array(["1", "2"] * 25 + ["2"] * 50)
>>> [(r.value, r.rows) for r in slice_metrics(Task.BINARY, y, p, sex, metric="accuracy")]
[('2', 75), ('1', 25)]
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import polars as pl

from steadyml.core.performance.bootstrap import (
    Interval,
    check_bootstrap_settings,
    prepared_intervals,
)
from steadyml.core.performance.inputs import prepare
from steadyml.core.performance.metrics import get_metric
from steadyml.errors import ConfigError, DataError
from steadyml.spec import Task

__all__ = ["SliceResult", "slice_metrics"]


@dataclass(frozen=True)
class SliceResult:
    """One slice's metric.

    Attributes
    ----------
    value
        The slice value as a string (``"null"`` for missing values).
    rows
        Number of rows in the slice.
    interval
        The metric on the slice with its bootstrap interval.
    """

    value: str
    rows: int
    interval: Interval

    def to_dict(self) -> dict[str, float | int | str]:
        """Flat dict: ``value``, ``rows`` and the interval's fields."""
        return {"value": self.value, "rows": self.rows, **self.interval.to_dict()}


def _labels(slice_values: object, n: int) -> np.ndarray:
    try:
        series = (
            slice_values
            if isinstance(slice_values, pl.Series)
            else pl.Series("slice", np.asarray(slice_values), strict=False)
        )
        labels = series.cast(pl.String).fill_null("null").to_numpy()
    except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:
        raise DataError(
            "slice_values", type(slice_values).__name__, f"pass a 1-D array of values ({exc})"
        ) from None
    if labels.ndim != 1 or labels.size != n:
        raise DataError(
            "slice_values",
            f"{labels.size} values for {n} rows",
            "pass one slice value per labelled row",
        )
    return labels.astype(str)


def slice_metrics(
    task: Task | str,
    y_true: object,
    y_score: object,
    slice_values: object,
    *,
    metric: str,
    min_rows: int = 1,
    rounds: int = 200,
    seed: int = 0,
    level: float = 0.95,
    threshold: float = 0.5,
) -> list[SliceResult]:
    """Compute ``metric`` with a bootstrap interval for every slice value.

    Parameters
    ----------
    task, y_true, y_score, threshold
        As for :func:`~steadyml.core.performance.metrics.compute_metrics`.
    slice_values
        One value per row (NumPy array, list or Polars Series).
    metric
        The metric to compute per slice.
    min_rows
        Slices with fewer rows are left out of the result.
    rounds, seed, level
        Bootstrap settings, as for
        :func:`~steadyml.core.performance.bootstrap.bootstrap_intervals`.

    Returns
    -------
    list of SliceResult
        Largest slices first (ties by value). A slice whose metric is undefined (one
        class only, for ROC AUC) is kept with NaN estimate and bounds.
    """
    if isinstance(min_rows, bool) or not isinstance(min_rows, int | np.integer) or min_rows < 1:
        raise ConfigError("min_rows", min_rows, "use a whole number of rows >= 1")
    check_bootstrap_settings(rounds, level, seed)
    entry = get_metric(task, metric)
    data = prepare(task, y_true, y_score, threshold=threshold)
    labels = _labels(slice_values, data.n)
    values, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    order = np.argsort(inverse, kind="stable")
    starts = np.r_[0, np.cumsum(counts)]
    results = []
    for k, value in enumerate(values.tolist()):
        if counts[k] < min_rows:
            continue
        rows = order[starts[k] : starts[k + 1]]
        rng = np.random.default_rng([seed, zlib.crc32(value.encode("utf-8"))])
        found = prepared_intervals(data.subset(rows), [entry], rounds, level, rng)
        results.append(SliceResult(value=value, rows=int(counts[k]), interval=found[metric]))
    results.sort(key=lambda r: (-r.rows, r.value))
    return results
