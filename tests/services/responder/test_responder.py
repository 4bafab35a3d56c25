"""The responder against a real store and a real MLflow registry: each action once, audited,
undone or kept as it should be, cooldowns on the clock, no double action after a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.adapters.store.responses import ResponseStore
from steadyml.core.clock import ManualClock
from steadyml.core.monitoring import AlertRule, IncidentBook, RuleState
from steadyml.errors import SpecError
from steadyml.services.responder import ACTOR, CONSUMER, Responder
from steadyml.services.workspace import Workspace
from steadyml.spec import AlertRuleSpec, ServiceSpec
from tests.services.responder.conftest import edit_spec, with_responses

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_METRIC = {"nan_output": "health.nan_rate", "schema_break": "quality.rejection_rate"}


def _rule(incident_type: str) -> AlertRule:
    spec = AlertRuleSpec(name=incident_type, metric=_METRIC[incident_type], threshold=0.01)
    return AlertRule.compile(spec, ("5m",))


def raise_incident(ws: Workspace, now: datetime, incident_type: str = "nan_output") -> int:
    """Fire a rule the way the monitor does; returns the incident id."""
    rule = _rule(incident_type)
    with MonitorStore(ws.store).transaction(ws.spec.service) as tx:
        book = IncidentBook(ws.spec.service, tx.active_alerts(), tx.open_incidents(), now)
        book.apply([RuleState(rule, "2", "", True, False, (now,), None, now)])
        ids = tx.apply(book.changed_incidents, book.changed_alerts, book.events)
    return max(ids.values())


def resolve_all(ws: Workspace, now: datetime, incident_type: str = "nan_output") -> None:
    rule = _rule(incident_type)
    with MonitorStore(ws.store).transaction(ws.spec.service) as tx:
        book = IncidentBook(ws.spec.service, tx.active_alerts(), tx.open_incidents(), now)
        book.apply([RuleState(rule, "2", "", False, True, (), None, now)])
        tx.apply(book.changed_incidents, book.changed_alerts, book.events)


class Recorder:
    """A sinks dispatcher that keeps what it was given (the responder's Notifier protocol)."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, notification: Any) -> None:
        self.sent.append(notification)


def audit(ws: Workspace, action: str) -> list[Any]:
    return [e for e in ws.store.audit_log(ws.spec.service, limit=500) if e.action == action]


def test_no_responses_means_no_action(workspace: Workspace) -> None:
    responder = Responder(workspace, clock=ManualClock(T0))
    raise_incident(workspace, T0)
    report = responder.run_once()
    assert report.events == 0
    assert ResponseStore(workspace.store).actions() == []


@pytest.mark.parametrize(
    ("response", "key"),
    [
        ({"on": "nan_outptu", "action": "rollback"}, "responses.0.on"),
        ({"on": "nan_output", "action": "rollback", "cooldown": "soon"}, "responses.0.cooldown"),
        ({"on": "nan_output", "action": "page", "auto_promote": True}, "responses.0.auto_promote"),
    ],
)
def test_misconfigured_policies_are_refused_at_start_with_the_key(
    project: ServiceSpec, response: dict[str, object], key: str
) -> None:
    spec = with_responses(project, response)
    with Workspace.open(spec, environ={}) as ws, pytest.raises(SpecError) as caught:
        Responder(ws)
    assert caught.value.field == key
    if key.endswith(".on"):
        assert "nan_output" in str(caught.value)


def test_unknown_action_is_refused_when_the_spec_loads(project: ServiceSpec) -> None:
    with pytest.raises(SpecError, match=r"responses\.0\.action"):
        with_responses(project, {"on": "nan_output", "action": "reboot"})


def test_fallback_mode_once_audited_and_cleared_when_the_incident_resolves(
    project: ServiceSpec,
) -> None:
    spec = with_responses(project, {"on": "nan_output", "action": "fallback_mode"})
    clock = ManualClock(T0)
    with Workspace.open(spec, environ={}) as ws:
        responder = Responder(ws, clock=clock)
        incident = raise_incident(ws, T0)
        report = responder.run_once()
        assert [(r.action, r.status) for r in report.finished] == [("fallback_mode", "done")]
        responses = ResponseStore(ws.store)
        [mode] = responses.active_modes("employment")
        assert (mode.mode, mode.incident_id, mode.actor) == ("fallback", incident, ACTOR)
        [entry] = audit(ws, "fallback_mode")
        assert entry.incident_id == incident
        assert entry.evidence["incident"]
        assert entry.evidence["type"] == "nan_output"
        # processing again (another round, another responder) does not act twice
        assert responder.run_once().finished == []
        assert Responder(ws, clock=clock).run_once().finished == []
        assert len(responses.actions("employment")) == 1
        clock.advance(timedelta(minutes=20))
        resolve_all(ws, clock.now())
        report = responder.run_once()
        assert report.cleared == [incident]
        assert responses.active_modes("employment") == []
        [action] = responses.actions("employment")
        assert action.status == "undone"
        [cleared] = audit(ws, "fallback_mode_cleared")
        assert cleared.incident_id == incident


def test_cooldown_skips_a_second_incident_then_acts_again(project: ServiceSpec) -> None:
    spec = with_responses(
        project, {"on": "nan_output", "action": "fallback_mode", "cooldown": "30m"}
    )
    clock = ManualClock(T0)
    with Workspace.open(spec, environ={}) as ws:
        responder = Responder(ws, clock=clock)
        raise_incident(ws, clock.now())
        responder.run_once()
        resolve_all(ws, clock.advance(timedelta(minutes=5)))
        responder.run_once()
        second = raise_incident(ws, clock.advance(timedelta(minutes=5)))
        report = responder.run_once()
        assert [(r.incident_id, r.status) for r in report.skipped] == [(second, "skipped")]
        assert ResponseStore(ws.store).active_modes("employment") == []
        resolve_all(ws, clock.advance(timedelta(minutes=5)))
        responder.run_once()
        third = raise_incident(ws, clock.advance(timedelta(minutes=25)))
        report = responder.run_once()
        assert [(r.incident_id, r.status) for r in report.finished] == [(third, "done")]
        assert len(audit(ws, "fallback_mode")) == 2


def test_rollback_once_audited_and_not_undone(project: ServiceSpec) -> None:
    spec = with_responses(project, {"on": "nan_output", "action": "rollback"})
    clock = ManualClock(T0)
    with Workspace.open(spec, environ={}) as ws:
        assert ws.registry.alias_version("champion") == 2
        responder = Responder(ws, clock=clock)
        incident = raise_incident(ws, T0)
        report = responder.run_once()
        assert [(r.action, r.status) for r in report.finished] == [("rollback", "done")]
        assert report.finished[0].result["champion"] == 1
        assert ws.registry.alias_version("champion") == 1
        [entry] = audit(ws, "rollback")
        assert (entry.incident_id, entry.actor) == (incident, ACTOR)
        resolve_all(ws, clock.advance(timedelta(minutes=30)))
        responder.run_once()
        assert ws.registry.alias_version("champion") == 1  # a rollback is not undone
        [action] = ResponseStore(ws.store).actions("employment")
        assert action.status == "done"
        assert len(audit(ws, "rollback")) == 1


def test_page_goes_to_the_sinks_once_and_resolved_follows(project: ServiceSpec) -> None:
    spec = with_responses(project, {"on": "schema_break", "action": "page"})
    clock = ManualClock(T0)
    sinks = Recorder()
    with Workspace.open(spec, environ={}) as ws:
        responder = Responder(ws, clock=clock, notifier=sinks)
        incident = raise_incident(ws, T0, "schema_break")
        raise_incident(ws, T0, "nan_output")  # no policy: nothing sent
        responder.run_once()
        responder.run_once()
        assert [(n["kind"], n["incident_id"]) for n in sinks.sent] == [("opened", incident)]
        [entry] = audit(ws, "page")
        assert entry.incident_id == incident
        resolve_all(ws, clock.advance(timedelta(minutes=30)), "schema_break")
        responder.run_once()
        responder.run_once()
        assert [n["kind"] for n in sinks.sent] == ["opened", "resolved"]


def test_page_without_a_dispatcher_is_recorded_as_failed(project: ServiceSpec) -> None:
    spec = with_responses(project, {"on": "nan_output", "action": "page"})
    with Workspace.open(spec, environ={}) as ws:
        raise_incident(ws, T0)
        report = Responder(ws, clock=ManualClock(T0)).run_once()
        [record] = report.finished
        assert record.status == "failed"
        assert "sinks" in record.result["error"]


def test_a_crash_after_the_claim_resumes_the_action_once(project: ServiceSpec) -> None:
    spec = with_responses(project, {"on": "nan_output", "action": "fallback_mode"})
    clock = ManualClock(T0)
    with Workspace.open(spec, environ={}) as ws:
        incident = raise_incident(ws, T0)
        # a server-side responder claims the action but dies before running it
        crashed = Responder(ws, clock=clock, executes=())
        report = crashed.run_once()
        assert [(r.action, r.status) for r in report.requested] == [("fallback_mode", "requested")]
        responses = ResponseStore(ws.store)
        assert responses.cursor(CONSUMER, "employment") > 0
        assert responses.active_modes("employment") == []
        survivors = [Responder(ws, clock=clock), Responder(ws, clock=clock)]
        reports = [r.run_once() for r in survivors]
        done = [f for r in reports for f in r.finished]
        assert [(f.incident_id, f.status, f.attempts) for f in done] == [(incident, "done", 1)]
        assert len(audit(ws, "fallback_mode")) == 1
        assert len(responses.active_modes("employment")) == 1


def test_an_interrupted_claim_leaves_no_action_and_the_cursor_in_place(
    project: ServiceSpec,
) -> None:
    spec = with_responses(project, {"on": "nan_output", "action": "fallback_mode"})
    with Workspace.open(spec, environ={}) as ws:
        raise_incident(ws, T0)
        responses = ResponseStore(ws.store)
        responder = Responder(ws, clock=ManualClock(T0))
        original = responses.claim

        def crash(*args: Any, **kwargs: Any) -> Any:
            raise KeyboardInterrupt  # the process dies before the transaction

        responses_of = responder.responses
        responses_of.claim = crash  # type: ignore[method-assign]
        with pytest.raises(KeyboardInterrupt):
            responder.run_once()
        responses_of.claim = original  # type: ignore[method-assign]
        assert responses.cursor(CONSUMER, "employment") == 0
        assert responses.actions("employment") == []
        report = Responder(ws, clock=ManualClock(T0)).run_once()
        assert [r.action for r in report.finished] == ["fallback_mode"]


@pytest.mark.slow
def test_retrain_trains_and_gates_but_promotes_only_when_allowed(project: ServiceSpec) -> None:
    spec = with_responses(project, {"on": "schema_break", "action": "retrain"})
    spec = edit_spec(spec, "retrain", data="source")  # production rows: test_retrain_data.py
    with Workspace.open(spec, environ={}) as ws:
        responder = Responder(ws, clock=ManualClock(T0))
        incident = raise_incident(ws, T0, "schema_break")
        report = responder.run_once()
        assert [(r.action, r.status) for r in report.requested] == [("retrain", "requested")]
        assert responder.wait_idle(120)
        responder.close()
        [action] = ResponseStore(ws.store).actions("employment")
        assert action.status == "done", action.result
        assert action.result["candidate"] == 3
        assert action.result["promoted"] is False
        assert ws.registry.alias_version("champion") == 2
        assert ws.store.latest_gate_result("employment", 3) is not None
        [entry] = audit(ws, "retrain")
        assert entry.incident_id == incident
        # the candidate's training is the responder's act, on the responder's clock
        [trained] = [e for e in audit(ws, "train") if e.target == "version 3"]
        assert (trained.actor, trained.at) == (ACTOR, T0)


def test_a_database_outage_skips_rounds_then_the_action_runs_once(project: ServiceSpec) -> None:
    """The responder's loop survives the store going away and acts once it is back."""
    from pathlib import Path

    from steadyml.adapters.store import StoreUnavailable

    spec = with_responses(project, {"on": "nan_output", "action": "fallback_mode"})
    clock = ManualClock(T0)
    with Workspace.open(spec, environ={}) as ws:
        responder = Responder(ws, clock=clock)
        incident = raise_incident(ws, T0)
        database = Path(ws.store.url.removeprefix("sqlite:///"))
        aside = database.with_name("moved-away.db")
        ws.store.close()
        database.rename(aside)
        database.mkdir()  # the path is there but no database opens
        failures: list[BaseException] = []
        rounds = responder.watch(0.01, on_error=failures.append, max_rounds=2)
        assert rounds == 2 and len(failures) == 2
        assert all(isinstance(f, StoreUnavailable) for f in failures), failures
        database.rmdir()
        aside.rename(database)
        finished: list[Any] = []
        responder.watch(0.01, on_round=lambda r: finished.extend(r.finished), max_rounds=2)
        assert [(r.action, r.status) for r in finished] == [("fallback_mode", "done")]
        [entry] = audit(ws, "fallback_mode")
        assert entry.incident_id == incident
