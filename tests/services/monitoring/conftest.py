"""A census model trained once per session, and a rig that writes its log and monitors it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from steadyml.adapters.predlog import (
    FeedbackLogWriter,
    PredictionLogWriter,
    prediction_schema,
)
from steadyml.adapters.store import Store
from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.core.clock import ManualClock
from steadyml.core.monitoring import Incident, Reference
from steadyml.datasets import FEATURES, NUMERIC_FEATURES
from steadyml.services.bundles import ModelBundle, load_bundle
from steadyml.services.monitoring import Monitor, PassReport, StaticReferences, reference_of_bundle
from steadyml.services.training import train
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec
from tests.core.monitoring.helpers import T0, log_frame, year
from tests.services.conftest import make_project

RATE = 10.0  # requests per second: 3,000 records per 5-minute window
WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class Trained:
    """The trained census project."""

    spec: ServiceSpec
    workspace: Workspace
    bundle: ModelBundle
    reference: Reference


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    directory = tmp_path_factory.mktemp("monitored") / "project"
    spec = make_project(
        directory,
        monitors={
            "windows": ["5m", "1h"],
            "kpi": {"name": "converted", "window": "5m", "baseline": 0.5},
        },
        deployment={"expected_throughput_rps": RATE},
    )
    with Workspace.open(spec, environ={}) as workspace:
        result = train(spec, workspace)
        bundle = load_bundle(workspace.registry, workspace.model_cache, result.version)
        yield Trained(spec, workspace, bundle, reference_of_bundle(bundle))


class Rig:
    """A log directory, a store and a monitor of the trained model, on a manual clock."""

    def __init__(self, trained: Trained, directory: Path, spec: ServiceSpec | None = None) -> None:
        self.trained = trained
        self.spec = spec or trained.spec
        self.root = directory / "predlog"
        self.clock = ManualClock(T0)
        self.store = Store.open(f"sqlite:///{directory}/monitor.db", clock=self.clock)
        self.monitor_store = MonitorStore(self.store)
        self.version = str(trained.bundle.version)
        self.references = StaticReferences({self.version: trained.reference})
        kinds = {f: "numeric" if f in NUMERIC_FEATURES else "categorical" for f in FEATURES}
        self.schema = prediction_schema(kinds)
        self.written = 0

    def monitor(self) -> Monitor:
        """A new monitor (a new process, as far as the store can tell)."""
        return Monitor(self.spec, self.store, self.root, self.references, clock=self.clock)

    def records(self, offset: int, windows: int, **options: Any) -> pl.DataFrame:
        """``windows`` windows of 2016 traffic scored by the real model, from ``offset``."""
        per_window = int(RATE * WINDOW.total_seconds())
        rows = year(2016).slice(offset * per_window, windows * per_window)
        transform = options.pop("transform", None)
        if transform is not None:
            rows = transform(rows)
        scores = self.trained.bundle.predictor.score(rows.select(FEATURES))
        start = T0 + offset * WINDOW
        frame = log_frame(
            rows,
            start,
            seconds=windows * WINDOW.total_seconds(),
            version=self.version,
            scores=np.asarray(scores),
            **options,
        )
        return frame.with_columns(pl.Series("_employed", rows.get_column("employed")))

    def write(self, frame: pl.DataFrame, worker: str = "w0") -> None:
        """Append records to the log and seal them."""
        writer = PredictionLogWriter(self.root, self.spec.service, worker, self.schema)
        writer.start()
        writer.append(frame.drop("_employed", strict=False))
        writer.close()
        self.written += frame.height

    def feedback(
        self,
        frame: pl.DataFrame,
        *,
        delay: timedelta = timedelta(minutes=30),
        flip: bool = False,
        kind: str = "label",
        values: np.ndarray | None = None,
    ) -> None:
        """Labels (or outcomes) of logged records, arriving ``delay`` after each prediction."""
        if values is None:
            labels = frame.get_column("_employed").cast(pl.Float64).to_numpy()
            values = 1.0 - labels if flip else labels
        arrival = frame.get_column("event_time") + delay
        events = pl.DataFrame(
            {
                "request_id": frame.get_column("request_id"),
                "event_time": arrival,
                "received_at": arrival,
                "kind": [kind] * frame.height,
                "name": ["employed" if kind == "label" else "converted"] * frame.height,
                "value": values,
            }
        )
        writer = FeedbackLogWriter(self.root, self.spec.service, f"fb-{uuid.uuid4().hex[:6]}")
        writer.start()
        writer.append(events)
        writer.close()

    def run(self, at: datetime) -> PassReport:
        """Move the clock to ``at`` and run the monitor until it has read everything."""
        self.clock.set(at)
        return self.monitor().run_once()

    def incidents(self, status: str = "all") -> list[Incident]:
        """Incidents of the service."""
        return self.monitor_store.incidents(self.spec.service, status=status)  # type: ignore[arg-type]

    def close(self) -> None:
        """Close the store."""
        self.store.close()


@pytest.fixture
def rig(trained: Trained, tmp_path: Path) -> Iterator[Rig]:
    made = Rig(trained, tmp_path)
    yield made
    made.close()
