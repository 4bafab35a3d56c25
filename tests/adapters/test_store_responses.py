"""The responder's records on SQLite and PostgreSQL: cursor + actions in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from steadyml.adapters.store import Store, alembic_config
from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.adapters.store.responses import ActionRequest, ResponseStore
from steadyml.core.clock import ManualClock
from steadyml.core.monitoring import AlertRule, IncidentBook, RuleState
from steadyml.errors import ConfigError
from steadyml.spec import AlertRuleSpec

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return f"sqlite:///{tmp_path}/steadyml.db"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as opened:
        yield opened


def open_incident(store: Store, version: str = "1", service: str = "census") -> int:
    """A real open nan_output incident, written the way the monitor writes it."""
    rule = AlertRule.compile(
        AlertRuleSpec(name="nan", metric="health.nan_rate", threshold=0.01), ("5m",)
    )
    book = IncidentBook(service, [], [], T0)
    book.apply([RuleState(rule, version, "", True, False, (T0,), None, T0)])
    with MonitorStore(store).transaction(service) as tx:
        ids = tx.apply(book.changed_incidents, book.changed_alerts, book.events)
    return next(iter(ids.values()))


def request(incident_id: int, action: str = "fallback_mode", **extra: object) -> ActionRequest:
    fields: dict[str, object] = {
        "service": "census",
        "incident_id": incident_id,
        "incident_type": "nan_output",
        "action": action,
        "event_id": 1,
        "actor": "bot",
        "cooldown_key": f"census/nan_output/{action}",
        "cooldown": timedelta(minutes=30),
        "evidence": {"why": "nan"},
    }
    fields.update(extra)
    return ActionRequest(**fields)  # type: ignore[arg-type]


def test_claim_moves_the_cursor_with_the_actions_and_never_twice(store: Store) -> None:
    responses = ResponseStore(store, ManualClock(T0))
    incident = open_incident(store)
    assert responses.cursor("responder", "census") == 0
    first = responses.claim(
        "responder", "census", expected=0, last_event_id=7, requests=[request(incident)]
    )
    assert first is not None
    assert [(r.action, r.status, r.attempts) for r in first] == [("fallback_mode", "requested", 1)]
    assert responses.cursor("responder", "census") == 7
    # a second responder that read the same events finds the cursor moved: nothing stored
    again = responses.claim(
        "responder", "census", expected=0, last_event_id=7, requests=[request(incident)]
    )
    assert again is None
    # the same incident and action is never stored twice, even from later events
    later = responses.claim(
        "responder", "census", expected=7, last_event_id=9, requests=[request(incident)]
    )
    assert later == []
    assert len(responses.actions("census")) == 1
    assert responses.cursor("other-consumer", "census") == 0


def test_a_failing_claim_stores_nothing_and_keeps_the_cursor(store: Store) -> None:
    responses = ResponseStore(store, ManualClock(T0))
    incident = open_incident(store)
    bad = request(10**9)  # no such incident: the foreign key refuses it mid-transaction
    assert (
        responses.claim(
            "responder", "census", expected=0, last_event_id=5, requests=[request(incident), bad]
        )
        is None
    )
    assert responses.actions("census") == []
    assert responses.cursor("responder", "census") == 0


def test_cooldown_is_per_key_on_the_clock(store: Store) -> None:
    clock = ManualClock(T0)
    responses = ResponseStore(store, clock)
    one, two, three = open_incident(store), open_incident(store), open_incident(store)
    assert one != two != three
    responses.claim("r", "census", expected=0, last_event_id=1, requests=[request(one)])
    clock.advance(timedelta(minutes=10))
    claimed = responses.claim("r", "census", expected=1, last_event_id=2, requests=[request(two)])
    assert claimed is not None
    assert claimed[0].status == "skipped"
    assert claimed[0].result["reason"] == "cooldown"
    clock.advance(timedelta(minutes=21))
    claimed = responses.claim("r", "census", expected=2, last_event_id=3, requests=[request(three)])
    assert claimed is not None
    assert claimed[0].status == "requested"


def test_pending_actions_are_taken_over_once_after_their_lease(store: Store) -> None:
    clock = ManualClock(T0)
    responses = ResponseStore(store, clock)
    incident = open_incident(store)
    responses.claim(
        "r", "census", expected=0, last_event_id=1,
        requests=[request(incident), request(incident, "retrain", claim=False)],
    )  # fmt: skip
    lease = timedelta(minutes=1)
    taken = responses.claim_pending("census", ["retrain"], lease)
    assert [r.action for r in taken] == ["retrain"]  # never claimed: free at once
    assert responses.claim_pending("census", ["retrain", "fallback_mode"], lease) == []
    clock.advance(timedelta(minutes=2))
    taken = responses.claim_pending("census", ["fallback_mode"], lease)
    assert [(r.action, r.attempts) for r in taken] == [("fallback_mode", 2)]
    done = responses.finish(taken[0].id, "done", {"mode": 1})
    assert done.status == "done"
    assert done.finished_at == clock.now()
    with pytest.raises(ConfigError, match="status"):
        responses.finish(taken[0].id, "maybe")


def test_service_modes_set_once_and_clear_per_incident(store: Store) -> None:
    responses = ResponseStore(store, ManualClock(T0))
    one, two = open_incident(store), open_incident(store)
    first = responses.set_mode("census", "fallback", reason="nan", actor="bot", incident_id=one)
    assert (
        responses.set_mode("census", "fallback", reason="nan", actor="bot", incident_id=one)
        == first
    )
    responses.set_mode("census", "fallback", reason="x", actor="bot", incident_id=two)
    assert len(responses.active_modes("census")) == 2
    assert responses.active_modes("other") == []
    cleared = responses.clear_modes("census", incident_id=one)
    assert [m.incident_id for m in cleared] == [one]
    assert [m.incident_id for m in responses.active_modes("census")] == [two]


def test_upgrade_from_0002_keeps_unknown_incident_ids_in_the_evidence(store_url: str) -> None:
    command.upgrade(alembic_config(store_url), "0002")
    engine = create_engine(store_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO steadyml_audit_log (service, action, actor, reason, target, "
                "incident_id, evidence, at) VALUES ('census', 'page', 'bot', 'x', '', 42, "
                "'{\"a\": 1}', '2026-01-01 00:00:00')"
            )
        )
    engine.dispose()
    with Store.open(store_url) as store:
        [entry] = store.audit_log("census")
        assert entry.incident_id is None
        assert entry.evidence == {"a": 1, "unknown_incident_id": 42}
        incident = open_incident(store)
        linked = store.record_action(
            service="census", action="page", actor="bot", reason="y", incident_id=incident
        )
        assert linked.incident_id == incident
    command.downgrade(alembic_config(store_url), "0002")
    command.upgrade(alembic_config(store_url), "head")
