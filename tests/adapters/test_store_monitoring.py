"""The monitor's tables on SQLite and PostgreSQL: migration, upserts, incidents, concurrency."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from steadyml.adapters.store import Store, StoreUnavailable, alembic_config
from steadyml.adapters.store.monitor_records import MetricPoint
from steadyml.adapters.store.monitoring import MonitorConflict, MonitorStore
from steadyml.adapters.store.tables import VERSION_TABLE, Base
from steadyml.core.clock import ManualClock
from steadyml.core.monitoring import Alert, Incident, IncidentEvent
from steadyml.errors import ConfigError, NotFoundError

T0 = datetime(2016, 3, 1, 12, 0, tzinfo=UTC)
#: The newest migration shipped with the package (later migrations keep these tables).
HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
MONITOR_TABLES = {
    "steadyml_monitor_cursors",
    "steadyml_window_profiles",
    "steadyml_metric_series",
    "steadyml_incidents",
    "steadyml_alerts",
    "steadyml_incident_events",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return f"sqlite:///{tmp_path}/state/steadyml.db"


@pytest.fixture
def monitor(store_url: str) -> Iterator[MonitorStore]:
    with Store.open(store_url) as store:
        yield MonitorStore(store, ManualClock(T0))


def test_migrations_create_monitoring_tables_that_match_the_models(store_url: str) -> None:
    Store.open(store_url).close()
    engine = create_engine(store_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            context = MigrationContext.configure(
                connection, opts={"version_table": VERSION_TABLE, "compare_type": True}
            )
            assert context.get_current_revision() == HEAD
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()
    assert tables >= MONITOR_TABLES


def test_cursor_generation_grows_with_every_save(monitor: MonitorStore) -> None:
    assert monitor.cursor("svc").generation == 0
    with monitor.transaction("svc") as tx:
        assert tx.cursor("predictions").positions == {}
        assert tx.save_cursor("predictions", {"w1": 3, "w0": 2}, {"rows": 10}) == 1
    with monitor.transaction("svc") as tx:
        state = tx.cursor("predictions")
        assert state.positions == {"w0": 2, "w1": 3} and state.stats == {"rows": 10}
        assert tx.save_cursor("predictions", {"w0": 5}, {}) == 2
    assert monitor.cursor("svc").generation == 2
    assert monitor.cursor("other").generation == 0


def _crash_mid_pass(monitor: MonitorStore) -> None:
    with monitor.transaction("svc") as tx:
        tx.save_cursor("predictions", {"w0": 1}, {})
        tx.put_profiles({("1", "5m", T0, "summary"): (5, b"abc")})
        raise RuntimeError("crash in the middle of a pass")


def test_a_failed_pass_rolls_back_everything(monitor: MonitorStore) -> None:
    with pytest.raises(RuntimeError):
        _crash_mid_pass(monitor)
    assert monitor.cursor("svc").generation == 0
    assert monitor.window_payload("svc", "1", "5m", T0, "summary") is None


def test_window_payloads_are_upserted(monitor: MonitorStore) -> None:
    key = ("1", "5m", T0, "summary")
    with monitor.transaction("svc") as tx:
        tx.put_profiles({key: (5, b"first")})
    with monitor.transaction("svc") as tx:
        assert tx.profiles([key, ("2", "5m", T0, "summary")]) == {key: b"first"}
        assert tx.panes("5m", [T0]) == {key: b"first"}
        tx.put_profiles({key: (9, b"second")})
    assert monitor.window_payload("svc", "1", "5m", T0, "summary") == b"second"


def test_metric_points_are_upserted_per_window_metric_and_subject(monitor: MonitorStore) -> None:
    def point(start: datetime, value: float, subject: str = "") -> MetricPoint:
        return MetricPoint("svc", "1", "5m", start, "drift.psi", subject, value, 0.0, 1.0, "ok", 10)

    with monitor.transaction("svc") as tx:
        tx.put_series(
            [
                point(T0, 0.1, "AGEP"),
                point(T0, 0.2, "ANC"),
                point(T0 + timedelta(minutes=5), 0.3, "AGEP"),
            ]
        )
    with monitor.transaction("svc") as tx:
        tx.put_series([point(T0, 0.9, "AGEP")])
        found = tx.series("5m", ["drift.psi"], T0, T0 + timedelta(hours=1))
        assert [(p.subject, p.value) for p in found] == [("AGEP", 0.9), ("ANC", 0.2), ("AGEP", 0.3)]
    got = monitor.metric_series("svc", "drift.psi", window="5m", subject="AGEP")
    assert [p.value for p in got] == [0.9, 0.3]
    assert got[0].window_start == T0 and got[0].to_dict()["window_start"] == T0.isoformat()


def _incident(key: str, status: str = "open") -> Incident:
    return Incident(
        key=key, service="svc", incident_type="nan_output", triage="model", severity="P1",
        status=status, title="nan output", opened_at=T0, first_seen=T0, last_seen=T0,
        features=("ANC",), versions=("1",), hint=({"feature": "ANC", "effect": 0.3},),
    )  # fmt: skip


def _alert(key: str, status: str = "firing", alert_id: int | None = None) -> Alert:
    return Alert(
        service="svc", rule="nan_output", metric="health.nan_rate", subject="", model_version="1",
        window="5m", severity="P1", incident_type="nan_output", triage="model", status=status,
        opened_at=T0, first_seen=T0, last_seen=T0, incident_key=key, value=0.07, threshold=0.01,
        evidence={"at": T0}, id=alert_id,
    )  # fmt: skip


def test_incidents_alerts_and_events_round_trip(monitor: MonitorStore) -> None:
    with monitor.transaction("svc") as tx:
        ids = tx.apply(
            [_incident("inc-1")],
            [_alert("inc-1")],
            [IncidentEvent("inc-1", "opened", T0, {"type": "nan_output"})],
        )
    [incident] = monitor.incidents("svc", status="open")
    assert incident.id == ids["inc-1"] and incident.hint[0]["feature"] == "ANC"
    [alert] = monitor.alerts(ids["inc-1"])
    assert alert.incident_key == "inc-1" and alert.value == 0.07
    assert alert.evidence == {"at": T0.isoformat()}
    with monitor.transaction("svc") as tx:
        [active] = tx.active_alerts()
        [still_open] = tx.open_incidents()
        tx.apply(
            [_incident("inc-1", "resolved")],
            [_alert("inc-1", "resolved", active.id)],
            [IncidentEvent(still_open.key, "resolved", T0, {})],
        )
    assert monitor.incidents("svc", status="open") == []
    assert monitor.incident(ids["inc-1"]).status == "resolved"
    assert [a.status for a in monitor.alerts(ids["inc-1"])] == ["resolved"]
    events = monitor.events("svc")
    assert [e.kind for e in events] == ["opened", "resolved"]
    assert monitor.events("svc", after_id=events[0].id)[0].kind == "resolved"
    with pytest.raises(NotFoundError):
        monitor.incident(999)
    with pytest.raises(ConfigError):
        monitor.incidents("svc", limit=0)


def test_two_runners_take_turns_on_the_cursor(monitor: MonitorStore) -> None:
    with monitor.transaction("svc") as tx:
        tx.cursor("predictions")
        tx.save_cursor("predictions", {"w0": 0}, {})
    seen: list[int] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        with monitor.transaction("svc") as tx:
            generation = tx.cursor("predictions").generation
            seen.append(generation)
            tx.save_cursor("predictions", {"w0": generation}, {})

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(seen) == [1, 2]  # the second runner saw the first one's move
    assert monitor.cursor("svc").generation == 3


def test_racing_first_cursors_end_in_a_conflict_not_a_crash(store_url: str) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE: no race to lose")
    with Store.open(store_url) as store:
        monitor = MonitorStore(store)
        with monitor.transaction("svc") as first:
            first.save_cursor("predictions", {}, {})
            first.session.flush()  # the first runner's new cursor row is written, not committed
            outcome: list[BaseException | None] = []

            def second() -> None:
                try:
                    with monitor.transaction("svc") as tx:
                        tx.cursor("predictions")
                        tx.save_cursor("predictions", {}, {})
                        tx.session.flush()
                    outcome.append(None)
                except BaseException as exc:
                    outcome.append(exc)

            thread = threading.Thread(target=second)
            thread.start()
            thread.join(1.0)
        thread.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], MonitorConflict)


def test_an_unreachable_database_is_store_unavailable(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path}/x.db") as store:
        monitor = MonitorStore(store)
        store.close()
        (tmp_path / "x.db").unlink()
        (tmp_path / "x.db").mkdir()  # the path is now a directory: cannot be opened
        with pytest.raises(StoreUnavailable):
            monitor.cursor("svc")
