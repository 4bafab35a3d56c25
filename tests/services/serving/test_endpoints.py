"""Feedback, Open Inference Protocol, health, metrics, OpenAPI and the body limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import polars as pl

from steadyml.adapters.predlog import join_feedback, read_feedback, read_predictions
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec
from tests.services.serving.conftest import serving, with_deployment


def test_feedback_lands_in_the_store_joinable_by_request_id(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    async def main() -> list[Any]:
        async with serving(project, workspace) as (_, client):
            answer = await client.post(
                "/predict", json={"records": rows[:3], "request_id": ["r1", "r2", "r3"]}
            )
            assert answer.status_code == 200
            one = await client.post("/feedback", json={"request_id": "r1", "value": 1})
            many = await client.post(
                "/feedback",
                json={
                    "events": [
                        {"request_id": "r2", "value": False},
                        {"request_id": "r2", "value": True},  # a corrected label: last wins
                        {
                            "request_id": "r3",
                            "kind": "outcome",
                            "name": "salary",
                            "value": 52000.5,
                            "event_time": "2016-06-03T09:00:00Z",
                        },
                    ]
                },
            )
            bad = await client.post(
                "/feedback",
                json=[{"request_id": "r1", "value": 1}, {"value": 2}, {"request_id": "x"}],
            )
            return [one, many, bad]

    one, many, bad = asyncio.run(main())
    assert (one.status_code, one.json()) == (202, {"accepted": 1})
    assert (many.status_code, many.json()) == (202, {"accepted": 3})
    assert bad.status_code == 422
    problems = bad.json()["details"]["problems"]
    assert [p["index"] for p in problems] == [1, 2]
    assert "request_id" in problems[0]["message"] and "value" in problems[1]["message"]
    root = workspace.settings.state_dir / "predlog"
    feedback = read_feedback(root, "employment").collect()
    assert feedback.height == 4  # the refused request wrote nothing
    salary = feedback.filter(pl.col("name") == "salary").row(0, named=True)
    assert salary["kind"] == "outcome" and salary["value"] == 52000.5
    assert salary["event_time"] == datetime(2016, 6, 3, 9, tzinfo=UTC)
    joined = join_feedback(read_predictions(root, "employment"), read_feedback(root, "employment"),
                           "employed").collect().sort("request_id")  # fmt: skip
    assert joined.get_column("value").to_list() == [1.0, 1.0, None]


def test_feedback_needs_the_token_when_one_is_configured(project: ServiceSpec) -> None:
    with Workspace.open(project, environ={"STEADYML_TOKEN": "t0ken"}) as ws:

        async def main() -> list[int]:
            async with serving(project, ws) as (_, client):
                event = {"request_id": "r1", "value": 1}
                without = await client.post("/feedback", json=event)
                wrong = await client.post(
                    "/feedback", json=event, headers={"authorization": "Basic t0ken"}
                )
                right = await client.post(
                    "/feedback", json=event, headers={"authorization": "Bearer t0ken"}
                )
                status = await client.get("/admin/status")
                return [
                    without.status_code,
                    wrong.status_code,
                    right.status_code,
                    status.status_code,
                ]

        assert asyncio.run(main()) == [401, 401, 202, 401]


def test_open_inference_protocol(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    names = list(rows[0])
    columns = [
        {"name": name, "shape": [3], "datatype": "BYTES", "data": [row[name] for row in rows[:3]]}
        for name in names
    ]
    matrix = {
        "id": "m1",
        "inputs": [
            {
                "name": "input-0",
                "shape": [2, len(names)],
                "datatype": "BYTES",
                "data": [[row[name] for name in names] for row in rows[:2]],
            }
        ],
    }

    async def main() -> list[httpx.Response]:
        async with serving(project, workspace) as (_, client):
            return [
                await client.post(
                    "/v2/models/employment/infer", json={"id": "c1", "inputs": columns}
                ),
                await client.post("/v2/models/employment/infer", json=matrix),
                await client.post("/predict", json=rows[:3]),
                await client.get("/v2/models/employment"),
                await client.post("/v2/models/other/infer", json=matrix),
                await client.post("/v2/models/employment/infer", json={"inputs": "no"}),
                await client.get("/v2/health/ready"),
                await client.get("/v2"),
            ]

    by_column, by_matrix, plain, meta, other, malformed, ready, server = asyncio.run(main())
    assert by_column.status_code == 200
    result = by_column.json()
    assert result["model_name"] == "employment" and result["model_version"] == "1"
    assert result["id"] == "c1"
    outputs = {output["name"]: output for output in result["outputs"]}
    expected = [item["prediction"] for item in plain.json()["predictions"]]
    assert outputs["prediction"]["data"] == expected and outputs["prediction"]["shape"] == [3]
    assert outputs["request_id"]["data"] == ["c1-0", "c1-1", "c1-2"]
    assert outputs["status"]["data"] == ["ok"] * 3
    assert outputs["fallback"]["data"] == [False] * 3
    m_outputs = {output["name"]: output for output in by_matrix.json()["outputs"]}
    assert m_outputs["prediction"]["data"] == expected[:2]
    assert {i["name"] for i in meta.json()["inputs"]} == set(names)
    assert meta.json()["versions"] == ["1"]
    assert other.status_code == 404 and other.json()["error"] == "not found"
    assert malformed.status_code == 400 and malformed.json()["field"] == "inputs"
    assert ready.status_code == 200
    assert server.json()["name"] == "steadyml"


def test_health_metrics_openapi_and_unknown_paths(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    async def main() -> dict[str, httpx.Response]:
        async with serving(project, workspace) as (_, client):
            await client.post("/predict", json=rows[:5])
            await client.post("/predict", content=b"nope")
            return {
                "live": await client.get("/health/live"),
                "ready": await client.get("/health/ready"),
                "metrics": await client.get("/metrics"),
                "openapi": await client.get("/openapi.json"),
                "docs": await client.get("/docs"),
                "missing": await client.get("/nowhere"),
                "method": await client.get("/predict"),
            }

    got = asyncio.run(main())
    assert got["live"].json() == {"status": "live"}
    assert got["ready"].json()["model_version"] == "1"
    text = got["metrics"].text
    for name in (
        "steadyml_requests_total",
        "steadyml_request_latency_seconds_bucket",
        "steadyml_errors_total",
        "steadyml_rejections_total",
        "steadyml_fallbacks_total",
        "steadyml_batch_size_bucket",
        "steadyml_model_version",
        "steadyml_log_queue_rows",
        "steadyml_log_dropped_rows_total",
        "steadyml_circuit_state",
    ):
        assert name in text, name
    assert 'steadyml_model_version{service="employment"} 1.0' in text
    assert 'steadyml_predictions_total{status="ok"} 5.0' in text
    assert 'steadyml_rejections_total{reason="data_error"} 1.0' in text
    assert 'steadyml_requests_total{code="400",endpoint="predict"} 1.0' in text
    document = got["openapi"].json()
    record = document["components"]["schemas"]["Record"]
    assert set(record["properties"]) == set(rows[0]) and "AGEP" in record["required"]
    assert "/predict" in document["paths"] and "/feedback" in document["paths"]
    assert got["docs"].status_code == 200
    assert got["missing"].status_code == 404 and got["missing"].json()["field"] == "path"
    assert got["method"].status_code == 405 and got["method"].json()["field"] == "method"


def test_bodies_over_the_limit_are_413_whether_declared_or_streamed(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    spec = with_deployment(project, max_body_bytes=4096)
    huge = ("[" + ",".join(['{"AGEP": 1}'] * 1000) + "]").encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(huge), 1000):
            yield huge[start : start + 1000]

    async def main() -> list[httpx.Response]:
        async with serving(spec, workspace) as (_, client):
            return [
                await client.post("/predict", content=huge),
                await client.post("/predict", content=chunks()),
                await client.post("/feedback", content=huge),
                await client.post("/v2/models/employment/infer", content=huge),
                await client.post("/predict", json=rows[:2]),
            ]

    declared, streamed, feedback, infer, fine = asyncio.run(main())
    for response in (declared, streamed, feedback, infer):
        assert response.status_code == 413
        assert response.json()["error"] == "body too large"
        assert "max_body_bytes" in response.json()["fix"]
    assert fine.status_code == 200
    log = read_predictions(workspace.settings.state_dir / "predlog", "employment").collect()
    assert log.filter(pl.col("status") == "rejected").height == 2  # the two /predict ones
