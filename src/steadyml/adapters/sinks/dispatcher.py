"""The dispatcher: hands notifications to sinks without ever blocking its caller.

Each sink gets a :class:`Route` (which severities and kinds it wants, its retry policy,
its queue size), a bounded queue and a background thread of its own, so a slow or dead
receiver delays nobody but itself. :meth:`Dispatcher.dispatch` only filters and
enqueues (a full queue drops the notification and counts it); the sink's thread
delivers with retries and backoff. :meth:`Dispatcher.close` stops accepting, lets the
queues drain for up to ``timeout`` seconds, then cuts retries short and counts what is
left as dropped. Per-sink counters: ``sent``, ``retried``, ``failed``, ``dropped``.

Examples
--------
>>> import io
>>> from datetime import UTC, datetime
>>> from steadyml.adapters.sinks import JsonLogSink, Notification
>>> from steadyml.core.monitoring import Incident
>>> t = datetime(2024, 5, 1, tzinfo=UTC)
>>> incident = Incident(key="k", service="churn", incident_type="latency",
...                     triage="infrastructure", severity="P2", status="open",
...                     title="latency", opened_at=t, first_seen=t, last_seen=t)
>>> stream = io.StringIO()
>>> dispatcher = Dispatcher([Route(JsonLogSink(stream=stream))])
>>> dispatcher.dispatch(Notification("opened", incident, t))
1
>>> dispatcher.close(timeout=5.0)
True
>>> dispatcher.stats()["log"].sent
1
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from types import TracebackType

from steadyml.adapters.sinks.base import Sink
from steadyml.adapters.sinks.delivery import DeliveryFailed, RetryPolicy, deliver
from steadyml.adapters.sinks.notification import KINDS, Notification, at_least
from steadyml.errors import ConfigError

__all__ = ["Dispatcher", "Route", "SinkStats"]

_log = logging.getLogger("steadyml.sinks")
_POLL = 0.05


@dataclass(frozen=True)
class Route:
    """A sink and what it receives.

    Parameters
    ----------
    sink
        Where notifications go.
    min_severity
        Only incidents at least this urgent (``P3``: all).
    events
        Only these notification kinds.
    policy
        Retries and backoff.
    queue_size
        Notifications waiting for this sink at most; more are dropped and counted.
    """

    sink: Sink
    min_severity: str = "P3"
    events: frozenset[str] = frozenset(KINDS)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    queue_size: int = 1000

    def accepts(self, notification: Notification) -> bool:
        """True when this sink wants ``notification``."""
        return notification.kind in self.events and at_least(
            notification.severity, self.min_severity
        )


@dataclass(frozen=True)
class SinkStats:
    """Delivery counters of one sink.

    ``sent``: delivered; ``retried``: attempts repeated after a retryable failure;
    ``failed``: given up (refused, or retries exhausted); ``dropped``: never attempted
    (queue full, or still queued when the dispatcher closed); ``queued``: waiting now.
    """

    sent: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = 0
    queued: int = 0
    last_error: str = ""


class _Lane:
    """One sink's queue, thread and counters."""

    def __init__(self, route: Route, dispatcher: Dispatcher) -> None:
        self.route = route
        self.name = route.sink.name
        self.queue: queue.Queue[Notification] = queue.Queue(route.queue_size)
        self.stats = SinkStats()
        self.busy = False
        self._dispatcher = dispatcher
        self._rng = random.Random()
        self.thread = threading.Thread(target=self._run, name=f"sink-{self.name}", daemon=True)

    def count(self, **changes: int | str) -> None:
        with self._dispatcher.lock:
            values = {
                k: (v if isinstance(v, str) else getattr(self.stats, k) + v)
                for k, v in changes.items()
            }
            self.stats = replace(self.stats, **values)  # type: ignore[arg-type]

    def _sleep(self, seconds: float) -> bool:
        return not self._dispatcher.abort.wait(seconds)

    def _run(self) -> None:
        dispatcher = self._dispatcher
        while True:
            try:
                notification = self.queue.get(timeout=_POLL)
            except queue.Empty:
                if dispatcher.closing.is_set():
                    return
                continue
            if dispatcher.abort.is_set():
                self.count(dropped=1)
                self.queue.task_done()
                continue
            self.busy = True
            try:
                deliver(
                    partial(self.route.sink.send, notification),
                    self.route.policy,
                    sleep=self._sleep,
                    rng=self._rng,
                    on_retry=lambda _exc: self.count(retried=1),
                )
            except DeliveryFailed as exc:
                self.count(failed=1, last_error=exc.one_line())
                _log.warning("sink %s gave up on %s: %s", self.name, notification.summary, exc.fix)
            except Exception as exc:  # a sink bug must not kill its thread
                self.count(failed=1, last_error=f"{type(exc).__name__}: {exc}")
                _log.exception("sink %s failed on %s", self.name, notification.summary)
            else:
                self.count(sent=1)
            finally:
                self.busy = False
                self.queue.task_done()


class Dispatcher:
    """Delivers notifications to sinks in the background.

    Parameters
    ----------
    routes
        One per sink; sink names must be distinct.

    Raises
    ------
    ConfigError
        When two sinks share a name.
    """

    def __init__(self, routes: Sequence[Route]) -> None:
        names = [route.sink.name for route in routes]
        for name in names:
            if names.count(name) > 1:
                raise ConfigError("sinks.name", name, "give each sink its own name")
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self.abort = threading.Event()
        self._lanes = [_Lane(route, self) for route in routes]
        for lane in self._lanes:
            lane.thread.start()

    @property
    def names(self) -> list[str]:
        """The sinks' names."""
        return [lane.name for lane in self._lanes]

    def dispatch(self, notification: Notification) -> int:
        """Queue ``notification`` for every sink that wants it; never blocks.

        Returns the number of sinks it was queued for (a full queue or a closed
        dispatcher drops it for that sink and counts it).
        """
        queued = 0
        for lane in self._lanes:
            if not lane.route.accepts(notification):
                continue
            if self.closing.is_set():
                lane.count(dropped=1)
                continue
            try:
                lane.queue.put_nowait(notification)
            except queue.Full:
                lane.count(dropped=1, last_error="queue full")
                _log.warning("sink %s queue full; dropped %s", lane.name, notification.summary)
            else:
                queued += 1
        return queued

    def send(self, notification: Notification) -> None:
        """Same as :meth:`dispatch` (so the dispatcher can stand where a sink is expected)."""
        self.dispatch(notification)

    def stats(self) -> dict[str, SinkStats]:
        """Counters per sink name."""
        with self.lock:
            return {
                lane.name: replace(lane.stats, queued=lane.queue.qsize()) for lane in self._lanes
            }

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queue is empty and no delivery runs; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(lane.queue.unfinished_tasks == 0 for lane in self._lanes):
                return True
            time.sleep(0.01)
        return all(lane.queue.unfinished_tasks == 0 for lane in self._lanes)

    def close(self, timeout: float = 10.0) -> bool:
        """Stop accepting, drain for up to ``timeout`` seconds, then give up the rest.

        Returns True when everything queued was attempted in time. Idempotent.
        """
        self.closing.set()
        deadline = time.monotonic() + max(timeout, 0.0)
        for lane in self._lanes:
            lane.thread.join(max(0.0, deadline - time.monotonic()))
        drained = not any(lane.thread.is_alive() for lane in self._lanes)
        if not drained:
            self.abort.set()  # cut backoff waits short; what is still queued is dropped
            for lane in self._lanes:
                lane.thread.join(1.0)
        for lane in self._lanes:
            try:
                lane.route.sink.close()
            except Exception:  # closing must not raise for one sink
                _log.exception("closing sink %s failed", lane.name)
        return drained

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
