"""The drift use case behind ``steadyml drift``: profile, window, compare, report.

:func:`check_drift` profiles a reference (a file, a frame, a stored profile, or a model
version's reference profile) and a current table batch by batch, optionally per
tumbling window of event time, and returns a :class:`DriftCheck` that the terminal
table, the JSON output and the HTML report render. :func:`training_reference` builds the
reference profile the training pipeline stores with every model version.

Examples
--------
>>> import numpy as np, polars as pl
>>> rng = np.random.default_rng(0)
>>> before = pl.DataFrame({"x": rng.normal(size=5_000), "c": rng.choice(["a", "b"], 5_000)})
>>> after = pl.DataFrame({"x": rng.normal(0.5, 1, 5_000), "c": rng.choice(["a", "b"], 5_000)})
>>> check = check_drift(before, after)
>>> check.result["x"].status.value, check.result["c"].status.value, check.failed("drift")
('drift', 'ok', True)
"""

from steadyml.services.drift.check import DriftProgress, ProgressCallback, check_drift
from steadyml.services.drift.columns import ColumnChoice, choose_columns
from steadyml.services.drift.reference import (
    MODEL_ALIASES,
    PREDICTION_COLUMN,
    BatchScorer,
    ModelReference,
    load_model_reference,
    model_reference_name,
    predictions,
    training_reference,
)
from steadyml.services.drift.result import DriftCheck, FailOn, WindowDrift
from steadyml.services.drift.sources import TableSource, open_table
from steadyml.services.drift.windows import MAX_WINDOWS, TimeWindows, WindowView, parse_window

__all__ = [
    "MAX_WINDOWS",
    "MODEL_ALIASES",
    "PREDICTION_COLUMN",
    "BatchScorer",
    "ColumnChoice",
    "DriftCheck",
    "DriftProgress",
    "FailOn",
    "ModelReference",
    "ProgressCallback",
    "TableSource",
    "TimeWindows",
    "WindowDrift",
    "WindowView",
    "check_drift",
    "choose_columns",
    "load_model_reference",
    "model_reference_name",
    "open_table",
    "parse_window",
    "predictions",
    "training_reference",
]
