"""The training pipeline: load → validate → split → fit → evaluate → log → register.

A failing data gate stops training with a report: steadyml never trains on bad data.
Same data + spec + seed ⇒ same metrics.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

import steadyml
from steadyml.adapters.plugins import load_function, source_of
from steadyml.adapters.provenance import git_commit, package_versions
from steadyml.adapters.registry import Registry
from steadyml.adapters.sources import read_source
from steadyml.adapters.store import Store
from steadyml.core.contract import Contract
from steadyml.core.encoding import FeatureEncoder
from steadyml.core.fingerprint import frame_fingerprint
from steadyml.core.predictor import Predictor
from steadyml.core.transforms import FeatureTransform
from steadyml.errors import DataError
from steadyml.services.bundles import HOLDOUT, REFERENCE_PROFILE, write_bundle_dir
from steadyml.services.drift.reference import training_reference
from steadyml.services.estimators import (
    encoding_for,
    fit_kwargs,
    flavor_for,
    make_estimator,
)
from steadyml.services.evaluation import Evaluation, evaluate, target_array
from steadyml.services.model_card import render_model_card
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec, Task

__all__ = ["TrainResult", "feature_columns", "load_contract", "time_split", "train"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainResult:
    """What one training run produced."""

    version: int
    run_id: str
    evaluation: Evaluation
    fingerprint: str
    train_rows: int
    test_rows: int
    seconds: float


def feature_columns(spec: ServiceSpec, frame: pl.DataFrame) -> tuple[str, ...]:
    """The spec's raw input features (default: every column but target, id and time)."""
    data = spec.data
    if data.features is not None:
        missing = [c for c in data.features if c not in frame.columns]
        if missing:
            raise DataError("data.features", missing, "these columns are not in the data")
        return data.features
    reserved = {data.target, data.id_column, data.time_column}
    return tuple(c for c in frame.columns if c not in reserved)


def _check_target(spec: ServiceSpec, frame: pl.DataFrame) -> None:
    target = spec.data.target
    if frame.height == 0:
        raise DataError("data", "0 rows", "the training table has no rows; give it data")
    if target not in frame.columns:
        raise DataError(
            "data.target", target, f"no such column; columns are {', '.join(frame.columns)}"
        )
    column = frame.get_column(target)
    if column.null_count():
        raise DataError(
            "data.target", target, f"{column.null_count()} rows have no target; drop them first"
        )
    if spec.task.is_classification and column.n_unique() < 2:
        raise DataError(
            "data.target",
            target,
            f"has a single class ({column[0]!r}); a classifier needs at least two",
        )
    if spec.task is Task.BINARY and column.n_unique() > 2:
        raise DataError(
            "task",
            spec.task.value,
            f"target {target!r} has {column.n_unique()} classes; use multiclass_classification",
        )
    if spec.task is Task.REGRESSION and not column.dtype.is_numeric():
        raise DataError("data.target", target, "regression needs a numeric target")


def load_contract(spec: ServiceSpec, frame: pl.DataFrame, features: tuple[str, ...]) -> Contract:
    """The spec's contract file; inferred from ``frame`` and written when there is none."""
    path = spec.resolve(spec.data.contract)
    if path.exists():
        try:
            return Contract.from_json(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise DataError("data.contract", str(path), f"cannot read it ({exc})") from None
    contract = Contract.infer(frame, features)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(contract.to_json(), encoding="utf-8")
    return contract


def time_split(
    spec: ServiceSpec, frame: pl.DataFrame, *, in_order: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Hold out the latest rows: ordered by ``split.order_by``, else time, else id column.

    ``in_order``: the rows are already oldest first (production rows); keep their order.
    """
    order = spec.data.split.order_by or spec.data.time_column or spec.data.id_column
    if order is not None and not in_order:
        if order not in frame.columns:
            raise DataError("data.split.order_by", order, "no such column in the data")
        frame = frame.sort(order, maintain_order=True)
    test_rows = round(frame.height * spec.data.split.test_fraction)
    if test_rows < 1 or frame.height - test_rows < 2:
        raise DataError("data", frame.height, "too few rows to hold out a test set; give more data")
    train, test = frame.head(frame.height - test_rows), frame.tail(test_rows)
    if spec.task.is_classification and train.get_column(spec.data.target).n_unique() < 2:
        raise DataError("data.target", spec.data.target, "the training split has a single class")
    return train, test


def _transform(spec: ServiceSpec) -> tuple[FeatureTransform, str | None]:
    if spec.transforms is None:
        return FeatureTransform(None), None
    function = load_function(spec.transforms.module, spec.transforms.function, spec.base_dir)
    name = f"{spec.transforms.module}:{spec.transforms.function}"
    return FeatureTransform(function, name=name), source_of(spec.transforms.module, spec.base_dir)


def _classes(spec: ServiceSpec, frame: pl.DataFrame) -> tuple[str, ...]:
    if not spec.task.is_classification:
        return ()
    values = frame.get_column(spec.data.target).cast(pl.String).unique().sort()
    return tuple(values.to_list())


def train(
    spec: ServiceSpec,
    workspace: Workspace,
    *,
    frame: pl.DataFrame | None = None,
    in_order: bool = False,
    reason: str = "",
    progress: Progress | None = None,
    actor: str | None = None,
    at: datetime | None = None,
) -> TrainResult:
    """Run the whole pipeline and register the new version with alias ``candidate``.

    Parameters
    ----------
    spec
        The service spec.
    workspace
        Resolved settings, registry and store.
    frame
        Training rows; default: read the spec's data source.
    in_order
        ``frame`` is already oldest first (so the hold-out is its tail), as the rows of
        :func:`~steadyml.services.retraining.training_data` are.
    reason
        Why this model is trained (recorded on the run and in the audit log).
    progress
        Called with a short message at each step.
    actor, at
        Who trains and when, for the audit log; default: the settings' actor, now. An
        automatic retrain passes its own actor and its clock (simulated time in a replay).
    """
    started = time.perf_counter()
    say = progress or (lambda _message: None)
    workspace.registry.ping()
    say("loading data")
    frame = read_source(spec) if frame is None else frame
    _check_target(spec, frame)
    features = feature_columns(spec, frame)
    say("validating data against the contract")
    contract = load_contract(spec, frame, features)
    report = contract.validate_frame(frame.select(features))
    if not report.ok:
        reports = workspace.settings.state_dir / "reports"
        reports.mkdir(parents=True, exist_ok=True)
        path = reports / f"data-gate-{datetime.now(UTC):%Y%m%dT%H%M%S}.md"
        path.write_text(report.to_markdown(), encoding="utf-8")
        first = report.violations[0]
        raise DataError(
            f"data.{first.column}",
            list(first.examples),
            f"the data gate failed ({len(report.violations)} violation kinds, first: "
            f"{first.message}); nothing was trained; report: {path}",
            details=report.to_dict(),
        )
    train_rows, test_rows = time_split(spec, frame, in_order=in_order)
    transform, transform_source = _transform(spec)
    say(f"fitting {spec.model.estimator} on {train_rows.height:,} rows")
    raw_inputs = train_rows.select(features)
    transform.check_rowwise(raw_inputs)
    train_features = transform.apply(raw_inputs)
    encoder = FeatureEncoder.fit(train_features, train_features.columns, encoding_for(spec.model))
    classes = _classes(spec, train_rows)
    estimator = make_estimator(spec.task, spec.model)
    x_train = encoder.transform(train_features)
    y_train = target_array(train_rows.get_column(spec.data.target), spec.task, classes)
    estimator.fit(x_train, y_train, **fit_kwargs(spec.model, encoder.categorical_indices))
    predictor = Predictor(spec.task, transform, encoder, estimator, classes)
    say(f"evaluating on {test_rows.height:,} held-out rows")
    y_test = target_array(test_rows.get_column(spec.data.target), spec.task, classes)
    evaluation = evaluate(
        spec.task,
        y_test,
        predictor.score(test_rows.select(features)),
        primary_metric=spec.primary_metric,
        slice_frame=test_rows,
        slices=spec.data.slices,
        rounds=spec.gate.bootstrap_rounds,
        seed=spec.model.seed,
    )
    fingerprint = frame_fingerprint(frame)
    say("logging to MLflow and registering the candidate")
    version, run_id = _log_and_register(
        spec,
        workspace,
        predictor=predictor,
        contract=contract,
        features=features,
        transform_source=transform_source,
        evaluation=evaluation,
        fingerprint=fingerprint,
        train_rows=train_rows,
        test_rows=test_rows,
        reason=reason,
        actor=actor or workspace.settings.actor,
        at=at,
    )
    return TrainResult(
        version=version,
        run_id=run_id,
        evaluation=evaluation,
        fingerprint=fingerprint,
        train_rows=train_rows.height,
        test_rows=test_rows.height,
        seconds=time.perf_counter() - started,
    )


def _reserved(spec: ServiceSpec) -> set[str]:
    data = spec.data
    return {c for c in (data.target, data.id_column, data.time_column) if c}


def _params(spec: ServiceSpec, estimator: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "estimator": spec.model.estimator,
        "seed": spec.model.seed,
        "task": spec.task.value,
    }
    get_params = getattr(estimator, "get_params", None)
    if callable(get_params):
        params.update({f"model.{k}": v for k, v in get_params().items()})
    return params


def _log_and_register(
    spec: ServiceSpec,
    workspace: Workspace,
    *,
    predictor: Predictor,
    contract: Contract,
    features: tuple[str, ...],
    transform_source: str | None,
    evaluation: Evaluation,
    fingerprint: str,
    train_rows: pl.DataFrame,
    test_rows: pl.DataFrame,
    reason: str,
    actor: str,
    at: datetime | None,
) -> tuple[int, str]:
    registry: Registry = workspace.registry
    store: Store = workspace.store
    commit = git_commit(spec.base_dir)
    trained_at = datetime.now(UTC)
    # the drift reference: a profile of every training row's raw inputs and the model's
    # scores on them (prediction drift), on fixed bins - not a raw sample of the rows
    reference = training_reference(
        train_rows.select(features), predictor, contract, seed=spec.model.seed
    )
    keep = [c for c in test_rows.columns if c in {*features, *_reserved(spec)}]
    meta: dict[str, Any] = {
        "service": spec.service,
        "task": spec.task.value,
        "classes": list(predictor.classes),
        "features": list(features),
        "target": spec.data.target,
        "id_column": spec.data.id_column,
        "time_column": spec.data.time_column,
        "encoder": predictor.encoder.to_dict(),
        "transform": {
            "name": predictor.transform.name,
            "function": spec.transforms.function if spec.transforms else None,
        },
        "estimator": type(predictor.estimator).__module__
        + "."
        + type(predictor.estimator).__name__,
        "primary_metric": spec.primary_metric,
        "data_fingerprint": fingerprint,
        "git_commit": commit,
        "trained_at": trained_at.isoformat(),
        "train_rows": train_rows.height,
        "test_rows": test_rows.height,
        "steadyml_version": steadyml.__version__,
    }
    spec_yaml = yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)
    card = render_model_card(spec, evaluation, meta)
    tags = {
        "steadyml.service": spec.service,
        "steadyml.data_fingerprint": fingerprint,
        "steadyml.git_commit": commit or "unknown",
        "steadyml.reason": reason or "manual",
    }
    with (
        tempfile.TemporaryDirectory(prefix="steadyml-bundle-") as tmp,
        registry.start_run(f"{spec.service}-train", tags=tags) as run,
    ):
        run.log_params(_params(spec, predictor.estimator))
        run.log_metrics(evaluation.flat_metrics())
        run.log_dict(package_versions(), "environment.json")
        bundle = write_bundle_dir(
            Path(tmp),
            meta=meta,
            contract=contract,
            transform_source=transform_source,
            files={
                "spec.yaml": spec_yaml,
                "model_card.md": card,
                "evaluation.json": _json(evaluation.to_dict()),
            },
            frames={HOLDOUT: test_rows.select(keep)},
        )
        (bundle / REFERENCE_PROFILE).write_bytes(reference.to_bytes())
        run.log_artifacts(bundle, "steadyml")
        model_uri = run.log_model(predictor.estimator, flavor_for(spec.model))  # type: ignore[arg-type]
        run_id = run.run_id
    version = registry.register(model_uri, run_id, tags={"steadyml.data_fingerprint": fingerprint})
    previous_candidate = registry.alias_version("candidate")
    registry.set_alias("candidate", version)
    store.record_alias_move(
        service=spec.service,
        model_name=spec.model_name,
        alias="candidate",
        version=version,
        previous_version=previous_candidate,
        action="train",
        actor=actor,
        reason=reason or "trained",
        gate_passed=None,
        evidence={"run_id": run_id, "metrics": evaluation.flat_metrics()},
        at=at,
    )
    store.record_action(
        service=spec.service,
        action="train",
        actor=actor,
        reason=reason or "trained",
        target=f"version {version}",
        evidence={"run_id": run_id, "data_fingerprint": fingerprint},
        at=at,
    )
    return version, run_id


def _json(obj: object) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=_default)


def _default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
