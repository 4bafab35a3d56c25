"""The monitor's part of the metadata store: window profiles, metric series, incidents.

:class:`MonitorStore` shares the engine of a :class:`~steadyml.adapters.store.Store`
(tables of migration ``0002``). The monitor runner writes through
:meth:`MonitorStore.transaction`, one transaction per pass that also moves the log
cursors; the CLI, the dashboard, sinks and the responder read aggregates only: metric
series, incidents with their alerts and timelines, and incident events in id order.

Examples
--------
>>> # with Store.open(url) as store:
>>> #     monitor = MonitorStore(store)
>>> #     for incident in monitor.incidents("employment", status="open"): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from steadyml.adapters.store.monitor_records import (
    CursorState,
    EventRecord,
    MetricPoint,
    alert_of,
    event_of,
    incident_of,
    point_of,
)
from steadyml.adapters.store.monitor_tx import MonitorTx, json_safe
from steadyml.adapters.store.store import _WRITE, Store, _guard
from steadyml.adapters.store.tables import (
    AlertRow,
    AuditRow,
    IncidentEventRow,
    IncidentRow,
    MetricPointRow,
    MonitorCursorRow,
    WindowProfileRow,
)
from steadyml.core.clock import Clock, SystemClock, utc
from steadyml.core.monitoring import Alert, Incident
from steadyml.errors import ConfigError, NotFoundError, SteadyError

__all__ = ["MonitorConflict", "MonitorStore"]


class MonitorConflict(SteadyError):
    """Another monitor runner moved the cursor first; this pass was discarded."""

    kind = "monitor conflict"
    http_status = 409
    exit_code = 8


class MonitorStore:
    """Monitoring records in the metadata store.

    Parameters
    ----------
    store
        An open store (its engine is shared).
    clock
        The monitor's clock: stamps ``updated_at`` of what a transaction writes.
    """

    def __init__(self, store: Store, clock: Clock | None = None) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        engine = store.engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(engine.execution_options(**{_WRITE: True}))

    @contextmanager
    def transaction(self, service: str) -> Iterator[MonitorTx]:
        """One write transaction for ``service``: committed on exit, rolled back on error.

        Raises
        ------
        MonitorConflict
            When another runner created the service's cursor at the same time.
        StoreUnavailable
            When the database cannot be reached or written.
        """
        with _guard(self.store.url):
            try:
                with self._write.begin() as session:
                    yield MonitorTx(session, service, self.clock.now())
            except IntegrityError as exc:
                raise MonitorConflict(
                    "monitor", service, "another runner wrote the same windows; retry the pass"
                ) from exc

    # -- reads ---------------------------------------------------------------------

    def cursor(self, service: str, log: str = "predictions") -> CursorState:
        """The stored cursor of one log (empty when the monitor never ran)."""
        with _guard(self.store.url), self._read() as session:
            statement = select(MonitorCursorRow).where(
                MonitorCursorRow.service == service, MonitorCursorRow.log == log
            )
            row = session.scalars(statement).first()
            if row is None:
                return CursorState()
            return CursorState(dict(row.positions), row.generation, dict(row.stats))

    def metric_series(
        self,
        service: str,
        metric: str,
        *,
        window: str,
        subject: str | None = None,
        version: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[MetricPoint]:
        """Stored points of one metric, oldest window first (all subjects when None)."""
        statement = select(MetricPointRow).where(
            MetricPointRow.service == service,
            MetricPointRow.metric == metric,
            MetricPointRow.window == window,
        )
        if subject is not None:
            statement = statement.where(MetricPointRow.subject == subject)
        if version is not None:
            statement = statement.where(MetricPointRow.model_version == version)
        if start is not None:
            statement = statement.where(MetricPointRow.window_start >= utc(start))
        if end is not None:
            statement = statement.where(MetricPointRow.window_start < utc(end))
        statement = statement.order_by(MetricPointRow.window_start, MetricPointRow.id)
        with _guard(self.store.url), self._read() as session:
            return [point_of(row) for row in session.scalars(statement)]

    def window_payload(
        self, service: str, version: str, window: str, start: datetime, kind: str
    ) -> bytes | None:
        """A stored window payload (profile, summary, labels), or None."""
        statement = select(WindowProfileRow.payload).where(
            WindowProfileRow.service == service,
            WindowProfileRow.model_version == version,
            WindowProfileRow.window == window,
            WindowProfileRow.window_start == utc(start),
            WindowProfileRow.kind == kind,
        )
        with _guard(self.store.url), self._read() as session:
            found = session.scalars(statement).first()
        return None if found is None else bytes(found)

    def incidents(
        self,
        service: str | None = None,
        *,
        status: Literal["open", "resolved", "all"] = "all",
        limit: int = 100,
    ) -> list[Incident]:
        """Incidents, newest first (of one service, or of all)."""
        if status not in ("open", "resolved", "all"):
            raise ConfigError("status", status, "use 'open', 'resolved' or 'all'")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigError("limit", limit, "give a positive number of incidents")
        statement = select(IncidentRow)
        if service is not None:
            statement = statement.where(IncidentRow.service == service)
        if status != "all":
            statement = statement.where(IncidentRow.status == status)
        statement = statement.order_by(IncidentRow.opened_at.desc(), IncidentRow.id.desc())
        with _guard(self.store.url), self._read() as session:
            return [incident_of(row) for row in session.scalars(statement.limit(limit))]

    def incident(self, incident_id: int) -> Incident:
        """One incident by id.

        Raises
        ------
        NotFoundError
            When there is no such incident.
        """
        with _guard(self.store.url), self._read() as session:
            row = session.get(IncidentRow, incident_id)
            if row is None:
                raise NotFoundError(
                    "incident", incident_id, "list incidents with 'steadyml incidents'"
                )
            return incident_of(row)

    def alerts(self, incident_id: int) -> list[Alert]:
        """The alerts of one incident, oldest first."""
        statement = (
            select(AlertRow, IncidentRow.key)
            .join(IncidentRow, AlertRow.incident_id == IncidentRow.id)
            .where(AlertRow.incident_id == incident_id)
            .order_by(AlertRow.opened_at, AlertRow.id)
        )
        with _guard(self.store.url), self._read() as session:
            return [alert_of(row, key) for row, key in session.execute(statement)]

    def events(
        self,
        service: str | None = None,
        *,
        incident_id: int | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[EventRecord]:
        """Incident events with ``id > after_id``, in id order (a consumer's cursor)."""
        statement = select(IncidentEventRow).where(IncidentEventRow.id > after_id)
        if service is not None:
            statement = statement.where(IncidentEventRow.service == service)
        if incident_id is not None:
            statement = statement.where(IncidentEventRow.incident_id == incident_id)
        statement = statement.order_by(IncidentEventRow.id).limit(limit)
        with _guard(self.store.url), self._read() as session:
            return [event_of(row) for row in session.scalars(statement)]

    # -- people's actions on incidents -------------------------------------------------

    def acknowledge(
        self, incident_id: int, *, actor: str, reason: str, evidence: dict[str, Any] | None = None
    ) -> EventRecord:
        """Record that ``actor`` is on ``incident_id``: an ``acknowledged`` event, an audit entry.

        Both are written in one transaction; acknowledging twice records twice.

        Raises
        ------
        NotFoundError
            When there is no such incident.
        ConfigError
            When ``actor`` or ``reason`` is empty.
        """
        return self._act(
            incident_id,
            kind="acknowledged",
            action="acknowledge",
            actor=actor,
            reason=reason,
            evidence=evidence,
        )

    def resolve(
        self, incident_id: int, *, actor: str, reason: str, evidence: dict[str, Any] | None = None
    ) -> EventRecord:
        """Resolve ``incident_id`` by hand: the incident and its alerts are closed.

        A ``resolved`` event (with ``actor`` and ``reason``) and an audit entry are written
        in the same transaction. If the condition persists, the monitor opens a new alert
        (and incident) on its next pass.

        Raises
        ------
        NotFoundError
            When there is no such incident.
        ConfigError
            When ``actor`` or ``reason`` is empty, or the incident is already resolved.
        """
        return self._act(
            incident_id,
            kind="resolved",
            action="resolve",
            actor=actor,
            reason=reason,
            evidence=evidence,
        )

    def _act(
        self,
        incident_id: int,
        *,
        kind: str,
        action: str,
        actor: str,
        reason: str,
        evidence: dict[str, Any] | None,
    ) -> EventRecord:
        for name, value in (("actor", actor), ("reason", reason)):
            if not isinstance(value, str) or not value.strip() or len(value) > 2000:
                raise ConfigError(name, value, "give a non-empty text of at most 2000 characters")
        now = self.clock.now()
        details = json_safe(dict(evidence or {}))
        with _guard(self.store.url), self._write.begin() as session:
            row = session.get(IncidentRow, incident_id)
            if row is None:
                raise NotFoundError(
                    "incident", incident_id, "list incidents with 'steadyml incidents'"
                )
            if kind == "resolved":
                if row.status != "open":
                    raise ConfigError("incident", incident_id, "it is already resolved")
                row.status, row.resolved_at, row.updated_at = "resolved", now, now
                alerts = select(AlertRow).where(
                    AlertRow.incident_id == incident_id, AlertRow.status != "resolved"
                )
                for alert in session.scalars(alerts):
                    alert.status, alert.resolved_at = "resolved", now
            payload = {"actor": actor, "reason": reason, "manual": True, **details}
            event = IncidentEventRow(
                incident_id=incident_id, service=row.service, kind=kind, at=now, payload=payload
            )
            session.add(event)
            session.add(
                AuditRow(
                    service=row.service,
                    action=action,
                    actor=actor,
                    reason=reason,
                    target=f"incident #{incident_id}",
                    incident_id=incident_id,
                    evidence=details,
                    at=now,
                )
            )
            session.flush()
            return event_of(event)
