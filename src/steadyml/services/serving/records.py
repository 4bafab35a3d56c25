"""Prediction-log rows of micro-batches, built as one Arrow table, column by column.

Every request is logged: accepted, flagged, answered by the fallback or refused. The
table has the published log schema minus ``service`` and ``worker``, which the log
writer fills in on its own thread. Inputs and features come from the validated Polars
frames as struct arrays, spread over the rows with one ``take`` (null where refused).
The serving path queues :class:`LogRows`; the log writer builds the table of everything
queued at each commit on its own thread, so a batch costs the hot path a wrapper only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import polars as pl
import pyarrow as pa

from steadyml.adapters.predlog import FALLBACK_REASONS, DeferredRows, truncate_raw_request
from steadyml.core.contract.records import FieldViolation
from steadyml.services.serving.outcome import REJECTED, STATUS_ERROR, STATUS_NAMES, BatchOutcome
from steadyml.services.serving.outcome_codec import decode_outcome, encode_outcome

__all__ = ["LogRows", "log_table", "raw_request", "spread", "struct_of"]

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


class LogRows(DeferredRows):
    """A micro-batch's log rows, turned into Arrow on the log writer's thread.

    The batch thread only wraps the batch's outcome (arrays and the validated frames it
    already has); the writer builds one table for everything queued since its last
    commit, a second of batches or more, with :func:`log_table`.

    Parameters
    ----------
    outcome
        The batch, with ``latency_ms`` filled in.
    schema
        The log schema of the model version that handled the batch.
    keep
        Which of the batch's rows to log (None: all). Rows of requests the watchdog
        answered first are logged by the watchdog, not here.
    """

    __slots__ = ("keep", "num_rows", "outcome", "schema")

    journal_tag = "steadyml.serving.log_rows/1"

    def __init__(
        self,
        outcome: BatchOutcome,
        schema: pa.Schema,
        keep: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
    ) -> None:
        self.outcome = outcome
        self.schema = schema
        self.keep = keep
        self.num_rows = outcome.rows if keep is None else int(np.count_nonzero(keep))

    @classmethod
    def build(cls, items: Sequence[DeferredRows]) -> pa.Table:
        """The log rows of ``items`` (all for one schema), in order, as one table."""
        parts = [item for item in items if isinstance(item, LogRows)]
        table = log_table([part.outcome for part in parts], parts[0].schema)
        if all(part.keep is None for part in parts):
            return table
        keep = np.concatenate(
            [
                np.ones(part.outcome.rows, np.bool_) if part.keep is None else part.keep
                for part in parts
            ]
        )
        return table.filter(pa.array(keep))

    def to_journal(self) -> list[bytes | memoryview]:
        """The batch's outcome and row mask as bytes (see :mod:`.outcome_codec`)."""
        return encode_outcome(self.outcome, self.keep)

    @classmethod
    def from_journal(cls, data: memoryview, schema: pa.Schema) -> LogRows:
        """The rows :meth:`to_journal` wrote, for a log of schema ``schema``.

        Raises
        ------
        ValueError
            When ``data`` is not such a record.
        """
        outcome, keep = decode_outcome(data)
        return cls(outcome, schema, keep)


def log_table(outcomes: Sequence[BatchOutcome], schema: pa.Schema) -> pa.Table:
    """The log rows of batches, in the column order of ``schema`` (service/worker left out).

    One call per column for the whole run of batches: a second of micro-batches costs
    about what one batch does.

    Parameters
    ----------
    outcomes
        The batches, each with ``latency_ms`` filled in.
    schema
        The log schema of the model version(s) that handled the batches.
    """
    sizes = [outcome.rows for outcome in outcomes]
    starts = np.concatenate(([0], np.cumsum(sizes)))
    n = int(starts[-1])
    status = _joined([outcome.status for outcome in outcomes], np.int8)
    no_answer = (status == REJECTED) | (status == STATUS_ERROR)
    reasons = _joined([outcome.reasons for outcome in outcomes], np.int8)
    reason_index = pa.array(reasons.astype(np.int64), mask=reasons < 0)
    rejection: list[str | None] = [None] * n
    flags: list[list[str]] = [[] for _ in range(n)]
    request_ids: list[str] = []
    versions: list[str | None] = []
    labels: list[str | None] = []
    raws: list[str | None] = []
    for outcome, start in zip(outcomes, starts.tolist(), strict=False):
        for index, violations in outcome.rejected.items():
            rejection[start + index] = _reason_text(violations)
        for index, note in outcome.notes.items():
            rejection[start + index] = note
        for index, violations in outcome.flags.items():
            flags[start + index] = [f"{v.field}: {v.kind.value}" for v in violations]
        request_ids += outcome.request_ids
        versions += [outcome.model_version] * outcome.rows
        labels += outcome.labels
        raws += outcome.raw_requests or [None] * outcome.rows
    has_raw = _joined([outcome.has_raw for outcome in outcomes], np.bool_)
    columns: dict[str, pa.Array] = {
        "request_id": pa.array(request_ids, pa.string()),
        "model_version": pa.array(versions, pa.string()),
        "event_time": pa.array(_joined([o.event_us for o in outcomes], np.int64), _TS),
        "received_at": pa.array(_joined([o.received_us for o in outcomes], np.int64), _TS),
        "latency_ms": pa.array(_joined([o.latency_ms for o in outcomes], np.float64)),
        "status": _STATUS.take(pa.array(status.astype(np.int64))),
        "fallback": pa.array(reasons >= 0, pa.bool_()),
        "fallback_reason": _REASONS.take(reason_index),
        "rejection_reason": pa.array(rejection, pa.string()),
        "flags": pa.array(flags, _FLAGS),
        "prediction": pa.array(
            _joined([o.prediction for o in outcomes], np.float64), pa.float64(), mask=no_answer
        ),
        "raw_prediction": pa.array(
            _joined([o.raw for o in outcomes], np.float64), pa.float64(), mask=~has_raw
        ),
        "label_class": pa.array(labels, pa.string()),
    }
    columns["inputs"] = _structs(outcomes, "inputs", starts, schema.field("inputs").type)
    if "features" in schema.names:
        columns["features"] = _structs(outcomes, "features", starts, schema.field("features").type)
    columns["raw_request"] = pa.array(raws, pa.string())
    names = [name for name in schema.names if name in columns]
    return pa.Table.from_arrays([columns[name] for name in names], names=names)


def _joined(arrays: list[np.ndarray[Any, Any]], dtype: type) -> np.ndarray[Any, Any]:
    return (
        arrays[0].astype(dtype, copy=False)
        if len(arrays) == 1
        else np.concatenate(arrays).astype(dtype, copy=False)
    )


def _structs(
    outcomes: Sequence[BatchOutcome],
    name: str,
    starts: np.ndarray[Any, Any],
    empty: pa.DataType,
) -> pa.Array:
    """The ``inputs`` or ``features`` frames of the batches as one struct column.

    Each batch's frame holds its accepted records; they are stacked and spread over the
    rows of all batches (null where a record was refused or had no frame).
    """
    total = int(starts[-1])
    frames: list[pl.DataFrame] = []
    positions: list[np.ndarray[Any, Any]] = []
    for outcome, start in zip(outcomes, starts.tolist(), strict=False):
        frame = outcome.inputs if name == "inputs" else outcome.features
        if frame is not None and frame.height:
            frames.append(frame)
            positions.append(outcome.accepted + start)
    if not frames:
        return pa.nulls(total, empty)
    try:
        rows = struct_of(pl.concat(frames, how="vertical_relaxed"), name)
    except (pl.exceptions.PolarsError, TypeError, ValueError):  # frames of other dtypes
        rows = pa.concat_arrays([struct_of(frame, name) for frame in frames])
    return spread(rows, np.concatenate(positions), total)
