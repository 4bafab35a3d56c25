"""kill -9 under load (strict), then a restart with the registry down: nothing acked is lost."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec
from tests.services.serving.conftest import logged, with_deployment
from tests.services.serving.server import Server, drive, in_background

DOWN = {"STEADYML_TRACKING_URI": "http://127.0.0.1:9"}


@pytest.mark.slow
def test_kill_9_in_strict_mode_then_restart_without_the_registry(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    spec = with_deployment(project, durability="strict")
    spec_path = spec.base_dir / "steadyml.yaml"
    server = Server(spec_path).start()
    stop = threading.Event()
    try:

        def body(n: int) -> Any:
            return {"records": [rows[n % 400]], "request_id": f"k{n}"}

        join = in_background(lambda: drive(server.url, body, clients=8, seconds=30, stop=stop))
        time.sleep(3.0)
        server.kill()  # SIGKILL: no drain, no flush, open segments left behind
        stop.set()
        load = join()
    finally:
        server.kill()
    acknowledged = load.acknowledged_ids()
    assert len(acknowledged) > 30
    table = workspace.settings.state_dir / "predlog" / "predictions" / "service=employment"
    assert list(table.rglob("_open-*.arrows")), "the killed worker should leave open segments"

    restarted = Server(spec_path, env=DOWN).start()
    try:
        answer = httpx.post(restarted.url + "/predict", json=rows[0], timeout=10).json()
        status = httpx.get(restarted.url + "/admin/status", timeout=10).json()
        code = restarted.terminate()
    finally:
        restarted.kill()
    assert answer["model_version"] == "1"
    assert status["model"]["source"] == "local copy"
    assert status["model"]["registry_reachable"] is False
    assert code == 0, restarted.log()

    assert list(table.rglob("_open-*")) == [] and list(table.rglob("_tmp-*")) == []
    segments = sorted(table.rglob("*.parquet"))
    assert segments
    for segment in segments:  # every sealed segment is whole, readable Parquet
        assert pq.ParquetFile(segment).metadata.num_rows > 0
    log = logged(workspace)
    ids = log.get_column("request_id")
    assert acknowledged <= set(ids.to_list())  # strict: every acknowledged record survived
    assert ids.n_unique() == log.height  # and none was sealed twice
