"""A circuit breaker: after repeated model failures, answer everything with the fallback.

States: ``closed`` (the model answers), ``open`` (the model is not called; every
accepted record gets the fallback with reason ``circuit_open``) and ``half_open`` (after
``recovery_time`` one probe batch may call the model: success closes the breaker, a
failure opens it again for another ``recovery_time``). A failure is a batch whose model
call raised, timed out or returned a malformed result; NaN or out-of-range rows are
guarded row by row and do not count. Time is read through :class:`~steadyml.core.clock.Clock`
so that a simulation decides like production.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from enum import StrEnum

from steadyml.core.clock import Clock, SystemClock
from steadyml.errors import ConfigError

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(StrEnum):
    """Where the breaker stands."""

    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"

    @property
    def gauge(self) -> int:
        """0 closed, 1 half-open, 2 open (the ``steadyml_circuit_state`` metric)."""
        return {"closed": 0, "half_open": 1, "open": 2}[self.value]


class CircuitBreaker:
    """Count consecutive model failures; stop calling the model after too many.

    Parameters
    ----------
    clock
        Where time comes from (system clock by default).
    failure_threshold
        Consecutive failed batches that open the breaker.
    recovery_time
        How long the breaker stays open before a probe batch may call the model.

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> from steadyml.core.clock import ManualClock
    >>> clock = ManualClock(datetime(2016, 1, 1))
    >>> breaker = CircuitBreaker(clock, failure_threshold=2, recovery_time=timedelta(seconds=5))
    >>> breaker.record_failure(); breaker.record_failure(); breaker.state.value
    'open'
    >>> breaker.allow()
    False
    >>> _ = clock.advance(timedelta(seconds=5)); breaker.allow(), breaker.state.value
    (True, 'half_open')
    >>> breaker.record_success(); breaker.state.value
    'closed'
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        failure_threshold: int = 5,
        recovery_time: timedelta = timedelta(seconds=5),
    ) -> None:
        if isinstance(failure_threshold, bool) or failure_threshold < 1:
            raise ConfigError("failure_threshold", failure_threshold, "give an integer >= 1")
        if recovery_time <= timedelta(0):
            raise ConfigError("recovery_time", recovery_time, "give a positive duration")
        self._clock = clock or SystemClock()
        self.failure_threshold = failure_threshold
        self.recovery_time = recovery_time
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at: datetime | None = None
        self._probing = False
        self.opened_count = 0

    @property
    def state(self) -> BreakerState:
        """The current state (an open breaker past its recovery time reads half-open)."""
        with self._lock:
            if self._state is BreakerState.OPEN and self._recovered():
                return BreakerState.HALF_OPEN
            return self._state

    @property
    def consecutive_failures(self) -> int:
        """Failed batches since the last success."""
        return self._failures

    def _recovered(self) -> bool:
        opened = self._opened_at
        return opened is not None and self._clock.now() >= opened + self.recovery_time

    def allow(self) -> bool:
        """May the next batch call the model? True when closed, or for one probe."""
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return True
            if self._state is BreakerState.OPEN:
                if not self._recovered():
                    return False
                self._state = BreakerState.HALF_OPEN
                self._probing = False
            if self._probing:  # half-open: one probe at a time
                return False
            self._probing = True
            return True

    def record_success(self) -> None:
        """The model answered a batch: close the breaker."""
        with self._lock:
            self._failures = 0
            self._state = BreakerState.CLOSED
            self._opened_at = None
            self._probing = False

    def record_failure(self) -> None:
        """The model failed a batch: open after ``failure_threshold`` in a row."""
        with self._lock:
            self._failures += 1
            probing = self._state is BreakerState.HALF_OPEN
            if probing or self._failures >= self.failure_threshold:
                if self._state is not BreakerState.OPEN:
                    self.opened_count += 1
                self._state = BreakerState.OPEN
                self._opened_at = self._clock.now()
                self._probing = False

    def to_dict(self) -> dict[str, object]:
        """State, failures and thresholds, for the admin status endpoint."""
        return {
            "state": self.state.value,
            "consecutive_failures": self._failures,
            "failure_threshold": self.failure_threshold,
            "recovery_seconds": self.recovery_time.total_seconds(),
            "opened_count": self.opened_count,
        }
