"""The operational summary of a window: statuses, reasons, latency, lag, output scores.

One :class:`WindowSummary` per model version and pane, built from the prediction-log
rows with a few vectorized Polars aggregations, merged by addition (latency and lag keep
mergeable KLL sketches in :class:`~steadyml.core.profiles.NumericSummary`). Health,
data-quality and label-free performance checks read it.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, UTC
>>> t = datetime(2016, 1, 1, tzinfo=UTC)
>>> rows = pl.DataFrame({"status": ["ok", "rejected"], "latency_ms": [3.0, 1.0],
...                      "event_time": [t, t], "received_at": [t, t]})
>>> summary = summarize(rows)
>>> summary.rows, summary.statuses["rejected"]
(2, 1)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from steadyml.core.monitoring.scores import ScoreHistogram
from steadyml.core.profiles.numeric import NumericAccumulator, NumericSummary

__all__ = [
    "LAG_EDGES",
    "LATENCY_EDGES",
    "WindowSummary",
    "count_values",
    "numeric_summary",
    "summarize",
]

LATENCY_EDGES = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0)
LAG_EDGES = (1.0, 5.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 86400.0)
ANSWERED = ("ok", "fallback")


def numeric_summary(values: pl.Series, edges: tuple[float, ...]) -> NumericSummary:
    """A mergeable numeric summary (KLL sketch, moments, histogram on ``edges``)."""
    accumulator = NumericAccumulator(edges)
    array = values.cast(pl.Float64).to_numpy()
    accumulator.update(np.asarray(array, dtype=np.float64), values.null_count())
    return accumulator.summary()


def _add(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    total = Counter(dict(a))
    total.update(dict(b))
    return dict(total)


def _min(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass(frozen=True, eq=False)
class WindowSummary:
    """Mergeable operational counts of one window (or pane) of one model version.

    Attributes
    ----------
    rows
        Records in the window, whatever their status.
    statuses, fallback_reasons
        Records per ``status`` and per ``fallback_reason``.
    rejections, flags
        Records per ``"<field>: <violation>"`` entry of ``rejection_reason`` (refused)
        and of ``flags`` (accepted but flagged).
    nan_outputs
        Records whose model output was not a finite number (NaN raw output, the
        ``nan_output`` fallback, or an ``ok`` answer that is NaN).
    latency
        Server latency in milliseconds (KLL sketch, mergeable).
    lag
        ``received_at - event_time`` in seconds.
    first_event_us, last_event_us, last_received_us
        Event-time range and newest arrival, µs since the epoch.
    scores
        Histogram of the answered binary predictions (for label-free estimation).
    """

    rows: int
    statuses: Mapping[str, int]
    fallback_reasons: Mapping[str, int]
    rejections: Mapping[str, int]
    flags: Mapping[str, int]
    nan_outputs: int
    latency: NumericSummary
    lag: NumericSummary
    first_event_us: int | None = None
    last_event_us: int | None = None
    last_received_us: int | None = None
    scores: ScoreHistogram | None = field(default=None)

    def status(self, name: str) -> int:
        """Records with status ``name``."""
        return int(self.statuses.get(name, 0))

    @property
    def answered(self) -> int:
        """Records answered by the model or the fallback."""
        return sum(self.status(s) for s in ANSWERED)

    def merge(self, other: WindowSummary) -> WindowSummary:
        """Both windows together."""
        scores = self.scores
        if other.scores is not None:
            scores = other.scores if scores is None else scores.merge(other.scores)
        return WindowSummary(
            rows=self.rows + other.rows,
            statuses=_add(self.statuses, other.statuses),
            fallback_reasons=_add(self.fallback_reasons, other.fallback_reasons),
            rejections=_add(self.rejections, other.rejections),
            flags=_add(self.flags, other.flags),
            nan_outputs=self.nan_outputs + other.nan_outputs,
            latency=self.latency.merge(other.latency),
            lag=self.lag.merge(other.lag),
            first_event_us=_min(self.first_event_us, other.first_event_us),
            last_event_us=_max(self.last_event_us, other.last_event_us),
            last_received_us=_max(self.last_received_us, other.last_received_us),
            scores=scores,
        )

    def violations(self, field_name: str, kinds: tuple[str, ...]) -> tuple[int, int]:
        """``(rejected, flagged)`` records naming ``field_name`` with one of ``kinds``."""
        keys = {f"{field_name}: {kind}" for kind in kinds}
        rejected = sum(n for key, n in self.rejections.items() if key in keys)
        flagged = sum(n for key, n in self.flags.items() if key in keys)
        return rejected, flagged

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping."""
        return {
            "rows": self.rows,
            "statuses": dict(self.statuses),
            "fallback_reasons": dict(self.fallback_reasons),
            "rejections": dict(self.rejections),
            "flags": dict(self.flags),
            "nan_outputs": self.nan_outputs,
            "latency": self.latency.to_dict(),
            "lag": self.lag.to_dict(),
            "first_event_us": self.first_event_us,
            "last_event_us": self.last_event_us,
            "last_received_us": self.last_received_us,
            "scores": None if self.scores is None else self.scores.to_dict(),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> WindowSummary:
        """Inverse of :meth:`to_dict`."""
        scores = raw.get("scores")
        return cls(
            rows=int(raw["rows"]),
            statuses={str(k): int(v) for k, v in raw["statuses"].items()},
            fallback_reasons={str(k): int(v) for k, v in raw["fallback_reasons"].items()},
            rejections={str(k): int(v) for k, v in raw["rejections"].items()},
            flags={str(k): int(v) for k, v in raw["flags"].items()},
            nan_outputs=int(raw["nan_outputs"]),
            latency=NumericSummary.from_dict(raw["latency"]),
            lag=NumericSummary.from_dict(raw["lag"]),
            first_event_us=raw.get("first_event_us"),
            last_event_us=raw.get("last_event_us"),
            last_received_us=raw.get("last_received_us"),
            scores=None if scores is None else ScoreHistogram.from_dict(scores),
        )


def count_values(series: pl.Series) -> dict[str, int]:
    """Occurrences of each non-null value (as text)."""
    values = series.drop_nulls()
    if values.is_empty():
        return {}
    counts = values.cast(pl.String).value_counts()
    names = counts.get_column(counts.columns[0]).to_list()
    return {
        str(k): int(v) for k, v in zip(names, counts.get_column("count").to_list(), strict=True)
    }


def _column(frame: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Series:
    if name in frame.columns:
        return frame.get_column(name)
    return pl.Series(name, [None] * frame.height, dtype=dtype)


def summarize(frame: pl.DataFrame, *, scores: bool = False) -> WindowSummary:
    """Summarise prediction-log rows (one window of one model version).

    Parameters
    ----------
    frame
        Rows with the log's columns; absent optional columns count as null.
    scores
        Also keep a histogram of the answered predictions (binary classifiers).
    """
    status = _column(frame, "status", pl.String())
    reasons = _column(frame, "fallback_reason", pl.String())
    rejection = _column(frame, "rejection_reason", pl.String()).drop_nulls()
    flags = _column(frame, "flags", pl.List(pl.String()))
    raw = _column(frame, "raw_prediction", pl.Float64()).cast(pl.Float64)
    prediction = _column(frame, "prediction", pl.Float64()).cast(pl.Float64)
    bad_raw = (raw.is_nan() | raw.is_infinite()).fill_null(False)
    bad_answer = ((status == "ok") & (prediction.is_null() | prediction.is_nan())).fill_null(False)
    nan_outputs = int((bad_raw | bad_answer | (reasons == "nan_output").fill_null(False)).sum())
    events = _column(frame, "event_time", pl.Datetime("us", "UTC"))
    received = _column(frame, "received_at", pl.Datetime("us", "UTC"))
    event_us = events.dt.epoch("us")
    received_us = received.dt.epoch("us")
    lag = ((received_us - event_us).cast(pl.Float64) / 1e6).alias("lag")
    histogram = None
    if scores:
        answered = status.is_in(ANSWERED).fill_null(False)
        histogram = ScoreHistogram.of(prediction.filter(answered).drop_nulls().to_numpy())
    first, last, newest = event_us.min(), event_us.max(), received_us.max()
    return WindowSummary(
        rows=frame.height,
        statuses=count_values(status),
        fallback_reasons=count_values(reasons),
        rejections=count_values(rejection.str.split("; ").explode()),
        flags=count_values(flags.explode()),
        nan_outputs=nan_outputs,
        latency=numeric_summary(_column(frame, "latency_ms", pl.Float64()), LATENCY_EDGES),
        lag=numeric_summary(lag, LAG_EDGES),
        first_event_us=None if first is None else int(first),  # type: ignore[arg-type]
        last_event_us=None if last is None else int(last),  # type: ignore[arg-type]
        last_received_us=None if newest is None else int(newest),  # type: ignore[arg-type]
        scores=histogram,
    )
