"""Worker processes: one log directory without collisions, connections spread, restarts."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from steadyml.errors import ConfigError
from steadyml.faces.cli.app import main
from steadyml.faces.cli.serve import SPEC_ENV, UI_ENV, WORKER_THREADS
from steadyml.services.serving.workers import WorkerPool
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


def _children(pid: int) -> set[int]:
    """Live child processes of ``pid`` (Linux's /proc children list)."""
    listed = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="utf-8").split()
    return {int(child) for child in listed if _alive(int(child))}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


def _workers_answering(url: str, connections: int) -> Counter[str]:
    """The worker id behind each of ``connections`` new connections, opened together."""
    clients = [httpx.Client(base_url=url, timeout=10) for _ in range(connections)]
    try:
        return Counter(client.get("/admin/status").json()["worker"] for client in clients)
    finally:
        for client in clients:
            client.close()


def _wait(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.mark.slow
def test_the_kernel_spreads_connections_and_a_dead_worker_is_replaced(
    project: ServiceSpec,
) -> None:
    server = Server(project.base_dir / "steadyml.yaml", workers=2).start(timeout=150)
    try:
        assert server.process is not None
        supervisor = server.process.pid
        assert _wait(lambda: len(_workers_answering(server.url, 8)) == 2, 120), server.log()
        # each worker listens on its own SO_REUSEPORT socket: 32 connections opened at
        # once split about evenly (a shared socket let one worker take all 64 of wrk's)
        spread = _workers_answering(server.url, 32)
        assert len(spread) == 2 and min(spread.values()) >= 4, spread
        before = _children(supervisor)
        assert len(before) == 2, before

        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        assert _wait(lambda: len(_children(supervisor) - before) == 1, 30), server.log()
        assert _wait(lambda: len(_workers_answering(server.url, 16)) == 2, 120), server.log()
        assert "exited with code -9; restarting it" in server.log()
        assert server.process.poll() is None

        workers = _children(supervisor)
        server.kill()  # kill -9 of the supervisor: its workers are told to stop
        assert _wait(lambda: not any(_alive(pid) for pid in workers), 60)
    finally:
        server.kill()


def test_a_port_in_use_is_refused_before_any_worker_starts(
    project: ServiceSpec, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for variable in (SPEC_ENV, UI_ENV, *WORKER_THREADS):  # serve sets them for its workers
        monkeypatch.setenv(variable, os.environ.get(variable, ""))
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        spec = str(project.base_dir / "steadyml.yaml")
        code = main(["serve", "--spec", spec, "--port", str(port), "--workers", "2"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "--port" in err and f"127.0.0.1:{port}" in err and "choose another port" in err


def test_a_worker_pool_needs_a_worker() -> None:
    with pytest.raises(ConfigError, match="--workers"):
        WorkerPool("app:create", {"port": 0}, count=0)
