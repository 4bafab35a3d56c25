"""The :class:`Sink` protocol: a named thing that delivers one notification per call."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from steadyml.adapters.sinks.notification import Notification

__all__ = ["Sink"]


@runtime_checkable
class Sink(Protocol):
    """Delivers notifications somewhere.

    ``send`` makes one attempt and raises
    :class:`~steadyml.adapters.sinks.delivery.DeliveryFailed` when it fails (saying
    whether a retry may help); retries, backoff and queueing are the dispatcher's job.
    ``close`` releases connections.
    """

    name: str

    def send(self, notification: Notification) -> None:
        """Deliver ``notification`` once."""
        ...

    def close(self) -> None:
        """Release what the sink holds."""
        ...
