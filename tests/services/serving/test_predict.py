"""POST /predict in-process: answers, per-item errors, the one error body, and the log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from steadyml.services.bundles import load_bundle
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec
from tests.services.serving.conftest import body, logged, serving

ERROR_KEYS = {"error", "field", "message", "fix"}


def test_one_record_gets_id_version_probability_and_label(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    async def main() -> list[dict[str, Any]]:
        async with serving(project, workspace) as (_, client):
            answers = []
            for record in rows[:20]:
                response = await client.post("/predict", json=record)
                assert response.status_code == 200
                answers.append(response.json())
            return answers

    answers = asyncio.run(main())
    bundle = load_bundle(workspace.registry, workspace.model_cache, 1)
    expected = bundle.predictor.score(
        pl.DataFrame(rows[:20], schema=bundle.contract.polars_schema())
    )
    for answer, want in zip(answers, expected.tolist(), strict=True):
        assert answer["model_version"] == "1"
        (item,) = answer["predictions"]
        assert item["status"] == "ok" and item["fallback"] is False
        assert len(item["request_id"]) == 32
        # the server scores exactly like the offline predictor (same code, same rows)
        assert abs(item["prediction"] - want) < 1e-12
        assert item["label"] == ("1" if want >= 0.5 else "0")
    ids = [answer["predictions"][0]["request_id"] for answer in answers]
    assert len(set(ids)) == len(ids)


def test_a_list_answers_each_item_and_refuses_only_the_bad_ones(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    bad_type = {**rows[1], "AGEP": "forty"}
    missing = {k: v for k, v in rows[2].items() if k != "SEX"}
    extra = {**rows[3], "favourite_colour": "blue"}
    records = [rows[0], bad_type, missing, extra]

    async def main() -> Any:
        async with serving(project, workspace) as (_, client):
            response = await client.post(
                "/predict", json={"records": records, "request_id": "batch-7"}
            )
            assert response.status_code == 200
            return response.json()

    answer = asyncio.run(main())
    items = answer["predictions"]
    assert [item["request_id"] for item in items] == [f"batch-7-{i}" for i in range(4)]
    assert [item["status"] for item in items] == ["ok", "rejected", "rejected", "ok"]
    wrong = items[1]["error"]
    assert set(wrong) >= ERROR_KEYS
    assert wrong["error"] == "contract violation"
    assert wrong["field"] == "AGEP" and wrong["value"] == "forty"
    assert wrong["details"]["violations"][0]["kind"] == "wrong_type"
    assert items[2]["error"]["field"] == "SEX"
    assert items[2]["error"]["details"]["violations"][0]["kind"] == "missing"
    # an unknown field is flagged (policy: flag), the record is still answered
    assert items[3]["flags"][0]["field"] == "favourite_colour"
    assert items[3]["flags"][0]["kind"] == "unknown_column"

    log = logged(workspace).sort("request_id")
    assert log.get_column("request_id").to_list() == [f"batch-7-{i}" for i in range(4)]
    assert log.get_column("status").to_list() == ["ok", "rejected", "rejected", "ok"]
    reasons = log.get_column("rejection_reason").to_list()
    assert reasons[0] is None and "AGEP: wrong_type" in reasons[1] and "SEX: missing" in reasons[2]
    assert log.get_column("flags").to_list()[3] == ["favourite_colour: unknown_column"]
    inputs = log.get_column("inputs").to_list()
    assert inputs[1] is None and inputs[0]["AGEP"] == rows[0]["AGEP"]
    assert log.get_column("raw_request").to_list()[1].startswith("{")


def test_a_request_whose_every_record_is_bad_is_a_422_naming_each_field(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    async def main() -> list[Any]:
        async with serving(project, workspace) as (_, client):
            one = await client.post("/predict", json={**rows[0], "AGEP": None, "SEX": 3.5})
            two = await client.post("/predict", json=[{"AGEP": "x"}, 7])
            return [one, two]

    one, two = asyncio.run(main())
    assert one.status_code == 422
    error = one.json()
    assert set(error) >= ERROR_KEYS and error["error"] == "contract violation"
    fields = {v["field"]: v["kind"] for v in error["details"]["violations"]}
    assert fields == {"AGEP": "null", "SEX": "wrong_type"}
    assert len(error["details"]["request_ids"]) == 1
    assert two.status_code == 422
    listed = two.json()["details"]["violations"]
    assert {v["index"] for v in listed} == {0, 1}
    assert two.json()["field"] == "records[0].AGEP"
    assert any(v["field"] == "(record)" and v["index"] == 1 for v in listed)


def test_malformed_bodies_are_400s_with_the_error_shape_and_are_logged(
    project: ServiceSpec, workspace: Workspace
) -> None:
    cases = [
        (b"{not json", 400, "body"),
        (b"", 400, "body"),
        (b"[]", 400, "records"),
        (b'"a string"', 400, "body"),
        (b'{"records": [], "extra": 1}', 400, "extra"),
        (b'{"records": [{}], "request_id": 5}', 400, "request_id"),
        (b'{"records": [{}], "event_time": "yesterday"}', 400, "event_time"),
        (b'\xff\xfe{"a": 1}', 400, "body"),
    ]

    async def main() -> list[tuple[int, Any]]:
        async with serving(project, workspace) as (_, client):
            found = []
            for raw, _, _ in cases:
                response = await client.post("/predict", content=raw)
                found.append((response.status_code, response.json()))
            return found

    for (status, error), (_, want_status, want_field) in zip(
        asyncio.run(main()), cases, strict=True
    ):
        assert status == want_status
        assert set(error) >= ERROR_KEYS
        assert error["field"] == want_field
        assert error["fix"]
    log = logged(workspace)
    assert log.height == len(cases)
    assert set(log.get_column("status").to_list()) == {"rejected"}
    assert all(reason.endswith("data error") for reason in log.get_column("rejection_reason"))


def test_event_time_and_request_id_come_from_the_envelope_or_the_headers(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    async def main() -> None:
        async with serving(project, workspace) as (_, client):
            first = await client.post(
                "/predict",
                content=body(rows[0]),
                headers={"x-request-id": "hdr-1", "x-event-time": "2016-06-01T12:30:00Z"},
            )
            assert first.json()["predictions"][0]["request_id"] == "hdr-1"
            second = await client.post(
                "/predict",
                json={
                    "records": rows[1:3],
                    "request_id": ["a", "b"],
                    "event_time": [1464784200, "2016-06-01T13:00:00"],
                },
            )
            assert [p["request_id"] for p in second.json()["predictions"]] == ["a", "b"]

    asyncio.run(main())
    log = logged(workspace).sort("request_id")
    times = dict(zip(log["request_id"], log["event_time"], strict=True))
    assert times["hdr-1"] == datetime(2016, 6, 1, 12, 30, tzinfo=UTC)
    assert times["a"] == datetime(2016, 6, 1, 12, 30, tzinfo=UTC)
    assert times["b"] == datetime(2016, 6, 1, 13, 0, tzinfo=UTC)
    assert (log["received_at"] > datetime(2020, 1, 1, tzinfo=UTC)).all()


def test_odd_unicode_is_answered_cleanly(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    odd = [
        {**rows[0], "SEX": "\u200b2"},  # zero-width space: an unseen category (flag)
        {**rows[0], "ＡGEP": 40},  # full-width letter: unknown column
        {**rows[0], "SCHL": "🦄" * 500},  # emoji, long
        {"\u202eAGEP": 1},  # right-to-left override in a key
    ]

    async def main() -> list[Any]:
        async with serving(project, workspace) as (_, client):
            return [await client.post("/predict", json=record) for record in odd]

    responses = asyncio.run(main())
    assert [r.status_code for r in responses] == [200, 200, 200, 422]
    assert responses[0].json()["predictions"][0]["flags"][0]["kind"] == "unseen_category"
    assert responses[1].json()["predictions"][0]["flags"][0]["field"] == "ＡGEP"
    assert responses[3].json()["details"]["violations"][0]["field"] == "\u202eAGEP"
    log = logged(workspace)
    assert log.height == 4
    assert np.isfinite(log.filter(pl.col("status") == "ok")["prediction"].to_numpy()).all()
