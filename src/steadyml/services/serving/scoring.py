"""One micro-batch, end to end: validate, transform, predict, guard, fall back.

:meth:`BatchScorer.score` runs on the batch thread with every record of the batch at
once: one contract validation, one transform and encoding, one model call (on the model
thread, with the batch's deadline), one vectorized guard, one fallback call for the rows
that need it. When the model raises on a batch of several requests, each request is
retried alone, so that one poisonous record does not cost the others their prediction.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import polars as pl

from steadyml.adapters.predlog import FALLBACK_REASONS
from steadyml.core.violations import ViolationPolicy
from steadyml.services.serving.batcher import Job
from steadyml.services.serving.breaker import CircuitBreaker
from steadyml.services.serving.fallback import Fallback
from steadyml.services.serving.guards import (
    CIRCUIT_OPEN,
    FALLBACK_MODE,
    MODEL_ERROR,
    OK,
    TIMEOUT,
    GuardedScores,
    ModelRunner,
    ModelTimeout,
    guard_scores,
)
from steadyml.services.serving.holder import LoadedModel
from steadyml.services.serving.outcome import FALLBACK, REJECTED, STATUS_OK, BatchOutcome
from steadyml.services.serving.records import raw_request
from steadyml.spec import Task

__all__ = ["BatchScorer", "new_request_ids"]

_log = logging.getLogger("steadyml.serving")

Floats = np.ndarray[Any, np.dtype[np.float64]]


def new_request_ids(count: int) -> list[str]:
    """``count`` random 32-hex-digit request ids (128 bits each, like a UUID4)."""
    text = os.urandom(16 * count).hex()
    return [text[i : i + 32] for i in range(0, 32 * count, 32)]


@dataclass
class _Scored:
    guarded: GuardedScores
    features: pl.DataFrame | None
    called: bool


class BatchScorer:
    """Turn a batch of jobs into a :class:`BatchOutcome`.

    Parameters
    ----------
    policy
        What to do with each kind of contract violation.
    fallback
        The fallback answer.
    breaker
        The circuit breaker (consulted before, and told after, each model call).
    runner
        Runs model calls on the model thread with a deadline.
    valid_range
        The output range the guard enforces.
    """

    def __init__(
        self,
        *,
        policy: ViolationPolicy,
        fallback: Fallback,
        breaker: CircuitBreaker,
        runner: ModelRunner,
        valid_range: tuple[float, float] | None,
    ) -> None:
        self.policy = policy
        self.fallback = fallback
        self.breaker = breaker
        self.runner = runner
        self.valid_range = valid_range
        self.forced: str | None = None  # the operator's reason while fallback mode is on

    def score(self, jobs: Sequence[Job], model: LoadedModel) -> BatchOutcome:
        """Validate and answer every record of ``jobs`` with ``model``."""
        records = [record for job in jobs for record in job.records]
        n = len(records)
        result = model.contract.validate_records(records, self.policy)
        accepted = result.accepted
        status = np.full(n, REJECTED, dtype=np.int8)
        prediction = np.full(n, np.nan)
        raw = np.full(n, np.nan)
        has_raw = np.zeros(n, dtype=np.bool_)
        reasons = np.full(n, OK, dtype=np.int8)
        labels: list[str | None] = [None] * n
        outcome = BatchOutcome(
            model_version=str(model.version),
            request_ids=self._ids(jobs),
            status=status,
            prediction=prediction,
            raw=raw,
            has_raw=has_raw,
            reasons=reasons,
            labels=labels,
            rejected=dict(result.rejected),
            flags={int(accepted[i]): found for i, found in enumerate(result.flags) if found},
            event_us=self._event_times(jobs),
            received_us=np.repeat(
                np.array([job.received_us for job in jobs], dtype=np.int64),
                [job.size for job in jobs],
            ),
        )
        outcome.raw_requests = [None] * n
        for index in result.rejected:
            outcome.raw_requests[index] = raw_request(records[index])
        if accepted.size:
            frame = result.frame
            deadline = min(job.deadline for job in jobs)
            job_of = np.repeat(np.arange(len(jobs)), [job.size for job in jobs])[accepted]
            scored = self._predict(model, frame, deadline, job_of)
            guarded = scored.guarded
            good = guarded.reasons == OK
            values = guarded.raw.copy()
            if not good.all():
                answer = self.fallback.answer(frame.filter(pl.Series(~good)))
                values[~good] = answer.values
            status[accepted] = np.where(good, STATUS_OK, FALLBACK)
            prediction[accepted] = values
            raw[accepted] = guarded.raw
            has_raw[accepted] = scored.called & ~_NO_OUTPUT[guarded.reasons + 1]
            reasons[accepted] = guarded.reasons
            chosen = self._labels(model, values, guarded, good)
            if chosen is not None:
                for position, label in zip(accepted.tolist(), chosen, strict=True):
                    labels[position] = label
            outcome.accepted = accepted
            outcome.inputs = frame
            if model.features_type is not None and scored.features is not None:
                outcome.features = scored.features
        return outcome

    # -- the model call ----------------------------------------------------------------

    def _predict(
        self, model: LoadedModel, frame: pl.DataFrame, deadline: float, job_of: np.ndarray
    ) -> _Scored:
        rows = frame.height
        if self.forced is not None:
            return _Scored(GuardedScores.failed(rows, FALLBACK_MODE), None, False)
        if not self.breaker.allow():
            return _Scored(GuardedScores.failed(rows, CIRCUIT_OPEN), None, False)
        predictor = model.predictor
        features: pl.DataFrame | None = None
        try:
            transformed = predictor.transform.apply(frame)
            matrix = model.encode(transformed)
            columns = predictor.encoder.columns
            same = len(columns) == transformed.width and tuple(transformed.columns) == columns
            features = transformed if same else transformed.select(columns)
            scores = self.runner.run(
                lambda: predictor.score_matrix(matrix), deadline - time.perf_counter()
            )
        except ModelTimeout:
            self.breaker.record_failure()
            return _Scored(GuardedScores.failed(rows, TIMEOUT), features, False)
        except Exception:
            if np.unique(job_of).size < 2:
                self.breaker.record_failure()
                return _Scored(GuardedScores.failed(rows, MODEL_ERROR), features, True)
            return self._isolate(model, frame, deadline, job_of)
        guarded = self._guard(model, scores, rows)
        if (guarded.reasons == MODEL_ERROR).all():
            self.breaker.record_failure()
        else:
            self.breaker.record_success()
        return _Scored(guarded, features, True)

    def _guard(self, model: LoadedModel, scores: object, rows: int) -> GuardedScores:
        classes = len(model.predictor.classes)
        return guard_scores(scores, rows, model.task, self.valid_range, classes)

    def _isolate(
        self, model: LoadedModel, frame: pl.DataFrame, deadline: float, job_of: np.ndarray
    ) -> _Scored:
        """Score each request's rows alone after the batch call raised."""
        rows = frame.height
        raw = np.full(rows, np.nan)
        reasons = np.full(rows, MODEL_ERROR, dtype=np.int8)
        picks = np.zeros(rows, dtype=np.int64) if model.task is Task.MULTICLASS else None
        predictor = model.predictor
        answered = False
        for owner in np.unique(job_of).tolist():
            mask = job_of == owner
            try:
                matrix = model.encode(predictor.transform.apply(frame.filter(pl.Series(mask))))
                scores = self.runner.run(
                    partial(predictor.score_matrix, matrix), deadline - time.perf_counter()
                )
            except ModelTimeout:
                reasons[mask] = TIMEOUT
                continue
            except Exception as exc:  # this request's rows keep model_error
                _log.debug("model failed on one request: %s: %s", type(exc).__name__, exc)
                continue
            part = self._guard(model, scores, int(mask.sum()))
            raw[mask] = part.raw
            reasons[mask] = part.reasons
            if picks is not None and part.picks is not None:
                picks[mask] = part.picks
            answered = answered or bool((part.reasons != MODEL_ERROR).any())
        if answered:
            self.breaker.record_success()
        else:
            self.breaker.record_failure()
        return _Scored(GuardedScores(raw, reasons, picks), None, True)

    # -- per-row details ---------------------------------------------------------------

    @staticmethod
    def _ids(jobs: Sequence[Job]) -> list[str]:
        if all(job.request_ids is not None for job in jobs):
            return [rid for job in jobs for rid in job.request_ids or ()]
        missing = sum(job.size for job in jobs if job.request_ids is None)
        fresh = iter(new_request_ids(missing))
        ids: list[str] = []
        for job in jobs:
            if job.request_ids is not None:
                ids.extend(job.request_ids)
            else:
                ids.extend(next(fresh) for _ in range(job.size))
        return ids

    @staticmethod
    def _event_times(jobs: Sequence[Job]) -> np.ndarray[Any, np.dtype[np.int64]]:
        sizes = [job.size for job in jobs]
        times = np.repeat(np.array([job.received_us for job in jobs], dtype=np.int64), sizes)
        start = 0
        for job in jobs:
            if job.event_us is not None:
                times[start : start + job.size] = job.event_us
            start += job.size
        return times

    @staticmethod
    def _labels(
        model: LoadedModel, values: Floats, guarded: GuardedScores, good: np.ndarray
    ) -> list[str | None] | None:
        classes = model.predictor.classes
        if model.task is Task.BINARY and len(classes) == 2:
            chosen = np.where(values >= 0.5, classes[1], classes[0])
            return [str(label) for label in chosen.tolist()]
        if model.task is Task.MULTICLASS and guarded.picks is not None and classes:
            names = np.asarray(classes, dtype=object)[guarded.picks]
            return [str(name) if ok else None for name, ok in zip(names, good, strict=True)]
        return None


#: By reason code + 1 (``OK`` is -1): True where the model gave no output for the row.
#: A lookup, because ``np.isin`` costs tens of microseconds on a micro-batch.
_NO_OUTPUT = np.zeros(len(FALLBACK_REASONS) + 1, dtype=np.bool_)
_NO_OUTPUT[[code + 1 for code in (TIMEOUT, CIRCUIT_OPEN, FALLBACK_MODE, MODEL_ERROR)]] = True
