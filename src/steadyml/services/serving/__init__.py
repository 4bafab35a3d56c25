"""The hardened prediction service: guarded outputs, fallback, hot reload, a durable log.

:func:`create_app` turns a service spec into an ASGI app (``steadyml serve`` runs it on
uvicorn). Requests are validated with the model's contract, micro-batched, scored off the
event loop, guarded (NaN, infinity, out of range, wrong shape, exceptions, timeouts →
the fallback), answered with the request id, model version and fallback flag, and
logged, every one, to the crash-safe prediction log. ``docs/serving.md`` describes the
endpoints, the response and error shapes, and the metrics.
"""

from steadyml.services.serving.app import ServingApp, create_app
from steadyml.services.serving.breaker import BreakerState, CircuitBreaker
from steadyml.services.serving.fallback import Fallback, output_range
from steadyml.services.serving.holder import LoadedModel, ModelHolder, read_pointer
from steadyml.services.serving.service import (
    LogUnavailable,
    NotReady,
    PredictionService,
    default_worker_id,
)

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "Fallback",
    "LoadedModel",
    "LogUnavailable",
    "ModelHolder",
    "NotReady",
    "PredictionService",
    "ServingApp",
    "create_app",
    "default_worker_id",
    "output_range",
    "read_pointer",
]
