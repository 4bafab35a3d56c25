"""A small census project, trained once per module where tests only read it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from steadyml.services.demo_project import prepare_demo_project
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec, load_spec

FAST: dict[str, dict[str, Any]] = {
    "model": {"params": {"n_estimators": 40, "num_leaves": 15, "learning_rate": 0.1}},
    "gate": {"bootstrap_rounds": 100, "latency_samples": 40},
    # tests share two cores: a generous budget keeps the latency check from flaking;
    # test_latency_budget_is_enforced checks the budget itself
    "deployment": {"latency_budget_ms": 500},
}


def make_project(directory: Path, **overrides: dict[str, object]) -> ServiceSpec:
    """The demo census project with fast settings (and any overrides), written to disk."""
    spec = prepare_demo_project(directory)
    path = spec.base_dir / "steadyml.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for section, values in FAST.items():  # merged into the demo's settings
        for key, value in values.items():
            current = raw.setdefault(section, {})
            if isinstance(value, dict) and isinstance(current.get(key), dict):
                current[key].update(value)
            else:
                current[key] = value
    for section, values in overrides.items():  # replace whole keys
        raw.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return load_spec(path)


def edit_spec(spec: ServiceSpec, section: str, **values: object) -> ServiceSpec:
    """Change keys of one spec section on disk and reload it."""
    path = spec.base_dir / "steadyml.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return load_spec(path)


@pytest.fixture
def project(tmp_path: Path) -> ServiceSpec:
    """A fresh, untrained census project."""
    return make_project(tmp_path / "project")


@pytest.fixture
def workspace(project: ServiceSpec) -> Iterator[Workspace]:
    """The project's workspace, closed after the test."""
    with Workspace.open(project, environ={}) as ws:
        yield ws
