"""What a check measures in one window: a value, its interval, and a calibrated status.

Every check returns :class:`Measurement` objects. ``metric`` is a dotted name
(``health.error_rate``); per-feature metrics carry the feature as ``subject``
(``drift.psi`` of ``AGEP``, written ``drift.psi:AGEP`` in alert rules). ``status`` is
the check's own calibrated decision (``ok``, ``warn``, ``drift``) where it makes one:
for rates, *drift* means the 95 % interval lies wholly beyond the objective.

Examples
--------
>>> low, high = wilson_interval(5, 1000)
>>> round(low, 4), round(high, 4)
(0.0021, 0.0117)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "STATUS_RANK",
    "Measurement",
    "rate_measurement",
    "status_rank",
    "wilson_interval",
]

#: Calibrated statuses from least to most severe (drift-engine statuses included).
STATUS_RANK = {"ok": 0, "insufficient_data": 1, "warn": 2, "schema_mismatch": 3, "drift": 4}

Z95 = 1.959963984540054


def status_rank(status: str | None) -> int:
    """Severity of a status (0 for ``ok`` or none)."""
    return STATUS_RANK.get(status or "ok", 0)


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Measurement:
    """One metric of one window.

    Attributes
    ----------
    metric
        Dotted metric name, e.g. ``quality.null_rate``.
    value
        The measured value (None when undefined, e.g. no rows).
    subject
        The feature (or slice, or signal) it is about; ``""`` for window-level metrics.
    low, high
        A 95 % interval of the value, when the check computes one.
    status
        The check's calibrated decision (``ok``, ``warn``, ``drift``, ...), or None.
    n
        Rows the value is computed on.
    details
        Evidence for alerts (JSON-safe), not stored in the metric series.
    """

    metric: str
    value: float | None
    subject: str = ""
    low: float | None = None
    high: float | None = None
    status: str | None = None
    n: int = 0
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _finite(self.value))
        object.__setattr__(self, "low", _finite(self.low))
        object.__setattr__(self, "high", _finite(self.high))

    @property
    def key(self) -> str:
        """``metric`` or ``metric:subject``, as alert rules name it."""
        return f"{self.metric}:{self.subject}" if self.subject else self.metric

    def bound(self, which: str) -> float | None:
        """``value``, ``low`` or ``high`` (the value when the bound is unknown)."""
        if which == "low":
            return self.low if self.low is not None else self.value
        if which == "high":
            return self.high if self.high is not None else self.value
        return self.value

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping."""
        return {
            "metric": self.metric,
            "subject": self.subject,
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "status": self.status,
            "n": self.n,
            "details": dict(self.details),
        }


def wilson_interval(successes: float, trials: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion (``(nan, nan)`` without trials).

    Checked against ``statsmodels``-style formulas in the tests; well-behaved at 0 and
    ``trials`` successes, unlike the normal approximation.
    """
    if trials <= 0:
        return math.nan, math.nan
    p = min(max(successes / trials, 0.0), 1.0)
    z2 = z * z
    denominator = 1.0 + z2 / trials
    centre = (p + z2 / (2.0 * trials)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / trials + z2 / (4.0 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def rate_measurement(
    metric: str,
    count: float,
    rows: float,
    objective: float | None,
    *,
    subject: str = "",
    baseline: float = 0.0,
    details: Mapping[str, Any] | None = None,
) -> Measurement:
    """A proportion ``count / rows`` minus ``baseline``, with its Wilson interval.

    Parameters
    ----------
    metric, subject
        What is measured.
    count, rows
        Events and trials in the window.
    objective
        The largest acceptable value; status ``drift`` when the interval lies wholly
        above it, ``warn`` when only the value does, else ``ok``. None: no status.
    baseline
        Subtracted from the value and its bounds (e.g. the reference null share), so
        the measurement is the increase over what is normal.
    """
    rows = float(rows)
    if rows <= 0:
        return Measurement(metric, None, subject, n=0, details=dict(details or {}))
    value = float(count) / rows - baseline
    low, high = wilson_interval(float(count), rows)
    low, high = low - baseline, high - baseline
    status = None
    if objective is not None:
        status = "drift" if low > objective else "warn" if value > objective else "ok"
    return Measurement(
        metric,
        value,
        subject,
        low=low,
        high=high,
        status=status,
        n=int(rows),
        details=dict(details or {}),
    )
