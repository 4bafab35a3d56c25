"""A real ``steadyml serve`` process on 127.0.0.1 for integration tests, and a load driver."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """``steadyml serve --spec <spec>`` in a subprocess (repository root on PYTHONPATH)."""

    def __init__(
        self,
        spec_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        workers: int = 1,
        options: tuple[str, ...] = ("--log-level", "warning"),
    ) -> None:
        self.spec_path = spec_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = spec_path.parent / f"server-{self.port}.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("STEADYML_")},
            "PYTHONPATH": str(REPO),
            "POLARS_MAX_THREADS": "1",
            **(env or {}),
        }
        self.workers = workers
        self.options = options
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0, *, ready: bool = True) -> Server:
        command = [
            sys.executable, "-m", "steadyml.faces.cli.app", "serve",
            "--spec", str(self.spec_path), "--port", str(self.port),
            "--workers", str(self.workers), *self.options,
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        path = "/health/ready" if ready else "/health/live"
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as client:  # one CA-bundle load, not one per poll
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited: {self.log()}")
                try:
                    if client.get(self.url + path).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"server not {path} after {timeout}s: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait: the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL (kill -9) and reap."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)


@dataclass
class Load:
    """Responses gathered by :func:`drive`: ``(status, JSON body, monotonic time)`` each."""

    answers: list[tuple[int, Any, float]] = field(default_factory=list)
    failures: list[tuple[str, float]] = field(default_factory=list)

    def ok(self) -> list[Any]:
        return [body for status, body, _ in self.answers if status == 200]

    def acknowledged_ids(self) -> set[str]:
        return {item["request_id"] for body in self.ok() for item in body["predictions"]}


def drive(
    url: str,
    make_body: Callable[[int], Any],
    *,
    clients: int,
    seconds: float,
    stop: threading.Event | None = None,
    max_requests: int = 20_000,
    keepalive: bool = True,
) -> Load:
    """``clients`` concurrent clients POSTing to ``/predict`` until time is up.

    With ``keepalive=False`` every request opens a new connection (spread over workers).
    """
    load = Load()
    stop = stop or threading.Event()

    async def client(index: int, http: httpx.AsyncClient, deadline: float) -> None:
        n = 0
        while time.monotonic() < deadline and not stop.is_set():
            if len(load.answers) + len(load.failures) >= max_requests:
                return
            try:
                response = await http.post("/predict", json=make_body(index * 1_000_000 + n))
                body = response.json() if response.content else None
                load.answers.append((response.status_code, body, time.monotonic()))
            except (httpx.HTTPError, ValueError) as exc:
                load.failures.append((f"{type(exc).__name__}: {exc}", time.monotonic()))
                await asyncio.sleep(0.01)
            n += 1

    async def main() -> None:
        deadline = time.monotonic() + seconds
        limits = httpx.Limits(
            max_connections=clients, max_keepalive_connections=clients if keepalive else 0
        )
        async with httpx.AsyncClient(base_url=url, timeout=10.0, limits=limits) as http:
            await asyncio.gather(*(client(i, http, deadline) for i in range(clients)))

    asyncio.run(main())
    return load


def in_background(function: Callable[[], Load]) -> Callable[[], Load]:
    """Start ``function`` in a thread; the returned callable joins it and gives its result."""
    result: list[Load] = []
    thread = threading.Thread(target=lambda: result.append(function()), daemon=True)
    thread.start()

    def join() -> Load:
        thread.join(120)
        return result[0]

    return join
