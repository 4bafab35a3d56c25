"""Prometheus gauges of the monitor: every metric of the latest complete window, and more.

:class:`MonitorGauges` is a collector. :meth:`MonitorGauges.refresh` (called after each
monitor pass) reads the store once and keeps a snapshot; a scrape only reads the
snapshot and the dispatcher's counters, so Prometheus never waits on the database.
Exposed names:

``steadyml_monitor_metric{service,version,window,metric,subject}``
    each monitored metric in the newest complete window that has it (``subject`` is
    the feature, slice or KPI name; empty for window-level metrics);
``steadyml_monitor_window_start_timestamp_seconds{service,version,window,metric,subject}``
    the start of that window;
``steadyml_monitor_open_incidents{service,severity}``
    open incidents per severity P0..P3;
``steadyml_monitor_last_pass_timestamp_seconds{service}``
    when the last successful pass ended (the monitor's clock);
``steadyml_monitor_rounds_total{service,result}``
    watch rounds by result (``ok``, ``failed``);
``steadyml_sink_notifications_total{service,sink,result}``
    notifications ``sent``, ``retried``, ``failed`` and ``dropped`` per sink;
``steadyml_sink_queue_length{service,sink}``
    notifications waiting per sink.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from steadyml.adapters.sinks import SEVERITIES, Dispatcher
from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.adapters.store.tables import MetricPointRow
from steadyml.core.clock import Clock, SystemClock, utc
from steadyml.core.durations import parse_duration
from steadyml.core.monitoring import METRICS, WindowSpec, parse_windows
from steadyml.errors import ConfigError, SteadyError
from steadyml.spec import ServiceSpec

__all__ = ["MetricsServer", "MonitorGauges", "Shown", "serve_metrics"]

_log = logging.getLogger("steadyml.monitor")
_RECENT_WINDOWS = 4


@dataclass(frozen=True)
class Shown:
    """One gauge value: a metric of one series in its newest complete window."""

    version: str
    window: str
    metric: str
    subject: str
    window_start: datetime
    value: float


def _late(metric: str) -> bool:
    family = metric.split(".", maxsplit=1)[0]
    return family == "kpi" or (family == "performance" and ".estimated_" not in metric)


class MonitorGauges(Collector):
    """The monitor's gauges for one service.

    Parameters
    ----------
    spec
        The service (its windows, lateness and label delays).
    store
        The monitor store to read.
    clock
        The monitor's clock (decides which windows are complete).
    dispatcher
        Its per-sink counters are exposed too, when given.
    """

    def __init__(
        self,
        spec: ServiceSpec,
        store: MonitorStore,
        *,
        clock: Clock | None = None,
        dispatcher: Dispatcher | None = None,
    ) -> None:
        self.spec = spec
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.dispatcher = dispatcher
        self.windows: tuple[WindowSpec, ...] = parse_windows(spec.monitors.windows)
        self.lateness = parse_duration(spec.monitors.lateness)
        self.max_delay = parse_duration(spec.labels.max_delay)
        self._lock = threading.Lock()
        self._shown: list[Shown] = []
        self._open: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
        self._last_pass: datetime | None = None
        self._rounds = {"ok": 0, "failed": 0}

    # -- updates (the monitor's thread) ---------------------------------------------

    def latest(self, now: datetime) -> list[Shown]:
        """Every series' value in its newest complete window (reads the store)."""
        service = self.spec.service
        watermark = now - self.lateness
        shown: list[Shown] = []
        engine = self.store.store.engine
        with Session(engine) as session:
            for window in self.windows:
                recent = now - _RECENT_WINDOWS * window.size - window.step
                late_start = now - self.max_delay - window.size
                for late in (False, True):
                    metrics = [m for m in METRICS if _late(m) == late]
                    statement = select(MetricPointRow).where(
                        MetricPointRow.service == service,
                        MetricPointRow.metric.in_(sorted(metrics)),
                        MetricPointRow.window == window.label,
                        MetricPointRow.window_start >= utc(late_start if late else recent),
                    )
                    newest: dict[tuple[str, str, str], MetricPointRow] = {}
                    for row in session.scalars(statement):
                        start = utc(row.window_start)
                        if row.value is None or not window.is_complete(start, watermark):
                            continue
                        key = (row.model_version, row.metric, row.subject)
                        held = newest.get(key)
                        if held is None or utc(held.window_start) < start:
                            newest[key] = row
                    shown.extend(
                        Shown(
                            row.model_version,
                            window.label,
                            row.metric,
                            row.subject,
                            utc(row.window_start),
                            float(row.value or 0.0),
                        )
                        for row in newest.values()
                    )
        shown.sort(key=lambda s: (s.window, s.version, s.metric, s.subject))
        return shown

    def refresh(self) -> bool:
        """Re-read metrics and open incidents; keeps the old snapshot if the store fails."""
        now = self.clock.now()
        try:
            shown = self.latest(now)
            incidents = self.store.incidents(self.spec.service, status="open", limit=10_000)
        except (SQLAlchemyError, SteadyError) as exc:
            _log.warning("monitor gauges not refreshed: %s", type(exc).__name__)
            return False
        counts = dict.fromkeys(SEVERITIES, 0)
        for incident in incidents:
            counts[incident.severity] = counts.get(incident.severity, 0) + 1
        with self._lock:
            self._shown = shown
            self._open = counts
        return True

    def pass_done(self) -> None:
        """Record a successful round and refresh the snapshot."""
        with self._lock:
            self._last_pass = self.clock.now()
            self._rounds["ok"] += 1
        self.refresh()

    def pass_failed(self) -> None:
        """Record a failed round."""
        with self._lock:
            self._rounds["failed"] += 1

    # -- scrape (the HTTP server's thread) --------------------------------------------

    def collect(self) -> Iterable[Metric]:
        """The gauges from the snapshot, and the dispatcher's live counters."""
        service = self.spec.service
        with self._lock:
            shown, counts = list(self._shown), dict(self._open)
            last, rounds = self._last_pass, dict(self._rounds)
        labels = ["service", "version", "window", "metric", "subject"]
        values = GaugeMetricFamily(
            "steadyml_monitor_metric",
            "Monitored metric in the newest complete window",
            labels=labels,
        )
        starts = GaugeMetricFamily(
            "steadyml_monitor_window_start_timestamp_seconds",
            "Start of the window steadyml_monitor_metric shows",
            labels=labels,
        )
        for item in shown:
            key = [service, item.version, item.window, item.metric, item.subject]
            values.add_metric(key, item.value)
            starts.add_metric(key, item.window_start.timestamp())
        incidents = GaugeMetricFamily(
            "steadyml_monitor_open_incidents", "Open incidents by severity",
            labels=["service", "severity"],
        )  # fmt: skip
        for severity, count in sorted(counts.items()):
            incidents.add_metric([service, severity], count)
        last_pass = GaugeMetricFamily(
            "steadyml_monitor_last_pass_timestamp_seconds",
            "When the last successful monitor round ended", labels=["service"],
        )  # fmt: skip
        if last is not None:
            last_pass.add_metric([service], last.timestamp())
        round_counter = CounterMetricFamily(
            "steadyml_monitor_rounds", "Monitor rounds by result", labels=["service", "result"]
        )
        for result, count in sorted(rounds.items()):
            round_counter.add_metric([service, result], count)
        families: list[Metric] = [values, starts, incidents, last_pass, round_counter]
        if self.dispatcher is not None:
            delivered = CounterMetricFamily(
                "steadyml_sink_notifications", "Notifications per sink by result",
                labels=["service", "sink", "result"],
            )  # fmt: skip
            queued = GaugeMetricFamily(
                "steadyml_sink_queue_length", "Notifications waiting per sink",
                labels=["service", "sink"],
            )  # fmt: skip
            for sink, stats in sorted(self.dispatcher.stats().items()):
                for result in ("sent", "retried", "failed", "dropped"):
                    delivered.add_metric([service, sink, result], getattr(stats, result))
                queued.add_metric([service, sink], stats.queued)
            families += [delivered, queued]
        return families


class MetricsServer:
    """A running ``/metrics`` endpoint (prometheus_client's own HTTP server, a daemon thread)."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.host = str(server.server_address[0])
        self.port = int(server.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port/metrics``."""
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)


def serve_metrics(gauges: MonitorGauges, port: int, host: str = "127.0.0.1") -> MetricsServer:
    """Serve ``gauges`` on ``http://host:port/metrics`` (``port`` 0: a free one).

    Raises
    ------
    ConfigError
        When the port cannot be bound.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(gauges)
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise ConfigError(
            "--metrics-port", port, f"cannot listen on {host}:{port} ({exc.strerror or exc})"
        ) from None
    return MetricsServer(server, thread)
