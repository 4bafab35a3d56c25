"""Write the replayed traffic of the scenarios, window by window, for the peer tools.

Runs in steadyml's environment and reuses the simulator's own pieces: the scenario files
of ``scenarios/``, the census model the simulator trains on 2015 (``prepare_project``),
the rows it replays (``replay_rows``), its ``Traffic`` (same shuffle, same rows per
tick), and every incident's own hooks (``apply``, ``edit_records``, ``labels``, and the
faulty model wrappers of ``faults.py`` for NaN outputs and bad versions). Ticks are
grouped into windows of ``--window`` minutes (5 by default: ~8k rows at 2.3M/day).

Each window is one Parquet file ``data/<scenario>/wNNNN.parquet`` holding the inputs as
they arrived (a renamed field is missing and its new name present; a type change arrives
as text), ``prediction`` (the model's raw output: NaN where a NaN-output version answered
NaN), ``y_pred`` (the class at 0.5), the label ``employed`` (after label incidents;
null where it never comes back) and ``_event_time``. ``data/reference.parquet`` is the
2015 data with the champion's scores, and ``data/manifest.json`` names every window,
its time span, and each scenario's incidents and onsets. Usage::

    uv run python benchmarks/detection/make_windows.py            # all scenarios, 1 clean day
    uv run python benchmarks/detection/make_windows.py --clean 7d --scenarios clean-week
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

from steadyml.core.durations import parse_duration
from steadyml.datasets import load_employment
from steadyml.services.bundles import load_bundle
from steadyml.services.serving.holder import LoadedModel
from steadyml.services.simulation import Scenario, load_scenario, parse_scenario
from steadyml.services.simulation.faults import WRAPPERS
from steadyml.services.simulation.incident import Incident
from steadyml.services.simulation.library import build_incidents
from steadyml.services.simulation.project import prepare_project, replay_rows
from steadyml.services.simulation.traffic import EVENT_TIME, REQUEST_ID, Traffic
from steadyml.services.workspace import Workspace

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DATA = HERE / "data"
# incidents in what the peers see (inputs, outputs, labels): not latency, traffic or label feeds
DATA_SIDE = frozenset({
    "covariate_shift", "category_shift", "null_feature", "renamed_feature", "type_change",
    "unit_change", "unseen_categories", "label_shift", "concept_drift", "training_serving_skew",
    "nan_outputs", "bad_version", "clean",
})  # fmt: skip
CLEAN = "clean-week"
# the moderate and trivial shifts steadyml's own run adds (``steadyml_run.py``)
VARIANTS: dict[str, dict[str, Any]] = {
    "covariate-shift-moderate": {"base": "covariate-shift-sudden", "params": {"shift_std": 0.2}},
    "category-shift-moderate": {"base": "category-shift", "params": {"points": 5}},
    "covariate-shift-trivial": {"base": "covariate-shift-sudden", "params": {"shift_std": 0.02}},
    "category-shift-trivial": {"base": "category-shift", "params": {"points": 1}},
}
PREDICTION = "prediction"
Y_PRED = "y_pred"


@dataclasses.dataclass
class Scorer:
    """The champion, and the faulty versions the incidents promote at their onset."""

    model: LoadedModel

    def score(self, frame: pl.DataFrame, incidents: list[Incident], at: datetime) -> np.ndarray:
        """Scores of ``frame`` by the version serving at ``at`` (raw: NaN kept)."""
        contract = self.model.contract
        schema = contract.polars_schema()
        raw = frame.select(
            (
                pl.col(name).cast(schema[name], strict=False)
                if name in frame.columns and frame.schema[name] == schema[name]
                else _lenient(frame, name, schema[name])
            ).alias(name)
            for name in contract.names
        )
        predictor = self.model.predictor
        for incident in incidents:
            fault = incident.fault()
            if fault is not None and incident.progress(at) > 0:
                wrapped = WRAPPERS[fault.wrapper](predictor.estimator, **fault.options)
                predictor = dataclasses.replace(predictor, estimator=wrapped)
        return np.asarray(predictor.score(raw), dtype=np.float64)


def _lenient(frame: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    # a pipeline without a contract: a missing or unparseable field reaches the model as null
    if name not in frame.columns or frame.schema[name] == pl.List:
        return pl.lit(None, dtype=dtype)
    return pl.col(name).cast(pl.String).cast(dtype, strict=False)


def load_model(out: Path) -> tuple[Workspace, LoadedModel, str]:
    """Train and promote the simulator's census model (once) and load the champion."""
    scenario = parse_scenario({"name": "detection-benchmark"})
    project = prepare_project(scenario, out, lambda line: print(f"  {line}", flush=True))
    workspace = Workspace.open(project.spec)
    registry = workspace.registry
    version = registry.alias_version("champion")
    if version is None:
        raise SystemExit("the simulator's project has no champion")
    bundle = load_bundle(registry, workspace.model_cache, version)
    model = LoadedModel.build(bundle, "registry", datetime.now().astimezone())
    return workspace, model, project.spec.data.target


def _edited(frame: pl.DataFrame, features: list[str], incidents: list[Incident],
            progress: list[float], rng: np.random.Generator) -> pl.DataFrame:  # fmt: skip
    if not any(p > 0 and type(i).edit_records is not Incident.edit_records
               for i, p in zip(incidents, progress, strict=True)):  # fmt: skip
        return frame
    records = frame.select(features).to_dicts()
    for incident, p in zip(incidents, progress, strict=True):
        if p > 0:
            records = incident.edit_records(records, p, rng)
    edited = pl.DataFrame(records, infer_schema_length=None, strict=False)
    rest = frame.drop(features)
    return pl.concat([edited, rest], how="horizontal")


def _labels(frame: pl.DataFrame, target: str, scenario: Scenario, incidents: list[Incident],
            progress: list[float], *, rng: np.random.Generator) -> pl.Series:  # fmt: skip
    labels = frame.get_column(target).cast(pl.Float64).to_numpy().copy()
    coverage = scenario.labels.coverage
    for incident, p in zip(incidents, progress, strict=True):
        if p > 0:
            labels = incident.labels(frame, labels, p, rng)
            coverage *= incident.label_feed(p).coverage
    keep = rng.random(frame.height) < coverage
    return pl.Series(target, np.where(keep, labels, np.nan)).fill_nan(None)


def replay(scenario: Scenario, model: LoadedModel, target: str, window: timedelta,
           out: Path) -> dict[str, Any]:  # fmt: skip
    """Replay one scenario as the simulator does and write its windows; its manifest."""
    features = list(model.contract.names)
    data = replay_rows(scenario, _spec_stub(target), features)
    incidents = build_incidents(scenario, target)
    for incident in incidents:
        incident.bind(data)
    rng = np.random.default_rng(scenario.seed)
    traffic = Traffic(data, scenario.name, scenario.seed)
    scorer = Scorer(model)
    folder = out / scenario.name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    windows: list[dict[str, Any]] = []
    parts: list[pl.DataFrame] = []
    at, step = scenario.start, scenario.step
    window_start = at
    while at < scenario.end:
        stop = min(at + step, scenario.end)
        middle = at + (stop - at) / 2
        progress = [i.progress(middle) for i in incidents]
        rate = scenario.rate / 86_400.0
        for incident, p in zip(incidents, progress, strict=True):
            rate *= incident.rate_factor(p)
        frame = traffic.take(traffic.count(rate, (stop - at).total_seconds()), at, stop)
        for incident, p in zip(incidents, progress, strict=True):
            if p > 0:
                frame = incident.apply(frame, p, rng)
        frame = _edited(frame, features, incidents, progress, rng)
        scores = scorer.score(frame, incidents, middle)
        labels = _labels(frame, target, scenario, incidents, progress, rng=rng)
        parts.append(
            frame.drop(REQUEST_ID, target).with_columns(
                pl.Series(PREDICTION, scores),
                pl.Series(Y_PRED, (scores >= 0.5).astype(np.int64)),
                labels.cast(pl.Int64),
            )
        )
        at = stop
        if at - window_start >= window or at >= scenario.end:
            name = f"w{len(windows):04d}.parquet"
            chunk = pl.concat(parts, how="diagonal_relaxed")
            chunk = chunk.select(*[c for c in chunk.columns if c != EVENT_TIME], EVENT_TIME)
            chunk.write_parquet(folder / name)
            windows.append(
                {"file": f"{scenario.name}/{name}", "start": window_start.isoformat(),
                 "end": at.isoformat(), "rows": chunk.height}
            )  # fmt: skip
            parts, window_start = [], at
    return {
        "name": scenario.name,
        "description": scenario.description,
        "start": scenario.start.isoformat(),
        "end": scenario.end.isoformat(),
        "label_delay_s": parse_duration(scenario.labels.delay).total_seconds(),
        "incidents": [i.describe() for i in incidents],
        "windows": windows,
    }


@dataclasses.dataclass(frozen=True)
class _Data:
    target: str
    source: None = None


@dataclasses.dataclass(frozen=True)
class _SpecStub:
    data: _Data


def _spec_stub(target: str) -> Any:
    # replay_rows reads only spec.data.target for the bundled census data
    return _SpecStub(_Data(target))


def write_reference(model: LoadedModel, target: str, out: Path) -> int:
    """2015 (the training year) with the champion's scores; its row count."""
    features = list(model.contract.names)
    reference = load_employment().reference.select(*features, target)
    scores = Scorer(model).score(reference, [], datetime.now().astimezone())
    reference = reference.with_columns(
        pl.Series(PREDICTION, scores),
        pl.Series(Y_PRED, (scores >= 0.5).astype(np.int64)),
        pl.col(target).cast(pl.Int64),
    )
    reference.write_parquet(out / "reference.parquet")
    return reference.height


def data_side_scenarios(folder: Path) -> list[str]:
    """Every scenario file whose incidents all act on inputs, outputs or labels."""
    names = []
    for path in sorted(folder.glob("*.yaml")):
        if path.stem == "demo":
            continue
        scenario = load_scenario(path)
        if all(i.type in DATA_SIDE for i in scenario.incidents):
            names.append(path.stem)
    names += list(VARIANTS)
    return sorted(names, key=lambda name: name == CLEAN)


def read_scenario(folder: Path, name: str) -> Scenario:
    """A scenario file, or one of the variants of a file."""
    variant = VARIANTS.get(name)
    if variant is None:
        return load_scenario(folder / f"{name}.yaml")
    raw = yaml.safe_load((folder / f"{variant['base']}.yaml").read_text(encoding="utf-8"))
    [incident] = raw["incidents"]
    raw["name"] = name
    raw["incidents"] = [{**incident, "params": {**incident["params"], **variant["params"]}}]
    return parse_scenario(raw)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="*", help="default: every data-side scenario")
    parser.add_argument("--window", default="5m", help="window length (simulated time)")
    parser.add_argument("--clean", default="1d", help="length of the clean-week stretch")
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    print("preparing the simulator's census model (trained on 2015)", flush=True)
    workspace, model, target = load_model(args.out / "simulation")
    try:
        rows = write_reference(model, target, args.out)
        print(f"reference: {rows} rows of 2015 with the champion's scores", flush=True)
        manifest: dict[str, Any] = {
            "window_s": parse_duration(args.window).total_seconds(),
            "target": target,
            "features": list(model.contract.names),
            "prediction": PREDICTION,
            "y_pred": Y_PRED,
            "reference": "reference.parquet",
            "scenarios": [],
        }
        for name in args.scenarios or data_side_scenarios(ROOT / "scenarios"):
            scenario = read_scenario(ROOT / "scenarios", name)
            if name == CLEAN:
                scenario = scenario.model_copy(update={"duration": args.clean})
            entry = replay(scenario, model, target, parse_duration(args.window), args.out)
            total = sum(w["rows"] for w in entry["windows"])
            print(f"{name}: {len(entry['windows'])} windows, {total} rows", flush=True)
            manifest["scenarios"].append(entry)
        (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    finally:
        workspace.close()


if __name__ == "__main__":
    main()
