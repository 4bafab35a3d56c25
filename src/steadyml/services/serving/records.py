"""Prediction-log rows for a micro-batch, built as one Arrow table, column by column.

Every request is logged: accepted, flagged, answered by the fallback or refused. The
table has the published log schema minus ``service`` and ``worker``, which the log
writer fills in on its own thread. Inputs and features come from the validated Polars
frames as struct arrays, spread over the batch with one ``take`` (null where refused).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import polars as pl
import pyarrow as pa

from steadyml.adapters.predlog import FALLBACK_REASONS, truncate_raw_request
from steadyml.core.contract.records import FieldViolation
from steadyml.services.serving.outcome import REJECTED, STATUS_ERROR, STATUS_NAMES, BatchOutcome

__all__ = ["log_table", "raw_request", "spread", "struct_of"]

_TS = pa.timestamp("us", tz="UTC")
_STATUS = pa.array(STATUS_NAMES, pa.string())
_REASONS = pa.array(FALLBACK_REASONS, pa.string())
_FLAGS = pa.list_(pa.string())


def struct_of(frame: pl.DataFrame, name: str) -> pa.StructArray:
    """The rows of ``frame`` as one struct array (Arrow types as Polars exports them).

    Types are not cast to the log schema here: the log writer casts whole queues of
    batches at once on its own thread (``large_string`` to ``string``, for example).
    """
    array = frame.to_struct(name).to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    struct: pa.StructArray = array
    return struct


def spread(rows: pa.StructArray, positions: np.ndarray[Any, Any], total: int) -> pa.StructArray:
    """Place ``rows`` at ``positions`` of an array of ``total`` rows; null elsewhere."""
    if len(rows) == total:
        return rows
    index = np.full(total, -1, dtype=np.int64)
    index[positions] = np.arange(len(rows), dtype=np.int64)
    spread_rows: pa.StructArray = rows.take(pa.array(index, mask=index < 0))
    return spread_rows


def raw_request(record: object) -> str:
    """A refused record as JSON text, cut to the log's 4 KiB limit."""
    try:
        text = orjson.dumps(record, default=repr).decode("utf-8")
    except (TypeError, orjson.JSONEncodeError):
        text = repr(record)
    return truncate_raw_request(text)


def _reason_text(violations: Sequence[FieldViolation]) -> str:
    return "; ".join(f"{v.field}: {v.kind.value}" for v in violations)


def log_table(outcome: BatchOutcome, schema: pa.Schema) -> pa.Table:
    """The log rows of a batch, in the column order of ``schema`` (service/worker left out).

    Parameters
    ----------
    outcome
        The batch, with ``latency_ms`` filled in.
    schema
        The log schema of the model version that handled the batch.
    """
    n = outcome.rows
    status = outcome.status
    no_answer = (status == REJECTED) | (status == STATUS_ERROR)
    reasons = outcome.reasons
    reason_index = pa.array(reasons.astype(np.int64), mask=reasons < 0)
    rejection: list[str | None] = [None] * n
    for index, violations in outcome.rejected.items():
        rejection[index] = _reason_text(violations)
    for index, note in outcome.notes.items():
        rejection[index] = note
    flags: list[list[str]] = [[] for _ in range(n)]
    for index, violations in outcome.flags.items():
        flags[index] = [f"{v.field}: {v.kind.value}" for v in violations]
    columns: dict[str, pa.Array] = {
        "request_id": pa.array(outcome.request_ids, pa.string()),
        "model_version": pa.array([outcome.model_version] * n, pa.string()),
        "event_time": pa.array(outcome.event_us, _TS),
        "received_at": pa.array(outcome.received_us, _TS),
        "latency_ms": pa.array(outcome.latency_ms, pa.float64()),
        "status": _STATUS.take(pa.array(status.astype(np.int64))),
        "fallback": pa.array(reasons >= 0, pa.bool_()),
        "fallback_reason": _REASONS.take(reason_index),
        "rejection_reason": pa.array(rejection, pa.string()),
        "flags": pa.array(flags, _FLAGS),
        "prediction": pa.array(outcome.prediction, pa.float64(), mask=no_answer),
        "raw_prediction": pa.array(outcome.raw, pa.float64(), mask=~outcome.has_raw),
        "label_class": pa.array(outcome.labels, pa.string()),
    }
    inputs_type = schema.field("inputs").type
    columns["inputs"] = outcome.inputs if outcome.inputs is not None else pa.nulls(n, inputs_type)
    if "features" in schema.names:
        features_type = schema.field("features").type
        features = outcome.features
        columns["features"] = features if features is not None else pa.nulls(n, features_type)
    raws = outcome.raw_requests or [None] * n
    columns["raw_request"] = pa.array(raws, pa.string())
    names = [name for name in schema.names if name in columns]
    return pa.Table.from_arrays([columns[name] for name in names], names=names)
