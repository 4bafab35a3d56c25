"""Result objects: JSON-safe dicts, ranking and dataset status."""

from __future__ import annotations

import orjson

from steadyml.core.drift import DatasetDriftResult, DriftResult, Histogram, MMDResult, Status


def _result(feature: str, status: Status, effect: float | None) -> DriftResult:
    return DriftResult(
        feature=feature,
        kind="numeric",
        status=status,
        message="m",
        metric="tvd",
        effect=effect,
        warn_threshold=0.04,
        drift_threshold=0.12,
        statistics={"psi": float("nan"), "tvd": effect},
        histogram=Histogram(("a", "b"), (1, 2), (2, 1)),
    )


def test_severity_order_and_dataset_status() -> None:
    assert [s.severity for s in Status] == [0, 1, 2, 3, 4]
    dataset = DatasetDriftResult(
        features=(
            _result("a", Status.OK, 0.01),
            _result("b", Status.WARN, 0.05),
            _result("c", Status.WARN, 0.09),
            _result("d", Status.INSUFFICIENT_DATA, None),
        ),
        false_alarm_rate=0.001,
        n_reference=10,
        n_current=10,
    )
    assert dataset.status is Status.WARN
    assert [r.feature for r in dataset.ranked()] == ["c", "b", "d", "a"]
    assert dataset.counts() == {
        "ok": 1,
        "insufficient_data": 1,
        "warn": 2,
        "schema_mismatch": 0,
        "drift": 0,
    }
    assert dataset["b"].ratio == 0.05 / 0.04
    empty = DatasetDriftResult((), 0.001, 0, 0)
    assert empty.status is Status.INSUFFICIENT_DATA


def test_to_dict_is_json_without_nan() -> None:
    body = _result("a", Status.OK, float("inf")).to_dict()
    text = orjson.dumps(body)
    assert body["statistics"]["psi"] is None
    assert body["effect"] is None
    assert body["histogram"] == {"labels": ["a", "b"], "reference": [1, 2], "current": [2, 1]}
    assert b"NaN" not in text
    mmd = MMDResult(float("nan"), 0.5, 1.0, 100, 10, 10).to_dict()
    assert mmd["mmd2"] is None
    assert mmd["p_value"] == 0.5
