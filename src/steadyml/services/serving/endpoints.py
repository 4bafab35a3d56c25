"""Every endpoint as a function of the request's bytes: ``(status, JSON body)`` out.

The raw ASGI fast path (:mod:`~steadyml.services.serving.app`) and the FastAPI surface
(:mod:`~steadyml.services.serving.api`) both call these, so the two can never answer
differently. No method raises: every :class:`~steadyml.errors.SteadyError` becomes its
status and the one JSON error body.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

import orjson

from steadyml.adapters.predlog import Ack
from steadyml.errors import DataError, NotFoundError, SteadyError
from steadyml.services.serving.batcher import Job
from steadyml.services.serving.feedback import parse_feedback
from steadyml.services.serving.oip import model_metadata, parse_infer, server_metadata
from steadyml.services.serving.payloads import decode_json, parse_predict
from steadyml.services.serving.responses import error_response
from steadyml.services.serving.security import check_token
from steadyml.services.serving.service import LogUnavailable, NotReady, PredictionService

__all__ = ["Endpoints", "Reply"]

Reply = tuple[int, bytes]
_ACK_TIMEOUT = 5.0


def _ok(body: object, status: int = 200) -> Reply:
    return status, orjson.dumps(body)


async def _after(ack: Ack, reply: Reply) -> Reply:
    """``reply`` once ``ack`` is durable (strict mode), or after the ack time-out."""
    await ack.wait_async(_ACK_TIMEOUT)
    return reply


class Endpoints:
    """The endpoints of one :class:`PredictionService`."""

    def __init__(self, service: PredictionService) -> None:
        self.service = service

    # -- predictions -----------------------------------------------------------------

    async def predict(
        self,
        body: bytes,
        *,
        request_id: str | None = None,
        event_time: str | None = None,
        start: float | None = None,
    ) -> Reply:
        """``POST /predict``."""
        reply = self.begin_predict(body, request_id=request_id, event_time=event_time, start=start)
        return reply if isinstance(reply, tuple) else await reply

    async def infer(
        self, name: str, body: bytes, *, event_time: str | None = None, start: float | None = None
    ) -> Reply:
        """``POST /v2/models/{name}/infer``."""
        reply = self._begin(
            body, protocol="oip", name=name, request_id=None, event_time=event_time, start=start
        )
        return reply if isinstance(reply, tuple) else await reply

    def begin_predict(
        self,
        body: bytes,
        *,
        request_id: str | None = None,
        event_time: str | None = None,
        start: float | None = None,
    ) -> Reply | Awaitable[Reply]:
        """``POST /predict`` without a coroutine: the reply, or an awaitable of it.

        A request refused on sight (bad JSON, no model) is answered at once; an accepted
        one returns its job's future, resolved on the event loop once its batch is
        scored. The HTTP protocol of ``steadyml serve`` calls this to answer without an
        ASGI task per request; :meth:`predict` awaits the same thing.
        """
        return self._begin(
            body,
            protocol="predict",
            name="",
            request_id=request_id,
            event_time=event_time,
            start=start,
        )

    def _begin(
        self,
        body: bytes,
        *,
        protocol: str,
        name: str,
        request_id: str | None,
        event_time: str | None,
        start: float | None,
    ) -> Reply | Awaitable[Reply]:
        service = self.service
        began = time.perf_counter() if start is None else start
        try:
            model = service.current_or_error()
        except NotReady as exc:
            return error_response(exc)
        reference = None
        try:
            if protocol == "oip" and name != service.spec.model_name:
                raise NotFoundError(
                    "model", name, f"this server serves {service.spec.model_name!r}"
                )
            data = decode_json(body)
            if protocol == "oip":
                payload, reference = parse_infer(data, model.contract, header_time=event_time)
            else:
                payload = parse_predict(
                    data, columns=model.columns, header_id=request_id, header_time=event_time
                )
        except SteadyError as exc:
            ack = service.refuse(body, exc, request_id)
            if ack is not None and service.strict:
                return _after(ack, error_response(exc))
            return error_response(exc)
        job = Job(
            payload.records,
            request_ids=payload.request_ids,
            event_us=payload.event_us,
            received_us=service.now_micros(),
            start=began,
            deadline=began + service.soft_deadline,
            future=asyncio.get_running_loop().create_future(),
            protocol=protocol,
            model_name=name,
            reference=reference,
        )
        service.submit(job)
        return job.future

    def refused(self, body: bytes, error: SteadyError, request_id: str | None) -> Reply:
        """Log and answer a prediction request refused before it was read (too large)."""
        self.service.refuse(body, error, request_id)
        return error_response(error)

    # -- health and metadata ---------------------------------------------------------

    def live(self) -> Reply:
        """``GET /health/live``: the process answers."""
        return _ok({"status": "live"})

    def ready(self) -> Reply:
        """``GET /health/ready``: 200 only with a model loaded and not shutting down."""
        service = self.service
        if not service.ready:
            reason = "shutting down" if service.draining else "no model is loaded yet"
            return error_response(NotReady("model", service.spec.model_name, reason))
        model = service.holder.current
        version = None if model is None else str(model.version)
        return _ok({"status": "ready", "model": service.spec.model_name, "model_version": version})

    def server(self) -> Reply:
        """``GET /v2``: Open Inference Protocol server metadata."""
        return _ok(server_metadata())

    def model(self, name: str) -> Reply:
        """``GET /v2/models/{name}``: versions, inputs and outputs."""
        service = self.service
        if name != service.spec.model_name:
            error = NotFoundError("model", name, f"this server serves {service.spec.model_name!r}")
            return error_response(error)
        try:
            model = service.current_or_error()
        except NotReady as exc:
            return error_response(exc)
        return _ok(model_metadata(name, model.version, model.contract))

    def model_ready(self, name: str) -> Reply:
        """``GET /v2/models/{name}/ready``."""
        if name != self.service.spec.model_name:
            served = self.service.spec.model_name
            return error_response(NotFoundError("model", name, f"this server serves {served!r}"))
        return self.ready()

    def metrics(self) -> bytes:
        """``GET /metrics``: the Prometheus exposition."""
        service = self.service
        service.metrics.circuit.set(service.breaker.state.gauge)
        service.metrics.fallback_mode.set(int(service.scorer.forced is not None))
        return service.metrics.render()

    # -- feedback --------------------------------------------------------------------

    async def feedback(self, body: bytes, authorization: str | None) -> Reply:
        """``POST /feedback``: labels and outcomes by request id (token when configured)."""
        service = self.service
        try:
            check_token(authorization, service.token)
            frame = parse_feedback(
                decode_json(body),
                default_name=service.spec.data.target,
                received_us=service.now_micros(),
            )
        except SteadyError as exc:
            service.metrics.reject(f"feedback_{exc.kind.replace(' ', '_')}")
            return error_response(exc)
        ack = service.sink.append_feedback(frame)
        durable = ack is not None and ack.accepted
        if durable and service.strict and ack is not None:
            durable = await ack.wait_async(_ACK_TIMEOUT)
        if not durable:
            service.metrics.error("log", frame.height)
            error = LogUnavailable(
                "feedback", frame.height, "the events could not be recorded; retry later"
            )
            return error_response(error)
        return _ok({"accepted": frame.height}, 202)

    # -- admin -----------------------------------------------------------------------

    def status(self, authorization: str | None) -> Reply:
        """``GET /admin/status``: model, breaker, fallback, log and batching state."""
        service = self.service
        try:
            check_token(authorization, service.token)
        except SteadyError as exc:
            return error_response(exc)
        stats = service.sink.stats()
        return _ok(
            {
                "service": service.spec.service,
                "worker": service.worker,
                "ready": service.ready,
                "model": service.holder.status(),
                "breaker": service.breaker.to_dict(),
                "fallback": {**service.fallback.describe(), "forced": service.scorer.forced},
                "durability": service.spec.deployment.durability,
                "log": {table: vars(item) for table, item in stats.items()},
                "queued_requests": service.batcher.queued,
            }
        )

    def fallback_mode(self, body: bytes, authorization: str | None) -> Reply:
        """``POST /admin/fallback``: ``{"enabled": true, "reason": "..."}`` forces the fallback."""
        service = self.service
        try:
            check_token(authorization, service.token)
            data = decode_json(body)
            enabled = data.get("enabled") if isinstance(data, dict) else None
            if not isinstance(enabled, bool):
                raise DataError(
                    "enabled", enabled, 'send {"enabled": true or false, "reason": ...}'
                )
            reason = data.get("reason", "") if isinstance(data, dict) else ""
            if not isinstance(reason, str):
                raise DataError("reason", reason, "give the reason as text")
        except SteadyError as exc:
            return error_response(exc)
        service.scorer.forced = (reason or "operator") if enabled else None
        return _ok({"fallback_mode": enabled, "reason": service.scorer.forced})

    async def reload(self, authorization: str | None) -> Reply:
        """``POST /admin/reload``: check the registry for a new champion now."""
        service = self.service
        try:
            check_token(authorization, service.token)
        except SteadyError as exc:
            return error_response(exc)
        changed = await asyncio.to_thread(service.holder.refresh)
        return _ok({"changed": changed, "model": service.holder.status()})
