"""The service a simulation replays through: a copy of a trained project, or the census demo.

The simulator never touches the original project: it works on a copy in its output
folder (registry aliases, prediction log and monitor store all change during a run).
The copy's spec gets the scenario's traffic rate as ``expected_throughput_rps``, its
label delay, a 1 s model reload interval (a promotion reaches the server within a
second of wall time, which is seconds of simulated time) and, when the scenario has an
``outcome:`` section, a ``monitors.kpi`` on that outcome (the monitor then measures
``kpi.*`` and the default ``kpi_drop`` rule applies).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from steadyml.core.monitoring import WindowSpec
from steadyml.datasets import dataset_path, load_employment
from steadyml.errors import DataError
from steadyml.services.simulation.scenario import Scenario, ScenarioError
from steadyml.spec import MonitorsSpec, ServiceSpec, load_spec

__all__ = ["Project", "census_schema", "kpi_section", "prepare_project", "replay_rows"]

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
    if scenario.outcome is not None:
        monitors = raw.setdefault("monitors", {}) or {}
        raw["monitors"] = monitors
        monitors["kpi"] = kpi_section(scenario.outcome.name, monitors.get("kpi"), _windows(raw))
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return load_spec(path)


def _windows(raw: Mapping[str, Any]) -> list[str]:
    """The monitor windows of a raw spec (the spec's default when it names none)."""
    monitors = raw.get("monitors") or {}
    windows = monitors.get("windows")
    return list(windows) if windows else list(MonitorsSpec().windows)


def kpi_section(name: str, current: object, windows: list[str]) -> dict[str, Any]:
    """``monitors.kpi`` for the outcome ``name``: the spec's own KPI settings renamed, or
    the mean outcome per answered request over the slow window (``1h`` when monitored,
    else the longest window).

    The simulator sends one 1/0 (or column) outcome per answered request, so the
    ``mean`` of the arrived events is the KPI; it stays right while the outcomes of a
    window are still arriving, where a ``rate`` (divided by every answered request)
    would read a window low until its last outcome arrived.
    """
    if isinstance(current, dict):
        return {**current, "name": name}
    labels = [WindowSpec.parse(w).label for w in windows]
    slow = "1h" if "1h" in labels else max(windows, key=lambda w: WindowSpec.parse(w).size)
    return {"name": name, "aggregate": "mean", "window": slow}


def census_schema() -> dict[str, pl.DataType]:
    """Column types of the bundled census rows the simulator replays (without reading them)."""
    schema = dict(pl.read_parquet_schema(dataset_path("analysis")))
    schema.update(pl.read_parquet_schema(dataset_path("analysis_labels")))
    return schema


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
    """The rows to replay: features, the target and the outcome column if the scenario
    names one (census analysis years by default).

    Raises
    ------
    DataError
        When the file cannot be read or lacks features or the target.
    ScenarioError
        When ``outcome.column`` is not a numeric column of the rows.
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
    from steadyml.services.simulation.outcomes import check_outcome_column

    check_outcome_column(scenario.outcome, data.schema)
    column = scenario.outcome.column if scenario.outcome is not None else None
    extra = [column] if column is not None and column not in (*features, target) else []
    return data.select(*features, target, *extra)
