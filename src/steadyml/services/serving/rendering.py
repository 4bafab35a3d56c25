"""From a batch outcome to each request's HTTP answer and the batch's log rows.

Also builds the outcomes of the two paths that bypass the scorer: requests answered late
by the watchdog (the fallback constant, reason ``timeout``) and ``/predict`` requests
refused as a whole before validation (bad JSON, a body of the wrong shape, too large).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from steadyml.adapters.predlog import Ack, truncate_raw_request
from steadyml.errors import SteadyError
from steadyml.services.serving.batcher import Job
from steadyml.services.serving.guards import TIMEOUT
from steadyml.services.serving.holder import LoadedModel
from steadyml.services.serving.oip import render_infer
from steadyml.services.serving.outcome import FALLBACK, REJECTED, BatchOutcome, JobSlice
from steadyml.services.serving.records import LogRows, raw_request
from steadyml.services.serving.responses import render_predict
from steadyml.services.serving.scoring import new_request_ids
from steadyml.spec import Task

__all__ = ["Rendered", "late_outcome", "refused_outcome", "render"]


@dataclass(frozen=True)
class Rendered:
    """The answers of a batch's requests and the batch's log rows.

    Attributes
    ----------
    responses
        ``(HTTP status, JSON body)`` per job, in job order.
    rows
        The log rows, in job order (``job.size`` rows per job), or None when the
        prediction log is off.
    schema
        The log schema the rows are for.
    ack
        The log writer's receipt once the rows were queued (None before, or when the
        writer refused them).
    """

    responses: list[tuple[int, bytes]]
    rows: LogRows | None
    schema: pa.Schema
    ack: Ack | None = None


def render(
    jobs: Sequence[Job], outcome: BatchOutcome, model: LoadedModel, *, log: bool = True
) -> Rendered:
    """Render every job's answer and wrap the log rows (fills ``outcome.latency_ms``).

    With ``log=False`` (prediction log switched off) there are no log rows.
    """
    now = time.perf_counter()
    sizes = [job.size for job in jobs]
    latency = np.array([(now - job.start) * 1000.0 for job in jobs])
    outcome.latency_ms = np.repeat(latency, sizes)
    responses: list[tuple[int, bytes]] = []
    start = 0
    for job in jobs:
        part = JobSlice(outcome, start, start + job.size)
        if job.protocol == "oip":
            responses.append(render_infer(part, job.model_name, job.reference))
        else:
            responses.append(render_predict(part))
        start += job.size
    schema = model.log_schema
    return Rendered(responses, LogRows(outcome, schema) if log else None, schema)


def _labels(model: LoadedModel, values: np.ndarray) -> list[str | None]:
    classes = model.predictor.classes
    if model.task is Task.BINARY and len(classes) == 2:
        return [str(v) for v in np.where(values >= 0.5, classes[1], classes[0]).tolist()]
    return [None] * len(values)


def late_outcome(jobs: Sequence[Job], model: LoadedModel, constant: float) -> BatchOutcome:
    """Every record of ``jobs`` answered by the fallback constant with reason ``timeout``."""
    records = [record for job in jobs for record in job.records]
    n = len(records)
    ids: list[str] = []
    for job in jobs:
        ids.extend(job.request_ids if job.request_ids is not None else new_request_ids(job.size))
    values = np.full(n, constant)
    event = [job.event_us or [job.received_us] * job.size for job in jobs]
    return BatchOutcome(
        model_version=str(model.version),
        request_ids=ids,
        status=np.full(n, FALLBACK, dtype=np.int8),
        prediction=values,
        raw=np.full(n, np.nan),
        has_raw=np.zeros(n, dtype=np.bool_),
        reasons=np.full(n, TIMEOUT, dtype=np.int8),
        labels=_labels(model, values),
        rejected={},
        flags={},
        event_us=np.array([t for part in event for t in part], dtype=np.int64),
        received_us=np.repeat(
            np.array([job.received_us for job in jobs], dtype=np.int64), [j.size for j in jobs]
        ),
        raw_requests=[raw_request(record) for record in records],
    )


def refused_outcome(
    body: bytes, error: SteadyError, request_id: str | None, model: LoadedModel, now_us: int
) -> BatchOutcome:
    """One log row for a request refused as a whole (its raw body, cut to 4 KiB)."""
    text = truncate_raw_request(body[:4096].decode("utf-8", errors="replace"))
    ids = [request_id] if request_id else new_request_ids(1)
    return BatchOutcome(
        model_version=str(model.version),
        request_ids=ids,
        status=np.full(1, REJECTED, dtype=np.int8),
        prediction=np.full(1, np.nan),
        raw=np.full(1, np.nan),
        has_raw=np.zeros(1, dtype=np.bool_),
        reasons=np.full(1, -1, dtype=np.int8),
        labels=[None],
        rejected={},
        flags={},
        event_us=np.full(1, now_us, dtype=np.int64),
        received_us=np.full(1, now_us, dtype=np.int64),
        raw_requests=[text],
        notes={0: f"{error.field}: {error.kind}"},
        latency_ms=np.zeros(1),
    )
