"""End to end on a real model: clean census traffic raises nothing; each failure its incident.

Records are scored by a LightGBM model trained on 2015 census rows and written with
the real log writer; the monitor reads them as in production, on a manual clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from steadyml.services.monitoring import StaticReferences
from tests.core.monitoring.helpers import T0
from tests.services.monitoring.conftest import WINDOW, Rig, Trained

Frame = pl.DataFrame


def test_clean_traffic_with_labels_and_outcomes_raises_no_alert(rig: Rig) -> None:
    clean = rig.records(0, 6)
    rig.write(clean)
    rig.feedback(clean, delay=timedelta(minutes=10))
    converted = (np.random.default_rng(0).random(clean.height) < 0.5).astype(float)
    rig.feedback(clean, kind="outcome", values=converted)
    report = rig.run(T0 + 6 * WINDOW + timedelta(minutes=1))
    assert report.rows == clean.height and report.skipped == []
    assert report.labels_matched == 2 * clean.height and report.feedback_unmatched == 0
    assert report.check_errors == []
    assert [a.rule for a in report.fired] == []
    assert rig.incidents() == []
    store = rig.monitor_store
    auc = store.metric_series("employment", "performance.roc_auc", window="1h", subject="")
    assert auc and auc[-1].value is not None and auc[-1].value > 0.85 and auc[-1].status == "ok"
    kpi = store.metric_series("employment", "kpi.change", window="5m", subject="converted")
    assert len(kpi) == 6 and all(p.status == "ok" for p in kpi)
    volume = store.metric_series("employment", "volume.ratio", window="5m", version="*")
    assert volume and all(p.value == pytest.approx(1.0, abs=0.01) for p in volume)


def _null_anc(frame: Frame) -> Frame:
    broken = pl.int_range(pl.len()) % 5 < 2
    return frame.with_columns(
        pl.when(broken).then(pl.lit("rejected")).otherwise(pl.col("status")).alias("status"),
        pl.when(broken).then(pl.lit("ANC: null")).alias("rejection_reason"),
        pl.when(broken).then(None).otherwise(pl.col("inputs")).alias("inputs"),
        pl.when(broken).then(None).otherwise(pl.col("prediction")).alias("prediction"),
    )


def _timeouts(frame: Frame) -> Frame:
    hit = pl.int_range(pl.len()) % 20 == 0
    return frame.with_columns(
        pl.when(hit).then(pl.lit("fallback")).otherwise(pl.col("status")).alias("status"),
        pl.when(hit).then(pl.lit("timeout")).alias("fallback_reason"),
        pl.when(hit).then(True).otherwise(pl.col("fallback")).alias("fallback"),
    )


def _errors(frame: Frame) -> Frame:
    hit = pl.int_range(pl.len()) % 40 == 0
    return frame.with_columns(
        pl.when(hit).then(pl.lit("error")).otherwise(pl.col("status")).alias("status")
    )


def _unseen_school(rows: Frame) -> Frame:
    return rows.with_columns(
        pl.when(pl.int_range(pl.len()) % 3 == 0)
        .then(pl.lit("99"))
        .otherwise(pl.col("SCHL"))
        .alias("SCHL")
    )


Case = tuple[dict[str, Any], Callable[[Frame], Frame] | None, str, str, str]
CASES: dict[str, Case] = {
    # name: (record options, post-edit of the records, rule, subject, incident type)
    "feature turns null": ({}, _null_anc, "schema_break_nulls", "ANC", "schema_break"),
    "shifted age": (
        {"transform": lambda r: r.with_columns(pl.col("AGEP") + 12)},
        None,
        "feature_drift",
        "AGEP",
        "feature_drift",
    ),
    # the new category also moves SCHL's distribution: one incident, opened as drift
    "unseen categories": (
        {"transform": _unseen_school},
        None,
        "unseen_categories",
        "SCHL",
        "feature_drift",
    ),
    "NaN outputs": ({"nan_share": 0.07}, None, "nan_output", "", "nan_output"),
    "fallback flags": ({}, _timeouts, "fallback_rate", "", "fallback"),
    "slow latencies": ({"latency_scale": 400.0}, None, "latency_p99", "", "latency"),
    "errors": ({}, _errors, "error_rate", "", "error_rate"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_each_failure_raises_its_incident(rig: Rig, case: str) -> None:
    options, edit, rule, subject, incident_type = CASES[case]
    rig.write(rig.records(0, 2))
    broken = rig.records(2, 2, **options)
    rig.write(edit(broken) if edit is not None else broken)
    report = rig.run(T0 + 4 * WINDOW + timedelta(seconds=30))
    fired = {(a.rule, a.subject): a for a in report.fired}
    assert (rule, subject) in fired, list(fired)
    [incident] = [i for i in rig.incidents("open") if i.key == fired[rule, subject].incident_key]
    assert incident.incident_type == incident_type
    assert incident.versions == (rig.version,)
    # the fast window dates the onset; a slow (1 h) warning of the same cause dates it
    # to its hour, so the incident's first_seen may be that hour's start
    assert fired[rule, subject].first_seen >= T0 + 2 * WINDOW
    assert incident.first_seen <= fired[rule, subject].first_seen
    if subject:
        assert subject in incident.features
    assert report.check_errors == []


def test_a_shifted_feature_is_named_first_in_the_root_cause_hint(rig: Rig) -> None:
    rig.write(rig.records(0, 2))
    rig.write(rig.records(2, 2, transform=lambda r: r.with_columns(pl.col("AGEP") + 12)))
    rig.run(T0 + 4 * WINDOW + timedelta(seconds=30))
    [incident] = rig.incidents("open")
    assert incident.triage == "data"
    assert incident.hint[0]["feature"] == "AGEP"
    assert incident.hint[0]["since"] == (T0 + 2 * WINDOW).isoformat()


def test_a_label_flip_is_a_performance_drop_once_labels_arrive(rig: Rig) -> None:
    clean, flipped = rig.records(0, 2), rig.records(2, 2)
    rig.write(clean)
    rig.write(flipped)
    report = rig.run(T0 + 4 * WINDOW + timedelta(seconds=30))
    assert not any(a.rule == "performance_drop" for a in report.fired)  # no labels yet
    rig.feedback(clean, delay=timedelta(minutes=5))
    rig.feedback(flipped, delay=timedelta(minutes=5), flip=True)
    report = rig.run(T0 + 4 * WINDOW + timedelta(minutes=6))
    assert ("performance_drop", "") in {(a.rule, a.subject) for a in report.fired}
    [incident] = rig.incidents("open")
    assert incident.incident_type == "performance_drop" and incident.triage == "model"
    errors = rig.monitor_store.metric_series(
        "employment", "performance.cbpe_error", window="5m", subject="accuracy"
    )
    assert abs(errors[-1].value or 0) > 0.3  # the label-free estimate no longer holds


def test_a_kpi_drop_is_an_incident(rig: Rig) -> None:
    frame = rig.records(0, 4)
    rig.write(frame)
    rng = np.random.default_rng(0)
    rate = np.where(np.arange(frame.height) < frame.height // 2, 0.5, 0.3)
    outcomes = (rng.random(frame.height) < rate).astype(float)
    rig.feedback(frame, kind="outcome", values=outcomes, delay=timedelta(minutes=5))
    report = rig.run(T0 + 4 * WINDOW + timedelta(minutes=6))
    assert ("kpi_drop", "converted") in {(a.rule, a.subject) for a in report.fired}
    [incident] = rig.incidents("open")
    assert incident.incident_type == "kpi_drop"


def test_a_new_version_that_converts_less_is_a_kpi_drop_against_the_service_baseline(
    trained: Trained, tmp_path: Path
) -> None:
    """No fixed baseline: a version promoted a minute ago has no KPI history of its own;
    it is measured against what the service converted before it."""
    kpi = trained.spec.monitors.kpi
    assert kpi is not None
    monitors = trained.spec.monitors.model_copy(
        update={"kpi": kpi.model_copy(update={"baseline": None, "baseline_windows": 3})}
    )
    rig = Rig(trained, tmp_path, trained.spec.model_copy(update={"monitors": monitors}))
    rig.references = StaticReferences({rig.version: trained.reference, "99": trained.reference})
    try:
        rng = np.random.default_rng(1)
        fired: set[tuple[str, str, str]] = set()
        for i in range(7):  # v1 converts half the time; v99, promoted at 00:20, a quarter
            version, rate = (rig.version, 0.5) if i < 4 else ("99", 0.25)
            frame = rig.records(i, 1).with_columns(model_version=pl.lit(version))
            rig.write(frame)
            outcomes = (rng.random(frame.height) < rate).astype(float)
            rig.feedback(frame, kind="outcome", values=outcomes, delay=timedelta(minutes=1))
            report = rig.run(T0 + (i + 1) * WINDOW + timedelta(minutes=2))
            fired |= {(a.rule, a.subject, a.model_version) for a in report.fired}
        assert ("kpi_drop", "converted", "99") in fired, fired
        changes = rig.monitor_store.metric_series(
            "employment", "kpi.change", window="5m", subject="converted", version="99"
        )
        # against the service's last 3 windows: v1's half first, then a baseline that
        # takes in v99's own windows as they become the service's past
        assert len(changes) == 3 and (changes[0].value or 0) < -0.4
        assert all(c.status == "drift" for c in changes)
    finally:
        rig.close()


def test_an_incident_resolves_after_clear_windows(rig: Rig) -> None:
    rig.write(rig.records(0, 1, nan_share=0.1))
    report = rig.run(T0 + WINDOW + timedelta(seconds=30))
    assert [a.rule for a in report.fired] == ["nan_output"]
    rig.write(rig.records(1, 2))
    rig.run(T0 + 3 * WINDOW + timedelta(minutes=2))
    assert len(rig.incidents("open")) == 1  # two clear windows: not yet
    rig.write(rig.records(3, 2))
    report = rig.run(T0 + 5 * WINDOW + timedelta(minutes=2))
    assert len(report.incidents_resolved) == 1
    [incident] = rig.incidents()
    assert incident.status == "resolved"
    kinds = [e.kind for e in rig.monitor_store.events("employment")]
    assert kinds == ["opened", "alert", "alert_resolved", "resolved"]


def test_traffic_that_stops_is_a_traffic_drop_and_a_stale_log(rig: Rig) -> None:
    rig.write(rig.records(0, 2))
    report = rig.run(T0 + 2 * WINDOW + timedelta(minutes=1))
    assert report.fired == []
    report = rig.run(T0 + 2 * WINDOW + timedelta(minutes=20))
    assert {a.rule for a in report.fired} == {"traffic_drop", "stale_log"}
    assert {i.incident_type for i in rig.incidents("open")} == {"traffic", "stale_log"}
    assert {i.triage for i in rig.incidents("open")} == {"infrastructure"}
