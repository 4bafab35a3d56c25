"""Incidents: the filtered list, one incident's timeline, and acknowledge / resolve."""

from __future__ import annotations

from typing import Any, Literal

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from steadyml.errors import DataError, NotFoundError, SteadyError
from steadyml.faces.dashboard import queries
from steadyml.faces.dashboard.access import check_action, read_form
from steadyml.faces.dashboard.context import Dashboard, Page
from steadyml.faces.dashboard.params import Query
from steadyml.faces.dashboard.views.overview import SEVERITIES

__all__ = ["AlreadyResolved", "act_on_incident", "incident_page", "incidents_page", "reason_of"]

PAGE_SIZE = 50
STATUSES = ("open", "resolved", "all")
TRIAGES = ("infrastructure", "data", "model")


class AlreadyResolved(SteadyError):
    """An action on an incident that is already resolved."""

    kind = "conflict"
    http_status = 409


def incidents_page(dash: Dashboard, request: Request) -> Page:
    """Incidents, newest first, filtered by service, status, severity, triage and type."""
    query = Query(request.query_params, ("service", "status", "severity", "triage", "type", "page"))
    service = query.text("service")
    if service is not None and service not in queries.services(dash.store):
        raise NotFoundError("service", service, "pick a service on the overview page")
    status: Literal["open", "resolved", "all"] = query.text("status", "all", STATUSES)  # type: ignore[assignment]
    chosen = queries.IncidentFilter(
        service=service,
        status=status,
        severity=query.text("severity", None, SEVERITIES),
        triage=query.text("triage", None, TRIAGES),
        incident_type=query.text("type"),
    )
    number = query.integer("page", 1, 1, 100_000)
    items, total = queries.incident_page(
        dash.store, chosen, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    context = {
        "items": items,
        "total": total,
        "page": number,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "chosen": chosen,
        "services": queries.services(dash.store),
        "statuses": STATUSES,
        "severities": SEVERITIES,
        "triages": TRIAGES,
    }
    return Page("incidents.html.j2", "Incidents", context)


def _incident_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise NotFoundError("incident", raw, "incident ids are whole numbers; see /incidents")
    return int(raw)


def incident_page(dash: Dashboard, request: Request, raw_id: str) -> Page:
    """One incident: alerts with evidence, timeline with people's and responder's actions."""
    Query(request.query_params, ())
    incident_id = _incident_id(raw_id)
    incident = dash.monitor.incident(incident_id)
    alerts = dash.monitor.alerts(incident_id)
    events = dash.monitor.events(incident_id=incident_id, limit=500)
    audit = queries.audit_entries(dash.store, incident_id=incident_id, limit=200)
    timeline: list[dict[str, Any]] = [
        {"at": e.at, "kind": e.kind, "who": str(e.payload.get("actor", "monitor")),
         "detail": _detail(e.payload), "payload": dict(e.payload), "source": "event"}
        for e in events
    ] + [
        {"at": a.at, "kind": f"action: {a.action}", "who": a.actor,
         "detail": f"{a.target} — {a.reason}", "payload": a.to_dict(), "source": "audit"}
        for a in audit
    ]  # fmt: skip
    timeline.sort(key=lambda item: (item["at"], item["source"] == "audit"))
    context = {
        "incident": incident,
        "alerts": alerts,
        "timeline": timeline,
        "acknowledged": any(e.kind == "acknowledged" for e in events),
        "can_rollback": dash.workspace_for(incident.service) is not None,
        "runbook_is_link": incident.runbook.startswith(("https://", "http://")),
    }
    return Page("incident.html.j2", f"Incident #{incident_id}", context)


def _detail(payload: dict[str, Any] | Any) -> str:
    keys = ("rule", "subject", "version", "severity", "value", "reason")
    return " ".join(f"{k}={payload[k]}" for k in keys if payload.get(k) not in (None, ""))


def reason_of(form: dict[str, str]) -> str:
    """The form's reason (required: every action says why)."""
    reason = form.get("reason", "").strip()
    if not reason or len(reason) > 2000:
        raise DataError("reason", reason or None, "say why, in at most 2000 characters")
    return reason


def actor_of(dash: Dashboard, form: dict[str, str]) -> str:
    """Who acts: the form's name, else the configured actor."""
    actor = form.get("actor", "").strip() or dash.config.actor
    if len(actor) > 200:
        raise DataError("actor", actor, "give a name of at most 200 characters")
    return actor


async def act_on_incident(dash: Dashboard, request: Request, raw_id: str, action: str) -> Response:
    """Acknowledge or resolve an incident (token, CSRF), then back to its page."""
    form = await read_form(request)
    check_action(request, dash.config, form)
    incident_id = _incident_id(raw_id)
    reason = reason_of(form)
    actor = actor_of(dash, form)
    incident = await run_in_threadpool(dash.monitor.incident, incident_id)
    if action == "resolve" and not incident.open:
        raise AlreadyResolved("incident", incident_id, "it is already resolved")
    evidence = {"via": "dashboard", "client": request.client.host if request.client else None}
    do = dash.monitor.resolve if action == "resolve" else dash.monitor.acknowledge
    event = await run_in_threadpool(
        lambda: do(incident_id, actor=actor, reason=reason, evidence=evidence)
    )
    if "authorization" in request.headers and "csrf" not in form:
        return JSONResponse(event.to_dict())
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return RedirectResponse(f"{root}/incidents/{incident_id}", status_code=303)
