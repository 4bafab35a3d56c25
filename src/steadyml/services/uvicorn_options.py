"""The uvicorn settings every steadyml prediction server runs with.

``steadyml serve`` and the simulator's server start uvicorn the same way: uvloop and
httptools when installed, and then steadyml's own HTTP protocol
(:class:`~steadyml.services.serving.http_protocol.PredictProtocol`), which answers
``POST /predict`` without an ASGI task. This module names them without importing
uvicorn, so that a parent process that only launches workers stays light.

Examples
--------
>>> options = uvicorn_options("127.0.0.1", 8000, log_level="warning")
>>> options["port"], options["timeout_graceful_shutdown"]
(8000, 30)
"""

from __future__ import annotations

import importlib.util

__all__ = ["PREDICT_PROTOCOL", "uvicorn_options"]

PREDICT_PROTOCOL = "steadyml.services.serving.http_protocol:PredictProtocol"
GRACEFUL_SHUTDOWN_S = 30


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def uvicorn_options(
    host: str, port: int, *, log_level: str, access_log: bool = False
) -> dict[str, object]:
    """``uvicorn.Config`` keyword arguments for a prediction server on ``host:port``.

    The ``http`` option is :data:`PREDICT_PROTOCOL` when httptools is installed, else
    uvicorn's h11 protocol (every request then goes through ASGI).
    """
    return {
        "host": host,
        "port": port,
        "loop": "uvloop" if _installed("uvloop") else "asyncio",
        "http": PREDICT_PROTOCOL if _installed("httptools") else "h11",
        "log_level": log_level,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
        "access_log": access_log,
    }
