"""The incident library on real census rows: each does what its parameters say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from steadyml.datasets import load_employment
from steadyml.services.simulation.incident import Incident
from steadyml.services.simulation.library import build_incidents
from steadyml.services.simulation.scenario import parse_scenario
from steadyml.services.simulation.traffic import EVENT_TIME, REQUEST_ID, Traffic

T0 = datetime(2016, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def rows() -> pl.DataFrame:
    return load_employment().analysis_with_labels().head(20_000)


def one(incident: dict[str, object], rows: pl.DataFrame) -> Incident:
    scenario = parse_scenario({"name": "t", "duration": "4h", "incidents": [incident]})
    [built] = build_incidents(scenario, "employed")
    built.bind(rows)
    return built


def test_a_sudden_shift_moves_the_mean_by_the_given_stds(rows: pl.DataFrame) -> None:
    shift = one({"type": "covariate_shift", "onset": "1h", "feature": "AGEP",
                 "params": {"shift_std": 0.5}}, rows)  # fmt: skip
    moved = shift.apply(rows, 1.0, np.random.default_rng(0)).get_column("AGEP")
    before = rows.get_column("AGEP")
    gain = moved.cast(pl.Float64).to_numpy().mean() - before.to_numpy().mean()
    std = before.to_numpy().std(ddof=1)
    assert gain == pytest.approx(0.5 * std, rel=1e-6)
    assert moved.cast(pl.Float64).to_numpy().std(ddof=1) == pytest.approx(std, rel=1e-6)


def test_a_gradual_incident_ramps_from_onset_to_full_strength(rows: pl.DataFrame) -> None:
    shift = one({"type": "covariate_shift", "onset": "1h", "ramp": "2h", "feature": "AGEP"}, rows)
    assert shift.progress(T0) == 0.0
    assert shift.progress(T0 + timedelta(hours=2)) == pytest.approx(0.5)
    assert shift.progress(T0 + timedelta(hours=3, minutes=30)) == 1.0


def test_a_category_gains_the_given_points(rows: pl.DataFrame) -> None:
    shift = one({"type": "category_shift", "onset": "1h", "feature": "SCHL",
                 "params": {"category": "16", "points": 15}}, rows)  # fmt: skip

    def share(frame: pl.DataFrame) -> float:
        return float((frame.get_column("SCHL") == "16").cast(pl.Float64).to_numpy().mean())

    moved = shift.apply(rows, 1.0, np.random.default_rng(0))
    assert share(moved) - share(rows) == pytest.approx(0.15, abs=0.01)


def test_label_shift_moves_the_positive_share(rows: pl.DataFrame) -> None:
    shift = one({"type": "label_shift", "onset": "1h", "params": {"points": 20}}, rows)
    moved = shift.apply(rows, 1.0, np.random.default_rng(0))
    positives = moved.get_column("employed").to_numpy().mean()
    gain = positives - rows.get_column("employed").to_numpy().mean()
    assert gain == pytest.approx(0.20, abs=0.015)


def test_label_shift_replaces_rows_but_keeps_request_ids_and_times(rows: pl.DataFrame) -> None:
    shift = one({"type": "label_shift", "onset": "1h", "params": {"points": 20}}, rows)
    traffic = Traffic(rows, "r", 0)
    frame = traffic.take(5_000, T0, T0 + timedelta(minutes=5))
    moved = shift.apply(frame, 1.0, np.random.default_rng(0))
    assert moved.get_column(REQUEST_ID).to_list() == frame.get_column(REQUEST_ID).to_list()
    assert moved.get_column(EVENT_TIME).to_list() == frame.get_column(EVENT_TIME).to_list()
    assert moved.get_column("employed").mean() > frame.get_column("employed").mean()  # type: ignore[operator]


def test_schema_breaks_rename_and_retype_fields(rows: pl.DataFrame) -> None:
    records = rows.head(50).drop("employed", "id", "year").to_dicts()
    renamed = one({"type": "renamed_feature", "onset": "1h", "feature": "MAR"}, rows)
    out = renamed.edit_records([dict(r) for r in records], 1.0, np.random.default_rng(0))
    assert all("MAR" not in r and "MAR_v2" in r for r in out)
    retyped = one({"type": "type_change", "onset": "1h", "feature": "AGEP"}, rows)
    out = retyped.edit_records([dict(r) for r in records], 1.0, np.random.default_rng(0))
    assert all(isinstance(r["AGEP"], str) for r in out)


def test_concept_drift_flips_labels_only_in_its_group(rows: pl.DataFrame) -> None:
    drift = one({"type": "concept_drift", "onset": "1h", "feature": "AGEP",
                 "params": {"share": 0.4}}, rows)  # fmt: skip
    labels = rows.get_column("employed").cast(pl.Float64).to_numpy()
    flipped = drift.labels(rows, labels, 1.0, np.random.default_rng(0))
    older = (rows.get_column("AGEP") > rows.get_column("AGEP").median()).to_numpy()
    assert np.all(flipped[~older] == labels[~older])
    assert np.mean(flipped[older] != labels[older]) == pytest.approx(0.4, abs=0.03)
