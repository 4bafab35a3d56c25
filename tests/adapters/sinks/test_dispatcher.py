"""Delivery against a real receiver: retries, backoff, Retry-After, give-up, never blocking."""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from steadyml.adapters.sinks import (
    DeliveryFailed,
    Dispatcher,
    Notification,
    RetryPolicy,
    Route,
    WebhookSink,
    parse_retry_after,
)
from steadyml.errors import ConfigError
from tests.adapters.sinks.conftest import T, make_incident
from tests.adapters.sinks.receiver import Receiver, free_port

FAST = RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.05)


def note(severity: str = "P1", kind: str = "opened") -> Notification:
    return Notification(kind, make_incident(severity), T)


def dispatcher_for(url: str, policy: RetryPolicy = FAST, **route: object) -> Dispatcher:
    sink = WebhookSink(url, timeout=2.0)
    return Dispatcher([Route(sink, policy=policy, **route)])  # type: ignore[arg-type]


def test_retries_on_5xx_then_succeeds(receiver: Receiver) -> None:
    receiver.answer((500, {}), (503, {}))
    dispatcher = dispatcher_for(receiver.url)
    assert dispatcher.dispatch(note()) == 1
    assert dispatcher.close(timeout=10.0)
    stats = dispatcher.stats()["webhook"]
    assert (stats.sent, stats.retried, stats.failed, stats.dropped) == (1, 2, 0, 0)
    bodies = receiver.bodies()
    assert len(bodies) == 3 and bodies[0] == bodies[2]


def test_429_waits_as_long_as_retry_after_says(receiver: Receiver) -> None:
    receiver.answer((429, {"Retry-After": "1"}))
    dispatcher = dispatcher_for(receiver.url)
    dispatcher.dispatch(note())
    assert dispatcher.close(timeout=10.0)
    first, second = receiver.received
    assert second.at - first.at >= 0.95  # the backoff alone would wait 10 ms
    assert dispatcher.stats()["webhook"].sent == 1


def test_gives_up_after_max_retries_and_counts_a_failure(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.answer(status=502)
    dispatcher = dispatcher_for(receiver.url, RetryPolicy(max_retries=2, base_delay=0.01))
    with caplog.at_level(logging.WARNING, logger="steadyml.sinks"):
        dispatcher.dispatch(note())
        dispatcher.close(timeout=10.0)
    stats = dispatcher.stats()["webhook"]
    assert (stats.sent, stats.retried, stats.failed) == (0, 2, 1)
    assert len(receiver.received) == 3
    assert "502" in stats.last_error
    assert "gave up" in caplog.text and "T0KEN" not in caplog.text  # the URL is a secret


def test_other_4xx_is_not_retried(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    receiver.answer(status=400)
    dispatcher = dispatcher_for(receiver.url)
    with caplog.at_level(logging.WARNING, logger="steadyml.sinks"):
        dispatcher.dispatch(note())
        dispatcher.close(timeout=10.0)
    stats = dispatcher.stats()["webhook"]
    assert (stats.sent, stats.retried, stats.failed) == (0, 0, 1)
    assert len(receiver.received) == 1
    assert "refused the payload with 400" in caplog.text and "T0KEN" not in caplog.text


def test_unreachable_port_is_retried_then_failed() -> None:
    url = f"http://127.0.0.1:{free_port()}/hook/T0KEN"
    dispatcher = dispatcher_for(url, RetryPolicy(max_retries=2, base_delay=0.01))
    dispatcher.dispatch(note())
    assert dispatcher.close(timeout=10.0)
    stats = dispatcher.stats()["webhook"]
    assert (stats.sent, stats.retried, stats.failed) == (0, 2, 1)
    assert "cannot connect" in stats.last_error and "T0KEN" not in stats.last_error


def test_a_slow_receiver_never_blocks_dispatch(receiver: Receiver) -> None:
    receiver.answer(status=200, delay=1.0)
    dispatcher = dispatcher_for(receiver.url)
    took = []
    for _ in range(5):
        start = time.perf_counter()
        dispatcher.dispatch(note())
        took.append(time.perf_counter() - start)
    assert max(took) < 0.05, took
    assert dispatcher.stats()["webhook"].queued >= 3  # still waiting behind the slow one
    dispatcher.close(timeout=0.0)


def test_close_drains_what_is_queued(receiver: Receiver) -> None:
    receiver.answer(status=200, delay=0.05)
    dispatcher = dispatcher_for(receiver.url)
    for _ in range(5):
        dispatcher.dispatch(note())
    assert dispatcher.close(timeout=10.0) is True
    assert dispatcher.stats()["webhook"].sent == 5
    assert len(receiver.received) == 5


def test_close_gives_up_after_its_timeout_and_counts_the_rest_dropped(
    receiver: Receiver,
) -> None:
    receiver.answer(status=200, delay=0.6)
    dispatcher = dispatcher_for(receiver.url)
    for _ in range(5):
        dispatcher.dispatch(note())
    start = time.perf_counter()
    assert dispatcher.close(timeout=0.2) is False
    assert time.perf_counter() - start < 3.0
    stats = dispatcher.stats()["webhook"]
    assert stats.dropped >= 3
    assert stats.sent + stats.failed + stats.dropped == 5
    assert dispatcher.dispatch(note()) == 0  # closed: dropped and counted
    assert dispatcher.stats()["webhook"].dropped == stats.dropped + 1


def test_a_full_queue_drops_and_counts(receiver: Receiver) -> None:
    receiver.answer(status=200, delay=0.5)
    dispatcher = dispatcher_for(receiver.url, queue_size=2)
    queued = sum(dispatcher.dispatch(note()) for _ in range(6))
    stats = dispatcher.stats()["webhook"]
    assert queued <= 3 and stats.dropped == 6 - queued and stats.last_error == "queue full"
    dispatcher.close(timeout=0.0)


def test_routes_filter_by_severity_and_kind(receiver: Receiver) -> None:
    dispatcher = dispatcher_for(
        receiver.url, min_severity="P1", events=frozenset({"opened", "resolved"})
    )
    assert dispatcher.dispatch(note("P2")) == 0
    assert dispatcher.dispatch(note("P0", kind="updated")) == 0
    assert dispatcher.dispatch(note("P0")) == 1
    dispatcher.close(timeout=10.0)
    assert [b["severity"] for b in receiver.bodies()] == ["P0"]


class Broken:
    name = "broken"

    def __init__(self) -> None:
        self.calls = 0

    def send(self, notification: Notification) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("a bug in a sink")

    def close(self) -> None:
        pass


def test_a_sink_bug_is_counted_and_the_next_notification_still_goes() -> None:
    sink = Broken()
    dispatcher = Dispatcher([Route(sink, policy=FAST)])
    dispatcher.dispatch(note())
    dispatcher.dispatch(note())
    dispatcher.close(timeout=5.0)
    stats = dispatcher.stats()["broken"]
    assert (sink.calls, stats.sent, stats.failed) == (2, 1, 1)
    assert "RuntimeError" in stats.last_error


def test_two_sinks_with_one_name_are_refused() -> None:
    with pytest.raises(ConfigError, match="own name"):
        Dispatcher([Route(Broken()), Route(Broken())])


def test_the_dispatcher_stands_where_a_sink_is_expected(receiver: Receiver) -> None:
    dispatcher = dispatcher_for(receiver.url)
    dispatcher.send(note())
    assert dispatcher.flush(10.0)
    assert len(receiver.received) == 1
    dispatcher.close()


def test_backoff_grows_exponentially_with_jitter_and_honours_retry_after() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=6.0, max_retry_after=30.0)
    rng = random.Random(1)
    for retry, ceiling in enumerate([1.0, 2.0, 4.0, 6.0, 6.0]):
        delays = [policy.delay(retry, rng) for _ in range(200)]
        assert min(delays) >= ceiling / 2 and max(delays) <= ceiling
        assert max(delays) - min(delays) > ceiling / 10  # jittered, not constant
    assert policy.delay(0, rng, asked=12.0) == 12.0
    assert policy.delay(0, rng, asked=3600.0) == 30.0


def test_retry_after_ignores_non_ascii_digits() -> None:
    assert parse_retry_after("²", datetime(2024, 5, 1, tzinfo=UTC)) is None


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2024, 5, 1, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert parse_retry_after(header, now) == 7.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now) == 0.0


@given(st.text(max_size=60))
def test_retry_after_never_crashes_on_arbitrary_text(text: str) -> None:
    found = parse_retry_after(text, datetime(2024, 5, 1, tzinfo=UTC))
    assert found is None or found >= 0.0


def test_delivery_failed_names_the_sink_not_the_url() -> None:
    error = DeliveryFailed("slack", "receiver answered 500; will retry", retryable=True)
    assert error.one_line() == "delivery failed: sinks.slack: receiver answered 500; will retry"
