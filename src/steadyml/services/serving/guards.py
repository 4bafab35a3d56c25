"""Output guards: never let a NaN, an infinity, an out-of-range or malformed score out.

:func:`guard_scores` checks a batch of model outputs, vectorized, and gives each row a
fallback reason code (or :data:`OK`). :class:`ModelRunner` calls the model on its own
thread with a deadline derived from the latency budget, so a slow or hung model costs a
request at most its budget: the caller stops waiting and the fallback answers.

Reason codes index :data:`~steadyml.adapters.predlog.FALLBACK_REASONS`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from steadyml.adapters.predlog import FALLBACK_REASONS
from steadyml.spec import Task

__all__ = [
    "CIRCUIT_OPEN",
    "FALLBACK_MODE",
    "MODEL_ERROR",
    "NAN_OUTPUT",
    "OK",
    "OUT_OF_RANGE",
    "TIMEOUT",
    "GuardedScores",
    "ModelRunner",
    "ModelTimeout",
    "guard_scores",
]

OK = -1
NAN_OUTPUT = FALLBACK_REASONS.index("nan_output")
OUT_OF_RANGE = FALLBACK_REASONS.index("out_of_range")
MODEL_ERROR = FALLBACK_REASONS.index("model_error")
TIMEOUT = FALLBACK_REASONS.index("timeout")
CIRCUIT_OPEN = FALLBACK_REASONS.index("circuit_open")
FALLBACK_MODE = FALLBACK_REASONS.index("fallback_mode")

T = TypeVar("T")
Floats = np.ndarray[Any, np.dtype[np.float64]]
Codes = np.ndarray[Any, np.dtype[np.int8]]


class ModelTimeout(Exception):
    """The model did not answer before the deadline (or is still busy with a late call)."""


@dataclass(frozen=True)
class GuardedScores:
    """A batch of model outputs after the guard.

    Attributes
    ----------
    raw
        The model's own output per row (binary: P(positive); regression: the value;
        multiclass: the highest class probability); NaN where it gave none.
    reasons
        :data:`OK` or a fallback reason code per row.
    picks
        Multiclass: the index of the most probable class per row; else None.
    """

    raw: Floats
    reasons: Codes
    picks: np.ndarray[Any, np.dtype[np.int64]] | None = None

    @classmethod
    def failed(cls, rows: int, reason: int) -> GuardedScores:
        """Every row fails with ``reason`` and has no raw output."""
        return cls(np.full(rows, np.nan), np.full(rows, reason, dtype=np.int8))


def guard_scores(
    scores: object, rows: int, task: Task, valid_range: tuple[float, float] | None, classes: int
) -> GuardedScores:
    """Check model outputs for ``rows`` records.

    Parameters
    ----------
    scores
        What the model returned (:meth:`Predictor.score_matrix`).
    rows
        How many rows were scored.
    task
        Binary and regression expect shape ``(rows,)``; multiclass ``(rows, classes)``.
    valid_range
        Inclusive bounds every output must respect (None: any finite value).
    classes
        Number of classes (multiclass).

    Returns
    -------
    GuardedScores
        A wrong shape or a non-numeric output fails every row with ``model_error``; a
        NaN or infinity fails its row with ``nan_output``; a value outside
        ``valid_range`` with ``out_of_range``.
    """
    try:
        array = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        return GuardedScores.failed(rows, MODEL_ERROR)
    picks = None
    if task is Task.MULTICLASS:
        if array.shape != (rows, classes) or classes < 1:
            return GuardedScores.failed(rows, MODEL_ERROR)
        finite = np.isfinite(array).all(axis=1)
        safe = np.where(np.isfinite(array), array, -np.inf)
        picks = np.argmax(safe, axis=1).astype(np.int64)
        raw = array.max(axis=1, initial=-np.inf)
        raw = np.where(finite, raw, np.nan)
        checked = array
    else:
        if array.shape == (rows, 1):
            array = array.reshape(rows)
        if array.shape != (rows,):
            return GuardedScores.failed(rows, MODEL_ERROR)
        finite = np.isfinite(array)
        raw = array
        checked = array.reshape(rows, 1)
    reasons = np.full(rows, OK, dtype=np.int8)
    if valid_range is not None:
        low, high = valid_range
        with np.errstate(invalid="ignore"):
            outside = ((checked < low) | (checked > high)).any(axis=1)
        reasons[outside] = OUT_OF_RANGE
    reasons[~finite] = NAN_OUTPUT
    return GuardedScores(np.ascontiguousarray(raw, dtype=np.float64), reasons, picks)


class ModelRunner:
    """Run model calls on one dedicated thread, each with a deadline.

    A call that misses its deadline keeps running on the model thread (Python cannot
    stop it); until it returns, further calls fail at once with :class:`ModelTimeout`
    instead of queueing behind it.
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="steadyml-model")
        self._running: Future[Any] | None = None

    @property
    def busy(self) -> bool:
        """True while a late call is still running."""
        running = self._running
        return running is not None and not running.done()

    def run(self, call: Callable[[], T], timeout: float) -> T:
        """Return ``call()``, or raise :class:`ModelTimeout` after ``timeout`` seconds.

        Exceptions raised by ``call`` propagate to the caller.
        """
        if self.busy:
            raise ModelTimeout("the model is still busy with a call that missed its deadline")
        if timeout <= 0:
            raise ModelTimeout("the deadline had passed before the model was called")
        future = self._executor.submit(call)
        self._running = future
        try:
            return future.result(timeout)
        except FutureTimeout:
            raise ModelTimeout(f"the model did not answer within {timeout * 1000:.0f} ms") from None

    def close(self) -> None:
        """Stop the model thread once its current call (if any) returns."""
        self._executor.shutdown(wait=False, cancel_futures=True)
