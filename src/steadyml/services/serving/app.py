"""The serving ASGI app: a lean router for the hot paths in front of FastAPI.

``POST /predict``, ``POST /v2/models/{name}/infer``, ``POST /feedback`` and the health
checks are answered by :class:`ServingApp` directly (raw ASGI, orjson), because a
framework's routing, dependency injection and response classes cost more per request
than the prediction itself. Everything else (``/docs``, ``/openapi.json``, ``/metrics``,
``/admin/*``, unknown paths) goes to the FastAPI app, which also serves the hot
endpoints for anyone who calls it directly. Under ``steadyml serve`` a plain ``POST
/predict`` does not even reach ASGI: the server's HTTP protocol
(:mod:`~steadyml.services.serving.http_protocol`) hands its body to
:meth:`ServingApp.begin_predict` and writes the same reply itself. The app handles the
ASGI lifespan itself: start-up loads the model and the log, shutdown drains in-flight
requests and seals the log (uvicorn sends it after SIGTERM, once it stopped accepting
connections).
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from steadyml.core.clock import Clock, ManualClock
from steadyml.errors import ConfigError, SteadyError
from steadyml.services.serving.api import build_api
from steadyml.services.serving.endpoints import Endpoints, Reply
from steadyml.services.serving.responses import error_response
from steadyml.services.serving.security import header, read_body
from steadyml.services.serving.service import PredictionService
from steadyml.spec import ServiceSpec

if TYPE_CHECKING:  # the workspace module imports the metadata store (slow to import)
    from steadyml.services.workspace import Workspace

__all__ = ["ServingApp", "create_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON_HEADERS = [(b"content-type", b"application/json")]
_BEARER = [(b"www-authenticate", b"Bearer")]
_V2_MODELS = "/v2/models/"


async def _send(send: Send, reply: Reply) -> None:
    status, body = reply
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode("ascii"))]
    if status == 401:
        headers += _BEARER
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ServingApp:
    """The ASGI application of one prediction service.

    Attributes
    ----------
    service
        The runtime (model holder, batcher, log, metrics).
    endpoints
        The endpoint functions both routers call.
    api
        The FastAPI app (OpenAPI at ``/docs``).
    """

    def __init__(
        self, service: PredictionService, *, simulated_clock: ManualClock | None = None
    ) -> None:
        self.service = service
        # simulation mode only: ``X-Simulated-Time`` moves this (the service's) clock
        self.simulated_clock = simulated_clock
        self.endpoints = Endpoints(service)
        self.api: FastAPI = build_api(self.endpoints)
        endpoints = self.endpoints
        self._gets: dict[str, Callable[[], Reply]] = {
            "/health/live": endpoints.live,
            "/health/ready": endpoints.ready,
            "/v2/health/live": endpoints.live,
            "/v2/health/ready": endpoints.ready,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if self.simulated_clock is not None:
                _advance(self.simulated_clock, header(scope, b"x-simulated-time"))
            method = scope["method"]
            path = scope["path"]
            if method == "POST":
                if path == "/predict":
                    await self._predict(scope, receive, send)
                    return
                if path.startswith(_V2_MODELS) and path.endswith("/infer"):
                    name = path[len(_V2_MODELS) : -len("/infer")]
                    if name and "/" not in name:
                        await self._infer(name, scope, receive, send)
                        return
                if path == "/feedback":
                    await self._feedback(scope, receive, send)
                    return
            elif method == "GET":
                handler = self._gets.get(path)
                if handler is not None:
                    await _send(send, handler())
                    return
            await self.api(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:
            await self.api(scope, receive, send)

    async def _predict(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        request_id = header(scope, b"x-request-id")
        try:
            body = await read_body(scope, receive, self.service.max_body_bytes)
        except SteadyError as exc:
            reply = self.endpoints.refused(b"", exc, request_id)
        else:
            reply = await self.endpoints.predict(
                body,
                request_id=request_id,
                event_time=header(scope, b"x-event-time"),
                start=start,
            )
        await _send(send, reply)
        self.service.metrics.observe_request("predict", reply[0], time.perf_counter() - start)

    def begin_predict(
        self,
        body: bytes,
        *,
        request_id: str | None,
        event_time: str | None,
        simulated_time: str | None,
        start: float,
    ) -> Reply | Awaitable[Reply]:
        """``POST /predict`` for an HTTP protocol that reads the request itself.

        The same answer as the ASGI route (the reply, or an awaitable of it), for
        :class:`~steadyml.services.serving.http_protocol.PredictProtocol`; the caller
        writes the response and counts it with :meth:`answered`.
        """
        if self.simulated_clock is not None:
            _advance(self.simulated_clock, simulated_time)
        return self.endpoints.begin_predict(
            body, request_id=request_id, event_time=event_time, start=start
        )

    def answered(self, status: int, start: float) -> None:
        """Count one ``/predict`` response sent outside ASGI, with its latency."""
        self.service.metrics.observe_request("predict", status, time.perf_counter() - start)

    async def _infer(self, name: str, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        try:
            body = await read_body(scope, receive, self.service.max_body_bytes)
        except SteadyError as exc:
            reply = error_response(exc)
        else:
            reply = await self.endpoints.infer(
                name, body, event_time=header(scope, b"x-event-time"), start=start
            )
        await _send(send, reply)
        self.service.metrics.observe_request("infer", reply[0], time.perf_counter() - start)

    async def _feedback(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        try:
            body = await read_body(scope, receive, self.service.max_body_bytes)
        except SteadyError as exc:
            reply = error_response(exc)
        else:
            reply = await self.endpoints.feedback(body, header(scope, b"authorization"))
        await _send(send, reply)
        self.service.metrics.observe_request("feedback", reply[0], time.perf_counter() - start)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    text = exc.one_line() if isinstance(exc, SteadyError) else repr(exc)
                    await send({"type": "lifespan.startup.failed", "message": text})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.shutdown()
                except Exception as exc:
                    await send({"type": "lifespan.shutdown.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Recover the log, load the model and start the background tasks.

        Then everything allocated so far (libraries, the model) is moved out of the
        garbage collector's reach (:func:`gc.freeze`): a full collection would otherwise
        walk those millions of objects and stall every request for 100 ms or more.
        """
        await self.service.start()
        gc.collect()
        gc.freeze()

    async def shutdown(self) -> None:
        """Drain in-flight requests, flush and seal the log, stop the threads."""
        await self.service.stop()


def create_app(
    spec: ServiceSpec,
    *,
    workspace: Workspace | None = None,
    clock: Clock | None = None,
    worker_id: str | None = None,
    simulation: bool = False,
) -> ServingApp:
    """Build the prediction service of ``spec`` as an ASGI app.

    Parameters
    ----------
    spec
        The service spec (its ``deployment`` section configures the server).
    workspace
        Settings, registry and model cache; opened from ``spec`` (and the environment)
        when None.
    clock
        The event-time clock; the system clock when None.
    worker_id
        The id this process writes the prediction log under; ``<hostname>-<pid>`` when
        None. Two live processes must not share one.
    simulation
        Simulation mode: ``clock`` must be a :class:`ManualClock`, and every request's
        ``X-Simulated-Time`` header (epoch seconds) moves it forward, so that the
        server's received times, log rotation and cooldowns follow the replayed event
        time. Never honoured otherwise.

    Returns
    -------
    ServingApp
        An ASGI app. The model is loaded at ASGI lifespan start-up (or by
        :meth:`ServingApp.startup` when the server does not send lifespan events).

    Raises
    ------
    PluginError
        When the fallback rule cannot be loaded.
    ConfigError
        In simulation mode without a manual clock.

    Examples
    --------
    >>> # app = create_app(load_spec("steadyml.yaml")); uvicorn.run(app)
    """
    if simulation and not isinstance(clock, ManualClock):
        raise ConfigError("clock", clock, "simulation mode needs a ManualClock")
    service = PredictionService(spec, workspace=workspace, clock=clock, worker_id=worker_id)
    return ServingApp(service, simulated_clock=clock if simulation else None)  # type: ignore[arg-type]


def _advance(clock: ManualClock, value: str | None) -> None:
    """Move the clock to an ``X-Simulated-Time`` (epoch seconds); ignore bad values."""
    if value is None:
        return
    try:
        seconds = float(value)
    except ValueError:
        return
    if math.isfinite(seconds) and 0 <= seconds < 253_402_300_800:
        clock.set(datetime.fromtimestamp(seconds, UTC))
