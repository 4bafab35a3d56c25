"""``steadyml respond``: act on incidents per the spec's ``responses:`` (once, or ``--watch``)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from steadyml.core.durations import parse_duration
from steadyml.errors import ConfigError, SteadyError
from steadyml.services.responder import Responder, RoundReport
from steadyml.services.workspace import Workspace
from steadyml.spec import load_spec

__all__ = ["register", "respond_command"]

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _summary(report: RoundReport) -> str:
    parts = [f"{report.events} new incident events"]
    for record in report.finished:
        parts.append(f"{record.action} on incident #{record.incident_id}: {record.status}")
    for record in report.requested:
        if record.claimed_at is None or record.action == "retrain":
            parts.append(f"{record.action} on incident #{record.incident_id}: requested")
    for record in report.skipped:
        parts.append(f"{record.action} on incident #{record.incident_id}: skipped (cooldown)")
    for incident_id in report.cleared:
        parts.append(f"fallback mode of incident #{incident_id} cleared")
    if report.conflict:
        parts.append("another responder handled these events")
    return "; ".join(parts)


def respond_command(
    spec: Annotated[
        Path, typer.Option("--spec", "-s", help="The service spec file (or its folder).")
    ] = Path("steadyml.yaml"),
    watch: Annotated[bool, typer.Option("--watch", help="Keep responding until Ctrl-C.")] = False,
    interval: Annotated[
        str, typer.Option("--interval", help="Time between rounds with --watch.")
    ] = "10s",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Act on new incidents: fallback mode, rollback, retrain or page, per ``responses:``."""
    try:
        seconds = parse_duration(interval).total_seconds()
    except ValueError as exc:
        raise ConfigError("--interval", interval, str(exc)) from None
    with Workspace.open(load_spec(spec)) as workspace:
        responder = Responder.for_workspace(workspace)
        if not responder.policies:
            console.print("no responses: in the spec; nothing is done automatically")
            return

        def show(report: RoundReport) -> None:
            if as_json:
                typer.echo(json.dumps(report.to_dict(), default=str))
            else:
                console.print(_summary(report))

        def fail(exc: BaseException) -> None:
            text = exc.one_line() if isinstance(exc, SteadyError) else repr(exc)
            err.print(f"[bold red]round failed[/] {text} (retrying in {interval})")

        try:
            if not watch:
                show(responder.run_once())
                return
            stop = threading.Event()
            console.print(
                f"responding for {workspace.spec.service} every {interval}; Ctrl-C to stop"
            )
            try:
                responder.watch(seconds, stop=stop, on_round=show, on_error=fail)
            except KeyboardInterrupt:
                stop.set()
                console.print("stopped")
        finally:
            responder.close()


def register(app: typer.Typer) -> None:
    """Add ``respond`` to ``app``."""
    app.command("respond")(respond_command)
