"""The one clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from steadyml.core.clock import ManualClock, SystemClock, utc


def test_manual_clock_moves_forward_only() -> None:
    clock = ManualClock(datetime(2016, 1, 1))
    assert clock.now() == datetime(2016, 1, 1, tzinfo=UTC)
    clock.advance(timedelta(minutes=5))
    clock.set(datetime(2015, 1, 1))
    assert clock.now() == datetime(2016, 1, 1, 0, 5, tzinfo=UTC)


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert abs((datetime.now(UTC) - now).total_seconds()) < 5


def test_utc_converts_offsets() -> None:
    from datetime import timezone

    moment = datetime(2016, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert utc(moment) == datetime(2016, 1, 1, 10, tzinfo=UTC)
