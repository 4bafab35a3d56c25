"""Incident events as notifications: what the responder hands the dispatcher.

The monitor stores incident events (``opened``, ``alert``, ``alert_refiring``,
``alert_resolved``, ``escalated``, ``resolved``) and the responder adds its actions;
:func:`notification_for` turns one event and its incident into a
:class:`~steadyml.adapters.sinks.Notification`. :func:`notify` does it for a batch of
stored events. Neither keeps a cursor: the caller (the responder) decides which events
are new.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from steadyml.adapters.sinks import Notification
from steadyml.adapters.store.monitor_records import EventRecord
from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.core.clock import Clock, SystemClock
from steadyml.core.monitoring import Incident
from steadyml.errors import NotFoundError

__all__ = [
    "ACTION_KINDS",
    "EventLike",
    "kind_of",
    "notification_factory",
    "notification_for",
    "notify",
]

#: Event kinds that are responder actions.
ACTION_KINDS = frozenset(
    {"action", "fallback_mode", "fallback_cleared", "rollback", "retrain", "page"}
)
_DIRECT = {"opened": "opened", "escalated": "escalated", "resolved": "resolved"}


class EventLike(Protocol):
    """An incident event: the core's ``IncidentEvent`` or a stored ``EventRecord``."""

    @property
    def kind(self) -> str: ...

    @property
    def at(self) -> datetime: ...

    @property
    def payload(self) -> Mapping[str, Any]: ...


class _Dispatches(Protocol):
    def dispatch(self, notification: Notification) -> int: ...


def kind_of(event_kind: str) -> str:
    """The notification kind of an incident event kind.

    Examples
    --------
    >>> kind_of("opened"), kind_of("alert_refiring"), kind_of("rollback")
    ('opened', 'updated', 'action')
    """
    if event_kind in _DIRECT:
        return _DIRECT[event_kind]
    if event_kind in ACTION_KINDS or event_kind.startswith("action"):
        return "action"
    return "updated"


def notification_for(
    incident: Incident, event: EventLike, *, link: str | None = None
) -> Notification:
    """The notification of ``event`` on ``incident`` (the incident as it stands now).

    The event's payload becomes the notification's ``detail``, with the original event
    kind under ``event`` (and under ``action`` for a responder action that does not say).
    """
    kind = kind_of(event.kind)
    detail = {"event": event.kind, **dict(event.payload)}
    if kind == "action":
        detail.setdefault("action", event.kind)
    return Notification(kind, incident, event.at, detail, link)


def notification_factory(
    clock: Clock | None = None, *, link: str | None = None
) -> Callable[[Incident, str], Notification]:
    """A ``(incident, event kind) -> Notification`` function stamped by ``clock``.

    For callers that know the incident and what happened but hold no stored event
    (the responder's ``page`` action).
    """
    chosen: Clock = clock or SystemClock()

    def make(incident: Incident, kind: str) -> Notification:
        detail = {"event": kind}
        if kind_of(kind) == "action":
            detail["action"] = kind
        return Notification(kind_of(kind), incident, chosen.now(), detail, link)

    return make


def notify(
    dispatcher: _Dispatches,
    store: MonitorStore,
    events: Iterable[EventRecord],
    *,
    link: str | None = None,
) -> int:
    """Dispatch stored ``events`` (each with its incident, read once); returns how many.

    Never blocks on a sink: the dispatcher queues. Events of an incident that no longer
    exists are skipped.
    """
    incidents: dict[int, Incident] = {}
    sent = 0
    for event in events:
        incident = incidents.get(event.incident_id)
        if incident is None:
            try:
                incident = incidents[event.incident_id] = store.incident(event.incident_id)
            except NotFoundError:
                continue
        dispatcher.dispatch(notification_for(incident, event, link=link))
        sent += 1
    return sent
