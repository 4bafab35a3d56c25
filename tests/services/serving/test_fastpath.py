"""The server's fast path on a manual clock: counters, signals, one incident per cause."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from steadyml.adapters.predlog import FALLBACK_REASONS
from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.core.clock import ManualClock
from steadyml.core.contract.records import FieldViolation
from steadyml.core.monitoring import AlertRule, IncidentBook, RuleState
from steadyml.core.violations import ViolationKind
from steadyml.services.serving import fastpath
from steadyml.services.serving.fastpath import FastPath, TickReport
from steadyml.services.serving.outcome import FALLBACK, REJECTED, STATUS_OK, BatchOutcome
from steadyml.services.workspace import Workspace
from steadyml.spec import AlertRuleSpec

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NAN = FALLBACK_REASONS.index("nan_output")


def outcome(rows: int, nan: int = 0, rejected: int = 0, latency_ms: float = 3.0) -> BatchOutcome:
    status = np.full(rows, STATUS_OK, dtype=np.int8)
    reasons = np.full(rows, -1, dtype=np.int8)
    status[:nan] = FALLBACK
    reasons[:nan] = NAN
    status[nan : nan + rejected] = REJECTED
    violation = FieldViolation("AGEP", ViolationKind.NULL, None, "AGEP is null")
    return BatchOutcome(
        model_version="2",
        request_ids=[str(i) for i in range(rows)],
        status=status,
        prediction=np.zeros(rows),
        raw=np.zeros(rows),
        has_raw=np.ones(rows, dtype=np.bool_),
        reasons=reasons,
        labels=[None] * rows,
        rejected=dict.fromkeys(range(nan, nan + rejected), (violation,)),
        flags={},
        event_us=np.zeros(rows, dtype=np.int64),
        received_us=np.zeros(rows, dtype=np.int64),
        latency_ms=np.full(rows, latency_ms),
    )


def fast_path(ws: Workspace, clock: ManualClock) -> FastPath:
    return FastPath(ws.spec, ws, clock=clock, version=lambda: "2")


class _Scorer:
    forced: str | None = None


def counted(fast: FastPath, clock: ManualClock) -> tuple[FastPath, list[datetime]]:
    """``fast`` with its ticks recorded: the clock's time at the start of each."""
    ticks: list[datetime] = []
    original = fast.tick

    def counting_tick() -> TickReport:
        ticks.append(clock.now())
        return original()

    fast.tick = counting_tick  # type: ignore[method-assign]
    return fast, ticks


def test_clean_traffic_raises_nothing(workspace: Workspace) -> None:
    clock = ManualClock(T0)
    fast = fast_path(workspace, clock)
    for _ in range(30):
        fast.observe(outcome(64))
        clock.advance(timedelta(seconds=1))
    report = fast.tick()
    assert report.signals and not any(s.breached for s in report.signals)
    assert report.fired == []
    assert MonitorStore(workspace.store).incidents("employment") == []


def test_too_few_rows_decide_nothing(workspace: Workspace) -> None:
    clock = ManualClock(T0)
    fast = fast_path(workspace, clock)
    fast.observe(outcome(20, nan=20))
    assert fast.tick().fired == []


def test_nan_burst_opens_one_incident_then_resolves_after_clear_time(
    workspace: Workspace,
) -> None:
    clock = ManualClock(T0)
    fast = fast_path(workspace, clock)
    for _ in range(5):
        fast.observe(outcome(64, nan=16))
        clock.advance(timedelta(seconds=1))
    report = fast.tick()
    assert [a.rule for a in report.fired] == ["fast_nan_output"]
    assert report.fired[0].value == 0.25
    store = MonitorStore(workspace.store)
    [incident] = store.incidents("employment")
    assert (incident.incident_type, incident.status, incident.severity) == (
        "nan_output",
        "open",
        "P1",
    )
    # still firing: the same alert is updated, no second incident
    fast.observe(outcome(64, nan=16))
    clock.advance(timedelta(seconds=5))
    assert fast.tick().fired == []
    assert len(store.incidents("employment")) == 1
    # the window slides past the burst: clearing, then resolved after clear_after (60 s)
    clock.advance(timedelta(seconds=40))
    for _ in range(2):
        fast.observe(outcome(64))
    assert fast.tick().resolved == []
    clock.advance(timedelta(seconds=30))
    fast.observe(outcome(64))
    assert fast.tick().resolved == [incident.key]
    [after] = store.incidents("employment")
    assert after.status == "resolved"


def test_the_fast_path_joins_the_runners_incident_of_the_same_cause(
    workspace: Workspace,
) -> None:
    rule = AlertRule.compile(
        AlertRuleSpec(name="nan_output", metric="health.nan_rate", threshold=0.01), ("5m",)
    )
    store = MonitorStore(workspace.store)
    with store.transaction("employment") as tx:
        book = IncidentBook("employment", [], [], T0)
        book.apply([RuleState(rule, "2", "", True, False, (T0,), None, T0)])
        tx.apply(book.changed_incidents, book.changed_alerts, book.events)
    clock = ManualClock(T0 + timedelta(minutes=1))
    fast = fast_path(workspace, clock)
    fast.observe(outcome(200, nan=100))
    report = fast.tick()
    assert [a.rule for a in report.fired] == ["fast_nan_output"]
    assert report.opened == []
    [incident] = store.incidents("employment")
    assert sorted(a.rule for a in store.alerts(incident.id or 0)) == [
        "fast_nan_output",
        "nan_output",
    ]


def test_schema_break_names_the_feature(workspace: Workspace) -> None:
    clock = ManualClock(T0)
    fast = fast_path(workspace, clock)
    fast.observe(outcome(200, rejected=60))
    report = fast.tick()
    assert sorted((a.rule, a.subject) for a in report.fired) == [
        ("fast_rejection", ""),
        ("fast_schema_break", "AGEP"),
    ]
    [incident] = MonitorStore(workspace.store).incidents("employment")
    assert incident.incident_type == "schema_break"
    assert "AGEP" in incident.features


def test_slow_answers_breach_the_latency_budget(workspace: Workspace) -> None:
    clock = ManualClock(T0)
    fast = fast_path(workspace, clock)
    fast.observe(outcome(100, latency_ms=900.0))  # budget 500 ms in these tests
    report = fast.tick()
    assert [a.rule for a in report.fired] == ["fast_latency_p99"]


def test_the_hot_path_cost_is_microseconds_per_batch(workspace: Workspace) -> None:
    fast = fast_path(workspace, ManualClock(T0))
    batch = outcome(64, nan=2)
    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        fast.observe(batch)
    per_batch_us = (time.perf_counter() - started) / rounds * 1e6
    print(f"fast path observe: {per_batch_us:.1f} us per 64-record batch")
    assert per_batch_us < 500


def test_the_loop_ticks_on_event_time_not_wall_time(workspace: Workspace) -> None:
    """A simulated clock that runs ahead of the wall gets a tick per ``interval`` of it."""
    import asyncio

    clock = ManualClock(T0)
    fast, ticks = counted(fast_path(workspace, clock), clock)

    async def drive() -> None:
        task = asyncio.create_task(fast.loop(_Scorer()))
        try:
            await asyncio.sleep(0.35)  # the clock stands still: no tick is due
            assert ticks == []
            for _ in range(4):  # 4 x 6 simulated seconds, each given a wake-up to see it
                clock.advance(timedelta(seconds=6))
                await asyncio.sleep(0.25)
        finally:
            task.cancel()

    asyncio.run(drive())
    assert fast.interval == 5.0
    assert len(ticks) == 4, ticks  # far fewer than one per 5 wall seconds would give
    assert ticks == sorted(ticks) and ticks[-1] == T0 + timedelta(seconds=24)


def test_traffic_that_carries_the_clock_past_a_tick_wakes_the_loop(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replay moves the clock by its requests: each tick comes when its traffic does.

    The wall-time wake-up is pushed out of reach (it would come after ``interval`` = 5
    wall seconds), so only the batches' event times can trigger the ticks.
    """
    import asyncio

    monkeypatch.setattr(fastpath, "WAKE_SECONDS", 60.0)
    clock = ManualClock(T0)
    fast, ticks = counted(fast_path(workspace, clock), clock)

    async def wait_for_ticks(count: int) -> None:
        deadline = time.perf_counter() + 2.0  # far less than the 5 s wall wake-up
        while len(ticks) < count and time.perf_counter() < deadline:
            await asyncio.sleep(0.002)

    async def drive() -> None:
        task = asyncio.create_task(fast.loop(_Scorer()))
        try:
            await asyncio.sleep(0.05)  # the loop starts and listens
            for second in range(1, 21):  # 20 simulated seconds of traffic
                clock.advance(timedelta(seconds=1))
                fast.observe(outcome(8))
                if second % 5 == 0:
                    await wait_for_ticks(second // 5)
                else:
                    await asyncio.sleep(0)
        finally:
            task.cancel()

    asyncio.run(drive())
    assert ticks == [T0 + timedelta(seconds=s) for s in (5, 10, 15, 20)], ticks
