"""NannyML on every window: univariate drift and CBPE, with their defaults.

Both are fitted once on the reference (2015 with the champion's scores and the labels)
and then calculate each window as one chunk: the chunker cuts the reference and each
window into chunks of the window's size (``SizeBasedChunker``, the remainder appended),
so the thresholds NannyML learns from the reference's chunks are on the same scale as
the windows. Everything else is the default:

* ``UnivariateDriftCalculator`` over the 16 inputs and the output ``prediction``:
  Jensen-Shannon distance for continuous and categorical columns, alert above NannyML's
  default threshold; a column alarms when its chunk alerts.
* ``CBPE`` (binary classification, isotonic calibration) estimating ROC AUC and F1 from
  ``prediction`` and ``y_pred`` without labels; a metric alarms when its estimate leaves
  the default band (reference chunks' mean +/- 3 standard deviations).

Each window is given the reference's columns (``reindex``): a field renamed upstream
arrives empty, an unknown new field is dropped.
"""

from __future__ import annotations

import warnings

import nannyml  # type: ignore[import-not-found]
import pandas as pd  # type: ignore[import-untyped]
from nannyml.chunk import SizeBasedChunker  # type: ignore[import-not-found]
from peer_common import emit, parse_job, windows

METRICS = ["roc_auc", "f1"]


def _drift_alarms(table: pd.DataFrame, columns: list[str]) -> list[str]:
    flagged = []
    for column in columns:
        methods = {m for (c, m, _) in table.columns if c == column}
        if any(bool(table[(column, m, "alert")].astype(bool).any()) for m in methods):
            flagged.append(column)
    return flagged


def _cbpe_alarms(table: pd.DataFrame) -> list[str]:
    return [
        metric
        for metric in METRICS
        if (metric, "alert") in table.columns and bool(table[(metric, "alert")].any())
    ]


def main() -> None:
    """Evaluate every window of one scenario; one JSON line per window."""
    job = parse_job()
    warnings.simplefilter("ignore")  # one chunk per window: NannyML warns about few chunks
    prediction, y_pred = str(job.manifest["prediction"]), str(job.manifest["y_pred"])
    target = str(job.manifest["target"])
    columns = [*job.features, prediction]
    reference = pd.read_parquet(job.reference)
    categorical = [c for c in columns if not pd.api.types.is_numeric_dtype(reference[c])]
    chunker = SizeBasedChunker(chunk_size=job.window_rows, incomplete="append")
    drift = nannyml.UnivariateDriftCalculator(
        column_names=columns, treat_as_categorical=categorical, chunker=chunker
    ).fit(reference)
    cbpe = nannyml.CBPE(
        problem_type="classification_binary",
        y_pred_proba=prediction,
        y_pred=y_pred,
        y_true=target,
        metrics=METRICS,
        chunker=chunker,
    ).fit(reference)
    for window, started in windows(job):
        alarms: dict[str, list[str]] = {}
        errors: dict[str, BaseException] = {}
        # the pipeline keeps the reference's columns: a missing one arrives empty
        current = pd.read_parquet(window.path).reindex(columns=list(reference.columns))
        try:
            table = drift.calculate(current).filter(period="analysis").to_df()
            alarms["univariate_drift"] = _drift_alarms(table, columns)
        except Exception as exc:  # a failing window is a result
            errors["univariate_drift"] = exc
        try:
            table = cbpe.estimate(current).filter(period="analysis").to_df()
            alarms["cbpe"] = _cbpe_alarms(table)
        except Exception as exc:  # a failing window is a result
            errors["cbpe"] = exc
        emit("nannyml", nannyml.__version__, job, window, started, alarms=alarms, errors=errors)


if __name__ == "__main__":
    main()
