"""Model performance: metrics per task, bootstrap intervals, calibration, slices, CBPE.

Pure statistics, no I/O. Every metric is one vectorized, weighted kernel
(:mod:`~steadyml.core.performance.metrics`), so a plain evaluation and all rounds of a
bootstrap (:mod:`~steadyml.core.performance.bootstrap`) run the same code. The training
pipeline reports :func:`compute_metrics`, :func:`bootstrap_intervals`,
:func:`slice_metrics` and :func:`reliability_table`; the gate uses
:func:`paired_bootstrap`; the monitor estimates performance before labels arrive with
:class:`CBPE`.
"""

from __future__ import annotations

from steadyml.core.performance.bootstrap import (
    Interval,
    PairedComparison,
    bootstrap_interval,
    bootstrap_intervals,
    paired_bootstrap,
)
from steadyml.core.performance.calibration import expected_calibration_error, reliability_table
from steadyml.core.performance.cbpe import CBPE
from steadyml.core.performance.metrics import (
    Metric,
    compute_metrics,
    get_metric,
    higher_is_better,
    metric_names,
)
from steadyml.core.performance.slices import SliceResult, slice_metrics
from steadyml.spec import Task

__all__ = [
    "CBPE",
    "Interval",
    "Metric",
    "PairedComparison",
    "SliceResult",
    "Task",
    "bootstrap_interval",
    "bootstrap_intervals",
    "compute_metrics",
    "expected_calibration_error",
    "get_metric",
    "higher_is_better",
    "metric_names",
    "paired_bootstrap",
    "reliability_table",
    "slice_metrics",
]
