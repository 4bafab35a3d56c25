"""Prometheus metrics of one serving app, in a registry of its own.

Every app gets its own :class:`~prometheus_client.CollectorRegistry`, so two apps in one
process (tests, embedding) never share counters. Per-request work is a list append and a
dict increment (:class:`~steadyml.services.serving.request_metrics.RequestMetrics`,
folded into histogram buckets in bulk); per-batch counts are added once per
micro-batch; log-writer and breaker figures are read only when scraped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from steadyml.adapters.predlog import FALLBACK_REASONS, STATUSES, WriterStats
from steadyml.services.serving.request_metrics import RequestMetrics

__all__ = ["CONTENT_TYPE", "LogStatsCollector", "ServingMetrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
_LATENCY_BUCKETS = (
    0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
ENDPOINTS = ("predict", "infer", "feedback", "admin", "other")


class LogStatsCollector(Collector):
    """Exposes the prediction-log writers' queue depth, drops and errors at scrape time.

    Parameters
    ----------
    stats
        Returns the current writer statistics, one per log table (``predictions``,
        ``feedback``).
    """

    def __init__(self, stats: Callable[[], Mapping[str, WriterStats]]) -> None:
        self._stats = stats

    def collect(self) -> Iterable[Metric]:
        """Yield the log metrics (called by the registry on each scrape)."""
        queued = GaugeMetricFamily(
            "steadyml_log_queue_rows", "Log rows accepted but not yet durable", labels=["table"]
        )
        depth = GaugeMetricFamily(
            "steadyml_log_queue_batches", "Batches waiting for the log writer", labels=["table"]
        )
        dropped = CounterMetricFamily(
            "steadyml_log_dropped_rows", "Log rows dropped (queue full or disk failing)",
            labels=["table"],
        )  # fmt: skip
        written = CounterMetricFamily(
            "steadyml_log_written_rows", "Log rows made durable", labels=["table"]
        )
        errors = CounterMetricFamily(
            "steadyml_log_write_errors", "Log write, fsync and seal errors", labels=["table"]
        )
        journal = GaugeMetricFamily(
            "steadyml_log_journal_rows",
            "Log rows durable in the strict-mode journal, not yet copied into a segment",
            labels=["table"],
        )
        for table, stats in self._stats().items():
            queued.add_metric([table], stats.queued_rows)
            depth.add_metric([table], stats.queue_depth)
            dropped.add_metric([table], stats.dropped_rows)
            written.add_metric([table], stats.written_rows)
            errors.add_metric([table], stats.errors)
            journal.add_metric([table], stats.journal_rows)
        return [queued, depth, dropped, written, errors, journal]


class ServingMetrics:
    """The serving metrics, bound to a fresh registry.

    Exposed names: ``steadyml_requests_total{endpoint,code}``,
    ``steadyml_request_latency_seconds{endpoint}``, ``steadyml_predictions_total{status}``,
    ``steadyml_fallbacks_total{reason}``, ``steadyml_errors_total{kind}``,
    ``steadyml_rejections_total{reason}``, ``steadyml_batch_size``,
    ``steadyml_model_version``, ``steadyml_model_reloads_total{result}``,
    ``steadyml_circuit_state`` and the ``steadyml_log_*`` family.

    Parameters
    ----------
    service
        The service name (label of ``steadyml_model_version``).
    enabled
        False: requests, batches, errors and rejections are not counted (the series
        stay at zero). Only for measuring what counting costs.
    """

    def __init__(self, service: str, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.requests = RequestMetrics(buckets=_LATENCY_BUCKETS, endpoints=ENDPOINTS)
        reg.register(self.requests)
        self.predictions = Counter(
            "steadyml_predictions", "Predicted records by status", ["status"], registry=reg
        )
        self.fallbacks = Counter(
            "steadyml_fallbacks", "Records answered by the fallback, by reason",
            ["reason"], registry=reg,
        )  # fmt: skip
        self.errors = Counter(
            "steadyml_errors", "Errors by kind (model_error, timeout, log, internal, ...)",
            ["kind"], registry=reg,
        )  # fmt: skip
        self.rejections = Counter(
            "steadyml_rejections", "Rejected records or requests by reason",
            ["reason"], registry=reg,
        )  # fmt: skip
        self.batch_size = Histogram(
            "steadyml_batch_size", "Records per micro-batch", buckets=_BATCH_BUCKETS, registry=reg
        )
        self.model_version = Gauge(
            "steadyml_model_version", "Registry version of the loaded model (0: none)",
            ["service"], registry=reg,
        )  # fmt: skip
        self.reloads = Counter(
            "steadyml_model_reloads", "Model loads by result", ["result"], registry=reg
        )
        self.circuit = Gauge(
            "steadyml_circuit_state", "Circuit breaker: 0 closed, 1 half-open, 2 open",
            registry=reg,
        )  # fmt: skip
        self.fallback_mode = Gauge(
            "steadyml_fallback_mode", "1 while an operator forces the fallback", registry=reg
        )
        self._version = self.model_version.labels(service)
        self._version.set(0)
        self._status = {name: self.predictions.labels(name) for name in STATUSES}
        self._reasons = {name: self.fallbacks.labels(name) for name in FALLBACK_REASONS}
        for status in STATUSES:  # every series exists from the start (rates need zeros)
            self._status[status].inc(0)
        for reason in FALLBACK_REASONS:
            self._reasons[reason].inc(0)

    def observe_request(self, endpoint: str, code: int, seconds: float) -> None:
        """Count one HTTP request and observe its latency."""
        if not self.enabled:
            return
        self.requests.observe(endpoint, code, seconds)

    def observe_batch(
        self,
        rows: int,
        statuses: Mapping[str, int],
        reasons: Mapping[str, int],
        rejections: Mapping[str, int],
    ) -> None:
        """Record one micro-batch: its size, rows by status, fallbacks and rejections."""
        if not self.enabled:
            return
        self.batch_size.observe(rows)
        for status, count in statuses.items():
            if count:
                self._status[status].inc(count)
        for reason, count in reasons.items():
            if count:
                self._reasons[reason].inc(count)
        for reason, count in rejections.items():
            self.rejections.labels(reason).inc(count)

    def error(self, kind: str, count: int = 1) -> None:
        """Count ``count`` errors of ``kind``."""
        if self.enabled:
            self.errors.labels(kind).inc(count)

    def reject(self, reason: str) -> None:
        """Count one request refused as a whole (bad JSON, too large, unauthorized)."""
        if self.enabled:
            self.rejections.labels(reason).inc()

    def set_model(self, version: int | None) -> None:
        """Record the loaded model version (None: no model)."""
        self._version.set(version or 0)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
