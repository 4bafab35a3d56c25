"""What a drift check returns: the whole-period decisions, per-window decisions, and context.

The faces (terminal table, JSON, HTML report) render a :class:`DriftCheck`; none of
them recomputes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from steadyml.core.drift import DatasetDriftResult, Status
from steadyml.core.durations import format_duration
from steadyml.errors import ConfigError

__all__ = ["DriftCheck", "FailOn", "WindowDrift"]


class FailOn(StrEnum):
    """When a check counts as failed (for CI exit codes).

    ``warn`` fails on warn, drift or a schema mismatch; ``drift`` on drift or a schema
    mismatch (a column gone or of a wrong type breaks the model as surely as drift);
    ``never`` never fails.
    """

    WARN = "warn"
    DRIFT = "drift"
    NEVER = "never"

    @classmethod
    def parse(cls, value: str | FailOn) -> FailOn:
        """Parse ``--fail-on``; raises :class:`~steadyml.errors.ConfigError`."""
        try:
            return cls(value)
        except ValueError:
            raise ConfigError(
                "--fail-on", value, f"use one of {', '.join(m.value for m in cls)}"
            ) from None

    def failing(self) -> frozenset[Status]:
        """The statuses that make a check fail."""
        if self is FailOn.WARN:
            return frozenset({Status.WARN, Status.DRIFT, Status.SCHEMA_MISMATCH})
        if self is FailOn.DRIFT:
            return frozenset({Status.DRIFT, Status.SCHEMA_MISMATCH})
        return frozenset()


@dataclass(frozen=True)
class WindowDrift:
    """The decisions for one time window ``[start, end)``."""

    start: datetime
    end: datetime
    result: DatasetDriftResult

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            **self.result.to_dict(),
        }


@dataclass(frozen=True)
class DriftCheck:
    """The outcome of ``steadyml drift`` / :func:`check_drift`.

    Attributes
    ----------
    reference, current
        What was compared, as people name it (paths, or ``champion (v3)``).
    result
        Decisions over the whole current data.
    windows
        Decisions per time window (empty without a time column and window width).
    time_column, window
        The windowing, when asked for.
    skipped
        Columns left out, each with the reason (only in one table, unsupported type,
        predictions not computed).
    notes
        Anything else a reader should know (rows without a time, ...).
    seconds
        Wall time of the check.
    """

    reference: str
    current: str
    result: DatasetDriftResult
    windows: tuple[WindowDrift, ...] = ()
    time_column: str | None = None
    window: timedelta | None = None
    skipped: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def status(self) -> Status:
        """The most severe status of the whole period and of every window."""
        statuses = [self.result.status, *(w.result.status for w in self.windows)]
        return max(statuses, key=lambda s: s.severity)

    @property
    def features(self) -> tuple[str, ...]:
        """The compared features, in reference order."""
        return tuple(r.feature for r in self.result.features)

    def failed(self, fail_on: FailOn | str = FailOn.DRIFT) -> bool:
        """Whether any feature, over the whole period or in any window, hits ``fail_on``."""
        failing = FailOn.parse(fail_on).failing()
        results = [self.result, *(w.result for w in self.windows)]
        return any(r.status in failing for result in results for r in result.features)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping (non-finite numbers are ``null``)."""
        return {
            "reference": self.reference,
            "current": self.current,
            "status": self.status.value,
            "seconds": round(self.seconds, 3),
            "time_column": self.time_column,
            "window": None if self.window is None else format_duration(self.window),
            "skipped": [{"column": c, "reason": r} for c, r in self.skipped],
            "notes": list(self.notes),
            "result": self.result.to_dict(),
            "windows": [w.to_dict() for w in self.windows],
        }
