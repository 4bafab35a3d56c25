"""One monitor pass inside one database transaction.

The runner reads and writes everything of a pass through a :class:`MonitorTx`: the
log cursors (locked first, so that two runners of one service take turns), the window
payloads it merges into, the metric series, alerts, incidents and incident events.
Either all of it is committed together with the moved cursors, or none of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from steadyml.adapters.store.monitor_records import (
    CursorState,
    MetricPoint,
    ProfileKey,
    alert_of,
    incident_of,
)
from steadyml.adapters.store.tables import (
    AlertRow,
    IncidentEventRow,
    IncidentRow,
    MetricPointRow,
    MonitorCursorRow,
    WindowProfileRow,
)
from steadyml.core.clock import utc
from steadyml.core.monitoring import Alert, Incident, IncidentEvent

__all__ = ["MonitorTx", "json_safe"]

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
_VALUE_NAMES = ("value", "low", "high", "status", "n")
#: A metric point's columns after its service, in :class:`MetricPoint` order.
_POINT_COLUMNS = (
    MetricPointRow.model_version,
    MetricPointRow.window,
    MetricPointRow.window_start,
    MetricPointRow.metric,
    MetricPointRow.subject,
    MetricPointRow.value,
    MetricPointRow.low,
    MetricPointRow.high,
    MetricPointRow.status,
    MetricPointRow.n,
)


def json_safe(value: object) -> Any:
    """``value`` as plain JSON types (datetimes as ISO text, NumPy as numbers)."""
    return orjson.loads(orjson.dumps(value, option=_OPTIONS, default=str))


class MonitorTx:
    """The monitor's view of the store inside one write transaction.

    Parameters
    ----------
    session
        An open session inside a write transaction.
    service
        The service every read and write is about.
    now
        The monitor clock's time, stamped on what is written.
    """

    def __init__(self, session: Session, service: str, now: datetime) -> None:
        self.session = session
        self.service = service
        self.now = utc(now)
        self._cursors: dict[str, MonitorCursorRow] = {}
        self._profiles: dict[ProfileKey, WindowProfileRow] = {}
        self._loaded: dict[str, set[datetime]] = {}

    # -- cursors -------------------------------------------------------------------

    def cursor(self, log: str) -> CursorState:
        """The stored cursor of ``log`` (empty when none), locked until the commit."""
        statement = (
            select(MonitorCursorRow)
            .where(MonitorCursorRow.service == self.service, MonitorCursorRow.log == log)
            .with_for_update()
        )
        row = self.session.scalars(statement).first()
        if row is None:
            return CursorState()
        self._cursors[log] = row
        return CursorState(dict(row.positions), row.generation, dict(row.stats))

    def save_cursor(self, log: str, positions: Mapping[str, int], stats: Mapping[str, Any]) -> int:
        """Store new positions and counters of ``log``; returns the new generation."""
        row = self._cursors.get(log)
        if row is None:
            row = MonitorCursorRow(
                service=self.service, log=log, positions={}, generation=0, stats={}
            )
            self.session.add(row)
            self._cursors[log] = row
        row.positions = dict(sorted(positions.items()))
        row.generation = row.generation + 1
        row.stats = json_safe(dict(stats))
        row.updated_at = self.now
        return row.generation

    # -- window payloads -------------------------------------------------------------

    def panes(self, window: str, starts: Iterable[datetime]) -> dict[ProfileKey, bytes]:
        """Every stored payload (any version, any kind) of the given panes of ``window``."""
        wanted = {utc(s) for s in starts}
        todo = wanted - self._loaded.get(window, set())
        if todo:
            statement = select(WindowProfileRow).where(
                WindowProfileRow.service == self.service,
                WindowProfileRow.window == window,
                WindowProfileRow.window_start.in_(todo),
            )
            for row in self.session.scalars(statement):
                key = (row.model_version, row.window, utc(row.window_start), row.kind)
                self._profiles.setdefault(key, row)
            self._loaded.setdefault(window, set()).update(todo)
        return {
            key: bytes(row.payload)
            for key, row in self._profiles.items()
            if key[1] == window and key[2] in wanted
        }

    def profiles(self, keys: Iterable[ProfileKey]) -> dict[ProfileKey, bytes]:
        """The stored payloads of ``keys`` (missing ones are left out)."""
        wanted = set(keys)
        by_window: dict[str, set[datetime]] = {}
        for key in wanted:
            by_window.setdefault(key[1], set()).add(key[2])
        for window, starts in by_window.items():
            self.panes(window, starts)
        return {k: bytes(self._profiles[k].payload) for k in wanted if k in self._profiles}

    def put_profiles(self, items: Mapping[ProfileKey, tuple[int, bytes]]) -> None:
        """Insert or replace payloads: ``key -> (rows, payload)``."""
        self.profiles(items)  # load what exists
        for key, (rows, payload) in items.items():
            row = self._profiles.get(key)
            if row is None:
                version, window, start, kind = key
                row = WindowProfileRow(
                    service=self.service,
                    model_version=version,
                    window=window,
                    window_start=start,
                    kind=kind,
                )
                self.session.add(row)
                self._profiles[key] = row
            row.rows = int(rows)
            row.payload = payload
            row.updated_at = self.now

    # -- metric series ---------------------------------------------------------------

    def series(
        self,
        window: str,
        metrics: Iterable[str],
        start: datetime,
        end: datetime,
        versions: Iterable[str] | None = None,
    ) -> list[MetricPoint]:
        """Points of ``metrics`` in windows starting in ``[start, end]``, oldest first."""
        statement = select(*_POINT_COLUMNS).where(
            MetricPointRow.service == self.service,
            MetricPointRow.window == window,
            MetricPointRow.metric.in_(set(metrics)),
            MetricPointRow.window_start >= utc(start),
            MetricPointRow.window_start <= utc(end),
        )
        if versions is not None:
            statement = statement.where(MetricPointRow.model_version.in_(set(versions)))
        statement = statement.order_by(MetricPointRow.window_start, MetricPointRow.id)
        service = self.service
        return [
            MetricPoint(service, version, label, utc(at), metric, subject, *rest)
            for version, label, at, metric, subject, *rest in self.session.execute(statement)
        ]

    def put_series(self, points: Sequence[MetricPoint]) -> None:
        """Insert or replace metric points (unique per version, window, start, metric, subject).

        Points stored with the same value, interval, status and rows are left as they
        are; the others are written in one statement for new and one for changed
        points (plain rows, not tracked objects: a pass writes hundreds of points).
        """
        if not points:
            return
        latest = {point.key: point for point in points}  # the last of a key wins
        statement = select(MetricPointRow.id, *_POINT_COLUMNS).where(
            MetricPointRow.service == self.service,
            MetricPointRow.window.in_({p.window for p in points}),
            MetricPointRow.window_start.in_({p.window_start for p in points}),
            MetricPointRow.metric.in_({p.metric for p in points}),
        )
        stored: dict[tuple[str, str, datetime, str, str], tuple[int, tuple[Any, ...]]] = {}
        for row_id, version, label, at, metric, subject, *rest in self.session.execute(statement):
            stored[(version, label, utc(at), metric, subject)] = (row_id, tuple(rest))
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for key, point in latest.items():
            values = (point.value, point.low, point.high, point.status, point.n)
            found = stored.get(key)
            if found is not None and found[1] == values:
                continue
            row = dict(zip(_VALUE_NAMES, values, strict=True), updated_at=self.now)
            if found is not None:
                updates.append({"id": found[0], **row})
            else:
                inserts.append(
                    {
                        "service": self.service,
                        "model_version": point.model_version,
                        "window": point.window,
                        "window_start": point.window_start,
                        "metric": point.metric,
                        "subject": point.subject,
                        **row,
                    }
                )
        if inserts:
            self.session.execute(insert(MetricPointRow), inserts)
        if updates:
            self.session.execute(update(MetricPointRow), updates)

    # -- alerts and incidents --------------------------------------------------------

    def open_incidents(self) -> list[Incident]:
        """The service's open incidents."""
        statement = select(IncidentRow).where(
            IncidentRow.service == self.service, IncidentRow.status == "open"
        )
        return [incident_of(row) for row in self.session.scalars(statement)]

    def active_alerts(self) -> list[Alert]:
        """The service's alerts that are not resolved."""
        statement = (
            select(AlertRow, IncidentRow.key)
            .join(IncidentRow, AlertRow.incident_id == IncidentRow.id)
            .where(AlertRow.service == self.service, AlertRow.status != "resolved")
        )
        return [alert_of(row, key) for row, key in self.session.execute(statement)]

    def apply(
        self,
        incidents: Sequence[Incident],
        alerts: Sequence[Alert],
        events: Sequence[IncidentEvent],
    ) -> dict[str, int]:
        """Write changed incidents, alerts and new events; returns incident key -> id."""
        ids = self._write_incidents(incidents)
        missing = {a.incident_key for a in alerts} | {e.incident_key for e in events}
        missing -= set(ids)
        if missing:
            statement = select(IncidentRow.key, IncidentRow.id).where(IncidentRow.key.in_(missing))
            ids.update(dict(self.session.execute(statement).all()))
        for alert in alerts:
            row = None if alert.id is None else self.session.get(AlertRow, alert.id)
            if row is None:
                row = AlertRow()
                self.session.add(row)
            _fill_alert(row, alert, ids[alert.incident_key])
        for event in events:
            self.session.add(
                IncidentEventRow(
                    incident_id=ids[event.incident_key],
                    service=self.service,
                    kind=event.kind,
                    at=utc(event.at),
                    payload=json_safe(dict(event.payload)),
                )
            )
        self.session.flush()
        return ids

    def _write_incidents(self, incidents: Sequence[Incident]) -> dict[str, int]:
        ids: dict[str, int] = {}
        keys = [i.key for i in incidents]
        rows = {}
        if keys:
            statement = select(IncidentRow).where(IncidentRow.key.in_(keys))
            rows = {row.key: row for row in self.session.scalars(statement)}
        for incident in incidents:
            row = rows.get(incident.key)
            if row is None:
                row = IncidentRow(key=incident.key, service=self.service)
                self.session.add(row)
            row.incident_type, row.triage = incident.incident_type, incident.triage
            row.severity, row.status, row.title = incident.severity, incident.status, incident.title
            row.opened_at, row.first_seen = incident.opened_at, incident.first_seen
            row.last_seen, row.resolved_at = incident.last_seen, incident.resolved_at
            row.features, row.versions = list(incident.features), list(incident.versions)
            row.hint = json_safe(list(incident.hint))
            row.runbook, row.updated_at = incident.runbook, self.now
            self.session.flush()
            ids[incident.key] = row.id
        return ids


def _fill_alert(row: AlertRow, alert: Alert, incident_id: int) -> None:
    row.service, row.rule, row.metric = alert.service, alert.rule, alert.metric
    row.subject, row.model_version, row.window = alert.subject, alert.model_version, alert.window
    row.severity, row.incident_type, row.triage = alert.severity, alert.incident_type, alert.triage
    row.status, row.opened_at, row.first_seen = alert.status, alert.opened_at, alert.first_seen
    row.last_seen, row.resolved_at = alert.last_seen, alert.resolved_at
    row.value, row.threshold = alert.value, alert.threshold
    row.incident_id, row.evidence = incident_id, json_safe(dict(alert.evidence))
