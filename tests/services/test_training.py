"""The training pipeline end to end on the census data, with a real MLflow SQLite backend."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from steadyml.core.transforms import TransformError
from steadyml.errors import DataError, NotFoundError, RegistryUnavailable
from steadyml.services.bundles import load_bundle
from steadyml.services.training import time_split, train
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec
from tests.services.conftest import edit_spec, make_project


def test_train_registers_a_candidate_with_lineage(workspace: Workspace) -> None:
    result = train(workspace.spec, workspace, reason="test")
    assert result.version == 1
    assert workspace.registry.alias_version("candidate") == 1
    auc = result.evaluation.metrics["roc_auc"]
    assert 0.85 < auc["estimate"] < 0.95
    assert auc["low"] < auc["estimate"] < auc["high"]
    run = workspace.registry.run(result.run_id)
    assert run.metrics["test_roc_auc"] == pytest.approx(auc["estimate"])
    assert run.params["model.n_estimators"] == "40"
    assert run.tags["steadyml.data_fingerprint"] == result.fingerprint
    bundle = load_bundle(workspace.registry, workspace.model_cache, 1)
    for name in ("model_card.md", "spec.yaml", "evaluation.json", "contract.json", "transforms.py"):
        assert bundle.artifact(name).exists(), name
    card = bundle.artifact("model_card.md").read_text(encoding="utf-8")
    assert "roc_auc (primary)" in card and "by `SEX`" in card and "500 ms" in card
    holdout = bundle.holdout()
    assert holdout.height == result.test_rows
    assert bundle.holdout_schema() == holdout.schema  # read from the footer alone
    # the registered model reproduces the logged metric on the logged hold-out rows
    scores = bundle.predictor.score(holdout.select(bundle.contract.names))
    assert roc_auc_score(holdout["employed"].to_numpy(), scores) == pytest.approx(
        auc["estimate"], abs=1e-12
    )
    moves = workspace.store.alias_history("employment", "candidate")
    assert [(m.version, m.action) for m in moves] == [(1, "train")]


def test_same_data_spec_and_seed_give_the_same_metrics(workspace: Workspace) -> None:
    first = train(workspace.spec, workspace)
    second = train(workspace.spec, workspace)
    assert second.version == first.version + 1
    assert first.fingerprint == second.fingerprint
    assert first.evaluation.flat_metrics() == second.evaluation.flat_metrics()


def test_time_split_holds_out_the_latest_rows(project: ServiceSpec) -> None:
    frame = pl.DataFrame({"id": [5, 1, 4, 2, 3], "employed": [0, 1, 0, 1, 1], "x": [1.0] * 5})
    train_rows, test_rows = time_split(project, frame)
    assert test_rows["id"].to_list() == [5]
    assert train_rows["id"].to_list() == [1, 2, 3, 4]


def _data(spec: ServiceSpec) -> pl.DataFrame:
    return pl.read_parquet(spec.resolve("data/employment_2015.parquet"))


def test_bad_data_stops_training_with_a_report(workspace: Workspace) -> None:
    spec = workspace.spec
    frame = _data(spec)
    train(spec, workspace, frame=frame.head(5000))  # writes the contract from clean data
    broken = frame.with_columns(
        pl.when(pl.col("id") % 50 == 0).then(None).otherwise(pl.col("AGEP")).alias("AGEP")
    )
    with pytest.raises(DataError, match="data gate failed") as info:
        train(spec, workspace, frame=broken)
    assert info.value.field == "data.AGEP"
    assert workspace.registry.alias_version("candidate") == 1  # nothing new registered
    assert len(workspace.registry.versions()) == 1
    reports = list((workspace.settings.state_dir / "reports").glob("data-gate-*.md"))
    assert reports and "AGEP" in reports[0].read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda f: f.drop("employed"), "no such column"),
        (lambda f: f.with_columns(employed=pl.lit(1)), "single class"),
        (lambda f: f.with_columns(employed=pl.col("employed").cast(pl.String)), None),
    ],
)
def test_target_problems(
    workspace: Workspace, mutate: Callable[[pl.DataFrame], pl.DataFrame], match: str | None
) -> None:
    frame = mutate(_data(workspace.spec))
    if match is None:  # a string target with two classes is fine
        assert train(workspace.spec, workspace, frame=frame).version == 1
        return
    with pytest.raises(DataError, match=match):
        train(workspace.spec, workspace, frame=frame)


def test_missing_data_file_is_named(tmp_path: Path) -> None:
    spec = make_project(tmp_path / "p", data={"source": {"path": "nope.parquet"}})
    with Workspace.open(spec, environ={}) as ws, pytest.raises(NotFoundError, match="nope"):
        train(spec, ws)


def test_empty_dataset_is_refused(workspace: Workspace) -> None:
    with pytest.raises(DataError, match=r"too few rows|no rows"):
        train(workspace.spec, workspace, frame=_data(workspace.spec).head(0))


def test_a_transform_that_looks_at_other_rows_is_refused(workspace: Workspace) -> None:
    (workspace.spec.base_dir / "features.py").write_text(
        "import polars as pl\n\ndef transform(frame):\n"
        "    return frame.with_columns(AGE_Z=pl.col('AGEP') - pl.col('AGEP').mean())\n",
        encoding="utf-8",
    )
    with pytest.raises(TransformError):
        train(workspace.spec, workspace)


def test_unreachable_registry_fails_fast(project: ServiceSpec) -> None:
    env = {"STEADYML_TRACKING_URI": "postgresql+psycopg://postgres@127.0.0.1:9/mlflow"}
    with Workspace.open(project, environ=env) as ws, pytest.raises(RegistryUnavailable):
        train(project, ws)


def test_sklearn_estimator_and_regression(tmp_path: Path) -> None:
    spec = make_project(
        tmp_path / "p",
        model={
            "estimator": "sklearn.ensemble.RandomForestClassifier",
            "params": {"n_estimators": 20, "max_depth": 8, "n_jobs": 1},
        },
    )
    with Workspace.open(spec, environ={}) as ws:
        result = train(spec, ws)
    assert result.evaluation.metrics["roc_auc"]["estimate"] > 0.8
    features = [f for f in spec.data.features or () if f != "AGEP"]
    regression = edit_spec(spec, "data", target="AGEP", features=features, slices=[])
    regression = edit_spec(regression, "model", estimator="lightgbm", params={"n_estimators": 30})
    raw = (regression.base_dir / "steadyml.yaml").read_text(encoding="utf-8")
    (regression.base_dir / "steadyml.yaml").write_text(
        raw.replace("binary_classification", "regression"), encoding="utf-8"
    )
    (regression.base_dir / "contract.json").unlink()
    (regression.base_dir / "features.py").write_text(
        "def transform(frame):\n    return frame\n", encoding="utf-8"
    )
    from steadyml.spec import load_spec

    regression = load_spec(regression.base_dir / "steadyml.yaml")
    with Workspace.open(regression, environ={}) as ws:
        result = train(regression, ws)
    assert result.evaluation.primary_metric == "rmse"
    assert 5 < result.evaluation.primary() < 25  # years of age
    stored = json.loads(
        load_bundle(ws.registry, ws.model_cache, result.version)
        .artifact("evaluation.json")
        .read_text(encoding="utf-8")
    )
    assert stored["task"] == "regression"


def test_unknown_estimator_parameter_is_named(tmp_path: Path) -> None:
    from steadyml.errors import SpecError

    spec = make_project(tmp_path / "p", model={"params": {"n_treez": 3}})
    with Workspace.open(spec, environ={}) as ws, pytest.raises(SpecError, match="n_treez"):
        train(spec, ws)


@pytest.mark.postgres
def test_postgres_backends_for_mlflow_and_store(
    project: ServiceSpec, new_postgres_db: Callable[[], str]
) -> None:
    env = {"STEADYML_TRACKING_URI": new_postgres_db(), "STEADYML_STORE_URL": new_postgres_db()}
    with Workspace.open(project, environ=env) as ws:
        result = train(project, ws)
        assert ws.registry.alias_version("candidate") == result.version
        assert ws.store.alias_history("employment")[0].version == result.version
        bundle = load_bundle(ws.registry, ws.model_cache, result.version)
        assert bundle.predictor.score(bundle.holdout().head(3)).shape == (3,)


def test_multiclass_classification(tmp_path: Path) -> None:
    spec = make_project(tmp_path / "p")
    raw = (spec.base_dir / "steadyml.yaml").read_text(encoding="utf-8")
    (spec.base_dir / "steadyml.yaml").write_text(
        raw.replace("binary_classification", "multiclass_classification"), encoding="utf-8"
    )
    features = [f for f in spec.data.features or () if f != "MAR"]
    spec = edit_spec(spec, "data", target="MAR", features=features, slices=["SEX"])
    (spec.base_dir / "features.py").write_text(
        "def transform(frame):\n    return frame\n", encoding="utf-8"
    )
    with Workspace.open(spec, environ={}) as ws:
        result = train(spec, ws)
        bundle = load_bundle(ws.registry, ws.model_cache, result.version)
    assert result.evaluation.primary_metric == "log_loss"
    assert set(result.evaluation.metrics) == {"accuracy", "f1_macro", "log_loss"}
    assert result.evaluation.metrics["accuracy"]["estimate"] > 0.5
    scores = bundle.predictor.score(bundle.holdout().head(4).select(bundle.contract.names))
    assert scores.shape == (4, 5)
    assert bundle.predictor.predict_labels(scores)[0] in {"1", "2", "3", "4", "5"}
