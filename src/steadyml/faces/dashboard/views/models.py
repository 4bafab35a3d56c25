"""Models: versions, alias history with "what served at time T", gate reports, cards, lineage."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from steadyml.errors import NotFoundError, RegistryUnavailable, SteadyError
from steadyml.faces.dashboard import queries
from steadyml.faces.dashboard.access import Forbidden, check_action, read_form
from steadyml.faces.dashboard.context import Dashboard, Page
from steadyml.faces.dashboard.params import Query
from steadyml.faces.dashboard.views.common import known_service
from steadyml.faces.dashboard.views.incidents import actor_of, reason_of
from steadyml.services.lineage import lineage
from steadyml.services.promotion import promote, rollback

__all__ = ["act_on_model", "models_page", "version_page"]


def _versions(dash: Dashboard, service: str) -> tuple[list[dict[str, Any]], str]:
    seen = queries.versions_seen(dash.store, service)
    history = dash.store.alias_history(service)
    aliases: dict[int, list[str]] = {}
    for move in history:  # the current holder of each alias
        for holders in aliases.values():
            if move.alias in holders:
                holders.remove(move.alias)
        if move.version is not None:
            aliases.setdefault(move.version, []).append(move.alias)
    numbers = {int(v) for v in seen if v.isdigit()} | set(aliases)
    note = ""
    registered: dict[int, Any] = {}
    workspace = dash.workspace_for(service)
    if workspace is not None:
        try:
            registered = {info.version: info for info in workspace.registry.versions()}
            numbers |= set(registered)
        except SteadyError as exc:
            note = exc.one_line()
    rows = []
    for number in sorted(numbers, reverse=True):
        first, last = seen.get(str(number), (None, None))
        info = registered.get(number)
        rows.append(
            {
                "version": number,
                "aliases": sorted(aliases.get(number, [])),
                "first_traffic": first,
                "last_traffic": last,
                "created_at": None if info is None else info.created_at,
                "gate": dash.store.latest_gate_result(service, number),
            }
        )
    return rows, note


def models_page(dash: Dashboard, request: Request, service: str) -> Page:
    """The versions of a service's model and the history of its aliases."""
    known_service(dash, service)
    query = Query(request.query_params, ("at", "alias"))
    at = query.moment("at")
    alias = query.text("alias", "champion", ("champion", "previous", "candidate", "challenger"))
    versions, note = _versions(dash, service)
    served = None if at is None else dash.store.version_at(service, at, alias or "champion")
    context = {
        "service": service,
        "versions": versions,
        "note": note,
        "history": list(reversed(dash.store.alias_history(service))),
        "gates": queries.gate_results(dash.store, service),
        "at": at,
        "alias": alias,
        "served": served,
        "can_act": dash.workspace_for(service) is not None,
    }
    return Page("models.html.j2", f"{service} · models", context)


def _card(dash: Dashboard, service: str, run_id: str) -> str:
    workspace = dash.workspace_for(service)
    if workspace is None:
        return ""
    with tempfile.TemporaryDirectory(prefix="steadyml-card-") as tmp:
        try:
            path = workspace.registry.download_artifacts(
                run_id, "steadyml/model_card.md", Path(tmp)
            )
        except (NotFoundError, RegistryUnavailable):
            return ""
        return path.read_text(encoding="utf-8")


def version_page(dash: Dashboard, request: Request, service: str, raw: str) -> Page:
    """One version: gate report, model card and lineage (with registry access)."""
    known_service(dash, service)
    Query(request.query_params, ())
    versions, note = _versions(dash, service)
    known = {row["version"]: row for row in versions}
    if not raw.isdigit() or int(raw) not in known:
        raise NotFoundError("version", raw, f"pick a version on the models page of {service!r}")
    number = int(raw)
    workspace = dash.workspace_for(service)
    found: dict[str, Any] | None = None
    card = ""
    if workspace is not None:
        try:
            found = lineage(workspace, number).to_dict()
            card = _card(dash, service, str(found["run_id"]))
        except SteadyError as exc:
            note = exc.one_line()
    moves = [
        m for m in dash.store.alias_history(service) if number in (m.version, m.previous_version)
    ]
    gate = dash.store.latest_gate_result(service, number)
    context = {
        "service": service,
        "row": known[number],
        "lineage": found,
        "card": card,
        "moves": moves,
        "gate": gate,
        "note": note or ("" if workspace else "open the dashboard with --spec for lineage"),
    }
    return Page("version.html.j2", f"{service} · v{number}", context)


async def act_on_model(dash: Dashboard, request: Request, service: str, action: str) -> Response:
    """Roll back or promote (token, CSRF); recorded in the alias history and audit log."""
    form = await read_form(request)
    check_action(request, dash.config, form)
    reason = reason_of(form)
    actor = actor_of(dash, form)
    workspace = dash.workspace_for(service)
    if workspace is None:
        raise Forbidden(
            "service", service, "this dashboard has no registry access for it; use --spec"
        )
    incident = form.get("incident", "")
    incident_id = int(incident) if incident.isdigit() else None
    if action == "rollback":
        change = await run_in_threadpool(
            lambda: rollback(workspace, reason=reason, actor=actor, incident_id=incident_id)
        )
    else:
        change = await run_in_threadpool(lambda: promote(workspace, reason=reason, actor=actor))
    if "authorization" in request.headers and "csrf" not in form:
        return JSONResponse(change.__dict__)
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return RedirectResponse(f"{root}/models/{service}", status_code=303)
