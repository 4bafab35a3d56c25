"""A real server under load: hot reload without a failed or mixed request, then SIGTERM."""

from __future__ import annotations

import threading
import time
from typing import Any

import polars as pl
import pytest

from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec
from tests.services.serving import faulty
from tests.services.serving.conftest import logged, register_variant, with_deployment
from tests.services.serving.server import Server, drive, in_background


@pytest.mark.slow
def test_hot_reload_under_load_then_sigterm_drains_with_zero_loss(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    # a generous budget: this test is about the swap and the drain, and a loaded CI machine
    # must not turn slow batches into timeout fallbacks (test_faulty_models covers timeouts)
    spec = with_deployment(project, latency_budget_ms=5000)
    server = Server(spec.base_dir / "steadyml.yaml").start()
    try:

        def body(n: int) -> Any:
            return {"records": rows[n % 300 : n % 300 + 2], "request_id": f"r{n}"}

        stop = threading.Event()
        join = in_background(lambda: drive(server.url, body, clients=8, seconds=30, stop=stop))
        time.sleep(1.5)
        version = register_variant(workspace, faulty.Wrapped)
        time.sleep(2.5)  # several polls (200 ms) after the alias moved
        terminated_at = time.monotonic()
        code = server.terminate()
        stop.set()
        load = join()
    finally:
        server.kill()
    assert code == 0, server.log()
    before = [(status, answer) for status, answer, at in load.answers if at < terminated_at]
    assert len(before) > 100
    assert all(status == 200 for status, _ in before)  # no failed request during the reload
    assert all(at >= terminated_at for _, at in load.failures)
    versions = [answer["model_version"] for _, answer in before]
    assert {"1", str(version)} <= set(versions)
    answers = load.ok()
    assert all(item["status"] == "ok" for answer in answers for item in answer["predictions"])

    log = logged(workspace)
    acknowledged = load.acknowledged_ids()
    # SIGTERM: in-flight requests finish, the log is flushed and sealed; nothing is lost
    assert acknowledged <= set(log.get_column("request_id").to_list())
    assert log.get_column("request_id").n_unique() == log.height
    # no response mixes versions: each item was logged under its response's version
    version_of = {
        item["request_id"]: answer["model_version"]
        for answer in answers
        for item in answer["predictions"]
    }
    logged_version = dict(
        zip(log.get_column("request_id"), log.get_column("model_version"), strict=True)
    )
    assert all(logged_version[rid] == v for rid, v in version_of.items())
    assert log.filter(pl.col("status") != "ok").height == 0
