"""Short replays of library incidents through the real server: each must keep being caught.

A census model is trained once; each test replays a few simulated minutes at a low rate
(HTTP around the onset, log level before), with the monitor and the responder on the
simulated clock, and checks detection, time-to-detect, mitigation and false alarms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from steadyml.services.simulation import Simulation, SimulationResult, parse_scenario

pytestmark = pytest.mark.slow


def replay(
    trained: Path, out: Path, incidents: list[dict[str, Any]], **extra: Any
) -> SimulationResult:
    raw: dict[str, Any] = {
        "name": "short",
        "data": {"spec": str(trained)},
        "duration": "25m",
        "rate": 400_000,
        "labels": {"delay": "3m"},
        "http": {"workers": 1, "before": "2m", "after": "3m"},
        "incidents": incidents,
        **extra,
    }
    return Simulation(parse_scenario(raw), out).run()


def test_nan_outputs_are_caught_in_minutes_and_rolled_back(trained: Path, tmp_path: Path) -> None:
    result = replay(trained, tmp_path, [{"type": "nan_outputs", "onset": "10m"}])
    [found] = result.detections
    assert found.detected and found.incident_type == "nan_output" and found.triage == "model"
    assert found.time_to_detect_s is not None and found.time_to_detect_s <= 600  # low rate
    assert found.time_to_mitigate_s is not None and found.time_to_mitigate_s <= 600
    assert found.mitigation is not None and found.mitigation.startswith("rollback")
    modes = [s["mode"] for s in result.modes()]
    assert modes == ["log", "http"]  # the onset went through the real server
    assert result.false_alarms == []


def test_a_major_shift_and_a_null_column_are_both_caught(trained: Path, tmp_path: Path) -> None:
    result = replay(
        trained,
        tmp_path,
        [
            {
                "type": "covariate_shift",
                "onset": "8m",
                "feature": "AGEP",
                "params": {"shift_std": 0.5},
            },
            {"type": "null_feature", "onset": "16m", "feature": "ANC"},
        ],
    )
    shift, null = result.detections
    assert shift.detected
    assert shift.time_to_detect_s is not None and shift.time_to_detect_s <= 900
    # the shift's own incident names AGEP (the prediction drift it causes may open first)
    drift = [i for i in result.monitor_incidents if i["type"] == "feature_drift"]
    assert any(a.endswith(":AGEP") for i in drift for a in i["alerts"]), result.monitor_incidents
    assert null.detected and null.incident_type == "schema_break"
    # a complete 5-minute window plus its lateness when the fast path has too few rows
    assert null.time_to_detect_s is not None and null.time_to_detect_s <= 900


def test_clean_traffic_at_log_level_raises_no_alarm(trained: Path, tmp_path: Path) -> None:
    result = replay(
        trained, tmp_path, [{"type": "clean", "onset": "0m"}], duration="3h",
        rate=2_300_000, monitor_every="5m",
    )  # fmt: skip
    assert {s["mode"] for s in result.modes()} == {"log"}
    assert result.detections == []
    assert sum(t.requests for t in result.ticks) == pytest.approx(2_300_000 / 8, rel=0.01)
    assert result.false_alarms == [], result.false_alarms
    assert result.clean_days == pytest.approx(3 / 24)
