"""The PagerDuty sink: Events API v2 ``trigger`` and ``resolve`` with the incident key.

Every notification of an open incident is a ``trigger`` with ``dedup_key`` = the
incident key, so PagerDuty keeps one alert per steadyml incident (a later trigger
updates it, e.g. after an escalation); when the incident resolves, a ``resolve`` with
the same key closes it. Severity maps P0 → critical, P1 → error, P2 → warning,
P3 → info.
"""

from __future__ import annotations

from typing import Any

from steadyml.adapters.sinks.delivery import HttpTarget
from steadyml.adapters.sinks.notification import Notification
from steadyml.core.clock import Clock

__all__ = ["EVENTS_URL", "SEVERITY", "PagerDutySink", "pagerduty_payload"]

#: The public Events API v2 endpoint.
EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
#: steadyml severity -> PagerDuty severity.
SEVERITY = {"P0": "critical", "P1": "error", "P2": "warning", "P3": "info"}
_SUMMARY_LIMIT = 1024


def pagerduty_payload(notification: Notification, routing_key: str) -> dict[str, Any]:
    """The Events API v2 body for ``notification``.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from steadyml.core.monitoring import Incident
    >>> t = datetime(2024, 5, 1, tzinfo=UTC)
    >>> incident = Incident(key="latency-1", service="churn", incident_type="latency",
    ...                     triage="infrastructure", severity="P0", status="open",
    ...                     title="latency", opened_at=t, first_seen=t, last_seen=t)
    >>> body = pagerduty_payload(Notification("opened", incident, t), "KEY")
    >>> body["event_action"], body["dedup_key"], body["payload"]["severity"]
    ('trigger', 'latency-1', 'critical')
    """
    incident = notification.incident
    base: dict[str, Any] = {"routing_key": routing_key, "dedup_key": incident.key}
    if notification.kind == "resolved" or not incident.open:
        return {**base, "event_action": "resolve"}
    summary = f"[{incident.severity}] {incident.service}: {incident.title}"
    body: dict[str, Any] = {
        **base,
        "event_action": "trigger",
        "client": "steadyml",
        "payload": {
            "summary": summary[:_SUMMARY_LIMIT],
            "source": f"steadyml/{incident.service}",
            "severity": SEVERITY.get(incident.severity, "warning"),
            "timestamp": notification.at.isoformat(),
            "component": ", ".join(incident.versions) or incident.service,
            "group": incident.service,
            "class": incident.incident_type,
            "custom_details": {
                "event": notification.kind,
                "triage": incident.triage,
                "features": list(incident.features),
                "versions": list(incident.versions),
                "first_seen": incident.first_seen.isoformat(),
                "last_seen": incident.last_seen.isoformat(),
                "hint": [dict(h) for h in incident.hint],
                "runbook": incident.runbook,
                "detail": dict(notification.detail),
            },
        },
    }
    if notification.link:
        body["client_url"] = notification.link
        body["links"] = [{"href": notification.link, "text": f"steadyml {incident.key}"}]
    return body


class PagerDutySink:
    """Sends Events API v2 events.

    Parameters
    ----------
    routing_key
        The integration key of the PagerDuty service (a secret: never logged).
    url
        The events endpoint (:data:`EVENTS_URL` by default).
    timeout
        Seconds per attempt.
    """

    def __init__(
        self,
        routing_key: str,
        *,
        url: str = EVENTS_URL,
        timeout: float = 5.0,
        name: str = "pagerduty",
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self._key = routing_key
        self._target = HttpTarget(name, url, timeout, clock=clock)

    def __repr__(self) -> str:
        return f"PagerDutySink(name={self.name!r})"

    def send(self, notification: Notification) -> None:
        """Send a trigger (open incident) or resolve (resolved) once."""
        self._target.post(pagerduty_payload(notification, self._key))

    def close(self) -> None:
        """Close the connection pool."""
        self._target.close()
