"""Helpers every view shares: the time range of a page, a service that must exist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from steadyml.core.durations import parse_duration
from steadyml.errors import NotFoundError
from steadyml.faces.dashboard import queries
from steadyml.faces.dashboard.context import Dashboard
from steadyml.faces.dashboard.params import Query

__all__ = ["MAX_BUCKETS", "Span", "known_service", "span_of"]

#: At most this many time buckets per chart (30 days of 5-minute windows: 2.5 h each).
MAX_BUCKETS = 288


@dataclass(frozen=True)
class Span:
    """The time range a page shows and how its windows are bucketed."""

    name: str
    window: str
    start: datetime
    end: datetime
    bucket_seconds: int

    @property
    def window_seconds(self) -> float:
        """Length of the shown window size, in seconds."""
        return parse_duration(self.window.split("/")[0]).total_seconds()


def known_service(dash: Dashboard, service: str) -> None:
    """Raise a 404 unless ``service`` has data in the store."""
    if service not in queries.services(dash.store):
        raise NotFoundError("service", service, "pick a service on the overview page")


def span_of(dash: Dashboard, service: str, query: Query, default: str = "24h") -> Span | None:
    """The page's range over the shortest window, ending at the newest stored window."""
    name, length = query.span(default)
    sizes = queries.windows(dash.store, service)
    if not sizes:
        return None
    window = sizes[0]
    step = parse_duration(window.split("/")[0])
    newest = queries.latest_start(dash.store, service, window)
    if newest is None:
        return None
    end = newest + step
    if length is None:
        first = queries.versions_seen(dash.store, service).values()
        start = min((a for a, _ in first), default=end - step)
    else:
        start = end - length
    seconds = max(step.total_seconds(), (end - start).total_seconds() / MAX_BUCKETS)
    whole = int(step.total_seconds())
    bucket = int(-(-seconds // whole) * whole)  # a whole number of windows
    start = start - timedelta(seconds=(start.timestamp() % bucket))
    return Span(name, window, start, end, bucket)
