"""Hot reload in-process, the last-good pointer, and start-up without the registry."""

from __future__ import annotations

import asyncio
from typing import Any

from steadyml.services.serving import read_pointer
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec
from tests.services.serving import faulty
from tests.services.serving.conftest import logged, register_variant, serving, with_deployment

DOWN = {"STEADYML_TRACKING_URI": "http://127.0.0.1:9"}  # nothing listens on port 9


def test_a_moved_alias_is_served_without_failing_or_mixing_a_request(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    # a generous budget: this test is about the swap, and a loaded CI machine must not turn
    # slow batches into timeout fallbacks (test_faulty_models covers timeouts)
    spec = with_deployment(project, latency_budget_ms=5000)

    async def main() -> tuple[list[Any], dict[str, Any]]:
        async with serving(spec, workspace) as (app, client):
            answers: list[Any] = []
            stop = asyncio.Event()

            async def load() -> None:
                while not stop.is_set():
                    batch = await asyncio.gather(
                        *(client.post("/predict", json=rows[i : i + 3]) for i in range(0, 24, 3))
                    )
                    answers.extend(batch)

            loader = asyncio.create_task(load())
            await asyncio.sleep(0.3)
            version = await asyncio.to_thread(register_variant, workspace, faulty.Wrapped)
            for _ in range(100):  # the poll interval is 200 ms
                await asyncio.sleep(0.05)
                current = app.service.holder.current
                if current is not None and current.version == version:
                    break
            await asyncio.sleep(0.3)
            stop.set()
            await loader
            return answers, app.service.holder.status()

    answers, status = asyncio.run(main())
    assert status["version"] == 2 and status["source"] == "registry"
    assert all(response.status_code == 200 for response in answers)
    versions = [response.json()["model_version"] for response in answers]
    assert versions[0] == "1" and set(versions[-8:]) == {"2"}  # the last round: all v2
    for response in answers:  # one version per response, and it is the logged one
        assert all(item["status"] == "ok" for item in response.json()["predictions"])
    log = logged(workspace)
    assert set(log.get_column("model_version").unique()) == {"1", "2"}
    pointer = workspace.model_cache / "employment" / "serving.json"
    assert read_pointer(pointer) == {"champion": 2, "previous": None}


def test_start_up_with_the_registry_down_serves_the_last_good_copy(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    async def first() -> None:
        async with serving(project, workspace) as (_, client):
            assert (await client.post("/predict", json=rows[0])).status_code == 200

    asyncio.run(first())  # leaves the local copy and the pointer behind

    with Workspace.open(project, environ=DOWN) as down:

        async def second() -> tuple[Any, Any, dict[str, Any]]:
            async with serving(project, down, worker_id="w1") as (app, client):
                ready = await client.get("/health/ready")
                answer = await client.post("/predict", json=rows[1])
                return ready, answer, app.service.holder.status()

        ready, answer, status = asyncio.run(second())
    assert ready.status_code == 200
    assert answer.status_code == 200 and answer.json()["model_version"] == "1"
    assert status["source"] == "local copy" and status["registry_reachable"] is False


def test_without_registry_or_copy_the_service_is_alive_but_not_ready(
    project: ServiceSpec, rows: list[dict[str, Any]]
) -> None:
    with Workspace.open(project, environ=DOWN) as down:

        async def main() -> list[Any]:
            async with serving(project, down) as (_, client):
                return [
                    await client.get("/health/live"),
                    await client.get("/health/ready"),
                    await client.post("/predict", json=rows[0]),
                ]

        live, ready, predict = asyncio.run(main())
    assert live.status_code == 200
    assert ready.status_code == 503 and ready.json()["error"] == "not ready"
    assert predict.status_code == 503 and predict.json()["fix"].startswith("no model")
