"""The fallback: the answer given when the model cannot give a trustworthy one.

Three strategies, named by ``deployment.fallback`` in the spec:

* ``constant``: ``value`` for every record;
* ``rule``: a user function ``rule(frame: pl.DataFrame) -> sequence of floats`` that gets
  the validated inputs of the records to answer (one value per row, in order), loaded
  with :func:`~steadyml.adapters.plugins.load_function`;
* ``previous_model``: the version under the registry alias ``previous`` scores them.

The fallback is guarded like the model: when the rule or the previous model raises, or
returns a value that is not finite, outside the output range or of the wrong length,
the constant ``value`` answers instead (0.0 when the spec sets none), so the fallback
itself never fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from steadyml.adapters.plugins import load_function
from steadyml.core.predictor import Predictor
from steadyml.spec import FallbackSpec, ServiceSpec, Task

__all__ = ["Fallback", "FallbackAnswer", "output_range"]

_log = logging.getLogger("steadyml.serving")

Floats = np.ndarray[Any, np.dtype[np.float64]]


def output_range(spec: ServiceSpec) -> tuple[float, float] | None:
    """The valid prediction range: the spec's, else [0, 1] for classifiers, else none."""
    if spec.deployment.output_range is not None:
        low, high = spec.deployment.output_range
        return float(low), float(high)
    return (0.0, 1.0) if spec.task.is_classification else None


@dataclass(frozen=True)
class FallbackAnswer:
    """Fallback values for some rows, and which strategy gave each one.

    Attributes
    ----------
    values
        One float per row.
    last_resort
        True per row where the configured strategy failed and the constant answered.
    """

    values: Floats
    last_resort: np.ndarray[Any, np.dtype[np.bool_]]


class Fallback:
    """Answer rows with the configured strategy, never failing.

    Parameters
    ----------
    spec
        The fallback section of the spec.
    task
        What the model predicts (multiclass answers are one number per row: the
        fallback cannot pick a class).
    valid_range
        The output range the fallback's answers must also respect (None: any finite).
    base_dir
        Where a rule's ``.py`` module is looked up (the spec's folder).
    previous
        Returns the predictor of the ``previous`` version, or None when there is none.

    Raises
    ------
    PluginError
        When a ``rule`` cannot be loaded (at start-up, not at the first fallback).
    """

    def __init__(
        self,
        spec: FallbackSpec,
        task: Task,
        valid_range: tuple[float, float] | None,
        base_dir: Path,
        previous: Callable[[], Predictor | None] | None = None,
    ) -> None:
        self.strategy = spec.strategy
        self.task = task
        self.valid_range = valid_range
        self.constant = float(spec.value) if spec.value is not None else 0.0
        if valid_range is not None and not valid_range[0] <= self.constant <= valid_range[1]:
            self.constant = float(min(max(self.constant, valid_range[0]), valid_range[1]))
        self._previous = previous or (lambda: None)
        self._rule: Callable[..., Any] | None = None
        if spec.strategy == "rule" and spec.module is not None and spec.function is not None:
            self._rule = load_function(spec.module, spec.function, base_dir)

    def answer(self, frame: pl.DataFrame) -> FallbackAnswer:
        """Fallback values for every row of ``frame`` (validated inputs, contract columns)."""
        rows = frame.height
        constant = np.full(rows, self.constant, dtype=np.float64)
        if rows == 0 or self.strategy == "constant":
            return FallbackAnswer(constant, np.zeros(rows, np.bool_))
        try:
            values = self._strategy_values(frame)
        except Exception as exc:  # a fallback must never fail: the constant answers
            _log.warning("fallback %s failed (%s: %s)", self.strategy, type(exc).__name__, exc)
            return FallbackAnswer(constant, np.ones(rows, np.bool_))
        if values is None or values.shape != (rows,):
            return FallbackAnswer(constant, np.ones(rows, np.bool_))
        bad = ~np.isfinite(values)
        if self.valid_range is not None:
            low, high = self.valid_range
            with np.errstate(invalid="ignore"):
                bad |= (values < low) | (values > high)
        return FallbackAnswer(np.where(bad, self.constant, values), bad)

    def _strategy_values(self, frame: pl.DataFrame) -> Floats | None:
        if self._rule is not None:
            result = self._rule(frame)
            if isinstance(result, pl.Series):
                result = result.to_numpy()
            return np.asarray(result, dtype=np.float64).reshape(-1)
        predictor = self._previous()
        if predictor is None:
            return None
        scores = predictor.score(frame)
        values: Floats = np.asarray(scores, dtype=np.float64)
        return values.max(axis=1) if self.task is Task.MULTICLASS else values

    def describe(self) -> dict[str, object]:
        """Strategy and constant, for the admin status endpoint."""
        return {"strategy": self.strategy, "value": self.constant}
