"""``deployment.prediction_log: false`` and ``deployment.metrics: false`` (for measuring)."""

from __future__ import annotations

import asyncio
from typing import Any

from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec
from tests.services.serving.conftest import logged, serving, with_deployment


def _predict_total(text: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("steadyml_requests_total{")
    )


def test_log_and_metrics_off_still_answer_but_record_and_count_nothing(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    spec = with_deployment(project, prediction_log=False, metrics=False)

    async def main() -> tuple[list[int], list[int], str]:
        async with serving(spec, workspace) as (_, client):
            good = [(await client.post("/predict", json=r)).status_code for r in rows[:10]]
            bad = [(await client.post("/predict", content=b"{oops")).status_code]
            bad.append((await client.post("/predict", json={**rows[0], "AGEP": "x"})).status_code)
            metrics = (await client.get("/metrics")).text
            return good, bad, metrics

    good, bad, metrics = asyncio.run(main())
    assert good == [200] * 10
    assert bad == [400, 422]  # bad JSON, then a record with a bad field
    assert _predict_total(metrics) == 0
    assert logged(workspace).height == 0


def test_by_default_the_same_requests_are_recorded_and_counted(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    async def main() -> str:
        async with serving(project, workspace) as (_, client):
            for record in rows[:10]:
                assert (await client.post("/predict", json=record)).status_code == 200
            return (await client.get("/metrics")).text

    metrics = asyncio.run(main())
    assert _predict_total(metrics) == 10
    assert logged(workspace).height == 10
