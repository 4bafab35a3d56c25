"""``steadyml ui``: the dashboard on uvicorn (or one page rendered with ``--get``)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import httpx
import typer

from steadyml.adapters.store import Store
from steadyml.errors import ConfigError
from steadyml.faces.dashboard import DashboardConfig, create_dashboard
from steadyml.services.monitoring.references import BundleReferences
from steadyml.services.workspace import Workspace
from steadyml.spec import load_spec

__all__ = ["register", "ui_command"]


@contextmanager
def _dashboard(spec: Path | None, store_url: str | None, refresh: float) -> Iterator[object]:
    env = os.environ
    if spec is None and store_url is None and Path("steadyml.yaml").is_file():
        spec = Path("steadyml.yaml")
    if spec is not None:
        with Workspace.open(load_spec(spec)) as workspace:
            store = Store.open(store_url) if store_url else workspace.store
            config = DashboardConfig.from_env(
                env, actor=workspace.settings.actor, reports_dir=workspace.reports_dir,
                refresh_seconds=refresh, spec=workspace.spec,
            )  # fmt: skip
            yield create_dashboard(
                store, config=config, workspace=workspace, references=BundleReferences(workspace)
            )
        return
    url = store_url or env.get("STEADYML_STORE_URL")
    if not url:
        raise ConfigError(
            "--spec", None, "give --spec steadyml.yaml, or --store URL (or STEADYML_STORE_URL)"
        )
    with Store.open(url) as store:
        yield create_dashboard(store, config=DashboardConfig.from_env(env, refresh_seconds=refresh))


async def _get(app: object, path: str) -> tuple[int, str]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.get(path)
    return response.status_code, response.text


def ui_command(
    spec: Annotated[
        Path | None, typer.Option("--spec", "-s", help="The service spec file (or its folder).")
    ] = None,
    *,
    store: Annotated[
        str | None, typer.Option("--store", help="Metadata store URL (default: the spec's).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 8050,
    refresh: Annotated[
        float, typer.Option(help="Seconds between live refreshes of an open page (0: off).", min=0)
    ] = 15.0,
    get: Annotated[
        str | None,
        typer.Option("--get", help="Render one path (e.g. /incidents) to stdout and exit."),
    ] = None,
) -> None:
    """The dashboard: services, drift, incidents, model versions and reports in a browser."""
    with _dashboard(spec, store, refresh) as app:
        if get is not None:
            status, text = asyncio.run(_get(app, get))
            typer.echo(text)
            if status >= 400:
                raise typer.Exit(1)
            return
        import uvicorn

        typer.echo(f"steadyml dashboard on http://{host}:{port}/ (Ctrl-C to stop)")
        uvicorn.run(app, host=host, port=port, log_level="warning")  # type: ignore[arg-type]


def register(app: typer.Typer) -> None:
    """Add ``ui`` to ``app``."""
    app.command("ui")(ui_command)
