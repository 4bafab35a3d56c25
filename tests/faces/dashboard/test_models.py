"""Model card, lineage, promote and rollback over a real MLflow registry and store."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from steadyml.faces.dashboard import DashboardConfig, create_dashboard
from steadyml.services.gate import run_gate
from steadyml.services.monitoring.references import BundleReferences
from steadyml.services.promotion import promote
from steadyml.services.training import train
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec, load_spec
from tests.faces.dashboard.conftest import TOKEN
from tests.services.conftest import make_project

pytestmark = pytest.mark.slow  # trains two models and gates one (about 20 s on two cores)

CSRF = "c" * 43


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v1 champion, v2 candidate with a passing gate against v1; do not modify."""
    root = tmp_path_factory.mktemp("models") / "base"
    spec = make_project(root)
    with Workspace.open(spec, environ={}) as ws:
        train(spec, ws, reason="first model")
        assert run_gate(ws).passed
        promote(ws, reason="first")
        train(spec, ws, reason="second model")
        assert run_gate(ws).passed  # same config and seed: not worse than v1
    return root


@pytest.fixture
def project(trained: Path, tmp_path: Path) -> ServiceSpec:
    target = tmp_path / "project"
    shutil.copytree(trained, target, ignore=shutil.ignore_patterns("predlog", "models"))
    return load_spec(target / "steadyml.yaml")


@pytest.fixture
def workspace(project: ServiceSpec) -> Iterator[Workspace]:
    with Workspace.open(project, environ={}) as ws:
        yield ws


def _app(ws: Workspace, token: str | None = TOKEN) -> Any:
    config = DashboardConfig(token=token, spec=ws.spec, actor="dashboard")
    return create_dashboard(ws.store, config=config, workspace=ws, references=BundleReferences(ws))


def _call(app: Any, method: str, path: str, **options: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.request(method, path, **options)

    return asyncio.run(run())


def _form(**fields: str) -> dict[str, Any]:
    return {
        "data": fields,
        "headers": {"Origin": "http://testserver", "Cookie": f"steadyml_csrf={CSRF}"},
    }


def test_models_page_lists_versions_aliases_and_gates(workspace: Workspace) -> None:
    service = workspace.spec.service
    response = _call(_app(workspace), "GET", f"/models/{service}")
    assert response.status_code == 200, response.text
    text = response.text
    for version in ("v1", "v2"):
        assert version in text
    assert "champion" in text and "candidate" in text
    assert "Promote the candidate" in text and "Roll back the champion" in text


def test_version_page_shows_model_card_and_lineage(workspace: Workspace) -> None:
    service = workspace.spec.service
    info = {v.version: v for v in workspace.registry.versions()}
    response = _call(_app(workspace), "GET", f"/models/{service}/versions/2")
    assert response.status_code == 200, response.text
    assert info[2].run_id in response.text  # lineage names the training run
    assert "Model card" in response.text
    assert "second model" in response.text  # the training reason, from the lineage
    missing = _call(_app(workspace), "GET", f"/models/{service}/versions/99")
    assert missing.status_code == 404 and "version" in missing.text


def test_promote_then_rollback_with_token_move_the_alias_and_are_audited(
    workspace: Workspace,
) -> None:
    service = workspace.spec.service
    app = _app(workspace)
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    promoted = _call(
        app, "POST", f"/models/{service}/promote",
        data={"reason": "gate passed, ship it", "actor": "carol"}, headers=bearer,
    )  # fmt: skip
    assert promoted.status_code == 200, promoted.text
    assert workspace.registry.aliases() == {"champion": 2, "previous": 1}
    rolled = _call(
        app, "POST", f"/models/{service}/rollback",
        **_form(reason="NaN spike after v2", actor="dave", token=TOKEN, csrf=CSRF),
    )  # fmt: skip
    assert rolled.status_code == 303 and rolled.headers["location"] == f"/models/{service}"
    assert workspace.registry.alias_version("champion") == 1
    audit = workspace.store.audit_log(service)
    latest = {entry.action: entry for entry in reversed(audit)}
    assert latest["rollback"].actor == "dave"
    assert latest["rollback"].reason == "NaN spike after v2"
    assert latest["promote"].actor == "carol"
    [*_, last] = workspace.store.alias_history(service, alias="champion")
    assert (last.version, last.previous_version, last.action) == (1, 2, "rollback")
    page = _call(app, "GET", f"/models/{service}")
    assert "NaN spike after v2" in page.text  # the alias history shows why


@pytest.mark.parametrize(
    ("options", "status"),
    [
        ({"data": {"reason": "no token"}}, 403),  # a form without CSRF token: forged
        ({"data": {"reason": "wrong"}, "headers": {"Authorization": "Bearer nope"}}, 403),
        (_form(reason="no csrf", token=TOKEN), 403),
        (
            {
                "data": {"reason": "forged", "token": TOKEN, "csrf": CSRF},
                "headers": {"Origin": "http://evil.example", "Cookie": f"steadyml_csrf={CSRF}"},
            },
            403,
        ),
        (_form(reason="bad token", token="nope", csrf=CSRF), 401),
        (_form(reason="", token=TOKEN, csrf=CSRF), 400),
    ],
    ids=["no-token", "wrong-bearer", "no-csrf", "cross-origin", "wrong-form-token", "no-reason"],
)
def test_a_refused_rollback_leaves_the_champion_alone(
    workspace: Workspace, options: dict[str, Any], status: int
) -> None:
    service = workspace.spec.service
    before = workspace.registry.aliases()
    response = _call(_app(workspace), "POST", f"/models/{service}/rollback", **options)
    assert response.status_code == status, response.text
    assert workspace.registry.aliases() == before
    assert not [e for e in workspace.store.audit_log(service) if e.action == "rollback"]


def test_without_a_configured_token_actions_are_disabled(workspace: Workspace) -> None:
    service = workspace.spec.service
    response = _call(
        _app(workspace, token=None), "POST", f"/models/{service}/rollback",
        data={"reason": "x"}, headers={"Authorization": f"Bearer {TOKEN}"},
    )  # fmt: skip
    assert response.status_code == 403
    assert "read-only" in response.text


def test_promote_without_a_passing_gate_is_a_clear_refusal(workspace: Workspace) -> None:
    service = workspace.spec.service
    promote(workspace, reason="v2 now")  # v2 is champion: no candidate is left
    response = _call(
        _app(workspace), "POST", f"/models/{service}/promote",
        data={"reason": "again"}, headers={"Authorization": f"Bearer {TOKEN}"},
    )  # fmt: skip
    assert 400 <= response.status_code < 500, response.text
    assert "candidate" in response.text
    assert workspace.registry.alias_version("champion") == 2
