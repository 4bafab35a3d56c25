"""The dashboard at ``/ui`` of a real ``steadyml serve`` on 127.0.0.1, and the prefix router."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from steadyml.errors import ConfigError
from steadyml.faces.asgi_router import PrefixRouter
from steadyml.faces.cli.serve import SPEC_ENV, UI_ENV, app_from_environment
from steadyml.services.serving import ServingApp
from tests.faces.dashboard.conftest import TOKEN
from tests.services.serving.conftest import base_project, project, rows  # noqa: F401
from tests.services.serving.server import Server


def _echo(name: str) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        text = f"{name} {scope.get('root_path', '')} {scope['path']}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": text})

    return app


def _get(app: Any, path: str, root_path: str = "") -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, root_path=root_path)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get(path)

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/ui/", "ui /ui /ui/"),
        ("/ui/incidents", "ui /ui /ui/incidents"),
        ("/predict", "main  /predict"),
        ("/uix", "main  /uix"),
        ("/metrics", "main  /metrics"),
    ],
)
def test_the_router_sends_the_prefix_to_its_app(path: str, expected: str) -> None:
    router = PrefixRouter(_echo("main"), {"/ui": _echo("ui")})
    assert _get(router, path).text == expected


def test_the_bare_prefix_redirects_and_root_paths_compose() -> None:
    router = PrefixRouter(_echo("main"), {"/ui": _echo("ui")})
    bare = _get(router, "/ui?range=7d")
    assert bare.status_code == 307 and bare.headers["location"] == "/ui/?range=7d"
    nested = _get(router, "/api/ui/x", root_path="/api")
    assert nested.text == "ui /api/ui /api/ui/x"


@pytest.mark.parametrize("prefix", ["ui", "/ui/", "/"])
def test_a_bad_prefix_is_a_config_error(prefix: str) -> None:
    with pytest.raises(ConfigError, match="mount prefix"):
        PrefixRouter(_echo("main"), {prefix: _echo("ui")})


def test_no_ui_serves_the_bare_prediction_app(
    project: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SPEC_ENV, str(Path(project.base_dir) / "steadyml.yaml"))
    monkeypatch.setenv(UI_ENV, "0")
    assert isinstance(app_from_environment(), ServingApp)
    monkeypatch.setenv(UI_ENV, "1")
    mounted = app_from_environment()
    assert isinstance(mounted, PrefixRouter) and isinstance(mounted.default, ServingApp)


@pytest.fixture
def server(project: Any) -> Iterator[Server]:  # noqa: F811
    started = Server(Path(project.base_dir) / "steadyml.yaml", env={"STEADYML_TOKEN": TOKEN})
    started.start()
    try:
        yield started
    finally:
        started.terminate()


@pytest.mark.slow
def test_serve_mounts_the_dashboard_at_ui(
    server: Server,
    project: Any,  # noqa: F811
    rows: list[dict[str, Any]],  # noqa: F811
) -> None:
    service = project.service
    auth = {"Authorization": f"Bearer {TOKEN}"}
    predicted = httpx.post(f"{server.url}/predict", json=rows[0], headers=auth, timeout=30)
    assert predicted.status_code == 200, predicted.text
    bare = httpx.get(f"{server.url}/ui", timeout=30)
    assert bare.status_code == 307 and bare.headers["location"] == "/ui/"
    overview = httpx.get(f"{server.url}/ui/", timeout=30)
    assert overview.status_code == 200, overview.text
    assert 'href="/ui/static/dashboard.css"' in overview.text  # links keep the prefix
    assert httpx.get(f"{server.url}/ui/static/plotly.min.js", timeout=30).status_code == 200
    models = httpx.get(f"{server.url}/ui/models/{service}", timeout=30)
    assert models.status_code == 200 and "champion" in models.text
    missing = httpx.get(f"{server.url}/ui/incidents/999999", timeout=30)
    assert missing.status_code == 404 and "<html" in missing.text.lower()
    rollback = f"{server.url}/ui/models/{service}/rollback"
    forged = httpx.post(rollback, data={"reason": "no csrf, no token"}, timeout=30)
    assert forged.status_code == 403 and "csrf" in forged.text
    wrong = {"Authorization": "Bearer nope"}
    # a wrong bearer is not a header this dashboard accepts: the form path, without CSRF
    assert httpx.post(rollback, data={"reason": "x"}, headers=wrong, timeout=30).status_code == 403
    # the server's token is the dashboard's: the action reaches the registry, which has
    # no previous champion to roll back to (a clear refusal, not a 500)
    allowed = httpx.post(rollback, data={"reason": "try"}, headers=auth, timeout=30)
    assert 400 <= allowed.status_code < 500 and "previous" in allowed.text, allowed.text
    assert httpx.get(f"{server.url}/metrics", timeout=30).status_code == 200
