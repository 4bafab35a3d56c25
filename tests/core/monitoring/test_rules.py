"""Alert rules: checked at start-up, k-of-n hysteresis, clearing after complete clear windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from steadyml.core.monitoring import AlertRule, Measurement, compile_rules, evaluate
from steadyml.errors import SpecError
from steadyml.spec import AlertRuleSpec, parse_spec

T = datetime(2016, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)


def spec_with(**sections: Any) -> Any:
    raw: dict[str, Any] = {
        "service": "s",
        "task": "binary_classification",
        "data": {"source": {"path": "x"}, "target": "y"},
        "monitors": {"windows": ["5m", "1h"]},
    }
    raw.update(sections)
    return parse_spec(raw)


def rule(**fields: Any) -> AlertRule:
    base: dict[str, Any] = {"name": "r", "metric": "health.error_rate", "threshold": 0.01}
    base.update(fields)
    return AlertRule.compile(AlertRuleSpec(**base), ("5m", "1h"))


def test_the_defaults_cover_the_classic_failures() -> None:
    rules = {r.name: r for r in compile_rules(spec_with())}
    expected = {
        "nan_output": "nan_output",
        "error_rate": "error_rate",
        "latency_p99": "latency",
        "schema_break_nulls": "schema_break",
        "rejection_rate": "schema_break",
        "feature_drift": "feature_drift",
        "prediction_drift": "prediction_drift",
        "performance_drop": "performance_drop",
        "traffic_drop": "traffic",
    }
    for name, incident in expected.items():
        assert rules[name].incident == incident, name
    assert rules["feature_drift"].threshold == 0.25 and rules["feature_drift"].subject == "*"
    assert rules["prediction_drift"].threshold == 0.2
    warning = rules["feature_drift_warning"]  # a moderate shift: raised, never paged
    assert (warning.window, warning.decision, warning.severity) == ("1h", "warn", "P3")
    assert (warning.threshold, warning.bound) == (0.04, "low")
    assert warning.incident == "feature_drift" and warning.subject == "*"
    assert (
        rules["performance_drop"].window == "1h" and rules["performance_drop"].decision == "drift"
    )
    assert rules["nan_output"].triage == "model" and rules["error_rate"].triage == "infrastructure"
    assert "kpi_drop" not in rules
    with_kpi = compile_rules(spec_with(monitors={"windows": ["5m", "1h"], "kpi": {"name": "buy"}}))
    assert any(r.name == "kpi_drop" and r.subject == "buy" for r in with_kpi)


def test_a_spec_rule_replaces_the_default_of_the_same_name() -> None:
    custom = {"name": "nan_output", "metric": "health.nan_rate", "threshold": 0.2, "severity": "P0"}
    rules = {r.name: r for r in compile_rules(spec_with(alerts=[custom]))}
    assert rules["nan_output"].threshold == 0.2 and rules["nan_output"].severity == "P0"
    none = compile_rules(spec_with(monitors={"windows": ["5m"], "default_rules": False}))
    assert none == ()


@pytest.mark.parametrize(
    ("fields", "key", "fix"),
    [
        ({"metric": "health.eror_rate"}, "alerts.0.metric", "did you mean 'health.error_rate'"),
        ({"metric": "health.error_rate:AGEP"}, "alerts.0.metric", "not per feature"),
        ({"threshold": 1.5}, "alerts.0.threshold", "can never fire"),
        ({"comparator": "<", "threshold": 0.0}, "alerts.0.threshold", "can never fire"),
        ({"window": "15m"}, "alerts.0.window", "not a monitored window"),
        (
            {"metric": "volume.rows", "decision": "drift", "threshold": None},
            "alerts.0.decision",
            "no calibrated",
        ),
    ],
)
def test_a_misconfigured_rule_is_refused_with_its_key(
    fields: dict[str, Any], key: str, fix: str
) -> None:
    base: dict[str, Any] = {"name": "bad", "metric": "health.error_rate", "threshold": 0.5}
    base.update(fields)
    with pytest.raises(SpecError) as info:
        compile_rules(spec_with(alerts=[base]))
    assert info.value.field == key
    assert fix in info.value.fix


def test_a_rule_needs_a_threshold_or_a_decision() -> None:
    with pytest.raises(SpecError) as info:
        spec_with(alerts=[{"name": "x", "metric": "drift.psi:*"}])
    assert "threshold" in info.value.fix


def test_subjects_match_per_feature_and_overall() -> None:
    per_feature = rule(metric="drift.psi", threshold=0.25)
    assert per_feature.subject == "*"
    assert per_feature.matches(Measurement("drift.psi", 0.3, "AGEP"))
    assert not per_feature.matches(Measurement("drift.psi", 0.3, ""))
    one = rule(metric="drift.psi:ANC", threshold=0.25)
    assert one.matches(Measurement("drift.psi", 1, "ANC")) and not one.matches(
        Measurement("drift.psi", 1, "AGEP")
    )
    overall = rule(metric="performance.roc_auc", decision="drift", threshold=None)
    assert overall.matches(Measurement("performance.roc_auc", 0.8))
    assert not overall.matches(Measurement("performance.roc_auc", 0.8, "SEX=1"))


def test_breach_uses_the_bound_the_decision_and_min_rows() -> None:
    low_bound = rule(bound="low", min_rows=100)
    noisy = Measurement("health.error_rate", 0.05, low=0.002, high=0.2, n=100)
    sure = Measurement("health.error_rate", 0.05, low=0.03, high=0.07, n=1000)
    few = Measurement("health.error_rate", 0.5, low=0.3, high=0.7, n=10)
    assert (
        not low_bound.breached(noisy) and low_bound.breached(sure) and not low_bound.breached(few)
    )
    both = rule(metric="drift.psi", threshold=0.25, decision="warn")
    assert not both.breached(Measurement("drift.psi", 0.4, "A", status="ok"))
    assert both.breached(Measurement("drift.psi", 0.4, "A", status="warn"))
    assert not both.breached(Measurement("drift.psi", 0.1, "A", status="drift"))
    assert not both.breached(None)


def _history(values: list[float | None], complete: int | None = None) -> list[Any]:
    points = []
    for i, v in enumerate(values):
        m = None if v is None else Measurement("health.error_rate", v, n=1000)
        done = complete is None or i < complete
        points.append((T + i * STEP, m, done))
    return points


def test_k_of_n_fires_only_with_enough_breaching_windows() -> None:
    two_of_three = rule(k=2, n=3)
    assert not evaluate(two_of_three, "1", "", _history([0.0, 0.0, 0.5]), 3).firing
    state = evaluate(two_of_three, "1", "", _history([0.5, 0.0, 0.5]), 3)
    assert state.firing and state.breaches == (T, T + 2 * STEP)
    assert not evaluate(two_of_three, "1", "", _history([0.5, 0.0, 0.0, 0.5]), 3).firing


def test_a_series_clears_after_enough_complete_clear_windows() -> None:
    r = rule()
    assert not evaluate(r, "1", "", _history([0.5, 0.0, 0.0]), 3).clear
    assert evaluate(r, "1", "", _history([0.5, 0.0, 0.0, 0.0]), 3).clear
    # the newest window is not complete: it does not count yet
    assert not evaluate(r, "1", "", _history([0.5, 0.0, 0.0, 0.0], complete=3), 3).clear
    # windows without data count as clear once complete (the data stopped)
    assert evaluate(r, "1", "", _history([0.5, None, None, None]), 3).clear
