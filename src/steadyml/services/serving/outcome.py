"""What the server decided for every record of a micro-batch, as arrays.

A :class:`BatchOutcome` is built once per micro-batch (on the batch thread) and read by
the renderers of each request (``/predict`` JSON, Open Inference Protocol) and by the
prediction-log record builder, so that each request's answer and its log rows come from
the same arrays and can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import polars as pl

from steadyml.adapters.predlog import FALLBACK_REASONS
from steadyml.core.contract.records import FieldViolation

__all__ = [
    "FALLBACK",
    "REJECTED",
    "STATUS_ERROR",
    "STATUS_NAMES",
    "STATUS_OK",
    "BatchOutcome",
    "JobSlice",
    "Listed",
    "reason_name",
]

STATUS_OK = 0
FALLBACK = 1
REJECTED = 2
STATUS_ERROR = 3
STATUS_NAMES = ("ok", "fallback", "rejected", "error")

Floats = np.ndarray[Any, np.dtype[np.float64]]
Codes = np.ndarray[Any, np.dtype[np.int8]]
Micros = np.ndarray[Any, np.dtype[np.int64]]
Positions = np.ndarray[Any, np.dtype[np.int64]]


def reason_name(code: int) -> str | None:
    """The fallback reason of a code (None for no fallback)."""
    return None if code < 0 else FALLBACK_REASONS[code]


class Listed(NamedTuple):
    """Per-record columns of a batch as Python lists, for rendering answers one by one."""

    status: list[int]
    prediction: list[float]
    reasons: list[int]


@dataclass
class BatchOutcome:
    """Per-record results of one micro-batch (``n`` records, in request order).

    Attributes
    ----------
    model_version
        The version that handled the batch (``"3"``), or None without a model.
    request_ids
        One id per record.
    status
        :data:`STATUS_OK`, :data:`FALLBACK`, :data:`REJECTED` or :data:`STATUS_ERROR`.
    prediction
        The returned answer (NaN where rejected).
    raw
        The model's own output (NaN where it gave none).
    has_raw
        True where the model was called and gave an output for the row.
    reasons
        Fallback reason codes (-1: none).
    labels
        Predicted class per record (classifiers), else None.
    rejected
        Batch index → the violations of each refused record.
    flags
        Batch index → violations an accepted record was flagged with.
    event_us, received_us
        Event time and receipt time, microseconds since the epoch (UTC).
    inputs, features
        The validated inputs and the model inputs of the accepted records (one row per
        position in ``accepted``), or None when not available. They become the log's
        struct columns on the log writer's thread, many batches at once.
    accepted
        Batch indices of the records the contract accepted, in order.
    raw_requests
        The raw JSON of refused records (None elsewhere).
    notes
        Batch index → a rejection reason for records refused before validation.
    latency_ms
        Server-side latency per record (filled when the batch is rendered).
    """

    model_version: str | None
    request_ids: list[str]
    status: Codes
    prediction: Floats
    raw: Floats
    has_raw: np.ndarray[Any, np.dtype[np.bool_]]
    reasons: Codes
    labels: list[str | None]
    rejected: dict[int, tuple[FieldViolation, ...]]
    flags: dict[int, tuple[FieldViolation, ...]]
    event_us: Micros
    received_us: Micros
    inputs: pl.DataFrame | None = None
    features: pl.DataFrame | None = None
    accepted: Positions = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    raw_requests: list[str | None] = field(default_factory=list)
    notes: dict[int, str] = field(default_factory=dict)
    latency_ms: Floats = field(default_factory=lambda: np.zeros(0))

    @property
    def rows(self) -> int:
        """Records in the batch."""
        return len(self.request_ids)

    @cached_property
    def listed(self) -> Listed:
        """Status, prediction and reason per record as lists.

        Converted once per batch: slicing NumPy arrays per request costs more than
        writing the request's JSON.
        """
        return Listed(self.status.tolist(), self.prediction.tolist(), self.reasons.tolist())

    def counts(self) -> dict[str, int]:
        """Records per status name."""
        found = np.bincount(self.status, minlength=len(STATUS_NAMES))
        return {name: int(found[i]) for i, name in enumerate(STATUS_NAMES)}

    def reason_counts(self) -> dict[str, int]:
        """Fallback records per reason."""
        codes = self.reasons[self.reasons >= 0]
        found = np.bincount(codes, minlength=len(FALLBACK_REASONS))
        return {name: int(found[i]) for i, name in enumerate(FALLBACK_REASONS) if found[i]}

    def rejection_counts(self) -> dict[str, int]:
        """Violations of refused records, per violation kind."""
        found: dict[str, int] = {}
        for violations in self.rejected.values():
            for violation in violations:
                found[violation.kind.value] = found.get(violation.kind.value, 0) + 1
        return found


@dataclass(frozen=True)
class JobSlice:
    """The records of one request inside a batch: ``outcome`` rows ``start:stop``."""

    outcome: BatchOutcome
    start: int
    stop: int

    @property
    def size(self) -> int:
        """Records in the request."""
        return self.stop - self.start

    def all_rejected(self) -> bool:
        """True when every record of the request was refused."""
        statuses = self.outcome.listed.status
        return all(statuses[i] == REJECTED for i in range(self.start, self.stop))
