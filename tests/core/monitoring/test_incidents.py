"""The incident book: deduplication, grouping per cause, triage, escalation, auto-resolution."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from steadyml.core.monitoring import (
    Alert,
    AlertRule,
    Incident,
    IncidentBook,
    Measurement,
    RuleState,
    root_cause_hint,
)
from steadyml.spec import AlertRuleSpec

T = datetime(2016, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)


def rule(name: str, metric: str, severity: str = "P2", **extra: Any) -> AlertRule:
    spec = AlertRuleSpec(name=name, metric=metric, threshold=0.01, severity=severity, **extra)
    return AlertRule.compile(spec, ("5m",))


NAN = rule("nan_output", "health.nan_rate", "P1")
SCHEMA = rule("schema_break_nulls", "quality.null_rate:*", "P1")
PRED = rule("prediction_drift", "prediction_drift.psi", "P2")
LATENCY = rule("latency_p99", "health.latency_p99_ms", "P2")
DRIFT = rule("feature_drift", "drift.psi:*", "P3")


def state(
    r: AlertRule,
    firing: bool,
    *,
    version: str = "1",
    subject: str = "",
    clear: bool = False,
    at: datetime = T,
) -> RuleState:
    m = Measurement(r.metric, 0.2 if firing else 0.0, subject, n=1000)
    return RuleState(r, version, subject, firing, clear, (at,) if firing else (), m, at)


class Ledger:
    """Carries what a book changed into the next pass, as the store would."""

    def __init__(self) -> None:
        self.alerts: dict[tuple[str, str, str], Alert] = {}
        self.incidents: dict[str, Incident] = {}
        self.events: list[Any] = []

    def run(self, now: datetime, states: list[RuleState]) -> IncidentBook:
        active = [a for a in self.alerts.values() if a.active]
        opened = [i for i in self.incidents.values() if i.open]
        book = IncidentBook("svc", active, opened, now)
        book.apply(states)
        for alert in book.changed_alerts:
            self.alerts[alert.series] = replace(alert, id=alert.id or len(self.alerts) + 1)
        for incident in book.changed_incidents:
            self.incidents[incident.key] = incident
        self.events.extend(book.events)
        return book


def test_a_firing_rule_opens_one_incident_and_is_deduplicated() -> None:
    ledger = Ledger()
    book = ledger.run(T, [state(NAN, True)])
    [incident] = book.changed_incidents
    assert incident.incident_type == "nan_output" and incident.triage == "model"
    assert incident.severity == "P1" and incident.versions == ("1",)
    assert [e.kind for e in book.events] == ["opened", "alert"]
    book = ledger.run(T + STEP, [state(NAN, True, at=T + STEP)])
    assert [e.kind for e in book.events] == []
    assert len(ledger.alerts) == 1 and len(ledger.incidents) == 1
    assert next(iter(ledger.alerts.values())).last_seen == T + STEP


def test_features_of_one_cause_share_an_incident() -> None:
    ledger = Ledger()
    ledger.run(T, [state(SCHEMA, True, subject="ANC"), state(SCHEMA, True, subject="MAR")])
    [incident] = ledger.incidents.values()
    assert incident.incident_type == "schema_break" and incident.triage == "data"
    assert set(incident.features) == {"ANC", "MAR"}
    assert "ANC" in incident.title


def test_data_alerts_on_the_same_feature_share_an_incident() -> None:
    ledger = Ledger()
    out_of_range = rule("out_of_range", "quality.out_of_range_rate:*", "P3")
    ledger.run(T, [state(DRIFT, True, subject="AGEP"), state(out_of_range, True, subject="AGEP")])
    [incident] = ledger.incidents.values()
    assert incident.incident_type == "feature_drift" and incident.features == ("AGEP",)
    ledger.run(T, [state(out_of_range, True, subject="SCHL")])
    assert len(ledger.incidents) == 2  # another feature: another cause


def test_a_symptom_joins_the_open_cause_and_otherwise_stands_alone() -> None:
    ledger = Ledger()
    ledger.run(T, [state(NAN, True), state(PRED, True)])
    [incident] = ledger.incidents.values()
    assert incident.incident_type == "nan_output"
    assert {a.rule for a in ledger.alerts.values()} == {"nan_output", "prediction_drift"}
    alone = Ledger()
    alone.run(T, [state(PRED, True)])
    [only] = alone.incidents.values()
    assert only.incident_type == "prediction_drift" and only.triage == "model"


def test_a_symptom_does_not_join_a_stale_log() -> None:
    ledger = Ledger()
    stale = rule("stale_log", "log.freshness_seconds", "P3")
    ledger.run(T, [state(stale, True, version="*"), state(PRED, True)])
    assert {i.incident_type for i in ledger.incidents.values()} == {"stale_log", "prediction_drift"}


def test_different_causes_are_different_incidents() -> None:
    ledger = Ledger()
    ledger.run(T, [state(NAN, True), state(LATENCY, True)])
    assert {i.incident_type for i in ledger.incidents.values()} == {"nan_output", "latency"}
    assert {i.triage for i in ledger.incidents.values()} == {"model", "infrastructure"}


def test_a_more_urgent_alert_escalates_the_incident() -> None:
    ledger = Ledger()
    ledger.run(T, [state(DRIFT, True, subject="AGEP")])
    urgent = rule("feature_drift_p1", "drift.effect:*", "P1", decision="drift")
    book = ledger.run(T + STEP, [state(urgent, True, subject="AGEP", at=T + STEP)])
    assert [e.kind for e in book.events] == ["alert", "escalated"]
    assert next(iter(ledger.incidents.values())).severity == "P1"


def test_an_incident_resolves_once_every_alert_is_clear() -> None:
    ledger = Ledger()
    ledger.run(T, [state(SCHEMA, True, subject="ANC"), state(SCHEMA, True, subject="MAR")])
    ledger.run(T + STEP, [state(SCHEMA, False, subject="ANC"), state(SCHEMA, False, subject="MAR")])
    assert all(a.status == "clearing" for a in ledger.alerts.values())
    assert next(iter(ledger.incidents.values())).open
    book = ledger.run(
        T + 2 * STEP,
        [state(SCHEMA, False, subject="ANC", clear=True), state(SCHEMA, True, subject="MAR")],
    )
    assert next(iter(ledger.incidents.values())).open
    assert [e.kind for e in book.events] == ["alert_resolved", "alert_refiring"]
    book = ledger.run(T + 3 * STEP, [state(SCHEMA, False, subject="MAR", clear=True)])
    incident = next(iter(ledger.incidents.values()))
    assert incident.status == "resolved" and incident.resolved_at == T + 3 * STEP
    assert [e.kind for e in book.events] == ["alert_resolved", "resolved"]
    # the same failure later is a new incident
    ledger.run(T + 9 * STEP, [state(SCHEMA, True, subject="ANC", at=T + 9 * STEP)])
    assert len(ledger.incidents) == 2


def test_root_cause_hint_ranks_moved_features_by_effect_and_importance() -> None:
    drift = [
        Measurement("drift.effect", 0.30, "ANC", status="drift"),
        Measurement("drift.effect", 0.15, "AGEP", status="drift"),
        Measurement("drift.effect", 0.05, "SCHL", status="warn"),
        Measurement("drift.effect", 0.50, "SEX", status="ok"),
    ]
    hint = root_cause_hint(drift, {"AGEP": 0.6, "ANC": 0.001, "SCHL": 0.2}, {"AGEP": T})
    assert [h["feature"] for h in hint] == ["AGEP", "SCHL", "ANC"]
    assert hint[0]["since"] == T.isoformat() and hint[1]["since"] is None
