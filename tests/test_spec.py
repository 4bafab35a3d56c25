"""The service spec: parsing, defaults, and errors that name the key, value and fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steadyml.errors import SpecError
from steadyml.spec import Task, load_spec, parse_spec


def minimal(**extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "service": "churn",
        "task": "binary_classification",
        "data": {"source": {"path": "train.parquet"}, "target": "churned"},
    }
    raw.update(extra)
    return raw


def test_minimal_spec_gets_production_defaults() -> None:
    spec = parse_spec(minimal())
    assert spec.task is Task.BINARY
    assert spec.model.estimator == "lightgbm"
    assert spec.primary_metric == "roc_auc"
    assert spec.deployment.latency_budget_ms == 50.0
    assert spec.latency_slo_ms == 50.0
    assert spec.model_name == "churn"
    assert spec.reload_interval.total_seconds() == 10


def test_regression_primary_metric_is_rmse() -> None:
    assert parse_spec(minimal(task="regression")).primary_metric == "rmse"


def test_spec_is_frozen() -> None:
    spec = parse_spec(minimal())
    with pytest.raises(Exception, match="frozen"):
        spec.service = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "key", "fix"),
    [
        (minimal(modle={}), "modle", "did you mean 'model'"),
        (minimal(task="bin"), "task", "binary_classification"),
        (minimal(model={"sed": 3}), "model.sed", "did you mean 'seed'"),
        (
            minimal(data={"source": {}, "target": "y"}),
            "data.source",
            "exactly one of 'path'",
        ),
        ({"service": "x", "task": "regression"}, "data", "required"),
        (minimal(deployment={"latency_budget_ms": -1}), "deployment.latency_budget_ms", "greater"),
        (minimal(service="9lives"), "service", "starting with a letter"),
        (
            minimal(data={"source": {"sql": "select 1"}, "target": "y"}),
            "data.source",
            "needs 'url'",
        ),
        (
            minimal(alerts=[{"name": "a", "metric": "m", "threshold": 1, "k": 3, "n": 2}]),
            "alerts.0",
            "cannot exceed",
        ),
        (minimal(monitors={"windows": ["5 minutes"]}), "monitors.windows", "duration"),
        (minimal(monitors={"mean_shift_warn": 0}), "monitors.mean_shift_warn", "greater"),
        (
            minimal(data={"source": {"path": "a"}, "target": "y", "features": ["y"]}),
            "(top level)",
            "also target",
        ),
        (minimal(deployment={"fallback": {"strategy": "rule"}}), "deployment.fallback", "module"),
    ],
)
def test_spec_errors_name_key_and_fix(raw: dict[str, Any], key: str, fix: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(raw)
    assert info.value.field == key
    assert fix in info.value.fix
    assert key in info.value.one_line()


@pytest.mark.parametrize(
    ("value", "fix"),
    [
        ("-5s", "write it like '500ms', '30s'"),
        ("soon", "write it like '500ms', '30s'"),
        ("0s", "must be a positive duration"),
        (0, "has no unit; write a duration like '500ms', '30s'"),
        (2.5, "has no unit"),
    ],
)
def test_a_bad_seal_interval_is_refused_naming_key_value_and_fix(value: object, fix: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(minimal(deployment={"seal_interval": value}))
    assert info.value.field == "deployment.seal_interval"
    assert info.value.value == value
    assert fix in info.value.fix
    assert "deployment.seal_interval" in info.value.one_line()
    assert repr(value) in info.value.one_line()


def test_unknown_key_error_shows_the_value() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(minimal(model={"estimator": "lightgbm", "lerning_rate": 0.1}))
    assert info.value.value == 0.1


def test_load_spec_resolves_paths_against_its_folder(tmp_path: Path) -> None:
    (tmp_path / "steadyml.yaml").write_text(
        "service: s\ntask: regression\ndata:\n  source: {path: d.parquet}\n  target: y\n",
        encoding="utf-8",
    )
    spec = load_spec(tmp_path)
    assert spec.base_dir == tmp_path.resolve()
    assert spec.resolve("d.parquet") == tmp_path.resolve() / "d.parquet"


def test_missing_spec_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="steadyml init"):
        load_spec(tmp_path / "nope.yaml")


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "steadyml.yaml"
    path.write_text("service: s\ntask: [unclosed\n", encoding="utf-8")
    with pytest.raises(SpecError, match="line"):
        load_spec(path)


def test_a_spec_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "steadyml.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(SpecError, match="mapping"):
        load_spec(path)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    key=st.sampled_from(["service", "task", "data", "model", "deployment", "gate", "x"]),
    value=json_values,
)
def test_any_value_gives_a_spec_or_a_spec_error(key: str, value: object) -> None:
    raw = minimal()
    raw[key] = value
    try:
        parse_spec(raw)
    except SpecError as exc:
        assert exc.field
        assert exc.fix
