"""A trained version carries a reference profile; drift checks run against model versions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from steadyml.adapters.sources import read_source
from steadyml.core.drift import Status
from steadyml.core.profiles import ColumnKind
from steadyml.datasets import FEATURES, load_employment
from steadyml.errors import NotFoundError
from steadyml.services.bundles import REFERENCE_PROFILE, load_bundle
from steadyml.services.drift import PREDICTION_COLUMN, check_drift, predictions
from steadyml.services.training import TrainResult, time_split, train
from steadyml.services.workspace import Workspace
from tests.services.conftest import make_project


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, TrainResult]]:
    spec = make_project(tmp_path_factory.mktemp("drift-models") / "project")
    with Workspace.open(spec, environ={}) as workspace:
        yield workspace, train(spec, workspace, reason="drift tests")


def test_a_trained_version_stores_a_reference_profile_of_its_training_rows(
    trained: tuple[Workspace, TrainResult],
) -> None:
    workspace, result = trained
    bundle = load_bundle(workspace.registry, workspace.model_cache, result.version)
    assert bundle.artifact(REFERENCE_PROFILE).exists()
    assert not bundle.artifact("reference_sample.parquet").exists()
    view = bundle.reference_profile()
    assert view.rows == result.train_rows
    assert view.schema.names == (*FEATURES, PREDICTION_COLUMN)
    assert view.schema["SCHL"].kind is ColumnKind.CATEGORICAL
    assert view.schema[PREDICTION_COLUMN].kind is ColumnKind.NUMERIC
    # the stored prediction column holds the model's scores on exactly the training rows
    train_rows, _ = time_split(workspace.spec, read_source(workspace.spec))
    scores = bundle.predictor.score(train_rows.select(FEATURES))
    summary = view.numeric(PREDICTION_COLUMN)
    assert summary.count == result.train_rows
    assert summary.mean == pytest.approx(float(np.mean(scores)), rel=1e-9)
    assert summary.std == pytest.approx(float(np.std(scores, ddof=1)), rel=1e-6)
    age = view.numeric("AGEP")
    assert age.mean == pytest.approx(train_rows["AGEP"].mean(), rel=1e-9)


def test_drift_against_a_version_scores_the_current_rows(
    trained: tuple[Workspace, TrainResult], tmp_path: Path
) -> None:
    workspace, result = trained
    analysis = load_employment().analysis
    analysis.write_parquet(tmp_path / "analysis.parquet")
    check = check_drift(
        "candidate", tmp_path / "analysis.parquet", spec=workspace.spec, workspace=workspace
    )
    assert check.reference == f"model candidate (v{result.version})"
    assert check.features == (*FEATURES, PREDICTION_COLUMN)
    prediction = check.result[PREDICTION_COLUMN]
    assert prediction.n_current == analysis.height
    assert prediction.status in (Status.OK, Status.WARN)
    assert Status.DRIFT not in {r.status for r in check.result.features}  # census years
    bundle = load_bundle(workspace.registry, workspace.model_cache, result.version)
    expected = predictions(bundle.predictor, analysis.select(FEATURES)).to_numpy()
    assert prediction.statistics["mean_shift"] == pytest.approx(
        (expected.mean() - bundle.reference_profile().numeric(PREDICTION_COLUMN).mean)
        / bundle.reference_profile().numeric(PREDICTION_COLUMN).std,
        rel=1e-6,
    )
    by_number = check_drift(str(result.version), analysis, spec=workspace.spec, workspace=workspace)
    assert [r.effect for r in by_number.result.features] == [
        r.effect for r in check.result.features
    ]


def test_a_missing_model_input_is_reported_not_raised(
    trained: tuple[Workspace, TrainResult],
) -> None:
    workspace, _ = trained
    current = load_employment().analysis.head(5_000).drop("MAR")
    check = check_drift("candidate", current, spec=workspace.spec, workspace=workspace)
    assert check.result["MAR"].status is Status.SCHEMA_MISMATCH
    assert PREDICTION_COLUMN not in check.features
    assert any(c == PREDICTION_COLUMN and "lacks model inputs" in r for c, r in check.skipped)


def test_unknown_aliases_and_versions(trained: tuple[Workspace, TrainResult]) -> None:
    workspace, _ = trained
    frame = pl.DataFrame({"AGEP": [30.0]})
    with pytest.raises(NotFoundError, match="alias 'champion'"):
        check_drift("champion", frame, spec=workspace.spec, workspace=workspace)
    with pytest.raises(NotFoundError):
        check_drift("v99", frame, spec=workspace.spec, workspace=workspace)
