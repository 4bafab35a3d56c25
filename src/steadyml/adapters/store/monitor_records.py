"""Monitoring records as the store hands them back, and their conversion from rows.

Alerts, incidents and incident events are the core's own types
(:mod:`steadyml.core.monitoring.incidents`), so the runner, the CLI and the dashboard
share one vocabulary; metric points, cursors and stored events are plain records here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from steadyml.adapters.store.tables import AlertRow, IncidentEventRow, IncidentRow, MetricPointRow
from steadyml.core.clock import utc
from steadyml.core.monitoring import Alert, Incident

__all__ = [
    "CursorState",
    "EventRecord",
    "MetricPoint",
    "ProfileKey",
    "alert_of",
    "event_of",
    "incident_of",
    "point_of",
]

#: ``(model_version, window, window_start, kind)`` of a stored window payload.
ProfileKey = tuple[str, str, datetime, str]


@dataclass(frozen=True)
class CursorState:
    """Where the monitor stands in one log: segment positions, a generation, counters.

    ``generation`` grows by one with every pass that moves the cursor; a runner that
    finds a generation other than the one it started from knows another runner moved
    it, and discards its pass.
    """

    positions: Mapping[str, int] = field(default_factory=dict)
    generation: int = 0
    stats: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricPoint:
    """One stored metric of one window."""

    service: str
    model_version: str
    window: str
    window_start: datetime
    metric: str
    subject: str
    value: float | None
    low: float | None = None
    high: float | None = None
    status: str | None = None
    n: int = 0

    @property
    def key(self) -> tuple[str, str, datetime, str, str]:
        """The unique key within a service."""
        return (self.model_version, self.window, self.window_start, self.metric, self.subject)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``window_start`` as ISO 8601)."""
        return {
            "service": self.service,
            "model_version": self.model_version,
            "window": self.window,
            "window_start": self.window_start.isoformat(),
            "metric": self.metric,
            "subject": self.subject,
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "status": self.status,
            "n": self.n,
        }


@dataclass(frozen=True)
class EventRecord:
    """A stored incident event, in the order sinks and the responder consume them."""

    id: int
    incident_id: int
    service: str
    kind: str
    at: datetime
    payload: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "incident_id": self.incident_id,
            "service": self.service,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "payload": dict(self.payload),
        }


def _opt(moment: datetime | None) -> datetime | None:
    return None if moment is None else utc(moment)


def point_of(row: MetricPointRow) -> MetricPoint:
    """A metric point from its row."""
    return MetricPoint(
        service=row.service,
        model_version=row.model_version,
        window=row.window,
        window_start=utc(row.window_start),
        metric=row.metric,
        subject=row.subject,
        value=row.value,
        low=row.low,
        high=row.high,
        status=row.status,
        n=row.n,
    )


def incident_of(row: IncidentRow) -> Incident:
    """An incident from its row."""
    return Incident(
        key=row.key,
        service=row.service,
        incident_type=row.incident_type,
        triage=row.triage,
        severity=row.severity,
        status=row.status,
        title=row.title,
        opened_at=utc(row.opened_at),
        first_seen=utc(row.first_seen),
        last_seen=utc(row.last_seen),
        features=tuple(row.features),
        versions=tuple(row.versions),
        hint=tuple(row.hint),
        runbook=row.runbook,
        resolved_at=_opt(row.resolved_at),
        id=row.id,
    )


def alert_of(row: AlertRow, incident_key: str) -> Alert:
    """An alert from its row (``incident_key`` of its incident)."""
    return Alert(
        service=row.service,
        rule=row.rule,
        metric=row.metric,
        subject=row.subject,
        model_version=row.model_version,
        window=row.window,
        severity=row.severity,
        incident_type=row.incident_type,
        triage=row.triage,
        status=row.status,
        opened_at=utc(row.opened_at),
        first_seen=utc(row.first_seen),
        last_seen=utc(row.last_seen),
        incident_key=incident_key,
        value=row.value,
        threshold=row.threshold,
        resolved_at=_opt(row.resolved_at),
        evidence=dict(row.evidence),
        id=row.id,
    )


def event_of(row: IncidentEventRow) -> EventRecord:
    """An event record from its row."""
    return EventRecord(
        id=row.id,
        incident_id=row.incident_id,
        service=row.service,
        kind=row.kind,
        at=utc(row.at),
        payload=dict(row.payload),
    )
