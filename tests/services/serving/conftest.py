"""A trained census champion (once per session), copied fresh for each test, and helpers."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import polars as pl
import pytest

from steadyml.adapters.model_files import MODEL_DIR, fetch_version, load_estimator
from steadyml.adapters.predlog import read_predictions
from steadyml.core.clock import Clock
from steadyml.services.promotion import promote
from steadyml.services.serving import ServingApp, create_app
from steadyml.services.training import train
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec, load_spec
from tests.services.conftest import edit_spec, make_project

SERVING = {
    "latency_budget_ms": 500,
    "reload_interval": "200ms",
    "flush_interval": "100ms",
    "fallback": {"strategy": "constant", "value": 0.5},
}


@pytest.fixture(scope="session")
def base_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A census project with a trained, promoted champion (v1); do not modify."""
    root = tmp_path_factory.mktemp("serving") / "base"
    spec = make_project(root, deployment=SERVING)
    with Workspace.open(spec, environ={}) as ws:
        train(spec, ws, reason="serving tests")
        promote(ws, force=True, reason="serving tests")
    return root


@pytest.fixture
def project(base_project: Path, tmp_path: Path) -> ServiceSpec:
    """A private copy of the trained project."""
    target = tmp_path / "project"
    shutil.copytree(base_project, target, ignore=shutil.ignore_patterns("predlog", "models"))
    return load_spec(target / "steadyml.yaml")


@pytest.fixture
def workspace(project: ServiceSpec) -> Iterator[Workspace]:
    """The copy's workspace (no environment overrides)."""
    with Workspace.open(project, environ={}) as ws:
        yield ws


@pytest.fixture(scope="session")
def rows(base_project: Path) -> list[dict[str, Any]]:
    """Census records as a client sends them (contract columns only)."""
    spec = load_spec(base_project / "steadyml.yaml")
    frame = pl.read_parquet(spec.resolve(spec.data.source.path or ""))
    return frame.select(spec.data.features or ()).head(400).to_dicts()


def with_deployment(spec: ServiceSpec, **values: object) -> ServiceSpec:
    """The spec with some deployment keys changed (written to the copy's file)."""
    return edit_spec(spec, "deployment", **values)


def register_variant(ws: Workspace, wrap: Callable[[Any], Any], alias: str = "champion") -> int:
    """Register the champion's estimator wrapped by ``wrap`` as a new version under ``alias``."""
    registry = ws.registry
    champion = registry.alias_version("champion")
    assert champion is not None
    source = fetch_version(ws.model_cache, registry, champion)
    estimator = wrap(load_estimator(source / MODEL_DIR))
    with registry.start_run("variant") as run:
        run.log_artifacts(source / "steadyml", "steadyml")
        uri = run.log_model(estimator, "sklearn")
        run_id = run.run_id
    version = registry.register(uri, run_id)
    registry.set_alias(alias, version)
    return version


@asynccontextmanager
async def serving(
    spec: ServiceSpec,
    ws: Workspace,
    *,
    clock: Clock | None = None,
    worker_id: str = "w0",
) -> AsyncIterator[tuple[ServingApp, httpx.AsyncClient]]:
    """An app started in-process, with a client; shut down (log sealed) on exit."""
    app = create_app(spec, workspace=ws, clock=clock, worker_id=worker_id)
    await app.startup()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://serving") as client:
            yield app, client
    finally:
        await app.shutdown()


def logged(ws: Workspace, service: str = "employment") -> pl.DataFrame:
    """Every sealed prediction-log row of the service."""
    return read_predictions(ws.settings.state_dir / "predlog", service).collect()


def body(value: object) -> bytes:
    """JSON bytes of ``value``."""
    return orjson.dumps(value)


def headers(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """JSON content-type headers plus ``extra``."""
    return {"content-type": "application/json", **(extra or {})}
