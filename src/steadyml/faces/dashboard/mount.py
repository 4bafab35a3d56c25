"""The dashboard mounted at ``/ui`` of the prediction server (``steadyml serve --ui``)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from steadyml.faces.asgi_router import PrefixRouter
from steadyml.faces.dashboard.app import create_dashboard
from steadyml.faces.dashboard.config import DashboardConfig
from steadyml.services.monitoring.references import BundleReferences
from steadyml.services.serving import ServingApp

__all__ = ["UI_PREFIX", "with_dashboard"]

UI_PREFIX = "/ui"


def with_dashboard(
    serving: ServingApp, *, prefix: str = UI_PREFIX, environ: Mapping[str, str] | None = None
) -> PrefixRouter:
    """``serving`` with the dashboard of its own workspace mounted at ``prefix``.

    The dashboard shares the server's workspace (store, registry, token): actions need
    the server's bearer token. Predictions do not pass through the dashboard's router:
    the only cost on the hot path is one prefix check.

    Parameters
    ----------
    serving
        The prediction service's ASGI app (it keeps the lifespan).
    prefix
        Where the dashboard answers.
    environ
        Where ``STEADYML_UI_REQUIRE_TOKEN`` and ``STEADYML_ACTOR`` are read
        (default: the process environment).

    Raises
    ------
    ConfigError
        When ``STEADYML_UI_REQUIRE_TOKEN`` is not a boolean, or is set without a token.
    """
    workspace = serving.service.workspace
    env = dict(os.environ if environ is None else environ)
    if workspace.settings.token:
        env["STEADYML_TOKEN"] = workspace.settings.token
    config = DashboardConfig.from_env(
        env, reports_dir=workspace.reports_dir, spec=workspace.spec,
        **({} if env.get("STEADYML_ACTOR") else {"actor": workspace.settings.actor}),
    )  # fmt: skip
    dashboard = create_dashboard(
        workspace.store, config=config, workspace=workspace, references=BundleReferences(workspace)
    )
    return PrefixRouter(serving, {prefix: dashboard})
