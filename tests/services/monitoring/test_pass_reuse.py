"""Work a pass reuses instead of redoing gives exactly what redoing it gives.

The feedback join reads only the segments a request index says may hold the wanted
ids; panes of every size share the payloads of records that lie in one smaller pane;
windows re-checked with unchanged profiles get their drift measurements from a memo.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

from steadyml.adapters.predlog import (
    FeedbackLogWriter,
    PredictionLogWriter,
    prediction_schema,
)
from steadyml.adapters.store import Store
from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.core.clock import ManualClock
from steadyml.core.monitoring import WindowSummary
from steadyml.core.profiles import ProfileView
from steadyml.core.profiles.categorical import CategoricalSummary
from steadyml.core.profiles.numeric import NumericSummary
from steadyml.datasets import FEATURES, NUMERIC_FEATURES
from steadyml.services.monitoring import Monitor, StaticReferences, segments
from steadyml.services.monitoring.partials import prediction_partials
from steadyml.services.monitoring.segments import RequestIndex, read_range
from steadyml.spec import ServiceSpec, parse_spec
from tests.core.monitoring.helpers import T0, WINDOW, log_frame, reference, year

SERVICE = "employment"
COLUMNS = ["request_id", "model_version", "event_time", "status", "prediction", "inputs"]


def _spec(windows: list[str]) -> ServiceSpec:
    return parse_spec(
        {
            "service": SERVICE,
            "task": "binary_classification",
            "data": {"source": {"path": "x.parquet"}, "target": "employed"},
            "deployment": {"expected_throughput_rps": 10},
            "monitors": {"windows": windows},
        }
    )


def _write(root: Path, frame: pl.DataFrame, worker: str) -> None:
    kinds = {f: "numeric" if f in NUMERIC_FEATURES else "categorical" for f in FEATURES}
    writer = PredictionLogWriter(root, SERVICE, worker, prediction_schema(kinds))
    writer.start()
    writer.append(frame)
    writer.close()


def _segments(root: Path) -> list[Path]:
    return sorted((root / "predictions").rglob("*.parquet"))


@pytest.fixture(scope="module")
def frames() -> list[pl.DataFrame]:
    rows = year(2016)
    return [log_frame(rows.slice(i * 300, 300), T0 + i * WINDOW, seed=i) for i in range(4)]


@pytest.fixture
def log(tmp_path: Path, frames: list[pl.DataFrame]) -> Path:
    root = tmp_path / "predlog"
    for i, frame in enumerate(frames):
        _write(root, frame, f"w{i % 2}")
    return root


def _lookup(root: Path, ids: list[str], index: RequestIndex | None) -> pl.DataFrame:
    return read_range(
        root,
        SERVICE,
        start=T0 - timedelta(hours=1),
        end=T0 + timedelta(hours=1),
        columns=COLUMNS,
        request_ids=ids,
        index=index,
    )


def test_an_indexed_join_reads_the_same_predictions(log: Path, frames: list[pl.DataFrame]) -> None:
    ids = [frames[1]["request_id"][5], frames[1]["request_id"][7], frames[3]["request_id"][0]]
    index = RequestIndex()
    for wanted in (ids, ids[:1], ["no-such-request"], frames[0]["request_id"].to_list()):
        plain = _lookup(log, wanted, None)
        indexed = _lookup(log, wanted, index)
        assert_frame_equal(indexed, plain)
        assert set(indexed["request_id"]) == set(wanted) & set(pl.concat(frames)["request_id"])
    assert len(index) == len(_segments(log)) == 4 and index.rows == 1200


def test_the_index_skips_segments_without_a_wanted_id(
    log: Path, frames: list[pl.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    index = RequestIndex()
    _lookup(log, ["no-such-request"], index)  # indexes every segment
    read: list[Path] = []
    whole = segments._read

    def counted(path: Path, table_name: str, columns: list[str] | None = None) -> pa.Table:
        read.append(path)
        return whole(path, table_name, columns)

    monkeypatch.setattr(segments, "_read", counted)
    wanted = [frames[2]["request_id"][3]]
    assert _lookup(log, wanted, index)["request_id"].to_list() == wanted
    [holder] = [p for p in _segments(log) if wanted[0] in pl.read_parquet(p)["request_id"]]
    assert read == [holder]
    read.clear()
    assert _lookup(log, wanted, None)["request_id"].to_list() == wanted
    assert sorted(read) == _segments(log)


def test_a_rewritten_segment_is_indexed_again_and_the_index_is_bounded(
    log: Path, frames: list[pl.DataFrame]
) -> None:
    index = RequestIndex(max_rows=700)  # room for two segments of 300
    ids = frames[0]["request_id"].to_list()[:3]
    assert _lookup(log, ids, index).height == 3
    assert len(index) == 2 and index.rows == 600
    first = next(p for p in _segments(log) if ids[0] in pl.read_parquet(p)["request_id"])
    replaced = pl.read_parquet(first).with_columns(pl.col("request_id") + "-new")
    replaced.write_parquet(first)
    os.utime(first, ns=(1, 1))
    for wanted in (ids, [f"{i}-new" for i in ids]):
        assert_frame_equal(_lookup(log, wanted, index), _lookup(log, wanted, None))
    assert _lookup(log, [f"{i}-new" for i in ids], index).height == 3
    assert index.rows <= 700


def _essence(view: object) -> list[object]:
    """What a profile holds exactly (its sketches are randomised): rows, counts, histograms."""
    assert isinstance(view, ProfileView)
    out: list[object] = [view.rows]
    for name, column in sorted(view.columns.items()):
        if isinstance(column, NumericSummary):
            out.append((name, column.count, column.finite, column.histogram.tolist()))
        elif isinstance(column, CategoricalSummary):
            out.append((name, column.count, column.nulls, column.counts))
    return out


def test_panes_of_every_size_share_the_payloads_of_one_smaller_pane() -> None:
    frame = log_frame(year(2016).head(600), T0 + timedelta(minutes=1), seconds=120.0)
    spec = _spec(["5m", "1h", "1d"])
    partials = prediction_partials([frame], spec, StaticReferences({"1": reference()}))
    for kind in ("summary", "inputs", "outputs"):
        five = partials.items["1", "5m", T0, kind]
        assert partials.items["1", "1h", T0, kind] is five
        assert partials.items["1", "1d", T0, kind] is five
    alone = prediction_partials([frame], _spec(["1h"]), StaticReferences({"1": reference()}))
    for kind in ("inputs", "outputs"):
        assert _essence(alone.items["1", "1h", T0, kind]) == _essence(
            partials.items["1", "1h", T0, kind]
        )


def test_panes_spanning_smaller_panes_are_summarised_from_their_records() -> None:
    frame = log_frame(year(2016).head(600), T0 + timedelta(minutes=4), seconds=120.0)
    spec = _spec(["5m", "1h"])
    partials = prediction_partials([frame], spec, StaticReferences({"1": reference()}))
    assert {k[2] for k in partials.items if k[1] == "5m"} == {T0, T0 + WINDOW}
    hour = partials.items["1", "1h", T0, "inputs"]
    assert hour is not partials.items["1", "5m", T0, "inputs"]
    alone = prediction_partials([frame], _spec(["1h"]), StaticReferences({"1": reference()}))
    assert _essence(hour) == _essence(alone.items["1", "1h", T0, "inputs"])
    assert _essence(hour)[0] == 600
    summary = partials.items["1", "1h", T0, "summary"]
    assert isinstance(summary, WindowSummary) and summary.rows == 600


def _drift_points(store: Store) -> list[tuple[object, ...]]:
    points = []
    for metric in ("drift.effect", "drift.psi", "prediction_drift.effect"):
        for window in ("5m", "1h"):
            for p in MonitorStore(store).metric_series(SERVICE, metric, window=window):
                fields = (p.window, p.window_start, p.metric, p.subject, p.value, p.low, p.high)
                points.append((*fields, p.status, p.n))
    return sorted(points, key=repr)


def test_the_drift_memo_gives_the_decisions_of_checking_again(tmp_path: Path) -> None:
    root = tmp_path / "predlog"
    rows = year(2016)
    records = [log_frame(rows.slice(i * 1500, 1500), T0 + i * WINDOW, seed=i) for i in range(3)]
    for frame in records:
        _write(root, frame, "w0")
    clock = ManualClock(T0)
    stores = [Store.open(f"sqlite:///{tmp_path}/{name}.db", clock=clock) for name in "ab"]
    references = StaticReferences({"1": reference()})
    spec = _spec(["5m", "1h"])
    monitors = [Monitor(spec, store, root, references, clock=clock) for store in stores]
    monitors[1].drift_memo = None
    matched = [0, 0]
    try:
        clock.set(T0 + 2 * WINDOW + timedelta(minutes=3))
        for monitor in monitors:
            monitor.run_once()
        arrival = pl.col("event_time") + timedelta(minutes=10)
        labels = records[0].select(
            "request_id",
            arrival.alias("event_time"),
            arrival.alias("received_at"),
            pl.lit("label").alias("kind"),
            pl.lit("employed").alias("name"),
            pl.lit(1.0).alias("value"),
        )
        writer = FeedbackLogWriter(root, SERVICE, "fb")
        writer.start()
        writer.append(labels)
        writer.close()
        clock.set(T0 + 3 * WINDOW + timedelta(minutes=3))  # the labels are joined
        for i, monitor in enumerate(monitors):
            matched[i] += monitor.run_once().labels_matched
        memo = monitors[0].drift_memo
        assert memo is not None and memo.hits == 2  # the labelled 5m and 1h windows
        assert matched == [1500, 1500]
        with_memo, without = (_drift_points(store) for store in stores)
        assert with_memo == without and len(with_memo) > 50
    finally:
        for store in stores:
            store.close()
