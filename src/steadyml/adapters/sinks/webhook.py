"""The generic webhook sink: POSTs the notification's JSON (:meth:`Notification.to_dict`)."""

from __future__ import annotations

from steadyml.adapters.sinks.delivery import HttpTarget
from steadyml.adapters.sinks.notification import Notification
from steadyml.core.clock import Clock

__all__ = ["WebhookSink"]


class WebhookSink:
    """POSTs each notification as JSON to a URL.

    Parameters
    ----------
    url
        The receiver (may carry a token: it is never logged).
    timeout
        Seconds per attempt.
    name
        The sink's name in counters and messages.
    """

    def __init__(
        self, url: str, *, timeout: float = 5.0, name: str = "webhook", clock: Clock | None = None
    ) -> None:
        self.name = name
        self._target = HttpTarget(name, url, timeout, clock=clock)

    def __repr__(self) -> str:
        return f"WebhookSink(name={self.name!r})"

    def send(self, notification: Notification) -> None:
        """POST ``notification.to_dict()`` once (raises ``DeliveryFailed``)."""
        self._target.post(notification.to_dict())

    def close(self) -> None:
        """Close the connection pool."""
        self._target.close()
