"""Two worker processes share one prediction-log directory without collisions."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec
from tests.services.serving.conftest import logged
from tests.services.serving.server import Server, drive, in_background


@pytest.mark.slow
def test_two_workers_write_one_log_under_their_own_ids(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    server = Server(project.base_dir / "steadyml.yaml", workers=2).start(timeout=150)
    stop = threading.Event()
    try:
        seen: set[str] = set()  # wait until both workers answer (each connection is new)
        deadline = time.monotonic() + 120
        while len(seen) < 2 and time.monotonic() < deadline:
            try:
                status = httpx.get(server.url + "/admin/status", timeout=10)
            except httpx.HTTPError:  # a worker still starting may drop the connection
                status = None
            if status is not None and status.status_code == 200 and status.json()["ready"]:
                seen.add(status.json()["worker"])
            time.sleep(0.05)
        assert len(seen) == 2, seen

        def body(n: int) -> Any:
            return {"records": [rows[n % 400]], "request_id": f"w{n}"}

        join = in_background(
            lambda: drive(server.url, body, clients=8, seconds=30, stop=stop, keepalive=False)
        )
        time.sleep(4.0)
        code = server.terminate()
        stop.set()
        load = join()
    finally:
        server.kill()
    assert code == 0, server.log()
    log = logged(workspace)
    workers = set(log.get_column("worker").to_list())
    assert len(workers) == 2, workers
    acknowledged = load.acknowledged_ids()
    assert acknowledged <= set(log.get_column("request_id").to_list())
    assert log.get_column("request_id").n_unique() == log.height
    table = workspace.settings.state_dir / "predlog" / "predictions" / "service=employment"
    names = [path.name for path in table.rglob("*.parquet")]
    assert len(names) == len(set(names))
    assert {name.rsplit("-", 1)[0] for name in names} == workers
    for path in table.rglob("*.parquet"):
        assert pq.ParquetFile(path).metadata.num_rows > 0
