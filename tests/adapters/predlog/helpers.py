"""Shared test data for the prediction-log tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from steadyml.adapters.predlog import prediction_schema

SCHEMA = prediction_schema({"AGEP": "numeric", "SEX": "categorical", "WKHP": "integer"})
T0 = datetime(2016, 3, 1, 10, 0, tzinfo=UTC)


def records(
    ids: Sequence[str],
    event_times: Sequence[datetime] | None = None,
    *,
    version: str = "1",
) -> pa.Table:
    """A table of ok predictions in :data:`SCHEMA` (service and worker left for the writer)."""
    n = len(ids)
    times = list(event_times) if event_times is not None else [T0] * n
    return pa.table(
        {
            "request_id": pa.array(list(ids), pa.string()),
            "model_version": pa.array([version] * n, pa.string()),
            "event_time": pa.array(times, pa.timestamp("us", tz="UTC")),
            "received_at": pa.array(times, pa.timestamp("us", tz="UTC")),
            "latency_ms": pa.array([1.5] * n, pa.float64()),
            "status": pa.array(["ok"] * n, pa.string()),
            "fallback": pa.array([False] * n, pa.bool_()),
            "flags": pa.array([[] for _ in range(n)], pa.list_(pa.string())),
            "prediction": pa.array([0.25] * n, pa.float64()),
            "raw_prediction": pa.array([0.25] * n, pa.float64()),
            "inputs": pa.array(
                [{"AGEP": 30.0 + i, "SEX": "1", "WKHP": 40} for i in range(n)],
                SCHEMA.field("inputs").type,
            ),
        }
    )


def minutes(count: int, start: datetime = T0, step: float = 1.0) -> list[datetime]:
    """``count`` instants ``step`` minutes apart from ``start``."""
    return [start + timedelta(minutes=step * i) for i in range(count)]


def ids_in(paths: Sequence[object]) -> list[str]:
    """Every request id stored in the given Parquet files (each must open)."""
    found: list[str] = []
    for path in paths:
        found += pq.read_table(str(path), columns=["request_id"]).column(0).to_pylist()
    return found
