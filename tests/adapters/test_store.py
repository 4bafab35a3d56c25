"""The metadata store on SQLite and on PostgreSQL (the same tests, parametrised)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from steadyml.adapters.store import Store, StoreUnavailable
from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.adapters.store.tables import VERSION_TABLE, Base
from steadyml.core.clock import ManualClock
from steadyml.core.monitoring import AlertRule, IncidentBook, RuleState
from steadyml.errors import ConfigError
from steadyml.spec import AlertRuleSpec

T0 = datetime(2016, 3, 1, 12, 0, tzinfo=UTC)


def _move(store: Store, version: int | None, at: datetime | None, **extra: Any) -> None:
    fields: dict[str, Any] = {
        "service": "census",
        "model_name": "census-model",
        "alias": "champion",
        "previous_version": None,
        "action": "promote",
        "actor": "ana",
        "reason": "gate passed",
        "gate_passed": True,
    }
    fields.update(extra)
    store.record_alias_move(version=version, at=at, **fields)


# -- schema ------------------------------------------------------------------------------


def test_open_creates_the_schema_at_head_and_it_matches_the_tables(store_url: str) -> None:
    Store.open(store_url).close()
    engine = create_engine(store_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            context = MigrationContext.configure(
                connection, opts={"version_table": VERSION_TABLE, "compare_type": True}
            )
            assert context.get_current_revision() == "0004"
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()
    assert {"steadyml_alias_moves", "steadyml_audit_log", "steadyml_gate_results"} <= tables
    assert "alembic_version" not in tables  # MLflow's table name stays free


def test_opening_twice_is_a_no_op_and_keeps_rows(store_url: str) -> None:
    with Store.open(store_url) as first:
        first.record_action(service="census", action="promote", actor="ana", reason="ok", at=T0)
    with Store.open(store_url) as second:
        assert [entry.reason for entry in second.audit_log("census")] == ["ok"]
    with Store.open(store_url) as third:
        assert len(third.audit_log()) == 1


def test_sqlite_runs_in_wal_mode_and_creates_parent_dirs(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "steadyml.db"
    with Store.open(f"sqlite:///{path}"):
        pass
    assert path.is_file()
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_in_memory_sqlite_works_across_threads() -> None:
    with Store.open("sqlite://") as store:
        worker = threading.Thread(
            target=store.record_action,
            kwargs={"service": "s", "action": "retrain", "actor": "bot", "reason": "drift"},
        )
        worker.start()
        worker.join()
        assert [entry.action for entry in store.audit_log("s")] == ["retrain"]


# -- alias history -----------------------------------------------------------------------


def test_version_at_across_several_moves_with_boundaries(store: Store) -> None:
    _move(store, 1, T0)
    _move(store, 2, T0 + timedelta(hours=1), previous_version=1)
    _move(store, 1, T0 + timedelta(hours=2), previous_version=2, action="rollback")
    _move(store, None, T0 + timedelta(hours=3), previous_version=1, action="retire")
    _move(store, 7, T0 + timedelta(hours=1), alias="previous")  # another alias
    _move(store, 9, T0, service="other")  # another service
    tick = timedelta(microseconds=1)
    expected = {
        T0 - tick: None,
        T0: 1,  # a move is in effect from its own instant
        T0 + timedelta(hours=1) - tick: 1,
        T0 + timedelta(hours=1): 2,
        T0 + timedelta(hours=2) - tick: 2,
        T0 + timedelta(hours=2): 1,
        T0 + timedelta(hours=3): None,  # removed
        T0 + timedelta(days=30): None,
    }
    assert {at: store.version_at("census", at) for at in expected} == expected
    assert store.version_at("census", T0 + timedelta(hours=5), alias="previous") == 7
    assert store.version_at("other", T0) == 9
    assert store.version_at("nobody", T0) is None


def test_version_at_takes_the_later_of_two_moves_at_the_same_instant(store: Store) -> None:
    _move(store, 3, T0)
    _move(store, 4, T0, previous_version=3)
    assert store.version_at("census", T0) == 4


def test_version_at_accepts_other_zones_and_naive_utc(store: Store) -> None:
    _move(store, 5, T0)
    eastern = timezone(timedelta(hours=-5))
    assert store.version_at("census", T0.astimezone(eastern)) == 5
    assert store.version_at("census", (T0 - timedelta(seconds=1)).astimezone(eastern)) is None
    assert store.version_at("census", T0.replace(tzinfo=None)) == 5


def test_alias_history_round_trips_every_field_oldest_first(store: Store) -> None:
    _move(store, 2, T0 + timedelta(hours=1), previous_version=1, evidence={"delta": 0.02})
    _move(store, 1, T0, gate_passed=None, reason="forced: hotfix", action="promote_forced")
    _move(store, 3, T0 + timedelta(hours=2), alias="candidate", gate_passed=False)
    history = store.alias_history("census", "champion")
    assert [m.version for m in history] == [1, 2]
    first, second = history
    assert (first.gate_passed, first.reason, first.action) == (
        None,
        "forced: hotfix",
        "promote_forced",
    )
    assert second.evidence == {"delta": 0.02}
    assert second.previous_version == 1
    assert second.model_name == "census-model"
    assert second.at == T0 + timedelta(hours=1)
    assert second.at.tzinfo is not None
    assert second.at.utcoffset() == timedelta(0)
    assert second.to_dict()["at"] == "2016-03-01T13:00:00+00:00"
    assert [m.alias for m in store.alias_history("census")] == ["champion", "champion", "candidate"]


def test_default_timestamps_come_from_the_clock(store_url: str) -> None:
    clock = ManualClock(T0)
    with Store.open(store_url, clock=clock) as store:
        _move(store, 1, None)
        clock.advance(timedelta(minutes=5))
        entry = store.record_action(service="census", action="page", actor="bot", reason="x")
        assert store.alias_history("census")[0].at == T0
        assert entry.at == T0 + timedelta(minutes=5)


# -- audit log and gate results ----------------------------------------------------------


def _incidents(store: Store, count: int) -> list[int]:
    spec = AlertRuleSpec(name="nan", metric="health.nan_rate", threshold=0.01)
    rule = AlertRule.compile(spec, ("5m",))
    ids: list[int] = []
    for index in range(count):
        state = RuleState(rule, str(index), "", True, False, (T0,), None, T0)
        book = IncidentBook("census", [], [], T0)
        book.apply([state])
        with MonitorStore(store).transaction("census") as tx:
            ids.extend(tx.apply(book.changed_incidents, book.changed_alerts, book.events).values())
    return ids


def test_audit_log_is_newest_first_per_service_with_limit(store: Store) -> None:
    incident_ids = _incidents(store, 5)
    for minute in range(5):
        store.record_action(
            service="census" if minute % 2 == 0 else "churn",
            action="fallback_mode",
            actor="responder",
            reason=f"incident {minute}",
            target="v1",
            incident_id=incident_ids[minute],
            evidence={"nan_rate": np.float32(0.25), "rows": np.int64(40), "ok": np.bool_(True)},
            at=T0 + timedelta(minutes=minute),
        )
    census = store.audit_log("census")
    assert [entry.reason for entry in census] == ["incident 4", "incident 2", "incident 0"]
    assert census[0].incident_id == incident_ids[4]
    assert census[0].target == "v1"
    assert census[0].evidence == {"nan_rate": 0.25, "rows": 40, "ok": True}
    assert [entry.service for entry in store.audit_log(limit=2)] == ["census", "churn"]
    with pytest.raises(ConfigError, match="incident_id"):
        store.record_action(
            service="census", action="page", actor="bot", reason="x", incident_id=10**9
        )


def test_gate_results_latest_per_candidate(store: Store) -> None:
    report = {"primary": {"metric": "roc_auc", "delta": np.float64(0.013)}, "slices": [1, 2]}
    store.record_gate_result(
        service="census", candidate_version=2, champion_version=1, passed=False,
        report={"reason": "too slow"}, at=T0,
    )  # fmt: skip
    store.record_gate_result(
        service="census", candidate_version=2, champion_version=1, passed=True, report=report,
        at=T0 + timedelta(hours=1),
    )  # fmt: skip
    store.record_gate_result(
        service="census", candidate_version=3, champion_version=None, passed=False, report={},
        at=T0 + timedelta(hours=2),
    )  # fmt: skip
    latest = store.latest_gate_result("census", 2)
    assert latest is not None
    assert latest.passed is True
    assert latest.report == {"primary": {"metric": "roc_auc", "delta": 0.013}, "slices": [1, 2]}
    assert latest.champion_version == 1
    third = store.latest_gate_result("census", 3)
    assert third is not None
    assert third.champion_version is None
    assert not third.passed
    assert store.latest_gate_result("census", 4) is None
    assert store.latest_gate_result("churn", 2) is None


def test_nan_in_evidence_is_stored_as_null(store: Store) -> None:
    entry = store.record_action(
        service="s", action="a", actor="b", reason="c", evidence={"x": float("nan")}
    )
    assert entry.evidence == {"x": None}
    assert store.audit_log("s")[0].evidence == {"x": None}


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("service", ""), ("actor", "x" * 300), ("action", None), ("version", 0), ("version", True)],
)
def test_invalid_fields_name_the_field(store: Store, field: str, value: object) -> None:
    fields: dict[str, Any] = {"version": 1, field: value}
    with pytest.raises(ConfigError) as caught:
        _move(store, at=T0, **fields)
    assert caught.value.field == field


def test_unserialisable_evidence_and_bad_limit_are_config_errors(store: Store) -> None:
    with pytest.raises(ConfigError) as caught:
        store.record_action(service="s", action="a", actor="b", reason="c", evidence={"x": {1, 2}})
    assert caught.value.field == "evidence"
    with pytest.raises(ConfigError) as limit:
        store.audit_log(limit=0)
    assert limit.value.field == "limit"
    assert store.audit_log() == []  # nothing half-written


def test_unreachable_postgres_is_store_unavailable_fast() -> None:
    with pytest.raises(StoreUnavailable) as caught:
        Store.open("postgresql+psycopg://postgres:secret@127.0.0.1:1/none")
    assert caught.value.field == "store.url"
    assert "secret" not in caught.value.one_line()
    assert "127.0.0.1:1" in caught.value.one_line()


def test_unwritable_sqlite_location_is_store_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreUnavailable):
        Store.open(f"sqlite:///{blocker}/steadyml.db")


def test_malformed_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        Store.open("nodriver+nothing://x")
    assert caught.value.field == "store.url"


# -- concurrency -------------------------------------------------------------------------

_CHILD = """
import sys, time
from pathlib import Path
from steadyml.adapters.store import Store
go = Path(sys.argv[3])
Path(f"{go}.{sys.argv[2]}").touch()  # ready: imports done
while not go.exists():
    time.sleep(0.005)
store = Store.open(sys.argv[1])
for i in range(20):
    store.record_action(service="s", action="a", actor=sys.argv[2], reason=str(i))
store.close()
"""


def test_concurrent_opens_of_a_new_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared/steadyml.db"
    go = tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, url, f"process-{n}", str(go)], stderr=subprocess.PIPE
        )
        for n in range(3)
    ]
    errors: list[BaseException] = []
    start = threading.Event()

    def work(name: str) -> None:
        start.wait()
        try:
            with Store.open(url) as store:
                for i in range(20):
                    store.record_action(service="s", action="a", actor=name, reason=str(i))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"thread-{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("go.process-*"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)  # every child has imported and waits at the barrier
    go.touch()
    start.set()
    for thread in threads:
        thread.join()
    outputs = [child.communicate(timeout=60)[1].decode() for child in children]
    assert errors == []
    assert [child.returncode for child in children] == [0, 0, 0], outputs
    with Store.open(url) as store:
        entries = store.audit_log("s", limit=1000)
    assert len(entries) == 6 * 20
    assert {entry.actor for entry in entries} == {
        f"{kind}-{n}" for kind in ("process", "thread") for n in range(3)
    }
    assert len({entry.id for entry in entries}) == 120


@pytest.mark.postgres
def test_concurrent_opens_of_a_new_postgres_database(postgres_url: str) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with Store.open(postgres_url) as store:
                store.record_action(service="s", action="a", actor="t", reason="r")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Store.open(postgres_url) as store:
        assert len(store.audit_log("s")) == 4
