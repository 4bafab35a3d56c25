"""Census traffic as prediction-log rows, a reference, and windows built like the runner does."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from steadyml.core.monitoring import (
    PREDICTION_COLUMN,
    Reference,
    WindowData,
    WindowKey,
    summarize,
)
from steadyml.datasets import FEATURES, Employment, load_employment

T0 = datetime(2016, 3, 1, tzinfo=UTC)
WINDOW = timedelta(minutes=5)


@functools.cache
def census() -> Employment:
    """The bundled census data (loaded once)."""
    return load_employment()


@functools.cache
def year(value: int) -> pl.DataFrame:
    """Analysis rows of one year, with labels."""
    return census().analysis_with_labels().filter(pl.col("year") == value)


def score(frame: pl.DataFrame) -> np.ndarray:
    """A fixed, plausible scorer: older and more schooled people are more often employed."""
    age = frame.get_column("AGEP").cast(pl.Float64).to_numpy()
    school = frame.get_column("SCHL").cast(pl.Float64, strict=False).fill_null(16).to_numpy()
    logit = np.clip(1.5 - ((age - 42.0) / 14.0) ** 2 + (school - 16.0) / 4.0, -30, 30)
    return np.asarray(1.0 / (1.0 + np.exp(-logit)), dtype=np.float64)


@functools.cache
def reference(rows: int = 20_000) -> Reference:
    """A reference from 2015 rows: their inputs, the scorer's outputs, CBPE and baselines."""
    frame = census().reference.head(rows)
    labels = frame.get_column("employed").cast(pl.Int64).to_numpy()
    return Reference.from_frame(
        "1",
        "binary_classification",
        frame,
        FEATURES,
        scores=score(frame),
        labels=labels,
        classes=("0", "1"),
        importance={"AGEP": 0.7, "SCHL": 0.2, "ANC": 0.01},
    )


def log_frame(
    rows: pl.DataFrame,
    start: datetime = T0,
    *,
    seconds: float = WINDOW.total_seconds(),
    version: str = "1",
    nan_share: float = 0.0,
    latency_scale: float = 3.0,
    seed: int = 0,
    scores: np.ndarray | None = None,
) -> pl.DataFrame:
    """Prediction-log records of ``rows`` spread evenly over ``seconds`` from ``start``.

    ``scores`` are the model's outputs (default: the fixed :func:`score`).
    """
    n = rows.height
    rng = np.random.default_rng(seed)
    times = [start + timedelta(seconds=seconds * i / max(n, 1)) for i in range(n)]
    raw = score(rows) if scores is None else np.asarray(scores, dtype=np.float64)
    raw = np.where(rng.random(n) < nan_share, np.nan, raw)
    nan = np.isnan(raw)
    return pl.DataFrame(
        {
            "request_id": [uuid.uuid4().hex for _ in range(n)],
            "model_version": [version] * n,
            "event_time": times,
            "received_at": times,
            "latency_ms": rng.gamma(2.0, latency_scale, n),
            "status": np.where(nan, "fallback", "ok"),
            "fallback": nan,
            "fallback_reason": pl.Series([None] * n, dtype=pl.String)
            .to_frame("r")
            .with_columns(pl.when(pl.Series(nan)).then(pl.lit("nan_output")).alias("r"))
            .get_column("r"),
            "rejection_reason": pl.Series([None] * n, dtype=pl.String),
            "flags": pl.Series([[]] * n, dtype=pl.List(pl.String)),
            "prediction": np.where(nan, 0.5, raw),
            "raw_prediction": raw,
            "inputs": rows.select(FEATURES).to_struct(),
        }
    ).with_columns(
        pl.col("event_time").dt.cast_time_unit("us"), pl.col("received_at").dt.cast_time_unit("us")
    )


def window_of(
    frame: pl.DataFrame,
    ref: Reference | None = None,
    *,
    start: datetime = T0,
    complete: bool = True,
    version: str = "1",
) -> WindowData:
    """The window the runner would assemble from these records (one pane)."""
    ref = ref or reference()
    summary = summarize(frame, scores=True)
    accepted = frame.filter(pl.col("inputs").is_not_null())
    inputs = ref.new_inputs(seed=1).update(accepted.select("inputs").unnest("inputs")).view()
    answered = frame.filter(pl.col("status").is_in(["ok", "fallback"]))
    outputs_profile = ref.new_outputs(seed=2)
    outputs = None
    if outputs_profile is not None:
        column = answered.select(pl.col("prediction").alias(PREDICTION_COLUMN))
        outputs = outputs_profile.update(column).view()
    key = WindowKey(version, "5m", start, start + WINDOW)
    return WindowData(key, complete, summary=summary, inputs=inputs, outputs=outputs)
