"""What a sink delivers: a :class:`Notification`, an incident snapshot and what happened to it.

The monitor's incident events (``opened``, ``escalated``, ``alert``, ``resolved``, ...) and
the responder's actions become one of five notification kinds:

``opened``
    a new incident;
``escalated``
    its severity became more urgent;
``updated``
    an alert joined, fired again or cleared;
``resolved``
    every alert stayed clear long enough;
``action``
    the responder acted on it (fallback mode, rollback, retrain, page).

Examples
--------
>>> from datetime import UTC, datetime
>>> from steadyml.core.monitoring import Incident
>>> t = datetime(2024, 5, 1, tzinfo=UTC)
>>> incident = Incident(key="nan_output-1", service="churn", incident_type="nan_output",
...                     triage="model", severity="P1", status="open", title="nan output",
...                     opened_at=t, first_seen=t, last_seen=t)
>>> Notification("opened", incident, t).to_dict()["severity"]
'P1'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from steadyml.core.monitoring import Incident

__all__ = ["KINDS", "SEVERITIES", "Notification", "at_least"]

#: The notification kinds, in the order an incident usually meets them.
KINDS = ("opened", "escalated", "updated", "resolved", "action")
#: Severities, most urgent first.
SEVERITIES = ("P0", "P1", "P2", "P3")


def at_least(severity: str, minimum: str) -> bool:
    """True when ``severity`` is at least as urgent as ``minimum`` (``P0`` is the most).

    An unknown severity counts as the least urgent.

    Examples
    --------
    >>> at_least("P1", "P2"), at_least("P3", "P2")
    (True, False)
    """
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return rank.get(severity, len(SEVERITIES)) <= rank.get(minimum, len(SEVERITIES) - 1)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(frozen=True)
class Notification:
    """One thing to tell people about one incident.

    Parameters
    ----------
    kind
        One of :data:`KINDS`.
    incident
        The incident as it stands after the event.
    at
        When it happened (the monitor's or responder's clock).
    detail
        What happened, e.g. the alert's rule, metric and value, or the action taken.
    link
        Where to look (a dashboard URL), if any.
    """

    kind: str
    incident: Incident
    at: datetime
    detail: Mapping[str, Any] = field(default_factory=dict)
    link: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"notification kind {self.kind!r} is not one of {list(KINDS)}")

    @property
    def severity(self) -> str:
        """The incident's severity (``P0`` .. ``P3``)."""
        return self.incident.severity

    @property
    def summary(self) -> str:
        """One line: ``[P1] employment: nan output on version 3 (opened)``."""
        incident = self.incident
        return f"[{incident.severity}] {incident.service}: {incident.title} ({self.kind})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the event, then the incident snapshot."""
        incident = self.incident
        return {
            "kind": self.kind,
            "at": self.at.isoformat(),
            "service": incident.service,
            "incident": incident.key,
            "incident_id": incident.id,
            "type": incident.incident_type,
            "triage": incident.triage,
            "severity": incident.severity,
            "status": incident.status,
            "title": incident.title,
            "opened_at": incident.opened_at.isoformat(),
            "first_seen": incident.first_seen.isoformat(),
            "last_seen": incident.last_seen.isoformat(),
            "resolved_at": _iso(incident.resolved_at),
            "features": list(incident.features),
            "versions": list(incident.versions),
            "hint": [dict(h) for h in incident.hint],
            "runbook": incident.runbook,
            "link": self.link,
            "detail": dict(self.detail),
        }
