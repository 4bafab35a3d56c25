"""The HTTP protocol of ``steadyml serve``: uvicorn's, answering ``POST /predict`` itself.

uvicorn turns every request into an ASGI task: a scope, a task, ``receive`` and ``send``
coroutines, and a socket write for the status line and another for the body. On the
prediction path that costs more than the rest of the request, so
:class:`PredictProtocol` (uvicorn's httptools protocol, subclassed) reads a plain
``POST /predict`` with its body itself, hands it to
:meth:`~steadyml.services.serving.app.ServingApp.begin_predict`, and writes the answer
in one write from the job's done-callback: no task, no coroutine. The reply is the one
the ASGI route gives, from the same endpoint function.

Anything else goes through uvicorn untouched: other paths and methods, a query string,
a chunked or oversized body (the ASGI route refuses it with its 413), ``Expect:
100-continue``, an upgrade, a ``root_path``, a concurrency limit, and a request
pipelined behind one still in flight. Keep-alive, the keep-alive timeout, pipelining
and graceful shutdown work as in uvicorn: an in-flight prediction is a cycle that
uvicorn's shutdown waits for, and its connection closes after the answer. With the
access log on, its line names the client as uvicorn's would: the ``X-Forwarded-For``
address when the peer is a trusted proxy (``--forwarded-allow-ips``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from uvicorn.config import Config
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from steadyml.errors import SteadyError
from steadyml.services.serving.app import ServingApp
from steadyml.services.serving.endpoints import Reply

__all__ = ["PredictProtocol", "find_serving_app"]

_PATH = b"/predict"
_TYPE = b"content-type: application/json\r\ncontent-length: "
_CLOSE = b"connection: close\r\n"


def find_serving_app(app: object) -> ServingApp | None:
    """The :class:`ServingApp` inside ``app`` (through middleware and mounts), or None.

    Follows ``app`` attributes (ASGI middleware) and ``default`` (the prefix router).
    """
    for layer in _layers(app):
        if isinstance(layer, ServingApp):
            return layer
    return None


def _layers(app: object) -> list[object]:
    """``app`` and what it wraps, outermost first (16 layers at most)."""
    found = [app]
    for _ in range(16):
        inner = getattr(app, "app", None) or getattr(app, "default", None)
        if inner is None:
            break
        found.append(inner)
        app = inner
    return found


def _proxy_trust(app: object) -> Any:
    """The trusted-proxy set of uvicorn's proxy-headers middleware around ``app``, or None."""
    for layer in _layers(app):
        if isinstance(layer, ProxyHeadersMiddleware):
            trusted = getattr(layer, "trusted_hosts", None)
            if hasattr(trusted, "get_trusted_client_address"):
                return trusted
    return None


class _NoEvent:
    """Stands in for the ASGI cycle's message event, which uvicorn sets on disconnect."""

    def set(self) -> None:
        """Nothing waits on it."""


_NO_EVENT = _NoEvent()


class PredictionCycle:
    """One ``POST /predict`` read by :class:`PredictProtocol`: uvicorn's cycle fields.

    uvicorn's connection code reads ``response_complete``, ``disconnected`` and
    ``keep_alive`` of the current cycle (pipelining, disconnect, graceful shutdown).
    """

    __slots__ = (
        "chunks",
        "disconnected",
        "event_time",
        "forwarded_for",
        "http_version",
        "keep_alive",
        "message_event",
        "request_id",
        "response_complete",
        "simulated_time",
        "start",
    )

    def __init__(
        self,
        *,
        keep_alive: bool,
        http_version: str,
        request_id: str | None,
        event_time: str | None,
        simulated_time: str | None,
        start: float,
        forwarded_for: list[bytes],
    ) -> None:
        self.keep_alive = keep_alive
        self.http_version = http_version
        self.request_id = request_id
        self.event_time = event_time
        self.simulated_time = simulated_time
        self.start = start
        self.chunks: list[bytes] = []
        self.forwarded_for = forwarded_for
        self.response_complete = False
        self.disconnected = False
        self.message_event = _NO_EVENT


class PredictProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with ``POST /predict`` answered without ASGI.

    Pass it as uvicorn's ``http`` (``steadyml serve`` does when httptools is installed).
    When the app holds no :class:`ServingApp`, it is uvicorn's protocol unchanged.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.serving = find_serving_app(self.app)
        self._limit = 0 if self.serving is None else self.serving.service.max_body_bytes
        self._direct = self.serving is not None and not self.root_path
        self._direct = self._direct and self.limit_concurrency is None
        self._headers_of: list[tuple[bytes, bytes]] | None = None
        self._head = b""
        self._proxies = _proxy_trust(self.app) if self.access_log else None

    # -- reading ---------------------------------------------------------------------

    def on_headers_complete(self) -> None:
        """Take a plain ``POST /predict``; leave every other request to uvicorn."""
        cycle = self._prediction_cycle() if self._direct else None
        if cycle is None:
            super().on_headers_complete()
            return
        self.cycle = cycle  # type: ignore[assignment]

    def _prediction_cycle(self) -> PredictionCycle | None:
        if self.url != _PATH or self.expect_100_continue:
            return None
        current = self.cycle
        if current is not None and not current.response_complete:
            return None  # pipelined behind a request in flight: uvicorn queues it
        parser = self.parser
        if parser.get_method() != b"POST" or parser.should_upgrade():
            return None
        length = request_id = event_time = simulated_time = None
        forwarded_for: list[bytes] = []
        for name, value in self.headers:  # the first of a repeated header, as the ASGI route
            if name == b"content-length":
                length = value
            elif name == b"x-request-id" and request_id is None:
                request_id = value.decode("latin-1")
            elif name == b"x-event-time" and event_time is None:
                event_time = value.decode("latin-1")
            elif name == b"x-simulated-time" and simulated_time is None:
                simulated_time = value.decode("latin-1")
            elif name == b"transfer-encoding":
                return None
            elif name == b"x-forwarded-for":
                forwarded_for.append(value)
        if length is None or not length.isdigit() or int(length) > self._limit:
            return None  # the ASGI route answers these with its error body
        version = parser.get_http_version()
        return PredictionCycle(
            keep_alive=version != "1.0" and parser.should_keep_alive(),
            http_version=version,
            request_id=request_id,
            event_time=event_time,
            simulated_time=simulated_time,
            start=time.perf_counter(),
            forwarded_for=forwarded_for,
        )

    def on_body(self, body: bytes) -> None:
        """Collect a prediction's body; uvicorn's for every other request."""
        cycle = self.cycle
        if isinstance(cycle, PredictionCycle):
            cycle.chunks.append(body)
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        """Start the prediction once its body is in; uvicorn's for every other request."""
        cycle = self.cycle
        if not isinstance(cycle, PredictionCycle):
            super().on_message_complete()
            return
        serving = self.serving
        assert serving is not None  # a prediction cycle exists only with a serving app
        chunks = cycle.chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        cycle.chunks = []
        try:
            reply = serving.begin_predict(
                body,
                request_id=cycle.request_id,
                event_time=cycle.event_time,
                simulated_time=cycle.simulated_time,
                start=cycle.start,
            )
        except Exception as exc:  # answered like the ASGI route's 500
            self.logger.exception("prediction failed", exc_info=exc)
            reply = _internal_error()
        if isinstance(reply, tuple):
            self._respond(cycle, reply)
            return
        pending = asyncio.ensure_future(reply)
        if not isinstance(reply, asyncio.Future):  # a coroutine: a task to wait for
            self.tasks.add(pending)
            pending.add_done_callback(self.tasks.discard)
        pending.add_done_callback(lambda done: self._settled(cycle, done))

    # -- answering -------------------------------------------------------------------

    def _settled(self, cycle: PredictionCycle, done: asyncio.Future[Reply]) -> None:
        if done.cancelled():
            reply = _internal_error()
        else:
            error = done.exception()
            if error is not None:
                self.logger.error("prediction failed", exc_info=error)
                reply = _internal_error()
            else:
                reply = done.result()
        self._respond(cycle, reply)

    def _respond(self, cycle: PredictionCycle, reply: Reply) -> None:
        status, body = reply
        serving = self.serving
        assert serving is not None
        cycle.response_complete = True
        serving.answered(status, cycle.start)
        if self.access_log:  # uvicorn's access-log line, as its ASGI cycle writes it
            self.access_logger.info(
                '%s - "%s %s HTTP/%s" %d',
                self._client_text(cycle),
                "POST",
                "/predict",
                cycle.http_version,
                status,
            )
        if cycle.disconnected or self.transport.is_closing():
            return
        head = self._default_head()
        length = str(len(body)).encode("ascii")
        close = b"" if cycle.keep_alive else _CLOSE
        self.transport.write(
            b"".join((STATUS_LINE[status], head, _TYPE, length, b"\r\n", close, b"\r\n", body))
        )
        if not cycle.keep_alive:
            self.transport.close()
        self.on_response_complete()

    def _client_text(self, cycle: PredictionCycle) -> str:
        """``host:port`` of the client, through a trusted proxy as uvicorn's middleware does."""
        client = self.client
        proxies = self._proxies
        if cycle.forwarded_for and proxies is not None and client and client[0] in proxies:
            chain = b", ".join(cycle.forwarded_for).decode("latin-1")
            host, port = proxies.get_trusted_client_address(chain)
            if host:
                client = (host, port)
        return "%s:%d" % client if client else ""  # noqa: UP031 - uvicorn's format

    def _default_head(self) -> bytes:
        """uvicorn's default headers (the date, refreshed each second), as bytes."""
        headers = self.server_state.default_headers
        if headers is not self._headers_of:
            self._headers_of = headers
            self._head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        return self._head


def _internal_error() -> Reply:
    error = SteadyError("request", fix="the server failed on this request; retry (and report it)")
    return 500, orjson.dumps(error.to_dict())
