"""The demo project: the bundled census data as a ready-to-train steadyml service."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from steadyml.datasets import FEATURES, TARGET, load_employment
from steadyml.spec import ServiceSpec, load_spec

__all__ = ["DEMO_TRANSFORMS", "prepare_demo_project", "spec_variant"]

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
