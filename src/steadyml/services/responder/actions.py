"""What each responder action does, and how it is made idempotent and audited.

Every executor takes a claimed :class:`~steadyml.adapters.store.responses.ActionRecord`
and returns ``(status, result)``; the responder stores the outcome. Each one is safe to
run again after a crash between the effect and the record:

- ``fallback_mode`` sets the service mode ``fallback`` for the incident (setting it
  twice keeps one mode); the server answers with the fallback while it is set, and the
  responder clears it when the incident resolves.
- ``rollback`` moves ``champion`` back to ``previous`` unless the audit log already
  holds a rollback for this incident; it is not undone automatically.
- ``retrain`` trains a candidate on recent labelled production data (``retrain:`` in the
  spec: the prediction log joined with its labels, or the source, or both), gates it
  against the champion on the latest rows and promotes it only when the policy says
  ``auto_promote`` and the gate passed.
- ``page`` hands a notification to the sinks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.adapters.store.responses import ActionRecord, ResponseStore
from steadyml.core.monitoring import Incident
from steadyml.errors import SteadyError
from steadyml.services.workspace import Workspace

__all__ = [
    "ACTOR",
    "FALLBACK",
    "ActionOutcome",
    "Executors",
    "Notifier",
    "default_notification",
]

_log = logging.getLogger("steadyml.responder")

#: Who the audit log names for automatic actions.
ACTOR = "steadyml-responder"
#: The service mode that makes the server answer with its fallback.
FALLBACK = "fallback"

ActionOutcome = tuple[str, dict[str, Any]]


class Notifier(Protocol):
    """Where ``page`` sends its notification (the sinks dispatcher)."""

    def send(self, notification: Any) -> None:
        """Queue ``notification`` for delivery; must not block."""


def default_notification(incident: Incident, kind: str) -> dict[str, Any]:
    """A plain notification: the incident snapshot and what happened (``kind``)."""
    return {
        "kind": kind,
        "incident_id": incident.id,
        "key": incident.key,
        "service": incident.service,
        "type": incident.incident_type,
        "triage": incident.triage,
        "severity": incident.severity,
        "status": incident.status,
        "title": incident.title,
        "features": list(incident.features),
        "versions": list(incident.versions),
        "hint": [dict(h) for h in incident.hint],
        "runbook": incident.runbook,
        "first_seen": incident.first_seen.isoformat(),
        "last_seen": incident.last_seen.isoformat(),
    }


class Executors:
    """Runs actions against the workspace: registry, store and the sinks.

    Parameters
    ----------
    workspace
        Registry and store of the service.
    monitor, responses
        The monitoring and responder records.
    notifier
        The sinks dispatcher (``page`` fails, recorded, without one).
    notification_for
        Builds the notification of an incident and an event kind.
    """

    def __init__(
        self,
        workspace: Workspace,
        monitor: MonitorStore,
        responses: ResponseStore,
        *,
        notifier: Notifier | None = None,
        notification_for: Callable[[Incident, str], Any] = default_notification,
    ) -> None:
        self.workspace = workspace
        self.monitor = monitor
        self.responses = responses
        self.notifier = notifier
        self.notification_for = notification_for
        self.service = workspace.spec.service

    def audit(
        self,
        action: str,
        record: ActionRecord,
        reason: str,
        target: str,
        evidence: Mapping[str, Any],
    ) -> None:
        """Append to the audit log with the incident id and the evidence."""
        self.workspace.store.record_action(
            service=self.service,
            action=action,
            actor=ACTOR,
            reason=reason,
            target=target,
            incident_id=record.incident_id,
            evidence={"responder_action": record.id, **dict(evidence)},
            at=self.responses.clock.now(),
        )

    # -- the actions -----------------------------------------------------------------

    def fallback_mode(self, record: ActionRecord) -> ActionOutcome:
        """Switch the service to its fallback while the incident is open."""
        reason = f"incident #{record.incident_id} ({record.incident_type})"
        mode = self.responses.set_mode(
            self.service, FALLBACK, reason=reason, actor=ACTOR, incident_id=record.incident_id
        )
        self.audit("fallback_mode", record, reason, "fallback", record.evidence)
        return "done", {"mode_id": mode.id, "set_at": mode.set_at.isoformat()}

    def rollback(self, record: ActionRecord) -> ActionOutcome:
        """``champion`` back to ``previous`` (once per incident)."""
        from steadyml.services.promotion import rollback

        for entry in self.workspace.store.audit_log(self.service, limit=200):
            if entry.action == "rollback" and entry.incident_id == record.incident_id:
                return "done", {"already": True, "target": entry.target}
        reason = f"incident #{record.incident_id} ({record.incident_type})"
        try:
            change = rollback(
                self.workspace,
                reason=reason,
                actor=ACTOR,
                incident_id=record.incident_id,
                at=self.responses.clock.now(),
            )
        except SteadyError as exc:
            self.audit("rollback_failed", record, exc.one_line(), "champion", record.evidence)
            return "failed", {"error": exc.one_line()}
        return "done", {"champion": change.champion, "rolled_back": change.replaced}

    def retrain(self, record: ActionRecord, auto_promote: bool) -> ActionOutcome:
        """Train a candidate, gate it, promote it only if allowed and passed."""
        from steadyml.services.gate import run_gate
        from steadyml.services.promotion import promote
        from steadyml.services.retraining import training_data
        from steadyml.services.training import train

        spec = self.workspace.spec
        reason = f"retrain for incident #{record.incident_id} ({record.incident_type})"
        try:
            data = training_data(spec, self.workspace, now=self.responses.clock.now())
            trained = train(
                spec,
                self.workspace,
                frame=data.frame,
                in_order=data.frame is not None,
                reason=reason,
                actor=ACTOR,
                at=self.responses.clock.now(),
            )
            report = run_gate(self.workspace, candidate=trained.version)
            result: dict[str, Any] = {
                "candidate": trained.version,
                **data.describe(),
                "train_rows": trained.train_rows,
                "test_rows": trained.test_rows,
                "gate_passed": report.passed,
                "promoted": False,
            }
            if auto_promote and report.passed:
                change = promote(
                    self.workspace, reason=reason, actor=ACTOR, at=self.responses.clock.now()
                )
                result.update(promoted=True, champion=change.champion)
        except SteadyError as exc:
            self.audit("retrain_failed", record, exc.one_line(), "candidate", record.evidence)
            return "failed", {"error": exc.one_line()}
        self.audit("retrain", record, reason, f"candidate v{trained.version}", result)
        return "done", result

    def page(self, record: ActionRecord) -> ActionOutcome:
        """Send the incident to the sinks."""
        if self.notifier is None:
            return "failed", {"error": "no sink dispatcher is configured (spec key 'sinks')"}
        incident = self.monitor.incident(record.incident_id)
        self.notifier.send(self.notification_for(incident, "opened"))
        self.audit("page", record, f"incident #{record.incident_id}", "sinks", record.evidence)
        return "done", {"sent": "opened"}

    def page_resolved(self, incident: Incident) -> None:
        """Tell the sinks an incident that was paged has resolved."""
        if self.notifier is not None:
            self.notifier.send(self.notification_for(incident, "resolved"))
