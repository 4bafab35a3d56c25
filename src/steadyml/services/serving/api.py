"""The FastAPI surface: OpenAPI (``/docs``), and every endpoint for clients that use it.

The hot endpoints are served by the raw ASGI router in front of this app; the routes
here call the same :class:`~steadyml.services.serving.endpoints.Endpoints`, so the two
paths answer alike. The OpenAPI document is built on demand and carries the request
schema generated from the served model's contract (a record, a list of records, or an
envelope); it is rebuilt after a hot reload. Every HTTP error — unknown route, wrong
method, anything unexpected — answers with the one JSON error body.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from starlette.exceptions import HTTPException

import steadyml
from steadyml.errors import DataError, NotFoundError, SteadyError
from steadyml.services.serving.endpoints import Endpoints, Reply
from steadyml.services.serving.metrics import CONTENT_TYPE
from steadyml.services.serving.security import read_body

__all__ = ["build_api"]

_JSON = "application/json"


def _reply(reply: Reply, headers: dict[str, str] | None = None) -> Response:
    status, body = reply
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return Response(body, status_code=status, media_type=_JSON, headers=headers)


def _error(error: SteadyError) -> Response:
    return _reply((error.http_status, orjson.dumps(error.to_dict())))


def _body(schema_ref: str, description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {_JSON: {"schema": {"$ref": schema_ref}}},
        }
    }


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {
        "description": text,
        "content": {_JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for code, text in (
        (400, "Malformed request (JSON, shape, ids, event times)"),
        (401, "Missing or wrong bearer token"),
        (413, "Body larger than deployment.max_body_bytes"),
        (422, "Every record breaks the contract"),
        (503, "No model loaded, shutting down, or (strict) the log is unavailable"),
    )
}


def _schemas(endpoints: Endpoints) -> dict[str, Any]:
    model = endpoints.service.holder.current
    record = (
        model.contract.json_schema()
        if model is not None
        else {"type": "object", "description": "no model is loaded yet"}
    )
    record = {key: value for key, value in record.items() if key != "$schema"}
    ref = {"$ref": "#/components/schemas/Record"}
    either = {"oneOf": [ref, {"type": "array", "items": ref}]}
    text_or_list = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    time_or_list = {
        "oneOf": [
            {"type": "string", "format": "date-time"},
            {"type": "number"},
            {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "number"}]}},
        ]
    }
    return {
        "Record": record,
        "PredictRequest": {
            "oneOf": [
                ref,
                {"type": "array", "items": ref, "minItems": 1},
                {
                    "type": "object",
                    "required": ["records"],
                    "properties": {
                        "records": either,
                        "request_id": text_or_list,
                        "event_time": time_or_list,
                    },
                    "additionalProperties": False,
                },
            ]
        },
        "Error": {
            "type": "object",
            "required": ["error", "field", "message", "fix"],
            "properties": {
                "error": {"type": "string"},
                "field": {"type": "string"},
                "message": {"type": "string"},
                "fix": {"type": "string"},
                "value": {},
                "details": {"type": "object"},
            },
        },
    }


def build_api(endpoints: Endpoints) -> FastAPI:
    """The FastAPI app of a service's endpoints."""
    service = endpoints.service
    api = FastAPI(
        title=f"steadyml: {service.spec.service}",
        description=service.spec.description or "A steadyml prediction service.",
        version=steadyml.__version__,
    )
    limit = service.max_body_bytes

    async def body_of(request: Request) -> bytes:
        return await read_body(request.scope, request.receive, limit)

    @api.post(
        "/predict",
        openapi_extra=_body(
            "#/components/schemas/PredictRequest", "A record, a list or an envelope"
        ),
        responses=_ERRORS,
        summary="Predict one record or a list",
    )
    async def predict(request: Request) -> Response:
        try:
            body = await body_of(request)
        except SteadyError as exc:
            return _reply(endpoints.refused(b"", exc, request.headers.get("x-request-id")))
        reply = await endpoints.predict(
            body,
            request_id=request.headers.get("x-request-id"),
            event_time=request.headers.get("x-event-time"),
        )
        return _reply(reply)

    @api.post("/v2/models/{name}/infer", responses=_ERRORS, summary="Open Inference Protocol")
    async def infer(name: str, request: Request) -> Response:
        try:
            body = await body_of(request)
        except SteadyError as exc:
            return _error(exc)
        return _reply(
            await endpoints.infer(name, body, event_time=request.headers.get("x-event-time"))
        )

    @api.post("/feedback", responses=_ERRORS, status_code=202, summary="Labels and outcomes")
    async def feedback(request: Request) -> Response:
        try:
            body = await body_of(request)
        except SteadyError as exc:
            return _error(exc)
        return _reply(await endpoints.feedback(body, request.headers.get("authorization")))

    @api.get("/health/live", summary="Liveness")
    async def live() -> Response:
        return _reply(endpoints.live())

    @api.get("/health/ready", summary="Readiness: a model is loaded")
    async def ready() -> Response:
        return _reply(endpoints.ready())

    @api.get("/v2", summary="Open Inference Protocol: server metadata")
    async def server() -> Response:
        return _reply(endpoints.server())

    @api.get("/v2/health/live", summary="Open Inference Protocol: liveness")
    async def v2_live() -> Response:
        return _reply(endpoints.live())

    @api.get("/v2/health/ready", summary="Open Inference Protocol: readiness")
    async def v2_ready() -> Response:
        return _reply(endpoints.ready())

    @api.get("/v2/models/{name}", summary="Open Inference Protocol: model metadata")
    async def model(name: str) -> Response:
        return _reply(endpoints.model(name))

    @api.get("/v2/models/{name}/ready", summary="Open Inference Protocol: model readiness")
    async def model_ready(name: str) -> Response:
        return _reply(endpoints.model_ready(name))

    @api.get("/metrics", summary="Prometheus metrics")
    async def metrics() -> Response:
        return Response(endpoints.metrics(), media_type=CONTENT_TYPE)

    @api.get("/admin/status", responses=_ERRORS, summary="Model, breaker, fallback, log state")
    async def status(request: Request) -> Response:
        return _reply(endpoints.status(request.headers.get("authorization")))

    @api.post("/admin/fallback", responses=_ERRORS, summary="Force (or stop forcing) the fallback")
    async def fallback_mode(request: Request) -> Response:
        try:
            body = await body_of(request)
        except SteadyError as exc:
            return _error(exc)
        return _reply(endpoints.fallback_mode(body, request.headers.get("authorization")))

    @api.post("/admin/reload", responses=_ERRORS, summary="Check the registry for a new champion")
    async def reload(request: Request) -> Response:
        return _reply(await endpoints.reload(request.headers.get("authorization")))

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            return _error(NotFoundError("path", request.url.path, "see /docs for the endpoints"))
        error = DataError(
            "method" if exc.status_code == 405 else "request",
            request.method if exc.status_code == 405 else request.url.path,
            str(exc.detail),
        )
        return _reply((exc.status_code, orjson.dumps(error.to_dict())))

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return _error(DataError("request", str(request.url.path), str(exc.errors()[:3])))

    @api.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        error = SteadyError("request", fix=f"internal error ({type(exc).__name__}); report it")
        return _error(error)

    def openapi() -> dict[str, Any]:
        model = service.holder.current
        key = None if model is None else model.version
        cached = api.openapi_schema
        if cached is not None and cached.get("x-steadyml-model-version") == key:
            return cached
        document = get_openapi(
            title=api.title, version=api.version, description=api.description, routes=api.routes
        )
        document.setdefault("components", {}).setdefault("schemas", {}).update(_schemas(endpoints))
        document["x-steadyml-model-version"] = key
        api.openapi_schema = document
        return document

    api.openapi = openapi  # type: ignore[method-assign]
    return api
