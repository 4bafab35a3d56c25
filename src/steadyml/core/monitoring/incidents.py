"""Alerts and incidents: deduplicated, grouped per cause, triaged, resolved when clear.

An :class:`Alert` is one firing episode of one rule on one series (model version and
subject): while the rule keeps firing the same alert is updated, never duplicated. Each
alert belongs to an :class:`Incident`, one per cause: alerts of the same incident type
share the open incident; a data alert on a feature joins an open incident that already
names the feature (a unit change is both drift and out-of-range); a *symptom*
(prediction drift, a KPI or performance drop, fallbacks) joins an open incident of
another type - its likely cause - instead of opening its own. An incident carries the
affected features and versions, a triage class (infrastructure, data or model) and a
root-cause hint: the features that moved, since when, ranked by drift x feature
importance. It resolves itself once every alert
stayed clear for ``resolve_after`` complete windows.

:class:`IncidentBook` is the state machine: give it the open alerts and incidents and
the rule states of a monitor pass; it returns what changed and the events (opened,
alert, escalated, resolved, ...) that sinks and the responder consume.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from steadyml.core.monitoring.catalog import NOT_CAUSES, SYMPTOMS, triage_of
from steadyml.core.monitoring.measurements import Measurement, status_rank
from steadyml.core.monitoring.rules import AlertRule, RuleState

__all__ = ["Alert", "Incident", "IncidentBook", "IncidentEvent", "root_cause_hint"]

FIRING, CLEARING, RESOLVED, OPEN = "firing", "clearing", "resolved", "open"


@dataclass(frozen=True)
class Alert:
    """One firing episode of a rule on one series.

    ``first_seen``/``last_seen`` are event times (start of the first breaching window,
    end of the latest); ``opened_at`` is the monitor's clock when it fired.
    """

    service: str
    rule: str
    metric: str
    subject: str
    model_version: str
    window: str
    severity: str
    incident_type: str
    triage: str
    status: str
    opened_at: datetime
    first_seen: datetime
    last_seen: datetime
    incident_key: str
    value: float | None = None
    threshold: float | None = None
    resolved_at: datetime | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None

    @property
    def series(self) -> tuple[str, str, str]:
        """``(rule, model_version, subject)``: what deduplicates alerts."""
        return (self.rule, self.model_version, self.subject)

    @property
    def active(self) -> bool:
        """True until resolved."""
        return self.status != RESOLVED


@dataclass(frozen=True)
class Incident:
    """A group of alerts with one likely cause."""

    key: str
    service: str
    incident_type: str
    triage: str
    severity: str
    status: str
    title: str
    opened_at: datetime
    first_seen: datetime
    last_seen: datetime
    features: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    hint: Sequence[Mapping[str, Any]] = ()
    runbook: str = ""
    resolved_at: datetime | None = None
    id: int | None = None

    @property
    def open(self) -> bool:
        """True until resolved."""
        return self.status == OPEN


@dataclass(frozen=True)
class IncidentEvent:
    """Something that happened to an incident; sinks and the responder consume these."""

    incident_key: str
    kind: str
    at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)


def _severity(a: str, b: str) -> str:
    return min(a, b)  # "P0" < "P1" < ...: the most urgent


def _title(incident_type: str, features: Sequence[str], versions: Sequence[str]) -> str:
    what = incident_type.replace("_", " ")
    if features:
        shown = ", ".join(features[:3]) + (" ..." if len(features) > 3 else "")
        return f"{what}: {shown}"
    return f"{what} on version {', '.join(versions)}" if versions else what


def _evidence(state: RuleState) -> dict[str, Any]:
    latest = state.latest
    return {
        "condition": state.rule.describe(),
        "breached_windows": [t.isoformat() for t in state.breaches],
        "measurement": None if latest is None else latest.to_dict(),
        "runbook": state.rule.runbook,
    }


def root_cause_hint(
    drift: Sequence[Measurement],
    importance: Mapping[str, float],
    since: Mapping[str, datetime] | None = None,
    limit: int = 5,
) -> list[dict[str, Any]]:
    """Features that moved, ranked by drift effect x feature importance.

    Parameters
    ----------
    drift
        ``drift.effect`` measurements of one window (one per feature).
    importance
        Share of the model's output movement due to each feature; a feature the model
        barely uses still ranks, below those it relies on.
    since
        When each feature started to move (start of its first flagged window).
    """
    since = since or {}
    moved = [m for m in drift if m.metric == "drift.effect" and status_rank(m.status) >= 2]
    ranked: list[dict[str, Any]] = []
    for m in moved:
        weight = float(importance.get(m.subject, 0.0))
        ranked.append(
            {
                "feature": m.subject,
                "status": m.status,
                "effect": m.value,
                "importance": weight,
                "score": (m.value or 0.0) * (weight + 0.01),
                "since": since[m.subject].isoformat() if m.subject in since else None,
            }
        )
    ranked.sort(key=lambda r: (-float(r["score"]), str(r["feature"])))
    return ranked[:limit]


class IncidentBook:
    """The alert and incident state machine of one service for one monitor pass.

    Parameters
    ----------
    service
        The service.
    alerts, incidents
        The active alerts and open incidents, as stored.
    now
        The monitor's clock (event time).
    """

    def __init__(
        self, service: str, alerts: Sequence[Alert], incidents: Sequence[Incident], now: datetime
    ) -> None:
        self.service = service
        self.now = now
        self._alerts = {a.series: a for a in alerts if a.active}
        self._incidents = {i.key: i for i in incidents if i.open}
        self._changed_alerts: dict[tuple[str, str, str], Alert] = {}
        self._changed_incidents: set[str] = set()
        self.events: list[IncidentEvent] = []

    # -- results -------------------------------------------------------------------

    @property
    def changed_alerts(self) -> list[Alert]:
        """Alerts created or updated in this pass (``id`` None: new)."""
        return list(self._changed_alerts.values())

    @property
    def changed_incidents(self) -> list[Incident]:
        """Incidents created or updated in this pass (``id`` None: new)."""
        return [self._incidents[k] for k in sorted(self._changed_incidents)]

    def incident(self, key: str) -> Incident:
        """An incident known to this book."""
        return self._incidents[key]

    # -- transitions ---------------------------------------------------------------

    def apply(self, states: Sequence[RuleState]) -> None:
        """Update alerts from rule states: causes first, so that symptoms find them."""
        ordered = sorted(states, key=lambda s: (s.rule.incident in SYMPTOMS, s.rule.name))
        for state in ordered:
            self._apply(state)
        self._resolve_incidents()

    def _apply(self, state: RuleState) -> None:
        rule = state.rule
        series = (rule.name, state.version, state.subject)
        alert = self._alerts.get(series)
        latest = state.latest
        value = None if latest is None else latest.value
        if state.firing:
            window_end = state.latest_start
            if alert is None:
                first = min(state.breaches) if state.breaches else state.latest_start
                incident = self._incident_for(rule, state.version, state.subject, first)
                alert = Alert(
                    service=self.service,
                    rule=rule.name,
                    metric=rule.metric,
                    subject=state.subject,
                    model_version=state.version,
                    window=rule.window,
                    severity=rule.severity,
                    incident_type=rule.incident,
                    triage=rule.triage,
                    status=FIRING,
                    opened_at=self.now,
                    first_seen=first,
                    last_seen=window_end,
                    incident_key=incident.key,
                    value=value,
                    threshold=rule.threshold,
                    evidence=_evidence(state),
                )
                self._event(incident.key, "alert", alert)
            else:
                if alert.status == CLEARING:
                    self._event(alert.incident_key, "alert_refiring", alert)
                alert = replace(
                    alert,
                    status=FIRING,
                    last_seen=max(alert.last_seen, window_end),
                    value=value,
                    evidence=_evidence(state),
                )
            self._store(alert)
            self._absorb(alert)
        elif alert is not None:
            status = RESOLVED if state.clear else CLEARING
            if status != alert.status:
                resolved_at = self.now if status == RESOLVED else None
                alert = replace(alert, status=status, resolved_at=resolved_at, value=value)
                self._store(alert)
                if status == RESOLVED:
                    self._event(alert.incident_key, "alert_resolved", alert)

    def _store(self, alert: Alert) -> None:
        self._alerts[alert.series] = alert
        self._changed_alerts[alert.series] = alert

    def _incident_for(
        self, rule: AlertRule, version: str, subject: str, first_seen: datetime
    ) -> Incident:
        incident_type, severity = rule.incident, rule.severity
        same = [i for i in self._incidents.values() if i.incident_type == incident_type]
        if not same and subject and rule.triage == "data":  # the same feature, another symptom
            same = [i for i in self._incidents.values() if subject in i.features]
        if not same and incident_type in SYMPTOMS:
            causes = [
                i
                for i in self._incidents.values()
                if i.incident_type not in SYMPTOMS and i.incident_type not in NOT_CAUSES
            ]
            same = sorted(causes, key=lambda i: (version not in i.versions, i.opened_at))
        if same:
            return same[0]
        key = f"{incident_type}-{uuid.uuid4().hex[:12]}"
        incident = Incident(
            key=key,
            service=self.service,
            incident_type=incident_type,
            triage=triage_of(incident_type),
            severity=severity,
            status=OPEN,
            title=_title(incident_type, (), (version,)),
            opened_at=self.now,
            first_seen=first_seen,
            last_seen=first_seen,
        )
        self._incidents[key] = incident
        self._changed_incidents.add(key)
        self.events.append(IncidentEvent(key, "opened", self.now, {"type": incident_type}))
        return incident

    def _absorb(self, alert: Alert) -> None:
        incident = self._incidents[alert.incident_key]
        features = list(incident.features)
        family = alert.metric.split(".")[0]
        if alert.subject and family in ("quality", "drift") and alert.subject not in features:
            features.append(alert.subject)
        versions = sorted({*incident.versions, alert.model_version} - {"*"})
        severity = _severity(incident.severity, alert.severity)
        updated = replace(
            incident,
            severity=severity,
            features=tuple(features),
            versions=tuple(versions),
            first_seen=min(incident.first_seen, alert.first_seen),
            last_seen=max(incident.last_seen, alert.last_seen),
            title=_title(incident.incident_type, features, versions),
            runbook=incident.runbook or alert.evidence.get("runbook", ""),
        )
        if severity != incident.severity:
            self.events.append(
                IncidentEvent(incident.key, "escalated", self.now, {"severity": severity})
            )
        if updated != incident:
            self._incidents[incident.key] = updated
            self._changed_incidents.add(incident.key)

    def set_hint(self, key: str, hint: Sequence[Mapping[str, Any]]) -> None:
        """Attach a root-cause hint to an open incident (changed only if it differs)."""
        incident = self._incidents[key]
        if list(incident.hint) != list(hint):
            self._incidents[key] = replace(incident, hint=tuple(hint))
            self._changed_incidents.add(key)

    def _resolve_incidents(self) -> None:
        for key, incident in list(self._incidents.items()):
            if not incident.open:
                continue
            members = [a for a in self._alerts.values() if a.incident_key == key]
            if all(not a.active for a in members):
                self._incidents[key] = replace(incident, status=RESOLVED, resolved_at=self.now)
                self._changed_incidents.add(key)
                self.events.append(IncidentEvent(key, "resolved", self.now, {}))

    def _event(self, key: str, kind: str, alert: Alert) -> None:
        payload = {
            "rule": alert.rule,
            "metric": alert.metric,
            "subject": alert.subject,
            "version": alert.model_version,
            "severity": alert.severity,
            "value": alert.value,
        }
        self.events.append(IncidentEvent(key, kind, self.now, payload))
