"""The Slack sink: an incoming-webhook payload with ``text`` and Block Kit ``blocks``.

The payload shows severity, service, title, triage, affected features and versions, the
root-cause hint, the runbook and a link. ``text`` is the fallback Slack shows in
notifications; user text is escaped (``&``, ``<``, ``>``) as Slack's mrkdwn requires.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from steadyml.adapters.sinks.delivery import HttpTarget
from steadyml.adapters.sinks.notification import Notification
from steadyml.core.clock import Clock

__all__ = ["SlackSink", "slack_payload"]

_ICONS = {
    "opened": ":rotating_light:",
    "escalated": ":arrow_double_up:",
    "updated": ":information_source:",
    "resolved": ":white_check_mark:",
    "action": ":robot_face:",
}
_HEADER_LIMIT = 150
_TEXT_LIMIT = 2900


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _listed(items: Sequence[str], empty: str = "-") -> str:
    shown = ", ".join(_escape(i) for i in items[:8])
    return (shown + (" ..." if len(items) > 8 else "")) or empty


def _hint_line(hint: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for item in hint[:5]:
        effect = item.get("effect")
        shown = f"{float(effect):.3f}" if isinstance(effect, int | float) else "?"
        since = str(item.get("since") or "")[:16].replace("T", " ")
        part = f"*{_escape(str(item.get('feature', '?')))}* (effect {shown}"
        parts.append(part + (f", since {since})" if since else ")"))
    return "; ".join(parts)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:_TEXT_LIMIT]}}


def slack_payload(notification: Notification) -> dict[str, Any]:
    """The incoming-webhook body for ``notification``.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from steadyml.core.monitoring import Incident
    >>> t = datetime(2024, 5, 1, tzinfo=UTC)
    >>> incident = Incident(key="k", service="churn", incident_type="feature_drift",
    ...                     triage="data", severity="P2", status="open",
    ...                     title="feature drift: AGEP", opened_at=t, first_seen=t,
    ...                     last_seen=t, features=("AGEP",), versions=("3",))
    >>> body = slack_payload(Notification("opened", incident, t))
    >>> body["text"]
    ':rotating_light: [P2] churn: feature drift: AGEP (opened)'
    >>> [b["type"] for b in body["blocks"]]
    ['header', 'section', 'context']
    """
    incident = notification.incident
    icon = _ICONS.get(notification.kind, "")
    header = f"{incident.severity} {notification.kind}: {incident.title}"
    fields = [
        f"*Severity*\n{incident.severity}",
        f"*Service*\n{_escape(incident.service)}",
        f"*Type*\n{_escape(incident.incident_type)} ({_escape(incident.triage)})",
        f"*Status*\n{_escape(incident.status)}",
        f"*Features*\n{_listed(list(incident.features))}",
        f"*Versions*\n{_listed(list(incident.versions))}",
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header[:_HEADER_LIMIT]}},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": text} for text in fields],
        },
    ]
    detail = notification.detail
    if notification.kind == "action" and detail.get("action"):
        result = detail.get("status") or detail.get("result") or ""
        blocks.append(_section(f"*Action* {_escape(str(detail['action']))} {_escape(str(result))}"))
    elif detail.get("rule"):
        value = detail.get("value")
        shown = f" = {float(value):.4g}" if isinstance(value, int | float) else ""
        subject = f":{detail['subject']}" if detail.get("subject") else ""
        blocks.append(_section(f"*Alert* {_escape(str(detail['rule']) + subject)}{shown}"))
    if incident.hint:
        blocks.append(_section(f"*Likely cause* features moved: {_hint_line(incident.hint)}"))
    if incident.runbook:
        runbook = incident.runbook
        shown = f"<{runbook}|runbook>" if runbook.startswith("http") else _escape(runbook)
        blocks.append(_section(f"*Runbook* {shown}"))
    if notification.link:
        blocks.append(_section(f"<{notification.link}|Open incident {_escape(incident.key)}>"))
    context = f"{_escape(incident.key)} · first seen {incident.first_seen:%Y-%m-%d %H:%M} UTC"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    text = f"{icon} {notification.summary}".strip()
    return {"text": text, "blocks": blocks}


class SlackSink:
    """POSTs :func:`slack_payload` to a Slack incoming webhook.

    Parameters
    ----------
    url
        The incoming-webhook URL (a secret: never logged).
    timeout
        Seconds per attempt.
    """

    def __init__(
        self, url: str, *, timeout: float = 5.0, name: str = "slack", clock: Clock | None = None
    ) -> None:
        self.name = name
        self._target = HttpTarget(name, url, timeout, clock=clock)

    def __repr__(self) -> str:
        return f"SlackSink(name={self.name!r})"

    def send(self, notification: Notification) -> None:
        """POST the Slack payload once (raises ``DeliveryFailed``)."""
        self._target.post(slack_payload(notification))

    def close(self) -> None:
        """Close the connection pool."""
        self._target.close()
