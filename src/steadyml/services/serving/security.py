"""Security basics: a request body size limit and a bearer token for sensitive endpoints.

* Every request body is read with a limit (``deployment.max_body_bytes``): a declared
  ``Content-Length`` above it is refused before reading, a chunked body as soon as it
  passes it (HTTP 413).
* ``/feedback`` and the ``/admin/*`` endpoints require ``Authorization: Bearer <token>``
  when a token is configured (``STEADYML_TOKEN``, resolved into
  :attr:`steadyml.settings.Settings.token`); the comparison takes constant time.
* Models are loaded only from the registry or the local last-good cache
  (:mod:`~steadyml.services.serving.holder`); no endpoint accepts a model or a path.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from steadyml.errors import DataError, SteadyError

__all__ = ["BodyTooLarge", "Unauthorized", "check_token", "header", "read_body"]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]


class BodyTooLarge(DataError):
    """The request body is larger than ``deployment.max_body_bytes``."""

    kind = "body too large"
    http_status = 413


class Unauthorized(SteadyError):
    """A protected endpoint was called without the configured bearer token."""

    kind = "unauthorized"
    http_status = 401


def header(scope: MutableMapping[str, Any], name: bytes) -> str | None:
    """The first value of header ``name`` (lower-case bytes), decoded as Latin-1."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _too_large(limit: int, size: int | str) -> BodyTooLarge:
    return BodyTooLarge(
        "body",
        f"{size} bytes",
        f"send at most {limit} bytes per request (deployment.max_body_bytes); split the batch",
    )


async def read_body(scope: MutableMapping[str, Any], receive: Receive, limit: int) -> bytes:
    """Read an ASGI request body of at most ``limit`` bytes.

    Raises
    ------
    BodyTooLarge
        (HTTP 413) When the declared or actual size passes ``limit``.
    DataError
        When the client disconnects or declares an invalid ``Content-Length``.
    """
    declared = header(scope, b"content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise DataError("Content-Length", declared, "send a valid byte count") from None
        if size > limit:
            raise _too_large(limit, size)
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body", False):
        if message["type"] == "http.disconnect":
            raise DataError("body", None, "the client disconnected before sending the body")
        if len(body) > limit:
            raise _too_large(limit, len(body))
        return bytes(body)
    chunks = [body]
    total = len(body)
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise DataError("body", None, "the client disconnected before sending the body")
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit:
            raise _too_large(limit, f"more than {limit}")
        chunks.append(chunk)
    return b"".join(chunks)


def check_token(authorization: str | None, token: str | None) -> None:
    """Check an ``Authorization`` header against the configured token (if any).

    Raises
    ------
    Unauthorized
        (HTTP 401) When a token is configured and the header does not carry it.
    """
    if not token:
        return
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode("utf-8"), token.encode("utf-8")
    ):
        raise Unauthorized(
            "Authorization",
            fix="send the header 'Authorization: Bearer <token>' with the configured "
            "STEADYML_TOKEN",
        )
