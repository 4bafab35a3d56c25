"""The dashboard as one ASGI app: routes, access control, errors as pages, live JSON.

Every page exists twice: ``/path`` renders the whole HTML document, ``/api/path`` the
same data as JSON (the main fragment and the Plotly figures), which the page polls to
refresh itself without a reload. Unknown services, features, versions and incidents are
404 pages, malformed query parameters 400 pages; a client mistake is never a 500.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from steadyml.adapters.store import Store
from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.core.clock import Clock, SystemClock
from steadyml.errors import DataError, NotFoundError, SteadyError
from steadyml.faces.dashboard.access import (
    SESSION_COOKIE,
    check_action,
    may_read,
    read_form,
    session_value,
)
from steadyml.faces.dashboard.config import DashboardConfig
from steadyml.faces.dashboard.context import Dashboard, Page
from steadyml.faces.dashboard.rendering import error_page, render
from steadyml.faces.dashboard.views import feature, incidents, models, overview, reports, service
from steadyml.services.monitoring.references import ReferenceProvider
from steadyml.services.serving.security import Unauthorized
from steadyml.services.workspace import Workspace

__all__ = ["create_dashboard"]

log = logging.getLogger(__name__)

View = Callable[..., Page]


class InternalError(SteadyError):
    """A bug in the dashboard (logged with its traceback)."""

    kind = "internal error"
    http_status = 500


class MethodNotAllowed(SteadyError):
    """A page was posted to, or an action read with GET."""

    kind = "method not allowed"
    http_status = 405


def _plotly_js() -> Path:
    return Path(str(files("plotly").joinpath("package_data/plotly.min.js")))


def _is_api(request: Request) -> bool:
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return request.url.path.startswith(f"{root}/api/") or request.url.path == f"{root}/api"


def _page_route(dash: Dashboard, path: str, view: View, *, api: bool) -> Route:
    async def endpoint(request: Request) -> Response:
        if not may_read(request, dash.config):
            raise Unauthorized("Authorization", fix="sign in on /login with the STEADYML_TOKEN")
        page = await run_in_threadpool(view, dash, request, **request.path_params)
        return render(dash, request, page, as_json=api)

    return Route(("/api" + path) if api else path, endpoint, methods=["GET"])


def _action_route(
    dash: Dashboard, path: str, act: Callable[..., Awaitable[Response]], action: str
) -> Route:
    async def endpoint(request: Request) -> Response:
        return await act(dash, request, *request.path_params.values(), action)

    return Route(path, endpoint, methods=["POST"])


def _login_routes(dash: Dashboard) -> list[BaseRoute]:
    async def show(request: Request) -> Response:
        page = Page("login.html.j2", "Sign in", {"next": request.query_params.get("next", "/")})
        return render(dash, request, page)

    async def submit(request: Request) -> Response:
        form = await read_form(request)
        check_action(request, dash.config, form)
        token = dash.config.token or ""  # check_action refused if none is configured
        root = str(request.scope.get("root_path", "")).rstrip("/")
        response = RedirectResponse(f"{root}/", status_code=303)
        response.set_cookie(
            SESSION_COOKIE, session_value(token), httponly=True,
            samesite="strict", path=root or "/",
        )  # fmt: skip
        return response

    return [Route("/login", show, methods=["GET"]), Route("/login", submit, methods=["POST"])]


@asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    """Once the dashboard runs on its own: the loaded libraries out of the collector's reach.

    As in ``steadyml serve``: a full garbage collection would otherwise walk the few
    hundred thousand objects of the imported libraries and stall a page render for
    150 ms or more, every few renders. They are handed back at shutdown.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def create_dashboard(
    store: Store,
    *,
    config: DashboardConfig | None = None,
    workspace: Workspace | None = None,
    references: ReferenceProvider | None = None,
    clock: Clock | None = None,
) -> Starlette:
    """The dashboard as an ASGI app (mountable, e.g. at ``/ui`` inside the server).

    Parameters
    ----------
    store
        The open metadata store the pages read (and actions write).
    config
        Access and refresh settings (default: read-only, no token).
    workspace
        Registry access for one service: versions, model cards, lineage, rollback,
        promote.
    references
        Reference profiles by model version, for the feature pages' distributions.
    clock
        Where "now" comes from.

    Examples
    --------
    >>> # uvicorn.run(create_dashboard(Store.open(url)), host="127.0.0.1", port=8050)
    """
    dash = Dashboard(
        store=store,
        monitor=MonitorStore(store),
        config=config or DashboardConfig(),
        workspace=workspace,
        references=references,
        clock=clock or SystemClock(),
    )
    pages: list[tuple[str, View]] = [
        ("/", overview.overview),
        ("/services/{service}", service.service_page),
        ("/services/{service}/features/{feature}", feature.feature_page),
        ("/incidents", incidents.incidents_page),
        ("/incidents/{raw_id}", incidents.incident_page),
        ("/models/{service}", models.models_page),
        ("/models/{service}/versions/{raw}", models.version_page),
        ("/reports", reports.reports_page),
    ]
    routes: list[BaseRoute] = []
    for path, view in pages:
        routes.append(_page_route(dash, path, view, api=False))
        routes.append(_page_route(dash, path, view, api=True))
    for action in ("acknowledge", "resolve"):
        routes.append(
            _action_route(
                dash, f"/incidents/{{raw_id}}/{action}", incidents.act_on_incident, action
            )
        )
    for action in ("rollback", "promote"):
        routes.append(
            _action_route(dash, f"/models/{{service}}/{action}", models.act_on_model, action)
        )

    async def report(request: Request) -> Response:
        if not may_read(request, dash.config):
            raise Unauthorized("Authorization", fix="sign in on /login with the STEADYML_TOKEN")
        return await run_in_threadpool(
            reports.report_file, dash, request, request.path_params["name"]
        )

    async def plotly(request: Request) -> Response:
        return FileResponse(_plotly_js(), media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip

    routes += [
        Route("/reports/{name:path}", report, methods=["GET"]),
        Route("/static/plotly.min.js", plotly, methods=["GET"]),
        Mount("/static", StaticFiles(packages=[("steadyml.faces.dashboard", "static")])),
        *_login_routes(dash),
    ]

    async def steady_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, SteadyError):  # pragma: no cover - registered for SteadyError
            raise exc
        return error_page(dash, request, exc, as_json=_is_api(request))

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        error: SteadyError
        if status == 404:
            error = NotFoundError("path", request.url.path, "start from the overview page")
        elif status == 405:
            error = MethodNotAllowed("method", request.method, "pages are read with GET")
        elif 400 <= status < 500:
            error = DataError("request", str(getattr(exc, "detail", "")), "check the address")
        else:
            error = InternalError("request", str(getattr(exc, "detail", "")), "retry")
        return error_page(dash, request, error, as_json=_is_api(request))

    async def crash(request: Request, exc: Exception) -> Response:
        log.exception("dashboard error on %s", request.url.path)
        error = InternalError(
            "request", request.url.path, f"this is a bug, please report it ({type(exc).__name__})"
        )
        return error_page(dash, request, error, as_json=_is_api(request))

    app = Starlette(
        routes=routes,
        lifespan=_lifespan,
        exception_handlers={
            SteadyError: steady_error,
            HTTPException: http_error,
            Exception: crash,
        },
    )
    app.state.dashboard = dash
    return app
