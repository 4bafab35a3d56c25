"""Misbehaving models in-process: every bad answer is replaced, flagged, logged and counted."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import numpy as np
import polars as pl
import pytest

from steadyml.core.clock import ManualClock
from steadyml.services.bundles import load_bundle
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec
from tests.services.serving import faulty
from tests.services.serving.conftest import logged, register_variant, serving, with_deployment


def metric(text: str, name: str) -> float:
    """The value of one sample (``name`` with its labels) in a Prometheus exposition."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def old_and_young(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    old = [{**row, "AGEP": 93.0} for row in rows[:3]]
    young = [{**row, "AGEP": 30.0} for row in rows[3:8]]
    return old, young


def test_nan_rows_get_the_fallback_and_the_rest_the_model(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    version = register_variant(workspace, faulty.NaNForOld)
    old, young = old_and_young(rows)
    records = [young[0], old[0], young[1], old[1]]

    async def main() -> tuple[Any, str]:
        async with serving(project, workspace) as (_, client):
            answer = (await client.post("/predict", json=records)).json()
            return answer, (await client.get("/metrics")).text

    answer, metrics = asyncio.run(main())
    assert answer["model_version"] == str(version)
    items = answer["predictions"]
    assert [i["status"] for i in items] == ["ok", "fallback", "ok", "fallback"]
    assert [i.get("fallback_reason") for i in items] == [None, "nan_output", None, "nan_output"]
    assert items[1]["prediction"] == 0.5 and items[1]["fallback"] is True
    assert all(np.isfinite(i["prediction"]) for i in items)
    assert metric(metrics, 'steadyml_fallbacks_total{reason="nan_output"}') == 2.0
    assert metric(metrics, 'steadyml_predictions_total{status="fallback"}') == 2.0
    log = logged(workspace).sort("event_time", "request_id")
    by_id = {row["request_id"]: row for row in log.to_dicts()}
    nan_row = by_id[items[1]["request_id"]]
    assert nan_row["status"] == "fallback" and nan_row["fallback"] is True
    assert nan_row["fallback_reason"] == "nan_output"
    assert np.isnan(nan_row["raw_prediction"]) and nan_row["prediction"] == 0.5
    ok_row = by_id[items[0]["request_id"]]
    assert ok_row["raw_prediction"] == ok_row["prediction"] == items[0]["prediction"]


def test_a_model_that_raises_on_one_request_costs_only_that_request(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    register_variant(workspace, partial(faulty.Raising, age=90.0))
    old, young = old_and_young(rows)

    async def main() -> list[Any]:
        async with serving(project, workspace) as (_, client):
            calls = [client.post("/predict", json=record) for record in [*young, old[0]]]
            return [r.json() for r in await asyncio.gather(*calls)]

    answers = asyncio.run(main())
    items = [answer["predictions"][0] for answer in answers]
    assert [i["status"] for i in items[:-1]] == ["ok"] * len(young)
    assert items[-1]["status"] == "fallback"
    assert items[-1]["fallback_reason"] == "model_error"
    log = logged(workspace)
    failed = log.filter(pl.col("fallback_reason") == "model_error")
    assert failed.height == 1 and failed["raw_prediction"].is_null().all()


def test_repeated_failures_open_the_breaker_and_a_probe_closes_it(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    register_variant(workspace, faulty.Raising)
    clock = ManualClock(datetime(2016, 6, 1, 12))

    async def main() -> tuple[list[str], dict[str, Any], str]:
        async with serving(project, workspace, clock=clock) as (app, client):
            reasons = []
            for record in rows[:8]:
                answer = (await client.post("/predict", json=record)).json()
                reasons.append(answer["predictions"][0]["fallback_reason"])
            status = (await client.get("/admin/status")).json()
            # the model is fixed: once the recovery time has passed, one probe closes it
            app.service.holder.current.bundle.predictor.estimator.age = 200.0  # type: ignore[union-attr]
            clock.advance(timedelta(seconds=5))
            answer = (await client.post("/predict", json=rows[9])).json()
            reasons.append(answer["predictions"][0]["status"])
            return reasons, status, app.service.breaker.state.value

    reasons, status, state = asyncio.run(main())
    assert reasons[:5] == ["model_error"] * 5
    assert reasons[5:8] == ["circuit_open"] * 3
    assert status["breaker"]["state"] == "open"
    assert reasons[8] == "ok" and state == "closed"


def test_a_slow_model_is_answered_by_the_fallback_within_the_budget(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    spec = with_deployment(project, latency_budget_ms=200)
    register_variant(workspace, partial(faulty.Slow, seconds=1.0))

    async def main() -> list[tuple[float, Any]]:
        async with serving(spec, workspace) as (_, client):
            found = []
            for record in rows[:3]:
                started = time.perf_counter()
                answer = (await client.post("/predict", json=record)).json()
                found.append((time.perf_counter() - started, answer))
            return found

    for seconds, answer in asyncio.run(main()):
        item = answer["predictions"][0]
        assert item["status"] == "fallback" and item["fallback_reason"] == "timeout"
        assert item["prediction"] == 0.5
        assert seconds < 0.6  # the budget is 200 ms; the model takes 1 s
    log = logged(workspace)
    assert (log["fallback_reason"] == "timeout").all() and log.height == 3


@pytest.mark.parametrize(
    ("wrap", "reason"),
    [(faulty.WrongShape, "model_error"), (partial(faulty.Shifted, delta=2.0), "out_of_range")],
)
def test_malformed_and_out_of_range_outputs_are_replaced(
    project: ServiceSpec,
    workspace: Workspace,
    rows: list[dict[str, Any]],
    wrap: Any,
    reason: str,
) -> None:
    register_variant(workspace, wrap)

    async def main() -> Any:
        async with serving(project, workspace) as (_, client):
            return (await client.post("/predict", json=rows[:4])).json()

    items = asyncio.run(main())["predictions"]
    assert {i["fallback_reason"] for i in items} == {reason}
    assert {i["prediction"] for i in items} == {0.5}


def test_the_previous_model_answers_for_a_broken_champion(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    spec = with_deployment(project, fallback={"strategy": "previous_model", "value": 0.5})
    register_variant(workspace, faulty.NaNForOld)
    workspace.registry.set_alias("previous", 1)
    old, young = old_and_young(rows)

    async def main() -> Any:
        async with serving(spec, workspace) as (_, client):
            return (await client.post("/predict", json=old + young)).json()

    items = asyncio.run(main())["predictions"]
    v1 = load_bundle(workspace.registry, workspace.model_cache, 1)
    want = v1.predictor.score(pl.DataFrame(old, schema=v1.contract.polars_schema()))
    got = [i["prediction"] for i in items[: len(old)]]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert all(i["fallback_reason"] == "nan_output" for i in items[: len(old)])


def test_an_operator_can_force_the_fallback_with_the_token(
    project: ServiceSpec, rows: list[dict[str, Any]]
) -> None:
    with Workspace.open(project, environ={"STEADYML_TOKEN": "s3cret"}) as ws:

        async def main() -> list[Any]:
            async with serving(project, ws) as (_, client):
                refused = await client.post("/admin/fallback", json={"enabled": True})
                wrong = await client.post(
                    "/admin/fallback",
                    json={"enabled": True},
                    headers={"authorization": "Bearer nope"},
                )
                auth = {"authorization": "Bearer s3cret"}
                switched = await client.post(
                    "/admin/fallback", json={"enabled": True, "reason": "drill"}, headers=auth
                )
                forced = (await client.post("/predict", json=rows[0])).json()
                await client.post("/admin/fallback", json={"enabled": False}, headers=auth)
                back = (await client.post("/predict", json=rows[0])).json()
                return [refused, wrong, switched, forced, back]

        refused, wrong, switched, forced, back = asyncio.run(main())
    assert refused.status_code == wrong.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert refused.json()["error"] == "unauthorized"
    assert switched.json() == {"fallback_mode": True, "reason": "drill"}
    assert forced["predictions"][0]["fallback_reason"] == "fallback_mode"
    assert back["predictions"][0]["status"] == "ok"
