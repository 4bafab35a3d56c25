"""A store filled by a short monitored scenario: two versions, a NaN incident, a drift.

One hour of 2016 census traffic at 10 requests/s, logged and monitored by the real
monitor on a manual clock: version 1 serves the first 30 minutes (labels arrive for
them), then version 2 is promoted and answers NaN to 8 % of requests while ``AGEP``
drifts upstream (ages shifted by 15 years). Alias moves, a gate verdict, an audit entry
and a report file complete the picture the dashboard shows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from steadyml.adapters.predlog import FeedbackLogWriter, PredictionLogWriter, prediction_schema
from steadyml.adapters.store import Store
from steadyml.core.clock import ManualClock
from steadyml.datasets import FEATURES, NUMERIC_FEATURES
from steadyml.services.monitoring import Monitor, StaticReferences
from steadyml.spec import ServiceSpec, parse_spec
from tests.core.monitoring.helpers import T0, log_frame, reference, year

__all__ = ["SERVICE", "Scenario", "build_scenario"]

SERVICE = "employment"
RATE = 10  # requests per second
WINDOW = timedelta(minutes=5)
SWITCH = T0 + timedelta(minutes=30)  # version 2 becomes the champion


@dataclass(frozen=True)
class Scenario:
    """Where the scenario's store, log and reports are, and what it contains."""

    directory: Path
    store_url: str
    spec: ServiceSpec
    references: StaticReferences
    clock: ManualClock
    end: datetime


def _spec() -> ServiceSpec:
    return parse_spec(
        {
            "service": SERVICE,
            "task": "binary_classification",
            "data": {"source": {"path": "train.parquet"}, "target": "employed"},
            "deployment": {"expected_throughput_rps": RATE},
            "monitors": {"windows": ["5m", "1h"]},
        }
    )


def _write(root: Path, frame: pl.DataFrame, worker: str) -> None:
    kinds = {f: "numeric" if f in NUMERIC_FEATURES else "categorical" for f in FEATURES}
    writer = PredictionLogWriter(root, SERVICE, worker, prediction_schema(kinds))
    writer.start()
    writer.append(frame)
    writer.close()


def _labels(root: Path, frame: pl.DataFrame, labels: pl.Series) -> None:
    arrival = frame.get_column("event_time") + timedelta(minutes=2)
    events = pl.DataFrame(
        {
            "request_id": frame.get_column("request_id"),
            "event_time": arrival,
            "received_at": arrival,
            "kind": ["label"] * frame.height,
            "name": ["employed"] * frame.height,
            "value": labels.cast(pl.Float64),
        }
    )
    writer = FeedbackLogWriter(root, SERVICE, f"fb-{uuid.uuid4().hex[:6]}")
    writer.start()
    writer.append(events)
    writer.close()


def build_scenario(directory: Path) -> Scenario:
    """Write the log, run the monitor twice and record alias moves, under ``directory``."""
    spec = _spec()
    root = directory / "predlog"
    store_url = f"sqlite:///{directory}/steadyml.db"
    per_half = RATE * 30 * 60
    rows = year(2016).head(2 * per_half)
    first, second = rows.head(per_half), rows.tail(per_half)
    shifted = second.with_columns(pl.col("AGEP") + 15)
    v1 = log_frame(first, T0, seconds=1800, version="1", seed=1)
    v2 = log_frame(shifted, SWITCH, seconds=1800, version="2", nan_share=0.08, seed=2)
    ref = reference()
    references = StaticReferences({"1": ref, "2": replace(ref, version="2")})
    clock = ManualClock(T0)
    end = SWITCH + timedelta(minutes=30)
    with Store.open(store_url, clock=clock) as store:
        store.record_alias_move(
            service=SERVICE, model_name=SERVICE, alias="champion", version=1,
            previous_version=None, action="promote", actor="ana", reason="first model",
            gate_passed=True, at=T0 - timedelta(days=1),
        )  # fmt: skip
        store.record_gate_result(
            service=SERVICE, candidate_version=2, champion_version=1, passed=True,
            report={"passed": True, "checks": [{"name": "roc_auc", "passed": True}]},
            at=SWITCH - timedelta(minutes=10),
        )  # fmt: skip
        _write(root, v1, "w0")
        _labels(root, v1, first.get_column("employed"))
        clock.set(SWITCH + timedelta(minutes=3))
        Monitor(spec, store, root, references, clock=clock).run_once()
        for alias, version, old in (("previous", 1, None), ("champion", 2, 1)):
            store.record_alias_move(
                service=SERVICE, model_name=SERVICE, alias=alias, version=version,
                previous_version=old, action="promote", actor="ben",
                reason="gate passed", gate_passed=True, at=SWITCH,
            )  # fmt: skip
        store.record_action(
            service=SERVICE, action="promote", actor="ben", reason="gate passed",
            target="champion v1 -> v2", at=SWITCH,
        )  # fmt: skip
        _write(root, v2, "w1")
        clock.set(end + timedelta(minutes=3))
        Monitor(spec, store, root, references, clock=clock).run_once()
    reports = directory / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "drift-employment.html").write_text(
        "<!doctype html><title>Drift report</title><h1>Drift report</h1>", encoding="utf-8"
    )
    return Scenario(directory, store_url, spec, references, clock, end)
