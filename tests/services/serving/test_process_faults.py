"""A real server with a misbehaving model and bad clients: each gets its status and body."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import httpx
import orjson
import polars as pl
import pytest

from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec
from tests.services.serving import faulty
from tests.services.serving.conftest import logged, register_variant, with_deployment
from tests.services.serving.server import Server

ERROR_KEYS = {"error", "field", "message", "fix"}


@pytest.mark.slow
def test_nan_raising_and_slow_model_and_malformed_requests(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    register_variant(workspace, partial(faulty.Chaos, seconds=1.5))
    spec = with_deployment(project, max_body_bytes=65536)
    row = rows[0]
    server = Server(spec.base_dir / "steadyml.yaml").start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:

            def predict(record: Any) -> dict[str, Any]:
                response = http.post("/predict", json=record)
                assert response.status_code == 200, response.text
                item: dict[str, Any] = response.json()["predictions"][0]
                return item

            nan = predict({**row, "AGEP": 92.0})
            raising = predict({**row, "AGEP": 97.0})
            normal = predict({**row, "AGEP": 40.0})
            started = time.perf_counter()
            slow = predict({**row, "AGEP": 17.0})
            slow_seconds = time.perf_counter() - started
            time.sleep(1.6)  # let the model thread finish the slow call
            cases = [
                (b"{oops", 400, "data error", "body"),
                (b'{"AGEP": "\xff"}', 400, "data error", "body"),
                (b'{"SEX": "\\ud800"}', 400, "data error", "body"),
                (orjson.dumps({**row, "AGEP": "old"}), 422, "contract violation", "AGEP"),
                (orjson.dumps({k: v for k, v in row.items() if k != "SEX"}), 422,
                 "contract violation", "SEX"),
                (orjson.dumps([{**row, "AGEP": 30.0}] * 400), 413, "body too large", "body"),
                (orjson.dumps(7), 400, "data error", "body"),
            ]  # fmt: skip
            refused = [(http.post("/predict", content=raw), case) for raw, *case in cases]
            extra = predict({**row, "AGEP": 40.0, "zzz": 1})
            emoji = predict({**row, "SEX": "🦄", "MAR": "ﬁ\u0301"})
        code = server.terminate()
    finally:
        server.kill()
    assert code == 0, server.log()
    assert (nan["status"], nan["fallback_reason"], nan["prediction"]) == (
        "fallback",
        "nan_output",
        0.5,
    )
    assert raising["fallback_reason"] == "model_error" and raising["fallback"] is True
    assert normal["status"] == "ok" and 0 <= normal["prediction"] <= 1
    assert slow["fallback_reason"] == "timeout" and slow_seconds < 1.2  # budget 500 ms
    for response, (status, kind, field) in refused:
        assert response.status_code == status, (response.text, status)
        error = response.json()
        assert set(error) >= ERROR_KEYS and error["error"] == kind and error["field"] == field
    assert extra["flags"][0]["kind"] == "unknown_column"
    assert {flag["kind"] for flag in emoji["flags"]} == {"unseen_category"}

    log = logged(workspace)
    reasons = set(log.get_column("fallback_reason").drop_nulls().to_list())
    assert reasons == {"nan_output", "model_error", "timeout"}
    assert log.filter(pl.col("status") == "rejected").height == len(cases)
    assert log.filter(pl.col("status") == "ok").height == 3
