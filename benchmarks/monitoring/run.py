"""CPU cost of monitoring: the monitor runner over census prediction-log records.

Two traffic rates, the two targets of the monitoring issue:

* ``low``: 2.3M requests/day (26.6/s); target: under 1 % of one core.
* ``high``: 230M requests/day (2,662/s); target: one core keeps up.

``prepare`` writes the records of each scenario through the real
``PredictionLogWriter`` and ``FeedbackLogWriter`` as a two-worker server would (each
worker seals a segment every 30 s of event time), with a realistic mix: 0.5 % fallbacks
(NaN outputs and timeouts), 0.3 % refused requests, 0.2 % errors, labels for 50 % of
the requests 10 minutes later and a conversion outcome for 20 %. ``measure`` replays
the log to a fresh monitor store: every 30 s of event time the segments sealed in that
step appear in the monitor's log directory (hard links) and ``Monitor.run_once`` runs
on a manual clock, exactly as ``steadyml monitor --watch --interval 30s`` would. Only
the monitor's calls are timed (process CPU time, all threads). Each round is a fresh
process; the median of the rounds is reported.

    uv run python benchmarks/monitoring/run.py prepare
    uv run python benchmarks/monitoring/run.py all --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
SERVICE = "census"
STEP = timedelta(seconds=30)
START = datetime(2016, 3, 1, tzinfo=UTC)
WORKERS = ("w0", "w1")


@dataclass(frozen=True)
class Scenario:
    """A traffic rate and how much of it is replayed."""

    name: str
    per_day: float
    minutes: int

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.per_day / 86_400

    @property
    def steps(self) -> int:
        """30-second steps replayed."""
        return int(self.minutes * 60 / STEP.total_seconds())


SCENARIOS = {
    "low": Scenario("low", 2.3e6, 180),  # three hours: 287,500 records, 360 passes
    "high": Scenario("high", 230e6, 12),  # twelve minutes: 1.9M records, 24 passes
    "smoke": Scenario("smoke", 2.3e6, 20),  # a quick check of the script
}


def spec_dict(scenario: Scenario) -> dict[str, Any]:
    """The census service: default windows (5m, 1h, 1d) and rules, labels and a KPI."""
    return {
        "service": SERVICE,
        "deployment": {"expected_throughput_rps": scenario.rate},
        "task": "binary_classification",
        "data": {"source": {"path": "train.parquet"}, "target": "employed"},
        "labels": {"name": "employed"},
        "monitors": {"kpi": {"name": "converted", "window": "1h", "baseline": 0.2}},
    }


def model(rows: pl.DataFrame) -> np.ndarray:
    """A fixed stand-in scorer (the monitor's cost does not depend on the model)."""
    age = rows.get_column("AGEP").cast(pl.Float64).to_numpy()
    school = rows.get_column("SCHL").cast(pl.Float64, strict=False).fill_null(16).to_numpy()
    logit = np.clip(1.5 - ((age - 42.0) / 14.0) ** 2 + (school - 16.0) / 4.0, -30, 30)
    return np.asarray(1.0 / (1.0 + np.exp(-logit)))


def _records(
    pool: pl.DataFrame, start: datetime, n: int, rng: np.random.Generator, seq: int
) -> pl.DataFrame:
    from steadyml.datasets import FEATURES

    rows = pool[rng.integers(0, pool.height, n)]
    score = model(rows)
    draw = rng.random(n)
    status = np.full(n, "ok", dtype=object)
    status[draw < 0.010] = "error"
    status[draw < 0.008] = "rejected"
    status[draw < 0.005] = "fallback"
    reason = np.full(n, None, dtype=object)
    reason[draw < 0.005] = "timeout"
    reason[draw < 0.0025] = "nan_output"
    raw = np.where(draw < 0.0025, np.nan, score)
    answered = np.isin(status, ["ok", "fallback"])
    offsets = np.sort(rng.random(n)) * STEP.total_seconds() * 1e6
    times = pl.Series(offsets.astype(np.int64)).cast(pl.Duration("us")) + start
    ids = pl.select(pl.format("r{}-{}", pl.lit(seq), pl.int_range(n, eager=True))).to_series()
    inputs = rows.select(FEATURES).to_struct()
    refused = status == "rejected"
    return pl.DataFrame(
        {
            "request_id": ids,
            "model_version": ["1"] * n,
            "event_time": times,
            "received_at": times,
            "latency_ms": rng.gamma(2.0, 3.0, n),
            "status": pl.Series(status.tolist(), dtype=pl.String),
            "fallback": status == "fallback",
            "fallback_reason": pl.Series(reason.tolist(), dtype=pl.String),
            "rejection_reason": pl.Series(
                ["ANC: null" if r else None for r in refused], dtype=pl.String
            ),
            "prediction": np.where(answered, np.where(np.isnan(raw), 0.5, raw), np.nan),
            "raw_prediction": np.where(answered, raw, np.nan),
            "inputs": inputs,
            "_employed": rows.get_column("employed").cast(pl.Float64),
        }
    ).with_columns(
        pl.when(pl.Series(refused)).then(None).otherwise(pl.col("inputs")).alias("inputs"),
        pl.when(pl.Series(answered)).then(pl.col("prediction")).alias("prediction"),
    )


def _feedback(records: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    answered = records.filter(pl.col("status").is_in(["ok", "fallback"]))
    labelled = answered.filter(pl.Series(rng.random(answered.height) < 0.5))
    converted = answered.filter(pl.Series(rng.random(answered.height) < 0.2))
    delay = pl.duration(minutes=10)
    labels = labelled.select(
        "request_id",
        (pl.col("event_time") + delay).alias("event_time"),
        (pl.col("event_time") + delay).alias("received_at"),
        pl.lit("label").alias("kind"),
        pl.lit("employed").alias("name"),
        pl.col("_employed").alias("value"),
    )
    outcomes = converted.select(
        "request_id",
        (pl.col("event_time") + delay).alias("event_time"),
        (pl.col("event_time") + delay).alias("received_at"),
        pl.lit("outcome").alias("kind"),
        pl.lit("converted").alias("name"),
        pl.lit(1.0).alias("value"),
    )
    return pl.concat([labels, outcomes])


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*.parquet")}


def prepare(scenario: Scenario) -> Path:
    """Write the scenario's log once (segments per step recorded in a manifest)."""
    from steadyml.adapters.predlog import (
        FeedbackLogWriter,
        PredictionLogWriter,
        prediction_schema,
    )
    from steadyml.datasets import FEATURES, NUMERIC_FEATURES, load_employment

    target = DATA / scenario.name
    if (target / "manifest.json").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    root = target / "log"
    root.mkdir(parents=True)
    pool = load_employment().analysis_with_labels()
    kinds = {f: "numeric" if f in NUMERIC_FEATURES else "categorical" for f in FEATURES}
    schema = prediction_schema(kinds)
    rng = np.random.default_rng(7)
    pending: list[pl.DataFrame] = []
    steps = []
    seen: set[str] = set()
    per_step = round(scenario.rate * STEP.total_seconds())
    for step in range(scenario.steps):
        start = START + step * STEP
        records = _records(pool, start, per_step, rng, step)
        for index, worker in enumerate(WORKERS):
            writer = PredictionLogWriter(root, SERVICE, worker, schema, max_queue_rows=10**7)
            writer.start()
            writer.append(records[index :: len(WORKERS)].drop("_employed"))
            writer.close()
        pending.append(_feedback(records, rng))
        now = start + STEP
        due = pl.concat(pending)
        arrived = due.filter(pl.col("received_at") < now)
        pending = [due.filter(pl.col("received_at") >= now)]
        if arrived.height:
            feedback = FeedbackLogWriter(root, SERVICE, "fb", max_queue_rows=10**7)
            feedback.start()
            feedback.append(arrived)
            feedback.close()
        files = _files(root)
        steps.append({"at": now.isoformat(), "rows": per_step, "files": sorted(files - seen)})
        seen = files
    (target / "manifest.json").write_text(json.dumps({"steps": steps}))
    return target


def measure(scenario: Scenario) -> dict[str, Any]:
    """One round in this process: replay the log to a fresh monitor; CPU of the monitor."""
    from steadyml.adapters.store import Store
    from steadyml.core.clock import ManualClock
    from steadyml.core.monitoring import Reference
    from steadyml.datasets import FEATURES, load_employment
    from steadyml.services.monitoring import Monitor, StaticReferences
    from steadyml.spec import parse_spec

    source = prepare(scenario)
    steps = json.loads((source / "manifest.json").read_text())["steps"]
    work = DATA / f"round-{scenario.name}-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    live = work / "log"
    live.mkdir(parents=True)
    spec = parse_spec(spec_dict(scenario), work)
    train = load_employment().reference.head(20_000)
    reference = Reference.from_frame(
        "1",
        spec.task,
        train,
        FEATURES,
        scores=model(train),
        labels=train.get_column("employed").cast(pl.Int64).to_numpy(),
        classes=("0", "1"),
    )
    clock = ManualClock(START)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu = 0.0
    wall = 0.0
    slowest = 0.0
    rows = 0
    with Store.open(f"sqlite:///{work}/steadyml.db", clock=clock) as store:
        monitor = Monitor(spec, store, live, StaticReferences({"1": reference}), clock=clock)
        for step in steps:
            for name in step["files"]:
                (live / name).parent.mkdir(parents=True, exist_ok=True)
                os.link(source / "log" / name, live / name)
            clock.set(datetime.fromisoformat(step["at"]))
            c0, w0 = time.process_time(), time.perf_counter()
            report = monitor.run_once()
            c1, w1 = time.process_time(), time.perf_counter()
            cpu += c1 - c0
            wall += w1 - w0
            slowest = max(slowest, w1 - w0)
            rows += report.rows
            if report.skipped or report.check_errors:
                raise RuntimeError(f"skipped {report.skipped} errors {report.check_errors}")
    shutil.rmtree(work, ignore_errors=True)
    seconds = len(steps) * STEP.total_seconds()
    per_million = cpu / rows * 1e6
    return {
        "scenario": scenario.name,
        "per_day": scenario.per_day,
        "rows": rows,
        "passes": len(steps),
        "traffic_seconds": seconds,
        "cpu_seconds": round(cpu, 3),
        "wall_seconds": round(wall, 3),
        "slowest_pass_seconds": round(slowest, 3),
        "cpu_per_million": round(per_million, 3),
        "core_share": cpu / seconds,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_mb": round(rss_before / 1024, 1),
    }


def run_rounds(names: list[str], rounds: int, out: Path) -> None:
    """Each round in a fresh process; results appended to ``out``; a summary printed."""
    for name in names:
        prepare(SCENARIOS[name])
    results: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for _ in range(rounds):
        for name in names:
            done = subprocess.run(
                [sys.executable, __file__, "measure", name],
                check=True,
                capture_output=True,
                text=True,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            results[name].append(result)
            with out.open("a") as handle:
                handle.write(json.dumps(result) + "\n")
            print(json.dumps(result), flush=True)
    for name, found in results.items():
        summarize(name, found)


def summarize(name: str, found: list[dict[str, Any]]) -> None:
    """Median over rounds, and what it means for the targets."""
    per_million = statistics.median(r["cpu_per_million"] for r in found)
    share = statistics.median(r["core_share"] for r in found)
    rss = max(r["peak_rss_mb"] for r in found)
    per_day = found[0]["per_day"]
    print(
        f"{name}: {per_day / 1e6:g}M/day, median {per_million:.2f} CPU s per million requests, "
        f"{100 * share:.3f} % of one core while replaying, "
        f"{per_million * per_day / 1e6 / 86_400 * 100:.3f} % of one core per day at this rate, "
        f"peak RSS {rss:.0f} MB"
    )


def main() -> None:
    """Command line: prepare, measure one scenario, or run every round."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["prepare", "measure", "all"])
    parser.add_argument("scenario", nargs="?", default=None, choices=[*SCENARIOS, None])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results.jsonl")
    args = parser.parse_args()
    names = [args.scenario] if args.scenario else list(SCENARIOS)
    if args.command == "prepare":
        for name in names:
            print(prepare(SCENARIOS[name]))
    elif args.command == "measure":
        print(json.dumps(measure(SCENARIOS[names[0]])))
    else:
        run_rounds(names, args.rounds, args.out)


if __name__ == "__main__":
    main()
