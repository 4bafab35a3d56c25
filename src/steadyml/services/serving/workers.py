"""Several uvicorn worker processes on one port, with the kernel spreading the connections.

uvicorn's own ``--workers`` lets every worker accept from one shared socket. A burst of
new connections (a load balancer's pool, a client's keep-alive pool) is then taken by
whichever worker wakes first, and a keep-alive connection stays with that worker for
good: measured on 2 cores, all 64 connections of a load test landed on one of two
workers in one run out of two, which halved throughput. Here each worker binds a socket
of its own with ``SO_REUSEPORT`` and the kernel hashes every new connection to one of the
listening sockets, as nginx's ``reuseport`` does.

A worker starts listening only once its application has started (the model is loaded),
so until then the kernel sends it no connection. The supervisor (:class:`WorkerPool`)

* refuses a port already in use before any worker starts (``SO_REUSEPORT`` would
  otherwise let two servers of the same user share it silently);
* turns SIGTERM and SIGINT into SIGTERM for every worker (stop accepting, drain, seal
  the log) and exits 0 once they all did;
* restarts a worker that dies while serving; a worker that fails during its start-up
  (uvicorn's exit code 3), or one that keeps dying, stops the whole server with its exit
  code: a broken model or spec is not healed by restarting it.

Workers die with the supervisor (``PR_SET_PDEATHSIG`` on Linux): a ``kill -9`` of the
supervisor leaves no orphan holding the port.

Use :class:`WorkerPool`, or run ``python -m steadyml.services.serving.workers supervise
PLAN`` with a JSON plan ``{"factory": ..., "options": {...}, "count": N}``.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from steadyml.errors import ConfigError

__all__ = ["STARTUP_FAILURE", "WorkerPool", "bind_shared", "claim_port", "exit_zero_after_drain"]

STARTUP_FAILURE = 3  # uvicorn's exit code when the application fails to start
RESTARTS_PER_MINUTE = 5  # a worker slot dying more often than this stops the server
_POLL_S = 0.1
_PR_SET_PDEATHSIG = 1
_MODULE = "steadyml.services.serving.workers"  # __name__ is __main__ under -m


def claim_port(host: str, port: int) -> int:
    """Check that ``host:port`` is free and return it (a free port when ``port`` is 0).

    Raises
    ------
    ConfigError
        Naming ``--port``, the address and the fix, when something already listens there.
    """
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ConfigError(
                "--port",
                port,
                f"{host}:{port} cannot be bound ({error.strerror}); stop the server that "
                "holds it or choose another port",
            ) from error
        claimed: int = probe.getsockname()[1]
        return claimed


def bind_shared(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT``, not yet listening.

    The event loop's server calls ``listen`` on it once the application has started.
    """
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(False)
    return sock


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


@dataclass
class _Slot:
    """One worker position: its process and when it last died."""

    index: int
    process: subprocess.Popen[bytes] | None = None
    deaths: deque[float] = field(default_factory=deque)


class WorkerPool:
    """``count`` uvicorn workers serving ``factory`` on one port through ``SO_REUSEPORT``.

    Parameters
    ----------
    factory
        Import string of the application factory (``module:function``).
    options
        ``uvicorn.Config`` keyword arguments (``host``, ``port``, ``loop``, ``http``,
        ``log_level``, ``timeout_graceful_shutdown``, ``access_log``, ...).
    count
        Worker processes.
    env
        Environment of the workers (default: this process's).

    Examples
    --------
    >>> pool = WorkerPool("app:create", {"host": "127.0.0.1", "port": 8000}, count=2)
    >>> pool.count
    2
    """

    def __init__(
        self,
        factory: str,
        options: Mapping[str, Any],
        count: int,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if count < 1:
            raise ConfigError("--workers", count, "give at least 1 worker")
        self.factory = factory
        self.options = dict(options)
        self.count = count
        self.env = dict(env) if env is not None else None
        self._stopping = False

    def run(self) -> int:
        """Start the workers, keep them running until SIGTERM/SIGINT; the exit code.

        0 when every worker drained and exited cleanly after a signal; otherwise the
        exit code of the worker that could not start or kept dying.

        Raises
        ------
        ConfigError
            When the port is in use (before any worker starts).
        """
        host = str(self.options.get("host", "127.0.0.1"))
        self.options["port"] = claim_port(host, int(self.options.get("port", 8000)))
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        slots = [_Slot(index) for index in range(self.count)]
        try:
            for slot in slots:
                self._start(slot)
            code = self._watch(slots)
        finally:
            self._terminate(slots)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code or _exit_status(_first_failure(slots))

    def _stop(self, sig: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _start(self, slot: _Slot) -> None:
        plan = {"factory": self.factory, "options": self.options, "parent": os.getpid()}
        slot.process = subprocess.Popen(
            [sys.executable, "-m", _MODULE, json.dumps(plan)], env=self.env
        )

    def _watch(self, slots: list[_Slot]) -> int:
        """Restart workers that die while serving, until a signal or a fatal exit."""
        while not self._stopping:
            time.sleep(_POLL_S)
            for slot in slots:
                process = slot.process
                code = process.poll() if process is not None else None
                if code is None or self._stopping:
                    continue
                if code == STARTUP_FAILURE:
                    print(f"steadyml: worker {slot.index} failed to start", file=sys.stderr)
                    return code
                now = time.monotonic()
                slot.deaths.append(now)
                while slot.deaths and slot.deaths[0] < now - 60:
                    slot.deaths.popleft()
                if len(slot.deaths) > RESTARTS_PER_MINUTE:
                    print(
                        f"steadyml: worker {slot.index} died {len(slot.deaths)} times in a "
                        f"minute (last exit code {code}); stopping",
                        file=sys.stderr,
                    )
                    return _exit_status(code)
                print(
                    f"steadyml: worker {slot.index} exited with code {code}; restarting it",
                    file=sys.stderr,
                )
                self._start(slot)
        return 0

    def _terminate(self, slots: list[_Slot]) -> None:
        """SIGTERM every live worker and wait for it to drain (SIGKILL past the grace)."""
        live = [s.process for s in slots if s.process is not None and s.process.poll() is None]
        for process in live:
            process.send_signal(signal.SIGTERM)
        grace = float(self.options.get("timeout_graceful_shutdown") or 30) + 30
        deadline = time.monotonic() + grace
        for process in live:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _first_failure(slots: list[_Slot]) -> int:
    """The first non-zero exit code of the workers (0 when all drained cleanly)."""
    codes = [slot.process.returncode for slot in slots if slot.process is not None]
    return next((code for code in codes if code), 0)


def _exit_status(code: int) -> int:
    """A worker's return code as an exit status (killed by signal N: 128 + N, as shells)."""
    return 128 - code if code < 0 else code


def _die_with(parent: int) -> None:
    """Ask Linux for SIGTERM when the supervisor dies; exit if it is already gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        sys.exit(0)


def exit_zero_after_drain(sig: int, frame: FrameType | None) -> None:
    """Signal handler: exit 0 (uvicorn re-raises the signal once it has drained)."""
    raise SystemExit(0)


def _run_worker(plan: Mapping[str, Any]) -> None:
    import uvicorn

    _die_with(int(plan["parent"]))
    options = dict(plan["options"])
    sock = bind_shared(str(options["host"]), int(options["port"]))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, exit_zero_after_drain)
    config = uvicorn.Config(plan["factory"], factory=True, **options)
    uvicorn.Server(config).run(sockets=[sock])


def _main(argv: list[str]) -> int:
    if argv[:1] == ["supervise"]:
        plan = json.loads(argv[1])
        return WorkerPool(plan["factory"], plan["options"], int(plan["count"])).run()
    _run_worker(json.loads(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
