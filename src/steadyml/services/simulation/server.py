"""The real prediction server, in simulation mode, as a uvicorn subprocess on 127.0.0.1.

:func:`app_from_environment` is uvicorn's factory in every worker: the service of
``STEADYML_SIMULATION_SPEC`` on a manual clock that starts at
``STEADYML_SIMULATION_START`` and follows each request's ``X-Simulated-Time``.
:class:`SimulationServer` starts it (``N`` workers), waits until it is ready and stops
it with SIGTERM (in-flight requests finish, the log is sealed).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from steadyml.core.clock import ManualClock
from steadyml.errors import ConfigError, SteadyError
from steadyml.services.uvicorn_options import uvicorn_options

if TYPE_CHECKING:
    from steadyml.services.serving import ServingApp

__all__ = ["SPEC_ENV", "START_ENV", "ServerFailed", "SimulationServer", "app_from_environment"]

SPEC_ENV = "STEADYML_SIMULATION_SPEC"
START_ENV = "STEADYML_SIMULATION_START"


class ServerFailed(SteadyError):
    """The simulation's server did not start."""

    kind = "server failed"


def app_from_environment() -> ServingApp:
    """The simulation-mode app of the spec named in the environment (one per worker).

    Raises
    ------
    ConfigError
        When the variables are not set.
    """
    from steadyml.services.serving import create_app
    from steadyml.spec import load_spec

    path, start = os.environ.get(SPEC_ENV), os.environ.get(START_ENV)
    if not path or not start:
        raise ConfigError(SPEC_ENV, path, f"set {SPEC_ENV} and {START_ENV} (epoch seconds)")
    clock = ManualClock(datetime.fromtimestamp(float(start), UTC))
    return create_app(load_spec(path), clock=clock, simulation=True)


_WORKER_POOL = "steadyml.services.serving.workers"  # run as a module: not imported here


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class SimulationServer:
    """``uvicorn`` running :func:`app_from_environment` with ``workers`` processes.

    Parameters
    ----------
    spec_path
        The project's spec file.
    workers
        Worker processes.
    log_path
        Where the server's output goes.
    """

    def __init__(self, spec_path: Path, workers: int, log_path: Path) -> None:
        self.spec_path = spec_path
        self.workers = workers
        self.log_path = log_path
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, at: datetime, timeout: float = 120.0) -> None:
        """Start at simulated time ``at`` and wait for ``/health/ready``.

        Raises
        ------
        ServerFailed
            When it exits or is not ready in ``timeout`` seconds (the log's tail named).
        """
        env = {
            **os.environ,
            SPEC_ENV: str(self.spec_path.resolve()),
            START_ENV: str(at.timestamp()),
            "POLARS_MAX_THREADS": os.environ.get("POLARS_MAX_THREADS", "1"),
        }
        options = uvicorn_options("127.0.0.1", self.port, log_level="warning")
        factory = f"{__name__}:app_from_environment"
        plan = {"factory": factory, "options": options, "count": self.workers}
        # one socket per worker (SO_REUSEPORT): the client's connections reach every worker
        command = [sys.executable, "-m", _WORKER_POOL, "supervise", json.dumps(plan)]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        # one client for the whole wait: each new one loads the CA bundle (~60 ms)
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise ServerFailed("server", self.tail(), "the server exited; see its log")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(self.url + "/health/ready").status_code == 200:
                        return
                time.sleep(0.2)
        self.stop()
        raise ServerFailed("server", self.tail(), f"not ready after {timeout:.0f}s")

    def tail(self) -> str:
        """The end of the server's log."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-1500:]
        except OSError:
            return ""

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM (drain, seal the log) and wait; SIGKILL after ``timeout``."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
