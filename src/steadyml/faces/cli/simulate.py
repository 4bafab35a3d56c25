"""``steadyml simulate SCENARIO.yaml``: replay traffic with incidents; measure detection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from steadyml.services.simulation import Simulation, SimulationResult, load_scenario

__all__ = ["print_result", "register", "simulate_command"]

console = Console(highlight=False)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.1f} min"


def print_result(result: SimulationResult, out: Console) -> None:
    """The incident table, false alarms and replay modes."""
    suffix = " (partial)" if result.partial else ""
    table = Table(title=f"scenario {result.scenario.name}{suffix}")
    for column in ("incident", "detected", "time to detect", "alert", "triage", "root cause",
                   "time to mitigate", "action", "KPI impact avoided"):  # fmt: skip
        table.add_column(column)
    for d in result.detections:
        table.add_row(
            d.name,
            "[green]yes[/]" if d.detected else "[red]no[/]",
            _duration(d.time_to_detect_s),
            d.alert or "-",
            d.triage or "-",
            d.root_cause or "-",
            _duration(d.time_to_mitigate_s),
            d.mitigation or "-",
            "-" if d.kpi_impact_avoided is None else f"{d.kpi_impact_avoided:,.0f} outcomes",
        )
    out.print(table)
    per_day = result.false_alarms_per_day
    rate = "-" if per_day is None else f"{per_day:.2f}/day"
    out.print(
        f"false alarms on clean traffic: {len(result.false_alarms)} in "
        f"{result.clean_days * 24:.1f} simulated hours ({rate})"
    )
    for stretch in result.modes():
        out.print(
            f"  {stretch['mode']:4} {stretch['start']} → {stretch['stop']}: "
            f"{stretch['requests']} requests"
        )


def simulate_command(
    scenario: Annotated[Path, typer.Argument(help="The scenario file (see docs/simulation.md).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default: simulation-<name>).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report.")] = False,
) -> None:
    """Replay traffic with injected incidents through the real server; report detection."""
    parsed = load_scenario(scenario)  # refused before anything starts
    folder = out or Path(f"simulation-{parsed.name}")
    log = Console(stderr=True, highlight=False) if as_json else console
    simulation = Simulation(parsed, folder, progress=lambda line: log.print(f"  {line}"))
    result = simulation.run()
    report = result.to_dict()
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / "simulation.json"
    json_path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    from steadyml.faces.reports.simulation_html import write_simulation_html

    html_path = write_simulation_html(result, folder / "simulation.html")
    if as_json:
        typer.echo(json.dumps(report, default=str))
    else:
        print_result(result, console)
        console.print(f"report: {html_path} (and {json_path})")
    if result.partial:
        raise typer.Exit(130)


def register(app: typer.Typer) -> None:
    """Add ``steadyml simulate`` to ``app``."""
    app.command("simulate")(simulate_command)
