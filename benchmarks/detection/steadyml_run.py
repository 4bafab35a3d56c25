"""steadyml's side of the detection benchmark: the scenarios at full rate, measured.

Trains the census model once (2015), then replays each scenario of ``scenarios/`` at
2.3M requests/day through the real server (HTTP around every onset, log level on clean
stretches), plus a moderate (0.2 std, 5 points) and a trivial (0.02 std, 1 point)
shift, and writes ``steadyml_results.json`` next to this file::

    uv run python benchmarks/detection/steadyml_run.py [SCENARIO ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from steadyml.services.simulation import Simulation, parse_scenario
from steadyml.services.simulation.project import _census

HERE = Path(__file__).parent
SCENARIOS = HERE.parents[1] / "scenarios"
LOUD = ("nan-outputs", "schema-break-null", "schema-break-renamed", "schema-break-type",
        "bad-version", "latency-spike")  # fmt: skip
MAJOR = ("covariate-shift-sudden", "category-shift")
PAGES = {"P0", "P1", "P2"}
EXTRA: dict[str, dict[str, Any]] = {
    "covariate-shift-moderate": {"base": "covariate-shift-sudden", "params": {"shift_std": 0.2}},
    "category-shift-moderate": {"base": "category-shift", "params": {"points": 5}},
    "covariate-shift-trivial": {"base": "covariate-shift-sudden", "params": {"shift_std": 0.02}},
    "category-shift-trivial": {"base": "category-shift", "params": {"points": 1}},
    # the clean week's traffic for one day, with a monitor round every simulated minute:
    # every partial window is looked at as often as in the incident scenarios
    "clean-day-every-minute": {
        "base": "clean-week",
        "params": {},
        "overrides": {"duration": "1d", "monitor_every": "1m"},
    },
}


def scenario(name: str, project: Path) -> dict[str, Any]:
    extra = EXTRA.get(name)
    base = extra["base"] if extra else name
    raw: dict[str, Any] = yaml.safe_load((SCENARIOS / f"{base}.yaml").read_text("utf-8"))
    raw["name"] = name
    raw["data"] = {"spec": str(project / "steadyml.yaml")}
    if extra:
        [incident] = raw["incidents"]
        params = {**incident.get("params", {}), **extra["params"]}
        raw["incidents"] = [{**incident, "params": params} if params else incident]
        raw.update(extra.get("overrides", {}))
    return raw


def measure(name: str, project: Path, out: Path) -> dict[str, Any]:
    started = time.perf_counter()
    result = Simulation(parse_scenario(scenario(name, project)), out / name, print).run()
    report = result.to_dict()
    pages = [i for i in report["monitor_incidents"] if i["severity"] in PAGES]
    return {
        "scenario": name,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "requests": report["requests"],
        "stretches": [
            {k: s[k] for k in ("mode", "start", "stop", "requests")} for s in report["stretches"]
        ],
        "detections": report["detections"],
        "false_alarms": report["false_alarms"],
        "false_pages": [f for f in report["false_alarms"] if f["severity"] in PAGES],
        "pages": len(pages),
        "warnings": len(report["monitor_incidents"]) - len(pages),
        "clean_days": report["clean_days"],
    }


def summary(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    def ttd(names: tuple[str, ...]) -> list[float]:
        return [d["time_to_detect_s"] for n in names if n in runs
                for d in runs[n]["detections"] if d["detected"]]  # fmt: skip

    out: dict[str, Any] = {}
    for key, names in (("loud", LOUD), ("major_shift", MAJOR)):
        times = ttd(names)
        out[f"median_ttd_{key}_s"] = statistics.median(times) if times else None
    moderate = [
        d for n in ("covariate-shift-moderate", "category-shift-moderate") if n in runs
        for d in runs[n]["detections"]
    ]  # fmt: skip
    out["moderate_ttd_s"] = [d["time_to_detect_s"] for d in moderate]
    out["trivial_pages"] = sum(
        runs[n]["pages"] for n in ("covariate-shift-trivial", "category-shift-trivial") if n in runs
    )
    for clean in ("clean-week", "clean-day-every-minute"):
        if clean in runs:
            key = clean.replace("-", "_")
            out[f"{key}_false_pages"] = len(runs[clean]["false_pages"])
            out[f"{key}_false_alarms"] = len(runs[clean]["false_alarms"])
            out[f"{key}_wall_seconds"] = runs[clean]["wall_seconds"]
    out["time_to_mitigate_s"] = {
        n: [d["time_to_mitigate_s"] for d in runs[n]["detections"]]
        for n in ("nan-outputs", "bad-version") if n in runs
    }  # fmt: skip
    out["undetected"] = [
        f"{n}: {d['name']}" for n, r in runs.items() for d in r["detections"] if not d["detected"]
        if n not in ("covariate-shift-trivial", "category-shift-trivial")
    ]  # fmt: skip
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*")
    default = Path(tempfile.gettempdir()) / "steadyml-detection"
    parser.add_argument("--out", type=Path, default=default)
    args = parser.parse_args()
    files = sorted(p.stem for p in SCENARIOS.glob("*.yaml") if p.stem != "demo")
    names = args.names or [*files, *EXTRA]
    project = args.out / "census"
    if not (project / "steadyml.yaml").exists():
        _census(project, print)
    path = HERE / "steadyml_results.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    runs: dict[str, dict[str, Any]] = dict(old.get("runs", {}))
    for name in names:
        runs[name] = measure(name, project, args.out)
        document = {"rate_per_day": 2_300_000, "runs": runs, "summary": summary(runs)}
        path.write_text(json.dumps(document, indent=1, default=str) + "\n")
        print(json.dumps({name: runs[name]["detections"]}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
