"""Which alert detected an injected incident: the report's time-to-detect and alert."""

from __future__ import annotations

from datetime import timedelta

from steadyml.core.monitoring import Alert
from steadyml.services.simulation import parse_scenario
from steadyml.services.simulation.library import build_incidents
from steadyml.services.simulation.result import _first_alert

SCENARIO = parse_scenario(
    {
        "name": "gradual",
        "duration": "2h",
        "incidents": [
            {"type": "covariate_shift", "onset": "1h", "ramp": "1h", "feature": "AGEP",
             "params": {"shift_std": 0.5}},
            {"type": "nan_outputs", "onset": "30m", "duration": "10m"},
        ],
    }
)  # fmt: skip
SHIFT, NAN = sorted(build_incidents(SCENARIO, "employed"), key=lambda i: i.type)[:2]


def alert(rule: str, subject: str, minutes: int) -> Alert:
    at = SCENARIO.start + timedelta(hours=1, minutes=minutes)
    return Alert(
        service="s", rule=rule, metric="m", subject=subject, model_version="1", window="5m",
        severity="P3", incident_type="feature_drift", triage="data", status="open",
        opened_at=at, first_seen=at, last_seen=at, incident_key="k",
    )  # fmt: skip


def test_a_warning_on_another_feature_does_not_detect_a_features_shift() -> None:
    # the monitor grouped an unrelated warning on ANC (3 min) with the AGEP alerts
    grouped = [alert("feature_drift_warning", "ANC", 3), alert("out_of_range", "AGEP", 31),
               alert("feature_drift", "AGEP", 36)]  # fmt: skip
    assert SHIFT.feature == "AGEP"
    first = _first_alert(grouped, SHIFT)
    assert (first.rule, first.subject) == ("out_of_range", "AGEP")


def test_an_alert_naming_no_feature_may_detect_a_features_shift() -> None:
    grouped = [alert("feature_drift_warning", "ANC", 3), alert("prediction_drift", "", 20),
               alert("feature_drift", "AGEP", 26)]  # fmt: skip
    assert _first_alert(grouped, SHIFT).rule == "prediction_drift"


def test_only_other_features_named_falls_back_to_the_incidents_first_alert() -> None:
    grouped = [alert("feature_drift", "SCHL", 9), alert("feature_drift_warning", "ANC", 4)]
    assert _first_alert(grouped, SHIFT).subject == "ANC"


def test_an_incident_without_a_feature_takes_the_first_alert() -> None:
    grouped = [alert("nan_output", "", 2), alert("fast_nan_output", "", 0)]
    assert NAN.feature is None
    assert _first_alert(grouped, NAN).rule == "fast_nan_output"
