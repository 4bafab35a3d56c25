"""Metric points written in one statement each for new and changed points; unchanged ones kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from steadyml.adapters.store import Store
from steadyml.adapters.store.monitor_records import MetricPoint
from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.adapters.store.tables import MetricPointRow
from steadyml.core.clock import ManualClock

T0 = datetime(2016, 3, 1, 12, 0, tzinfo=UTC)


def _point(
    start: datetime, subject: str, value: float | None, status: str | None = "ok", n: int = 10
) -> MetricPoint:
    return MetricPoint("svc", "1", "5m", start, "drift.effect", subject, value, 0.0, 1.0, status, n)


def _stamps(store: Store) -> dict[tuple[str, datetime], datetime]:
    statement = select(
        MetricPointRow.subject, MetricPointRow.window_start, MetricPointRow.updated_at
    )
    with store.engine.connect() as connection:
        rows = connection.execute(statement).all()
    return {
        (subject, start.replace(tzinfo=UTC)): at.replace(tzinfo=UTC) for subject, start, at in rows
    }


def test_unchanged_points_are_left_and_changed_ones_rewritten(store: Store) -> None:
    clock = ManualClock(T0)
    monitor = MonitorStore(store, clock)
    later = T0 + timedelta(minutes=5)
    with monitor.transaction("svc") as tx:
        tx.put_series(
            [_point(T0, "AGEP", 0.1), _point(T0, "ANC", 0.2), _point(later, "AGEP", None)]
        )
    first = _stamps(store)
    assert set(first.values()) == {T0}
    clock.set(T0 + timedelta(minutes=1))
    with monitor.transaction("svc") as tx:
        tx.put_series(
            [
                _point(T0, "AGEP", 0.1),  # unchanged: kept as it is
                _point(T0, "ANC", 0.2, status="warn"),  # status changed
                _point(later, "AGEP", None, n=11),  # rows changed
                _point(later, "SEX", 0.05),  # new
                _point(later, "SEX", 0.06),  # the last of a key wins
            ]
        )
        found = tx.series("5m", ["drift.effect"], T0, later)
    assert [(p.window_start, p.subject, p.value, p.status, p.n) for p in found] == [
        (T0, "AGEP", 0.1, "ok", 10),
        (T0, "ANC", 0.2, "warn", 10),
        (later, "AGEP", None, "ok", 11),
        (later, "SEX", 0.06, "ok", 10),
    ]
    assert all(p.service == "svc" and p.window == "5m" for p in found)
    assert all(p.window_start.tzinfo is not None for p in found)
    stamps = _stamps(store)
    now = T0 + timedelta(minutes=1)
    assert stamps == {
        ("AGEP", T0): T0,
        ("ANC", T0): now,
        ("AGEP", later): now,
        ("SEX", later): now,
    }


def test_series_filters_versions_and_time(store: Store) -> None:
    monitor = MonitorStore(store, ManualClock(T0))
    other = MetricPoint("svc", "2", "5m", T0, "drift.effect", "AGEP", 0.4, None, None, None, 3)
    with monitor.transaction("svc") as tx:
        tx.put_series(
            [_point(T0, "AGEP", 0.1), other, _point(T0 + timedelta(hours=1), "AGEP", 0.3)]
        )
    with monitor.transaction("svc") as tx:
        both = tx.series("5m", ["drift.effect"], T0, T0)
        assert sorted(p.model_version for p in both) == ["1", "2"]
        [only] = tx.series("5m", ["drift.effect"], T0, T0 + timedelta(minutes=5), ["2"])
        assert only == other
        assert tx.series("5m", ["drift.psi"], T0, T0 + timedelta(hours=2)) == []
