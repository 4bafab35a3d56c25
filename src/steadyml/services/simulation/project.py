"""The service a simulation replays through: a copy of a trained project, or the census demo.

The simulator never touches the original project: it works on a copy in its output
folder (registry aliases, prediction log and monitor store all change during a run).
The copy's spec gets the scenario's traffic rate as ``expected_throughput_rps``, its
label delay, and a 1 s model reload interval (a promotion reaches the server within a
second of wall time, which is seconds of simulated time).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from steadyml.datasets import load_employment
from steadyml.errors import DataError
from steadyml.services.simulation.scenario import Scenario, ScenarioError
from steadyml.spec import ServiceSpec, load_spec

__all__ = ["Project", "prepare_project", "replay_rows"]

_CENSUS_FAST: dict[str, dict[str, Any]] = {
    "model": {"params": {"n_estimators": 60, "num_leaves": 15, "learning_rate": 0.1}},
    "gate": {"bootstrap_rounds": 100, "latency_samples": 40},
}


@dataclass(frozen=True)
class Project:
    """The copied, trained project a simulation runs on."""

    spec: ServiceSpec
    directory: Path

    @property
    def spec_path(self) -> Path:
        """The copy's spec file."""
        return self.directory / "steadyml.yaml"


def _tune(path: Path, scenario: Scenario) -> ServiceSpec:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    deployment = raw.setdefault("deployment", {})
    deployment["expected_throughput_rps"] = scenario.rate / 86_400.0
    deployment["reload_interval"] = "1s"
    deployment["workers"] = scenario.http.workers
    raw.setdefault("labels", {})["expected_delay"] = scenario.labels.delay
    raw["labels"]["expected_coverage"] = max(scenario.labels.coverage, 1e-6)
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return load_spec(path)


def _census(directory: Path, progress: Callable[[str], None]) -> None:
    from steadyml.services.demo_project import prepare_demo_project
    from steadyml.services.promotion import promote
    from steadyml.services.training import train
    from steadyml.services.workspace import Workspace

    spec = prepare_demo_project(directory)
    path = spec.base_dir / "steadyml.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for section, values in _CENSUS_FAST.items():
        for key, value in values.items():
            current = raw.setdefault(section, {})
            if isinstance(value, dict) and isinstance(current.get(key), dict):
                current[key].update(value)
            else:
                current[key] = value
    # a loaded two-core machine must not turn queueing into latency incidents
    raw["deployment"]["latency_budget_ms"] = 250
    raw.setdefault("monitors", {})["windows"] = ["5m", "1h"]
    # a bad version is rolled back by the responder, as in production
    raw["responses"] = [
        {"on": "nan_output", "action": "rollback", "cooldown": "30m"},
        {"on": "prediction_drift", "action": "rollback", "cooldown": "30m"},
    ]
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    spec = load_spec(path)
    with Workspace.open(spec, environ={}) as workspace:
        progress("training the census model on 2015")
        train(spec, workspace, reason="simulation: first model")
        promote(workspace, force=True, reason="simulation: first champion", actor="simulator")


def prepare_project(
    scenario: Scenario, out_dir: Path, progress: Callable[[str], None] = lambda _: None
) -> Project:
    """Copy (or build and train) the project into ``out_dir/project`` and tune its spec.

    Raises
    ------
    ScenarioError
        When ``data.spec`` does not exist.
    """
    directory = out_dir / "project"
    if directory.exists():
        shutil.rmtree(directory)
    if scenario.data.spec is None:
        _census(directory, progress)
    else:
        source = Path(scenario.data.spec)
        folder = source if source.is_dir() else source.parent
        if not (folder / "steadyml.yaml").exists():
            raise ScenarioError(
                "data.spec", scenario.data.spec, "give a steadyml.yaml of a trained project"
            )
        progress(f"copying the project {folder}")
        shutil.copytree(folder, directory, ignore=shutil.ignore_patterns("predlog", "reports"))
    spec = _tune(directory / "steadyml.yaml", scenario)
    return Project(spec, directory)


def replay_rows(scenario: Scenario, spec: ServiceSpec, features: list[str]) -> pl.DataFrame:
    """The rows to replay: features and the target (census analysis years by default).

    Raises
    ------
    DataError
        When the file cannot be read or lacks features or the target.
    """
    target = spec.data.target
    if scenario.data.path is None and scenario.data.spec is None:
        data = load_employment().analysis_with_labels()
        data = data.filter(pl.col("year").is_in(list(scenario.data.years)))
    else:
        source = getattr(spec.data.source, "path", None)
        path = scenario.data.path or (None if source is None else str(spec.resolve(source)))
        if path is None:
            raise DataError("data.path", None, "give the Parquet file of rows to replay")
        try:
            data = pl.read_parquet(path)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise DataError("data.path", path, f"cannot read it as Parquet ({exc})") from None
    missing = [c for c in (*features, target) if c not in data.columns]
    if missing:
        raise DataError("data.path", missing, "the replayed rows need every feature and the target")
    if data.height == 0:
        raise DataError("data", 0, "there are no rows to replay; check data.years or data.path")
    return data.select(*features, target)
