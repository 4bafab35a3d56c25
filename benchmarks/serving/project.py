"""Build the census project the serving benchmark serves, and export it for the peers.

Writes ``data/project/`` (the demo project: spec, contract, transforms, 2015 data), trains
and promotes the champion there once, and exports what the peer servers load:

* ``data/booster.txt``: the champion's LightGBM booster (native text format);
* ``data/encoder.json``: the champion's encoder (column order, category codes);
* ``data/row.json``: one census record as a client sends it;
* ``data/model_dir.txt``: the champion's MLflow model directory (``mlflow models serve``);
* ``data/project/{relaxed,strict,bare}.yaml``: the spec in three serving variants.

Usage: ``uv run python benchmarks/serving/project.py`` (idempotent: trains only once).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import yaml

from steadyml.adapters.model_files import MODEL_DIR, fetch_version
from steadyml.services.bundles import read_bundle_dir
from steadyml.services.demo_project import prepare_demo_project
from steadyml.services.promotion import promote
from steadyml.services.training import train
from steadyml.services.workspace import Workspace
from steadyml.spec import load_spec

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
PROJECT = DATA / "project"
VARIANTS: dict[str, dict[str, object]] = {
    "relaxed": {"durability": "relaxed"},
    "strict": {"durability": "strict"},
    "bare": {"durability": "relaxed", "prediction_log": False, "metrics": False},
}


def build() -> None:
    """Train and promote the champion (once), then export it for the peers."""
    spec_file = PROJECT / "steadyml.yaml"
    if not spec_file.exists():
        prepare_demo_project(PROJECT)
    spec = load_spec(spec_file)
    with Workspace.open(spec, environ={}) as workspace:
        champion = workspace.registry.alias_version("champion")
        if champion is None:
            result = train(spec, workspace, reason="serving benchmark")
            promote(workspace, force=True, reason="serving benchmark")
            champion = result.version
        source = fetch_version(workspace.model_cache, workspace.registry, champion)
    bundle = read_bundle_dir(source, champion)
    bundle.predictor.estimator.booster_.save_model(str(DATA / "booster.txt"))
    encoder = bundle.predictor.encoder.to_dict()
    (DATA / "encoder.json").write_text(json.dumps(encoder, indent=1), encoding="utf-8")
    frame = pl.read_parquet(spec.resolve(spec.data.source.path or ""))
    row = frame.select(spec.data.features or ()).row(7, named=True)
    (DATA / "row.json").write_bytes(orjson.dumps(row))
    (DATA / "model_dir.txt").write_text(str(source / MODEL_DIR), encoding="utf-8")
    raw: dict[str, Any] = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    for name, deployment in VARIANTS.items():
        variant = {**raw, "deployment": {**raw["deployment"], **deployment}}
        text = yaml.safe_dump(variant, sort_keys=False)
        (PROJECT / f"{name}.yaml").write_text(text, encoding="utf-8")
    print(f"champion v{champion}: {source}")


if __name__ == "__main__":
    build()
