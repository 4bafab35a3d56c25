"""The demo project: the bundled census data as a ready-to-train steadyml service.

:func:`prepare_demo_project` writes the census service (spec, transforms, 2015 data);
:func:`prepare_story_project` and :func:`story_scenario` set up what ``steadyml demo``
replays on it: 2016–2018 traffic with a schema break, a NaN-returning version and a
gradual drift.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from steadyml.datasets import FEATURES, TARGET, load_employment
from steadyml.spec import ServiceSpec, load_spec

if TYPE_CHECKING:
    from steadyml.services.simulation import Scenario

__all__ = [
    "DEMO_TRANSFORMS",
    "REPLAY_FILE",
    "STORY_RESPONSES",
    "STORY_SETTINGS",
    "prepare_demo_project",
    "prepare_story_project",
    "spec_variant",
    "story_scenario",
]

DEMO_TRANSFORMS = '''\
"""Derived features for the employment service: the same code runs in training and serving."""

import polars as pl


def transform(frame: pl.DataFrame) -> pl.DataFrame:
    """Add an age band and a working-age flag."""
    return frame.with_columns(
        AGE_BAND=(pl.col("AGEP") // 10).cast(pl.Int64).clip(0, 9).cast(pl.String),
        WORKING_AGE=pl.col("AGEP").is_between(18, 64).cast(pl.Int8),
    )
'''


def _spec(data_file: str) -> dict[str, object]:
    return {
        "service": "employment",
        "description": "Predicts whether a Massachusetts resident is employed (ACS PUMS).",
        "owner": "ml-platform@example.org",
        "task": "binary_classification",
        "data": {
            "source": {"path": data_file},
            "target": TARGET,
            "id_column": "id",
            "features": list(FEATURES),
            "split": {"test_fraction": 0.2},
            "slices": ["SEX", "RAC1P"],
        },
        "transforms": {"module": "features.py", "function": "transform"},
        "model": {
            "estimator": "lightgbm",
            "params": {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 31},
            "seed": 42,
        },
        "deployment": {
            "latency_budget_ms": 50,
            "expected_throughput_rps": 27,
            "fallback": {"strategy": "constant", "value": 0.5},
        },
        "gate": {"max_regression": 0.005, "slice_max_regression": 0.02},
    }


def prepare_demo_project(directory: Path, *, fresh: bool = True) -> ServiceSpec:
    """Write data, spec and transforms for the census service into ``directory``."""
    if fresh and directory.exists():
        for name in (".steadyml", "contract.json", "steadyml.yaml", "features.py", "data"):
            target = directory / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    data_dir = directory / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    data_file = data_dir / "employment_2015.parquet"
    if not data_file.exists():
        load_employment().reference.write_parquet(data_file)
    (directory / "features.py").write_text(DEMO_TRANSFORMS, encoding="utf-8")
    spec_path = directory / "steadyml.yaml"
    spec_path.write_text(
        yaml.safe_dump(_spec("data/employment_2015.parquet"), sort_keys=False), encoding="utf-8"
    )
    return load_spec(spec_path)


def spec_variant(spec: ServiceSpec, **params: object) -> ServiceSpec:
    """The same spec with changed model parameters, written back to its file."""
    path = spec.base_dir / "steadyml.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["model"]["params"].update(params)
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return load_spec(path)


# -- the story `steadyml demo` tells -------------------------------------------------------

#: What the demo adds to the census spec: a quick model and gate, room for a loaded
#: two-core machine, 5-minute and hourly windows, and the responses of the story.
STORY_SETTINGS: dict[str, dict[str, Any]] = {
    "model": {"params": {"n_estimators": 60, "num_leaves": 15, "learning_rate": 0.1}},
    "gate": {"bootstrap_rounds": 100, "latency_samples": 40},
    "deployment": {"latency_budget_ms": 250},
    "monitors": {"windows": ["5m", "1h"]},
}
STORY_RESPONSES: list[dict[str, Any]] = [
    {"on": "nan_output", "action": "rollback", "cooldown": "30m"},
    {"on": "feature_drift", "action": "retrain", "cooldown": "1d", "auto_promote": False},
]
#: The replayed rows: the census analysis years, with their labels.
REPLAY_FILE = "data/employment_2016_2018.parquet"

_STORY: list[dict[str, Any]] = [
    {
        "name": "schema break: ANC arrives null",
        "type": "null_feature",
        "feature": "ANC",
    },
    {
        "name": "bad version: NaN outputs",
        "type": "nan_outputs",
        "params": {"share": 0.1},
    },
    {
        "name": "gradual drift of AGEP",
        "type": "covariate_shift",
        "feature": "AGEP",
        "params": {"shift_std": 0.5},
    },
]
# onset, duration, ramp of each chapter; then the scenario's length, rate and label delay
_TIMING: dict[bool, dict[str, Any]] = {
    False: {
        "chapters": [("40m", "20m", None), ("100m", "20m", None), ("160m", "45m", "30m")],
        "duration": "4h",
        "rate": 2_300_000,
        "labels": {"delay": "30m"},
        "outcome": {"name": "converted", "delay": "30m", "threshold": 0.5, "acceptance": 0.3},
        "http": {"workers": 2, "before": "5m", "after": "5m"},
    },
    True: {
        "chapters": [("20m", "15m", None), ("50m", "15m", None), ("80m", None, "10m")],
        "duration": "110m",
        "rate": 400_000,
        "labels": {"delay": "5m"},
        "outcome": {"name": "converted", "delay": "5m", "threshold": 0.5, "acceptance": 0.3},
        "http": {"workers": 1, "before": "3m", "after": "5m"},
    },
}


def story_scenario(project: Path, *, quick: bool = False) -> Scenario:
    """The demo's scenario: the three chapters of the story on ``project``'s service.

    Parameters
    ----------
    project
        A demo project written by :func:`prepare_story_project` (its spec and replay
        file are used).
    quick
        A shorter replay at a lower rate that still plays every chapter (for tests).
    """
    from steadyml.services.simulation import parse_scenario

    timing = _TIMING[quick]
    incidents = []
    for chapter, (onset, duration, ramp) in zip(_STORY, timing["chapters"], strict=True):
        incident = {**chapter, "onset": onset}
        if duration is not None:
            incident["duration"] = duration
        if ramp is not None:
            incident["ramp"] = ramp
        incidents.append(incident)
    return parse_scenario(
        {
            "name": "demo-quick" if quick else "demo",
            "description": (
                "The census story: an upstream schema break, a bad version with NaN "
                "outputs that the responder rolls back, and a gradual drift of age that "
                "triggers a retrain through the gate."
            ),
            "data": {
                "spec": str((project / "steadyml.yaml").resolve()),
                "path": str((project / REPLAY_FILE).resolve()),
            },
            "duration": timing["duration"],
            "rate": timing["rate"],
            "labels": timing["labels"],
            "outcome": timing["outcome"],
            "http": timing["http"],
            "incidents": incidents,
        },
        source="demo",
    )


def prepare_story_project(directory: Path) -> ServiceSpec:
    """The census project of :func:`prepare_demo_project`, set up for the demo's story.

    The spec gets :data:`STORY_SETTINGS` and the ``responses:`` of the story (roll a
    NaN-returning version back; retrain on feature drift, gate, and leave promotion to a
    person), and ``REPLAY_FILE`` holds the 2016–2018 rows with their labels.
    """
    spec = prepare_demo_project(directory)
    path = spec.base_dir / "steadyml.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for section, values in STORY_SETTINGS.items():
        current = raw.setdefault(section, {})
        for key, value in values.items():
            if isinstance(value, dict) and isinstance(current.get(key), dict):
                current[key].update(value)
            else:
                current[key] = value
    raw["responses"] = [dict(item) for item in STORY_RESPONSES]
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    replay = directory / REPLAY_FILE
    if not replay.exists():
        rows = load_employment().analysis_with_labels()
        rows.select(*FEATURES, TARGET, "year").write_parquet(replay)
    return load_spec(path)
