"""One clock for everything time-based.

Windows, hysteresis, cooldowns and label delays read *event time* through a
:class:`Clock`, so a simulation (:class:`ManualClock`) and production
(:class:`SystemClock`) take the same decisions.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "utc"]


def utc(moment: datetime) -> datetime:
    """Return ``moment`` as an aware UTC datetime (naive values are taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class Clock(Protocol):
    """Anything that tells the current event time, in UTC."""

    def now(self) -> datetime:
        """The current time as an aware UTC datetime."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        """The current wall-clock time in UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to; thread-safe.

    Parameters
    ----------
    start
        The initial time (naive values are taken as UTC).

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> clock = ManualClock(datetime(2016, 1, 1))
    >>> clock.advance(timedelta(minutes=5)).isoformat()
    '2016-01-01T00:05:00+00:00'
    """

    def __init__(self, start: datetime) -> None:
        self._now = utc(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The simulated current time."""
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        """Move to ``moment``; time never moves backwards."""
        moment = utc(moment)
        with self._lock:
            self._now = max(self._now, moment)

    def advance(self, step: timedelta) -> datetime:
        """Move forward by ``step`` and return the new time."""
        with self._lock:
            self._now = self._now + step
            return self._now
