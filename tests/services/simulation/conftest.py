"""A census project trained once for every replay test of the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from steadyml.services.promotion import promote
from steadyml.services.training import train
from steadyml.services.workspace import Workspace
from steadyml.spec import load_spec
from tests.services.conftest import make_project


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The spec path of a trained, promoted census project (5m and 1h windows, 250 ms)."""
    spec = make_project(tmp_path_factory.mktemp("simulated") / "project")
    path = spec.base_dir / "steadyml.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["monitors"] = {"windows": ["5m", "1h"]}
    raw["deployment"]["latency_budget_ms"] = 250  # as the simulator's census project
    raw["responses"] = [
        {"on": "nan_output", "action": "rollback"},
        {"on": "prediction_drift", "action": "rollback"},
    ]
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    spec = load_spec(path)
    with Workspace.open(spec, environ={}) as workspace:
        train(spec, workspace)
        promote(workspace, force=True, reason="test champion", actor="test")
    return path
