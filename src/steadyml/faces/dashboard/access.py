"""Who may read and who may act: bearer token, session cookie, cross-site request forgery.

* Reading is open by default; with ``require_token`` a request needs the bearer token
  (``Authorization: Bearer ...``) or the session cookie set by ``/login``.
* Every action (acknowledge, resolve, rollback, promote) needs the token itself, either
  in the ``Authorization`` header (a header a foreign site cannot make a browser send)
  or typed into the action's form. A form must also carry the CSRF token that matches
  the ``steadyml_csrf`` cookie (double submit) and come from the dashboard's own origin.
* Without a configured token the dashboard is read-only: every action is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request

from steadyml.errors import DataError, SteadyError
from steadyml.faces.dashboard.config import DashboardConfig
from steadyml.services.serving.security import Unauthorized, check_token

__all__ = [
    "CSRF_COOKIE",
    "SESSION_COOKIE",
    "Forbidden",
    "check_action",
    "csrf_value",
    "may_read",
    "read_form",
    "session_value",
]

CSRF_COOKIE = "steadyml_csrf"
SESSION_COOKIE = "steadyml_session"
_FORM_LIMIT = 64 * 1024


class Forbidden(SteadyError):
    """An action was refused: forged (cross-site) or actions are disabled."""

    kind = "forbidden"
    http_status = 403


def session_value(token: str) -> str:
    """The session cookie's value for ``token`` (an HMAC, never the token itself)."""
    return hmac.new(
        token.encode("utf-8"), b"steadyml-dashboard-session", hashlib.sha256
    ).hexdigest()


def csrf_value(request: Request) -> str:
    """The request's CSRF token (from its cookie, or a new random one)."""
    found = request.cookies.get(CSRF_COOKIE, "")
    if len(found) == 43 and found.replace("-", "").replace("_", "").isalnum():
        return found
    return secrets.token_urlsafe(32)


def _bearer_ok(request: Request, token: str) -> bool:
    try:
        check_token(request.headers.get("authorization"), token)
    except Unauthorized:
        return False
    return "authorization" in request.headers


def may_read(request: Request, config: DashboardConfig) -> bool:
    """True when ``request`` may see pages."""
    if not config.require_token or not config.token:
        return True
    if _bearer_ok(request, config.token):
        return True
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return hmac.compare_digest(cookie.encode(), session_value(config.token).encode())


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as a dict (each field once).

    Raises
    ------
    DataError
        (400) When the body is too large, not form-encoded or repeats a field.
    """
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise DataError("Content-Type", kind or None, "post an HTML form (url-encoded)")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _FORM_LIMIT:
            raise DataError("body", f"> {_FORM_LIMIT} bytes", "send a smaller form")
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise DataError("body", None, "send the form as UTF-8") from None
    for name, values in parsed.items():
        if len(values) > 1:
            raise DataError(name, values, "give each form field once")
    return {name: values[0] for name, values in parsed.items()}


def _same_origin(request: Request) -> bool:
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return source is None
    parts = urlsplit(source)
    return parts.netloc == request.headers.get("host", request.url.netloc)


def check_action(request: Request, config: DashboardConfig, form: dict[str, str]) -> None:
    """Refuse an action that lacks the token or looks forged.

    Raises
    ------
    Forbidden
        (403) When actions are disabled (no token configured), or a form request comes
        from another origin or without the matching CSRF token.
    Unauthorized
        (401) When the token is missing or wrong.
    """
    if not config.token:
        raise Forbidden(
            "action",
            fix="this dashboard is read-only; set STEADYML_TOKEN to allow actions",
        )
    if _bearer_ok(request, config.token):
        return  # a header a foreign page cannot make the browser send
    if not _same_origin(request):
        raise Forbidden(
            "Origin",
            request.headers.get("origin") or request.headers.get("referer"),
            "act from the dashboard's own pages",
        )
    cookie = request.cookies.get(CSRF_COOKIE, "")
    given = form.get("csrf", "")
    if not cookie or not hmac.compare_digest(cookie.encode(), given.encode()):
        raise Forbidden("csrf", fix="reload the page and submit the form again")
    check_token("Bearer " + form.get("token", ""), config.token)
