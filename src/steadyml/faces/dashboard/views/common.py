"""Helpers every view shares: the time range of a page, a service that must exist."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from steadyml.core.durations import parse_duration
from steadyml.errors import NotFoundError
from steadyml.faces.dashboard import queries
from steadyml.faces.dashboard.context import Dashboard
from steadyml.faces.dashboard.params import Query

__all__ = ["MAX_BUCKETS", "Span", "known_service", "span_of"]

#: At most this many time buckets per chart (30 days of 1-hour windows: 3 h each).
MAX_BUCKETS = 288


def _seconds(window: str) -> int:
    return int(parse_duration(window.split("/", maxsplit=1)[0]).total_seconds())


@dataclass(frozen=True)
class Span:
    """The time range a page shows and how its windows are bucketed.

    ``window`` is the window size whose points the charts aggregate: the shortest
    stored one, or over long ranges a coarser tumbling window the monitor keeps too
    (``1h``, ``1d``), so that a chart reads a few hundred points per series rather
    than tens of thousands. ``stored`` lists the sizes a chart may read, shortest
    (the finest) first, each with the start of its oldest stored window.
    """

    name: str
    window: str
    start: datetime
    end: datetime
    bucket_seconds: int
    stored: tuple[tuple[str, datetime], ...] = ()

    @property
    def window_seconds(self) -> float:
        """Length of the shown window size, in seconds."""
        return float(_seconds(self.window))

    @property
    def finest(self) -> str:
        """The shortest stored window size (the one a page opens at a chosen time)."""
        return self.stored[0][0] if self.stored else self.window

    def in_buckets(self, buckets: int, *, align: bool = False) -> Span:
        """The same range in at most ``buckets`` buckets, from the coarsest window that fits.

        A bucket is a whole number of windows of the chosen size: the longest stored
        window that fits in ``range / buckets`` and whose oldest stored window is no
        later than the range's first data (a size added to the monitor later is not
        read over a range it does not cover). ``align`` moves the start back to a
        bucket boundary.
        """
        target = max(1.0, (self.end - self.start).total_seconds() / max(1, buckets))
        window = self.finest
        size = _seconds(window)
        if self.stored:
            data_start = max(self.start, self.stored[0][1])
            for label, first in self.stored[1:]:  # shortest first
                seconds = _seconds(label)
                if seconds <= target and first <= data_start + timedelta(seconds=seconds):
                    window, size = label, seconds
        bucket = int(-(-max(target, size) // size) * size)  # a whole number of windows
        start = self.start
        if align:
            start -= timedelta(seconds=start.timestamp() % bucket)
        return replace(self, window=window, start=start, bucket_seconds=bucket)


def known_service(dash: Dashboard, service: str) -> None:
    """Raise a 404 unless ``service`` has data in the store."""
    if service not in queries.services(dash.store):
        raise NotFoundError("service", service, "pick a service on the overview page")


def span_of(dash: Dashboard, service: str, query: Query, default: str = "24h") -> Span | None:
    """The page's range, ending at the newest stored window, in at most MAX_BUCKETS buckets."""
    name, length = query.span(default)
    sizes = queries.windows(dash.store, service)
    if not sizes:
        return None
    finest = sizes[0]
    step = timedelta(seconds=_seconds(finest))
    newest = queries.latest_start(dash.store, service, finest)
    if newest is None:
        return None
    end = newest + step
    if length is None:
        first = queries.versions_seen(dash.store, service).values()
        start = min((a for a, _ in first), default=end - step)
    else:
        start = end - length
    tumbling = [w for w in sizes[1:] if "/" not in w and _seconds(w) > step.total_seconds()]
    stored: tuple[tuple[str, datetime], ...] = ()
    if tumbling:  # only then is the age of each size needed
        firsts = queries.first_starts(dash.store, service, [finest, *tumbling])
        stored = tuple(firsts.items()) if finest in firsts else ()
    span = Span(name, finest, start, end, int(step.total_seconds()), stored)
    return span.in_buckets(MAX_BUCKETS, align=True)
