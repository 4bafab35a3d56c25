"""``steadyml monitor`` and ``steadyml incidents``: run the monitor, list incidents."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.adapters.store.responses import ResponseStore
from steadyml.core.durations import parse_duration
from steadyml.core.monitoring import Incident
from steadyml.errors import ConfigError, SteadyError
from steadyml.services.monitoring import Monitor, PassReport
from steadyml.services.notifications import MetricsServer, MonitorGauges, serve_metrics
from steadyml.services.workspace import Workspace
from steadyml.spec import load_spec

__all__ = ["incidents_command", "monitor_command", "register"]

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

SpecOption = Annotated[
    Path,
    typer.Option("--spec", "-s", help="The service spec file (or its folder).", show_default=True),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _interval(text: str) -> float:
    try:
        return parse_duration(text).total_seconds()
    except ValueError as exc:
        raise ConfigError("--interval", text, str(exc)) from None


def _summary(report: PassReport) -> str:
    line = (
        f"{report.segments} segments, {report.rows:,} records, "
        f"{report.feedback_rows:,} feedback ({report.labels_matched:,} joined), "
        f"{report.windows} windows in {report.seconds:.2f}s"
    )
    if report.skipped:
        line += f"; skipped {len(report.skipped)} unreadable segment(s)"
    if report.feedback_unmatched:
        line += f"; {report.feedback_unmatched:,} feedback for unknown requests"
    if report.fired:
        line += "; fired " + ", ".join(
            f"{a.rule}{':' + a.subject if a.subject else ''} (v{a.model_version}, {a.severity})"
            for a in report.fired
        )
    if report.incidents_opened:
        line += f"; opened {len(report.incidents_opened)} incident(s)"
    if report.incidents_resolved:
        line += f"; resolved {len(report.incidents_resolved)} incident(s)"
    return line


def monitor_command(
    *,
    spec: SpecOption = Path("steadyml.yaml"),
    watch: Annotated[bool, typer.Option("--watch", help="Keep monitoring until Ctrl-C.")] = False,
    interval: Annotated[
        str, typer.Option("--interval", help="Time between rounds with --watch.")
    ] = "30s",
    as_json: JsonOption = False,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            help="With --watch: serve the monitor's Prometheus gauges on this port (0: any).",
        ),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option("--metrics-host", help="Address the metrics port listens on.")
    ] = "127.0.0.1",
) -> None:
    """Read new prediction-log segments, check every window, raise and resolve incidents."""
    seconds = _interval(interval)
    if metrics_port is not None and not watch:
        raise ConfigError("--metrics-port", metrics_port, "serve metrics with --watch only")
    if metrics_port is not None and not 0 <= metrics_port <= 65535:
        raise ConfigError("--metrics-port", metrics_port, "use a port from 0 to 65535")
    with Workspace.open(load_spec(spec)) as workspace:
        monitor = Monitor.for_workspace(workspace)
        if not watch:
            report = monitor.run_once()
            if as_json:
                typer.echo(json.dumps(report.to_dict(), indent=2))
            else:
                console.print(_summary(report))
            return
        stop = threading.Event()
        gauges = MonitorGauges(workspace.spec, monitor.store, clock=monitor.clock)
        server: MetricsServer | None = None
        if metrics_port is not None:
            gauges.refresh()
            server = serve_metrics(gauges, metrics_port, metrics_host)
            console.print(f"metrics on {server.url}")

        def show(report: PassReport) -> None:
            gauges.pass_done()
            if as_json:
                typer.echo(json.dumps(report.to_dict()))
            else:
                console.print(f"[{monitor.clock.now():%H:%M:%S}] {_summary(report)}")

        def fail(exc: BaseException) -> None:
            gauges.pass_failed()
            text = (
                exc.one_line() if isinstance(exc, SteadyError) else f"{type(exc).__name__}: {exc}"
            )
            err.print(f"[bold red]round failed[/] {text} (retrying in {interval})")

        console.print(f"monitoring {workspace.spec.service} every {interval}; Ctrl-C to stop")
        try:
            monitor.watch(seconds, stop=stop, on_pass=show, on_error=fail)
        except KeyboardInterrupt:
            stop.set()
            console.print("stopped")
        finally:
            if server is not None:
                server.close()


def _incident_dict(store: MonitorStore, incident: Incident) -> dict[str, object]:
    incident_id = incident.id or 0
    return {
        "id": incident.id,
        "type": incident.incident_type,
        "triage": incident.triage,
        "severity": incident.severity,
        "status": incident.status,
        "title": incident.title,
        "opened_at": incident.opened_at.isoformat(),
        "first_seen": incident.first_seen.isoformat(),
        "last_seen": incident.last_seen.isoformat(),
        "resolved_at": None if incident.resolved_at is None else incident.resolved_at.isoformat(),
        "features": list(incident.features),
        "versions": list(incident.versions),
        "hint": [dict(h) for h in incident.hint],
        "runbook": incident.runbook,
        "alerts": [
            {
                "rule": a.rule,
                "metric": a.metric,
                "subject": a.subject,
                "version": a.model_version,
                "severity": a.severity,
                "status": a.status,
                "value": a.value,
                "first_seen": a.first_seen.isoformat(),
                "last_seen": a.last_seen.isoformat(),
            }
            for a in store.alerts(incident_id)
        ],
        "timeline": [e.to_dict() for e in store.events(incident_id=incident_id)],
        "actions": [
            r.to_dict() for r in ResponseStore(store.store).actions(incident_id=incident_id)
        ],
    }


def incidents_command(
    spec: SpecOption = Path("steadyml.yaml"),
    status: Annotated[
        str, typer.Option("--status", help="Which incidents: open, resolved or all.")
    ] = "open",
    limit: Annotated[int, typer.Option("--limit", help="At most this many incidents.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List incidents with their alerts and timelines, newest first."""
    if status not in ("open", "resolved", "all"):
        raise ConfigError("--status", status, "use open, resolved or all")
    chosen: Literal["open", "resolved", "all"] = status  # type: ignore[assignment]
    with Workspace.open(load_spec(spec)) as workspace:
        store = MonitorStore(workspace.store)
        found = store.incidents(workspace.spec.service, status=chosen, limit=limit)
        items = [_incident_dict(store, incident) for incident in found]
    if as_json:
        typer.echo(json.dumps(items, indent=2, default=str))
        return
    if not items:
        console.print(f"no {status if status != 'all' else ''} incidents".replace("  ", " "))
        return
    for item in items:
        table = Table(
            title=f"#{item['id']} {item['severity']} {item['title']} "
            f"[{item['triage']}, {item['status']}]",
            title_justify="left",
        )
        for column in ("at", "event", "detail"):
            table.add_column(column, overflow="fold")
        for event in item["timeline"]:  # type: ignore[attr-defined]
            payload = event["payload"]
            detail = " ".join(
                str(payload[k]) for k in ("rule", "subject", "version", "value") if payload.get(k)
            )
            table.add_row(event["at"][:19].replace("T", " "), event["kind"], detail)
        console.print(table)
        hints = item["hint"]
        if hints:
            moved = ", ".join(
                f"{h['feature']} (effect {h['effect']:.3f}, since {str(h['since'])[:16]})"
                for h in hints  # type: ignore[attr-defined]
            )
            console.print(f"  likely cause: features moved: {moved}")
        if item["runbook"]:
            console.print(f"  runbook: {item['runbook']}")
        for action in item["actions"]:  # type: ignore[attr-defined]
            console.print(
                f"  action: {action['action']} {action['status']} at "
                f"{action['started_at'][:19].replace('T', ' ')} by {action['actor']}"
            )


def register(app: typer.Typer) -> None:
    """Add ``monitor`` and ``incidents`` to ``app``."""
    app.command("monitor")(monitor_command)
    app.command("incidents")(incidents_command)
