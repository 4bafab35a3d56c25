"""``steadyml serve``: the prediction service on uvicorn (uvloop and httptools when present).

SIGTERM (or Ctrl-C) stops accepting connections, lets in-flight requests finish, flushes
and seals the prediction log, and exits 0. With ``--workers N``, N uvicorn worker
processes serve one port, each on a socket of its own (``SO_REUSEPORT``: the kernel
spreads the connections, see :mod:`steadyml.services.serving.workers`); each writes the
shared log directory under its own worker id.

Each worker runs with one Polars thread and one OpenMP (LightGBM) thread unless the
environment says otherwise (:data:`WORKER_THREADS`): a micro-batch is small, and thread
pools cost more in hand-offs than they gain while the workers share the cores. Those
pools are sized when the libraries are first imported, so a worker always starts in a
fresh interpreter that imports only what serving needs (which also starts faster).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from steadyml.errors import ConfigError
from steadyml.services.uvicorn_options import uvicorn_options
from steadyml.spec import load_spec

if TYPE_CHECKING:  # imported when serving starts: other commands stay quick to start
    from steadyml.faces.asgi_router import PrefixRouter
    from steadyml.services.serving import ServingApp

__all__ = [
    "SPEC_ENV",
    "UI_ENV",
    "WORKER_THREADS",
    "app_from_environment",
    "register",
    "serve_command",
]

SPEC_ENV = "STEADYML_SERVE_SPEC"
UI_ENV = "STEADYML_SERVE_UI"  # "0": no dashboard at /ui
WORKER_THREADS = {"POLARS_MAX_THREADS": "1", "OMP_NUM_THREADS": "1"}
_MODULE = "steadyml.faces.cli.serve"
_FACTORY = f"{_MODULE}:app_from_environment"


def app_from_environment() -> ServingApp | PrefixRouter:
    """The app of the spec named by ``STEADYML_SERVE_SPEC`` (uvicorn's factory, per worker).

    The dashboard is mounted at ``/ui`` unless ``STEADYML_SERVE_UI`` is ``0``.

    Raises
    ------
    ConfigError
        When the variable is not set.
    """
    from steadyml.services.serving import create_app

    path = os.environ.get(SPEC_ENV)
    if not path:
        raise ConfigError(SPEC_ENV, None, "set it to the spec file, or run 'steadyml serve'")
    serving = create_app(load_spec(path))
    if os.environ.get(UI_ENV, "1") == "0":
        return serving
    from steadyml.faces.dashboard.mount import with_dashboard

    return with_dashboard(serving)


def serve_command(
    spec: Annotated[
        Path, typer.Option("--spec", "-s", help="The service spec file (or its folder).")
    ] = Path("steadyml.yaml"),
    *,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes (default: deployment.workers in the spec).", min=1),
    ] = None,
    log_level: Annotated[
        str, typer.Option(help="uvicorn log level: critical, error, warning, info, debug.")
    ] = "info",
    access_log: Annotated[bool, typer.Option(help="Log every request (costs throughput).")] = False,
    ui: Annotated[
        bool, typer.Option("--ui/--no-ui", help="Mount the dashboard at /ui (read-only).")
    ] = True,
) -> None:
    """Serve the champion: /predict, /v2 (Open Inference Protocol), /feedback, /metrics."""
    loaded = load_spec(spec)  # fail fast, before any worker starts
    spec_file = spec / "steadyml.yaml" if spec.is_dir() else spec
    os.environ[SPEC_ENV] = str(spec_file.resolve())
    os.environ[UI_ENV] = "1" if ui else "0"
    count = workers or loaded.deployment.workers
    options = uvicorn_options(host, port, log_level=log_level, access_log=access_log)
    for variable, threads in WORKER_THREADS.items():
        os.environ.setdefault(variable, threads)
    if count > 1:
        # one socket per worker (SO_REUSEPORT): the kernel spreads the connections
        from steadyml.services.serving.workers import WorkerPool

        options["server_header"] = False
        raise typer.Exit(WorkerPool(_FACTORY, options, count).run())
    # one worker: this module alone, in a fresh interpreter (see the module docstring)
    argv = [sys.executable, "-m", _MODULE, json.dumps(options)]
    os.execv(sys.executable, argv)  # noqa: S606 - argv built from validated options


def _run_one_worker(options: dict[str, object]) -> None:
    import uvicorn

    from steadyml.services.serving.workers import exit_zero_after_drain

    # uvicorn handles SIGTERM (stop accepting, drain, lifespan shutdown: the log is sealed)
    # and then re-raises it to the handler installed before: exit 0 after a clean drain
    signal.signal(signal.SIGTERM, exit_zero_after_drain)
    uvicorn.run(_FACTORY, factory=True, server_header=False, **options)  # type: ignore[arg-type]


def register(app: typer.Typer) -> None:
    """Add ``steadyml serve`` to ``app``."""
    app.command("serve")(serve_command)


if __name__ == "__main__":
    _run_one_worker(json.loads(sys.argv[1]))
