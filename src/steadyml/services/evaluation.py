"""Evaluate scores on held-out rows: metrics with confidence intervals, slices, calibration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from steadyml.core.performance import (
    bootstrap_intervals,
    expected_calibration_error,
    reliability_table,
    slice_metrics,
)
from steadyml.spec import SliceSpec, Task

__all__ = ["Evaluation", "evaluate", "target_array"]


@dataclass(frozen=True)
class Evaluation:
    """What training measured on the test split."""

    task: Task
    rows: int
    primary_metric: str
    metrics: dict[str, dict[str, float]]
    slices: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calibration: dict[str, Any] | None = None

    def primary(self) -> float:
        """Point estimate of the primary metric."""
        return self.metrics[self.primary_metric]["estimate"]

    def flat_metrics(self) -> dict[str, float]:
        """``test_<metric>`` (plus ``_low``/``_high``) for MLflow."""
        flat: dict[str, float] = {}
        for name, interval in self.metrics.items():
            flat[f"test_{name}"] = interval["estimate"]
            flat[f"test_{name}_low"] = interval["low"]
            flat[f"test_{name}_high"] = interval["high"]
        if self.calibration is not None:
            flat["test_ece"] = float(self.calibration["ece"])
        return flat

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready evaluation report."""
        return {
            "task": self.task.value,
            "rows": self.rows,
            "primary_metric": self.primary_metric,
            "metrics": self.metrics,
            "slices": self.slices,
            "calibration": self.calibration,
        }


def target_array(
    values: pl.Series, task: Task, classes: Sequence[str]
) -> np.ndarray[Any, np.dtype[Any]]:
    """Targets as the metrics expect: class indices for classifiers, floats for regression."""
    if task is Task.REGRESSION:
        return values.cast(pl.Float64).to_numpy()
    index = {label: i for i, label in enumerate(classes)}
    codes = values.cast(pl.String).replace_strict(index, default=-1, return_dtype=pl.Int64)
    return codes.to_numpy()


def evaluate(
    task: Task,
    y_true: np.ndarray[Any, np.dtype[Any]],
    scores: np.ndarray[Any, np.dtype[np.float64]],
    *,
    primary_metric: str,
    slice_frame: pl.DataFrame | None = None,
    slices: Sequence[SliceSpec] = (),
    rounds: int = 500,
    seed: int = 0,
) -> Evaluation:
    """Measure ``scores`` against ``y_true`` with bootstrap intervals."""
    intervals = bootstrap_intervals(task, y_true, scores, rounds=rounds, seed=seed)
    metrics = {name: interval.to_dict() for name, interval in intervals.items()}
    by_slice: dict[str, list[dict[str, Any]]] = {}
    if slice_frame is not None:
        for spec in slices:
            values = slice_frame.get_column(spec.column).cast(pl.String).fill_null("(null)")
            results = slice_metrics(
                task,
                y_true,
                scores,
                values.to_numpy(),
                metric=primary_metric,
                min_rows=1,
                rounds=min(rounds, 200),
                seed=seed,
            )
            by_slice[spec.column] = [
                {"value": r.value, "rows": r.rows, **r.interval.to_dict()} for r in results
            ]
    calibration = None
    if task is Task.BINARY:
        table = reliability_table(y_true, scores)
        calibration = {
            "ece": expected_calibration_error(y_true, scores),
            "table": table.to_dicts(),
        }
    return Evaluation(
        task=task,
        rows=len(y_true),
        primary_metric=primary_metric,
        metrics=metrics,
        slices=by_slice,
        calibration=calibration,
    )
