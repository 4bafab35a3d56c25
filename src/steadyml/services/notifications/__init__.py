"""Notifications: sinks built from the spec, incident events as notifications, gauges, rules.

:func:`build_dispatcher` turns the spec's ``sinks:`` into a running
:class:`~steadyml.adapters.sinks.Dispatcher`; :func:`notification_for` makes a
:class:`~steadyml.adapters.sinks.Notification` of an incident event (the responder
calls both; it owns the event cursor); :class:`MonitorGauges` exposes the monitor's
metrics, open incidents and sink counters to Prometheus; :func:`alerting_rules` writes
Alertmanager-ready rules over the prediction server's ``/metrics``. See
``docs/alerting.md``.
"""

from steadyml.services.notifications.building import build_dispatcher, build_sink, sink_names
from steadyml.services.notifications.events import (
    ACTION_KINDS,
    kind_of,
    notification_factory,
    notification_for,
    notify,
)
from steadyml.services.notifications.gauges import (
    MetricsServer,
    MonitorGauges,
    Shown,
    serve_metrics,
)
from steadyml.services.notifications.prom_rules import (
    PROMETHEUS_SEVERITY,
    alerting_rules,
    rules_yaml,
)

__all__ = [
    "ACTION_KINDS",
    "PROMETHEUS_SEVERITY",
    "MetricsServer",
    "MonitorGauges",
    "Shown",
    "alerting_rules",
    "build_dispatcher",
    "build_sink",
    "kind_of",
    "notification_factory",
    "notification_for",
    "notify",
    "rules_yaml",
    "serve_metrics",
    "sink_names",
]
