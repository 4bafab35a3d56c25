"""The circuit breaker opens after repeated failures and probes for recovery on the clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from steadyml.core.clock import ManualClock
from steadyml.errors import ConfigError
from steadyml.services.serving.breaker import BreakerState, CircuitBreaker


def state(breaker: CircuitBreaker) -> str:
    return breaker.state.value


def make(threshold: int = 3) -> tuple[ManualClock, CircuitBreaker]:
    clock = ManualClock(datetime(2016, 6, 1))
    return clock, CircuitBreaker(
        clock, failure_threshold=threshold, recovery_time=timedelta(seconds=10)
    )


def test_it_opens_only_after_the_threshold_of_consecutive_failures() -> None:
    _, breaker = make(3)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # a success resets the count
    breaker.record_failure()
    breaker.record_failure()
    assert state(breaker) == "closed" and breaker.allow()
    breaker.record_failure()
    assert state(breaker) == "open"
    assert not breaker.allow()
    assert breaker.opened_count == 1


def test_after_the_recovery_time_one_probe_may_pass() -> None:
    clock, breaker = make(1)
    breaker.record_failure()
    clock.advance(timedelta(seconds=9.9))
    assert not breaker.allow()
    clock.advance(timedelta(seconds=0.1))
    assert state(breaker) == "half_open"
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # only one at a time
    breaker.record_failure()  # the probe failed: open again, for a full recovery time
    assert state(breaker) == "open"
    clock.advance(timedelta(seconds=5))
    assert not breaker.allow()
    clock.advance(timedelta(seconds=5))
    assert breaker.allow()
    breaker.record_success()
    assert state(breaker) == "closed" and breaker.allow() and breaker.allow()
    assert breaker.to_dict()["opened_count"] == 2
    assert BreakerState.OPEN.gauge == 2 and BreakerState.CLOSED.gauge == 0


@pytest.mark.parametrize(("threshold", "recovery"), [(0, timedelta(seconds=1)), (2, timedelta(0))])
def test_bad_settings_are_config_errors(threshold: int, recovery: timedelta) -> None:
    with pytest.raises(ConfigError):
        CircuitBreaker(failure_threshold=threshold, recovery_time=recovery)
