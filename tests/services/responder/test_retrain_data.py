"""A retrain trains on recent labelled production data: the prediction log joined with its
labels, against a real log, a real store and a real MLflow registry."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steadyml.adapters.predlog import FeedbackLogWriter, PredictionLogWriter, prediction_schema
from steadyml.adapters.store.responses import ResponseStore
from steadyml.core.clock import ManualClock
from steadyml.core.monitoring import label_targets
from steadyml.datasets import FEATURES, NUMERIC_FEATURES, TARGET
from steadyml.errors import DataError, SpecError
from steadyml.services import retraining
from steadyml.services.bundles import load_bundle
from steadyml.services.monitoring import log_root
from steadyml.services.responder import Responder
from steadyml.services.retraining import training_data
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec, parse_spec
from tests.core.monitoring.helpers import log_frame, year
from tests.services.responder.conftest import edit_spec, with_responses
from tests.services.responder.test_responder import audit, raise_incident

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SPAN = timedelta(hours=3)  # records cover [NOW - 3h, NOW); the window takes the last 2 h
ROWS = 3000


@dataclass(frozen=True)
class Logged:
    """What was written to the log, and which rows a 2-hour window must train on."""

    records: pl.DataFrame
    expected: dict[str, float]  # request id -> label, of the rows to train on


def _write(spec: ServiceSpec, ws: Workspace, seed: int = 7) -> Logged:
    """Census rows logged over 3 hours, with every kind of row a retrain must leave out."""
    rng = np.random.default_rng(seed)
    rows = year(2017).slice(0, ROWS)
    records = log_frame(rows, NOW - SPAN, seconds=SPAN.total_seconds(), version="2", nan_share=0.1)
    flagged = rng.random(ROWS) < 0.05
    rejected = rng.random(ROWS) < 0.05
    records = records.with_columns(
        pl.when(pl.Series(flagged)).then(pl.lit(["AGEP: out_of_range"])).otherwise(pl.col("flags"))
        .alias("flags"),
        pl.when(pl.Series(rejected)).then(pl.lit("rejected")).otherwise(pl.col("status"))
        .alias("status"),
    ).with_columns(
        pl.when(pl.col("status") == "rejected").then(None).otherwise(pl.col("inputs"))
        .alias("inputs"),
    )  # fmt: skip
    truth = rows.get_column(TARGET).cast(pl.Float64).to_numpy()
    kinds = {f: "numeric" if f in NUMERIC_FEATURES else "categorical" for f in FEATURES}
    writer = PredictionLogWriter(log_root(ws), spec.service, "w0", prediction_schema(kinds))
    writer.start()
    writer.append(records)
    writer.close()

    times = records.get_column("event_time").to_list()
    ids = records.get_column("request_id").to_list()
    labelled = rng.random(ROWS) < 0.8
    corrected = rng.random(ROWS) < 0.2  # a wrong label first, the right one later
    invalid = rng.random(ROWS) < 0.03  # a value that is not a class: 7.0
    late = rng.random(ROWS) < 0.05  # arrives after NOW
    events: list[dict[str, Any]] = []
    for i in np.flatnonzero(labelled):
        arrival = times[i] + timedelta(minutes=10)
        if late[i]:
            arrival = NOW + timedelta(minutes=5)
        if corrected[i]:
            events.append(_label(ids[i], 1.0 - truth[i], arrival - timedelta(minutes=5)))
        events.append(_label(ids[i], 7.0 if invalid[i] else truth[i], arrival))
    events.append(_label("no-such-request", 1.0, NOW - timedelta(minutes=1)))
    feedback = pl.DataFrame(events).with_columns(pl.col("event_time").dt.cast_time_unit("us"))
    feedback = feedback.with_columns(received_at=pl.col("event_time"))
    sink = FeedbackLogWriter(log_root(ws), spec.service, f"fb-{uuid.uuid4().hex[:6]}")
    sink.start()
    sink.append(feedback)
    sink.close()

    start = NOW - timedelta(hours=2)
    known: dict[str, float] = {}  # the latest label received before NOW, per request
    for event in sorted(events, key=lambda e: e["event_time"]):
        if event["event_time"] < NOW:
            known[event["request_id"]] = event["value"]
    statuses = records.get_column("status").to_list()
    keep = {
        ids[i]: known[ids[i]]
        for i in range(ROWS)
        if times[i] >= start
        and statuses[i] == "ok"
        and not flagged[i]
        and known.get(ids[i]) in (0.0, 1.0)
    }
    return Logged(records, keep)


def _label(request_id: str, value: float, when: datetime) -> dict[str, Any]:
    return {"request_id": request_id, "event_time": when, "kind": "label", "name": TARGET,
            "value": float(value)}  # fmt: skip


def _expected(logged: Logged, target_dtype: pl.DataType) -> pl.DataFrame:
    """The training rows, computed from the records without the retraining code."""
    labels = pl.DataFrame(
        {"request_id": list(logged.expected), "_label": list(logged.expected.values())}
    )
    rows = logged.records.join(labels, on="request_id").sort("event_time", "request_id")
    return rows.unnest("inputs").select(
        *FEATURES, pl.col("_label").cast(target_dtype).alias(TARGET)
    )


@pytest.fixture
def retrain_project(project: ServiceSpec) -> ServiceSpec:
    spec = with_responses(project, {"on": "schema_break", "action": "retrain"})
    return edit_spec(spec, "retrain", window="2h", min_rows=200)


@pytest.mark.parametrize("chunk", [timedelta(days=1), timedelta(minutes=17)])
def test_the_rows_are_the_answered_unflagged_labelled_predictions_of_the_window(
    retrain_project: ServiceSpec, chunk: timedelta, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read in one piece or in 17-minute pieces (newest first), the rows are the same."""
    monkeypatch.setattr(retraining, "CHUNK", chunk)
    with Workspace.open(retrain_project, environ={}) as ws:
        logged = _write(retrain_project, ws)
        data = training_data(retrain_project, ws, now=NOW)
        champion = load_bundle(ws.registry, ws.model_cache, 2)
    dtype = champion.holdout().schema[TARGET]
    expected = _expected(logged, dtype)
    assert data.choice == "production" and data.frame is not None
    assert 800 < expected.height < 1600, expected.height  # the filters left a real sample
    assert data.production_rows == expected.height
    assert data.frame.columns == [*champion.contract.names, TARGET]
    assert data.frame.select(*FEATURES, TARGET).equals(expected)
    assert data.describe()["window_start"] == (NOW - timedelta(hours=2)).isoformat()


def test_max_rows_keeps_the_most_recent(
    retrain_project: ServiceSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retraining, "CHUNK", timedelta(minutes=10))  # stops after ~3 pieces
    spec = edit_spec(retrain_project, "retrain", max_rows=300)
    with Workspace.open(spec, environ={}) as ws:
        logged = _write(spec, ws)
        data = training_data(spec, ws, now=NOW)
        dtype = load_bundle(ws.registry, ws.model_cache, 2).holdout().schema[TARGET]
    assert data.frame is not None
    assert data.frame.select(*FEATURES, TARGET).equals(_expected(logged, dtype).tail(300))


@pytest.mark.slow
def test_the_retrain_action_trains_and_gates_on_production_rows(
    retrain_project: ServiceSpec,
) -> None:
    with Workspace.open(retrain_project, environ={}) as ws:
        logged = _write(retrain_project, ws)
        responder = Responder(ws, clock=ManualClock(NOW))
        incident = raise_incident(ws, NOW, "schema_break")
        responder.run_once()
        assert responder.wait_idle(180)
        responder.close()
        [action] = ResponseStore(ws.store).actions("employment")
        assert action.status == "done", action.result
        result = action.result
        candidate = load_bundle(ws.registry, ws.model_cache, result["candidate"])
        dtype = candidate.holdout().schema[TARGET]
        expected = _expected(logged, dtype)
        assert result["data"] == "production"
        assert result["production_rows"] == expected.height
        assert result["train_rows"] + result["test_rows"] == expected.height
        holdout = candidate.holdout().select(*FEATURES, TARGET)
        assert holdout.equals(expected.tail(result["test_rows"]))  # the latest rows gate it
        assert ws.store.latest_gate_result("employment", result["candidate"]) is not None
        assert ws.registry.alias_version("champion") == 2
        [entry] = audit(ws, "retrain")
        assert entry.incident_id == incident
        assert entry.evidence["production_rows"] == expected.height


def test_too_few_labelled_rows_fail_the_retrain_with_the_count_and_the_fix(
    retrain_project: ServiceSpec,
) -> None:
    spec = edit_spec(retrain_project, "retrain", min_rows=5000, max_rows=10000)
    with Workspace.open(spec, environ={}) as ws:
        logged = _write(spec, ws)
        with pytest.raises(DataError) as info:
            training_data(spec, ws, now=NOW)
        assert info.value.field == "retrain.min_rows"
        assert f"only {len(logged.expected)} labelled" in info.value.fix
        assert "retrain.data: source" in info.value.fix
        responder = Responder(ws, clock=ManualClock(NOW))
        raise_incident(ws, NOW, "schema_break")
        responder.run_once()
        assert responder.wait_idle(60)
        responder.close()
        [action] = ResponseStore(ws.store).actions("employment")
        assert action.status == "failed"
        assert "retrain.min_rows" in action.result["error"]
        assert [e.action for e in audit(ws, "retrain_failed")] == ["retrain_failed"]
        assert ws.registry.alias_version("candidate") != 3  # nothing was registered


def test_both_appends_the_production_rows_to_the_source(retrain_project: ServiceSpec) -> None:
    spec = edit_spec(retrain_project, "retrain", data="both")
    with Workspace.open(spec, environ={}) as ws:
        logged = _write(spec, ws)
        data = training_data(spec, ws, now=NOW)
        dtype = load_bundle(ws.registry, ws.model_cache, 2).holdout().schema[TARGET]
    expected = _expected(logged, dtype)
    assert data.frame is not None
    assert data.frame.height == data.source_rows + expected.height
    assert data.source_rows > 10_000
    assert data.frame.tail(expected.height).select(*FEATURES, TARGET).equals(expected)


def test_source_reads_the_spec_data_as_before(retrain_project: ServiceSpec) -> None:
    spec = edit_spec(retrain_project, "retrain", data="source")
    with Workspace.open(spec, environ={}) as ws:
        data = training_data(spec, ws, now=NOW)
    assert data.choice == "source" and data.frame is None
    assert data.describe() == {"data": "source"}


def _minimal(**retrain: object) -> dict[str, Any]:
    return {
        "service": "churn",
        "task": "binary_classification",
        "data": {"source": {"path": "t.parquet"}, "target": "churned"},
        "retrain": retrain,
    }


@pytest.mark.parametrize(
    ("retrain", "key", "fix"),
    [
        ({"data": "recent"}, "retrain.data", "production"),
        ({"window": "a while"}, "retrain.window", "duration"),
        ({"min_rows": 0}, "retrain.min_rows", "greater than or equal to 10"),
        ({"min_rows": 500, "max_rows": 100}, "retrain", "raise max_rows"),
        ({"windw": "1d"}, "retrain.windw", "did you mean 'window'"),
    ],
)
def test_a_bad_retrain_section_is_refused_with_the_key(
    retrain: dict[str, object], key: str, fix: str
) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(_minimal(**retrain))
    assert info.value.field == key
    assert fix in info.value.fix, info.value.fix


@settings(max_examples=100, deadline=None)
@given(
    value=st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=6),
        st.lists(st.integers(), max_size=2),
    )
)
def test_any_retrain_window_gives_a_spec_or_a_spec_error(value: object) -> None:
    try:
        spec = parse_spec(_minimal(window=value))
    except SpecError as exc:
        assert exc.field.startswith("retrain")
        assert exc.fix
    else:
        assert isinstance(spec.retrain.window, str)


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(
        st.tuples(
            st.one_of(st.none(), st.sampled_from([0.0, 1.0, 2.0, -1.0, float("nan")])),
            st.one_of(st.none(), st.sampled_from(["no", "yes", "maybe", ""])),
        ),
        max_size=20,
    )
)
def test_label_targets_read_a_label_as_monitoring_does(
    values: list[tuple[float | None, str | None]],
) -> None:
    """A binary label is its class when the number is 0/1, else when the text names a class."""
    frame = pl.DataFrame(
        {"value": [v for v, _ in values], "value_str": [t for _, t in values]},
        schema={"value": pl.Float64, "value_str": pl.String},
    )
    got = label_targets(frame, "binary_classification", ("no", "yes")).to_list()
    for (number, text), target in zip(values, got, strict=True):
        if number in (0.0, 1.0):
            assert target == ("yes" if number == 1.0 else "no")
        elif text in ("no", "yes"):
            assert target == text
        else:
            assert target is None


def test_label_targets_for_multiclass_and_regression() -> None:
    frame = pl.DataFrame(
        {"value": [2.0, None, 1.0, float("inf"), 1.5], "value_str": [None, "b", None, None, None]}
    )
    assert label_targets(frame, "multiclass_classification", ("1", "2", "b")).to_list() == [
        "2", "b", "1", None, None,
    ]  # fmt: skip
    assert label_targets(frame, "regression", ()).to_list() == [2.0, None, 1.0, None, 1.5]
