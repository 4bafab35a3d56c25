"""Alert sinks: where incident notifications go.

A :class:`Notification` (an incident snapshot and what happened: opened, escalated,
updated, resolved, action) is delivered by a :class:`Sink` - a structured JSON log
(:class:`JsonLogSink`), a generic webhook (:class:`WebhookSink`), a Slack incoming
webhook (:class:`SlackSink`) or PagerDuty Events v2 (:class:`PagerDutySink`). Each
``send`` is one attempt; the :class:`Dispatcher` queues notifications per sink, delivers
them on background threads with retries and backoff (:class:`RetryPolicy`), and
counts what was sent, retried, failed and dropped. See ``docs/alerting.md``.
"""

from steadyml.adapters.sinks.base import Sink
from steadyml.adapters.sinks.delivery import (
    DeliveryFailed,
    HttpTarget,
    RetryPolicy,
    deliver,
    parse_retry_after,
)
from steadyml.adapters.sinks.dispatcher import Dispatcher, Route, SinkStats
from steadyml.adapters.sinks.log import JsonLogSink
from steadyml.adapters.sinks.notification import KINDS, SEVERITIES, Notification, at_least
from steadyml.adapters.sinks.pagerduty import EVENTS_URL, PagerDutySink, pagerduty_payload
from steadyml.adapters.sinks.slack import SlackSink, slack_payload
from steadyml.adapters.sinks.webhook import WebhookSink

__all__ = [
    "EVENTS_URL",
    "KINDS",
    "SEVERITIES",
    "DeliveryFailed",
    "Dispatcher",
    "HttpTarget",
    "JsonLogSink",
    "Notification",
    "PagerDutySink",
    "RetryPolicy",
    "Route",
    "Sink",
    "SinkStats",
    "SlackSink",
    "WebhookSink",
    "at_least",
    "deliver",
    "pagerduty_payload",
    "parse_retry_after",
    "slack_payload",
]
