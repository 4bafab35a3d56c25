"""Pages as HTML (the whole document) or JSON (the main fragment and figures, for polling)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

import steadyml
from steadyml.errors import SteadyError
from steadyml.faces.dashboard.access import CSRF_COOKIE, csrf_value
from steadyml.faces.dashboard.context import Dashboard, Page

__all__ = ["error_page", "fmt_number", "fmt_rate", "fmt_time", "render"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("steadyml.faces.dashboard", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def fmt_time(moment: datetime | None) -> str:
    """``2016-03-01 02:14`` (UTC), or a dash."""
    return "–" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def fmt_rate(value: float | None) -> str:
    """A share as a percentage."""
    return "–" if value is None else f"{value * 100:.2f} %"


def fmt_number(value: float | None, digits: int = 3) -> str:
    """A number with a few significant digits."""
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.{digits}g}"


_ENV.filters.update(time=fmt_time, rate=fmt_rate, number=fmt_number)
_ENV.filters["json"] = lambda value: json.dumps(value, indent=2, default=str, sort_keys=True)


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def render(dash: Dashboard, request: Request, page: Page, *, as_json: bool = False) -> Response:
    """The page as a full HTML document, or as JSON ``{html, figures}`` for live refresh."""
    root = _root(request)
    csrf = csrf_value(request)
    path = request.url.path[len(root) :] if request.url.path.startswith(root) else request.url.path
    path = path.removeprefix("/api")
    query = ("?" + request.url.query) if request.url.query else ""
    context = {
        **page.context,
        "title": page.title,
        "root": root,
        "csrf": csrf,
        "config": dash.config,
        "version": steadyml.__version__,
        "api_url": f"{root}/api{path or '/'}{query}",
        "figures_json": json.dumps(page.figures, allow_nan=False, default=str).replace(
            "</", "<\\/"
        ),
    }
    template = _ENV.get_template(page.template)
    if as_json:
        html = "".join(template.blocks["content"](template.new_context(context)))
        body = {"html": html, "figures": page.figures, "title": page.title}
        response: Response = JSONResponse(body, status_code=page.status)
        response.headers["Cache-Control"] = "no-store"
        return response
    response = HTMLResponse(template.render(context), status_code=page.status)
    if request.cookies.get(CSRF_COOKIE) != csrf:
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path=root or "/")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def error_page(
    dash: Dashboard, request: Request, error: SteadyError, *, as_json: bool = False
) -> Response:
    """The error page (or JSON error body) for a :class:`SteadyError`."""
    status = error.http_status
    if as_json:
        return JSONResponse(error.to_dict(), status_code=status)
    page = Page(
        "error.html.j2",
        f"{status} {error.kind}",
        {"error": error, "status": status, "body": error.to_dict()},
        status=status,
    )
    return render(dash, request, page)


def context_json(value: Any) -> str:
    """``value`` as indented JSON text (for evidence and reports)."""
    return json.dumps(value, indent=2, default=str, sort_keys=True)
