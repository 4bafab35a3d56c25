"""``steadyml demo``: the whole story on the bundled census data.

Train and promote a model on 2015; serve it (the real server on 127.0.0.1); replay
2016–2018 as production traffic on a simulated clock with three scripted incidents —
an upstream schema break, a NaN-returning version promoted by mistake, a gradual
drift — while the monitor and the responder run as in production; end with the
incident table and the HTML report. Exit code 0 when every scripted incident was
detected, 1 otherwise, 130 after Ctrl-C (the server is stopped, a partial report kept).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.faces.cli.lifecycle import print_train
from steadyml.services.demo_project import prepare_story_project, story_scenario
from steadyml.services.gate import run_gate
from steadyml.services.promotion import promote
from steadyml.services.responder import ACTOR as RESPONDER
from steadyml.services.simulation import Scenario, Simulation, SimulationResult
from steadyml.services.simulation.result import Tick
from steadyml.services.training import train
from steadyml.services.workspace import Workspace
from steadyml.spec import load_spec

__all__ = ["StoryBoard", "demo_command", "print_story", "register"]

console = Console(highlight=False)


@dataclass
class _Phase:
    title: str
    start: datetime
    stop: datetime | None = None
    modes: set[str] = field(default_factory=set)
    requests: int = 0
    incidents: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)


class StoryBoard:
    """The live progress of the replay: one line per chapter of the story.

    Each line shows the chapter, its simulated time, how it was replayed (``http``
    through the real server, ``log`` through the prediction-log writer), its requests,
    and the incidents opened and actions taken so far.
    """

    def __init__(self, scenario: Scenario) -> None:
        self.onsets = [scenario.start + i.onset_delta for i in scenario.incidents]
        self.titles = ["clean traffic"]
        self.titles += [f"{n}. {i.label()}" for n, i in enumerate(scenario.incidents, start=1)]
        self.phases: list[_Phase] = []
        self.note = ""

    def chapter(self, at: datetime) -> int:
        """The chapter a tick starting at ``at`` belongs to (0: before the first onset)."""
        return sum(1 for onset in self.onsets if onset <= at)

    def update(self, tick: Tick, result: SimulationResult, workspace: Workspace) -> None:
        """Account one tick: its chapter, requests, the incidents and actions so far."""
        title = self.titles[self.chapter(tick.start)]
        if not self.phases or self.phases[-1].title != title:
            self.phases.append(_Phase(title, tick.start))
        phase = self.phases[-1]
        phase.modes.add(tick.mode)
        phase.requests += tick.requests
        phase.stop = tick.stop
        found = MonitorStore(workspace.store).incidents(workspace.spec.service, limit=100)
        phase.incidents = [i.incident_type for i in sorted(found, key=lambda i: i.opened_at)]
        phase.actions = [a.action for a in result.actions if a.actor == RESPONDER]
        self.note = ""

    @staticmethod
    def line(phase: _Phase, current: bool) -> Text:
        """One chapter's line."""
        until = "" if phase.stop is None else f"→{phase.stop:%H:%M}"
        modes = "+".join(sorted(phase.modes))
        kinds = ", ".join(dict.fromkeys(phase.incidents))
        actions = ", ".join(phase.actions) or "none"
        return Text.assemble(
            ("▶ " if current else "✓ ", "bold cyan" if current else "green"),
            f"{phase.title:<34} {phase.start:%H:%M}{until} {modes:<8} "
            f"{phase.requests:>8,} requests · incidents: {len(phase.incidents)}"
            + (f" ({kinds})" if kinds else "")
            + f" · actions: {actions}",
        )

    def __rich__(self) -> Group:
        last = len(self.phases) - 1
        lines = [self.line(phase, index == last) for index, phase in enumerate(self.phases)]
        if self.note:
            lines.append(Text(f"  {self.note}", style="dim"))
        return Group(*lines)


def _train_and_promote(directory: Path) -> Path:
    spec = prepare_story_project(directory)
    console.print(f"project: {spec.base_dir} (spec, contract, transforms, census data)")
    with Workspace.open(spec, environ={}) as workspace:
        with console.status("training v1 on 2015…") as status:
            first = train(spec, workspace, reason="demo: first model", progress=status.update)
        print_train(first, console)
        with console.status("gating v1…"):
            report = run_gate(workspace)
        verdict = "[bold green]PASSED[/]" if report.passed else "[bold red]FAILED[/]"
        failed = [c.name for c in report.checks if not c.passed]
        console.print(
            f"gate v{report.candidate_version} (no champion yet): {verdict}, "
            f"{len(report.checks) - len(failed)}/{len(report.checks)} checks"
            + (f" (failed: {', '.join(failed)})" if failed else "")
        )
        change = promote(workspace, reason="demo: first champion", force=not report.passed)
        console.print(f"champion is now [bold]v{change.champion}[/]")
    return spec.base_dir / "steadyml.yaml"


def _replay(scenario: Scenario, out: Path) -> SimulationResult:
    board = StoryBoard(scenario)
    # the story's own lines say what happens; warnings (a NaN version has no drift
    # reference, for one) would tear the live display
    quiet = logging.getLogger("steadyml")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        return _live(board, scenario, out)
    finally:
        quiet.setLevel(level)


def _live(board: StoryBoard, scenario: Scenario, out: Path) -> SimulationResult:
    with Live(board, console=console, refresh_per_second=4) as live:

        def note(line: str) -> None:
            board.note = line
            live.refresh()

        def tick(step: Tick, result: SimulationResult, workspace: Workspace) -> None:
            board.update(step, result, workspace)
            live.refresh()

        result = Simulation(scenario, out, progress=note, on_tick=tick).run()
    if not console.is_terminal:  # Live's one render into a file or pipe ends mid-line
        console.line()
    return result


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.0f} min"


def print_story(result: SimulationResult, out: Console) -> None:
    """The incident table of the story, false alarms, and how the traffic was replayed."""
    table = Table(title="the scripted incidents", title_justify="left")
    for column in ("incident", "detected", "after", "alert", "triage", "hint", "mitigated"):
        table.add_column(column, overflow="fold")
    for d in result.detections:
        mitigated = _minutes(d.time_to_mitigate_s)
        if d.mitigation is not None:
            mitigated += f" ({d.mitigation.split(' (')[0]})"
        table.add_row(
            d.name,
            "[green]yes[/]" if d.detected else "[bold red]no[/]",
            _minutes(d.time_to_detect_s),
            d.alert or "-",
            d.triage or "-",
            d.root_cause or "-",
            mitigated,
        )
    out.print(table)
    out.print(
        f"false alarms on clean traffic: {len(result.false_alarms)} in "
        f"{result.clean_days * 24:.1f} simulated hours"
    )
    stretches = result.modes()
    http = sum(s["requests"] for s in stretches if s["mode"] == "http")
    total = sum(s["requests"] for s in stretches)
    out.print(
        f"replayed {total:,} requests: {http:,} over HTTP through the real server around "
        f"each onset, {total - http:,} at log level; {result.wall_seconds:.0f}s of wall time"
    )


_RETRAIN_DATA = {
    "production": "labelled production predictions",
    "both": "rows of the source and labelled production predictions",
    "source": "rows of the spec's source",
}


def _retrain_lines(result: SimulationResult) -> list[str]:
    """What each automatic retrain did: the candidate, the gate verdict, promoted or not."""
    spec = load_spec(result.project / "steadyml.yaml")
    with Workspace.open(spec, environ={}) as workspace:
        entries = workspace.store.audit_log(spec.service, limit=200)
    lines = []
    auto = any(r.auto_promote for r in spec.responses if r.action == "retrain")
    for entry in sorted(entries, key=lambda e: e.id):
        if entry.action == "retrain_failed":
            lines.append(f"retrain for incident #{entry.incident_id} failed: {entry.reason}")
        if entry.action != "retrain":
            continue
        evidence: dict[str, Any] = entry.evidence
        passed = bool(evidence.get("gate_passed"))
        verdict = "[green]PASSED[/]" if passed else "[red]FAILED[/]"
        if evidence.get("promoted"):
            outcome = f"promoted: v{evidence.get('champion')} is the champion"
        elif not auto:
            outcome = "not promoted: the spec says auto_promote: false (steadyml promote)"
        else:
            outcome = "not promoted: the gate refused it"
        rows = _RETRAIN_DATA.get(str(evidence.get("data")), "rows")
        lines.append(
            f"retrain for incident #{entry.incident_id}: candidate v{evidence.get('candidate')}"
            f" trained on {evidence.get('train_rows', 0):,} {rows}, gate {verdict} on the "
            f"latest {evidence.get('test_rows', 0):,}, {outcome}"
        )
    return lines


def demo_command(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the demo project and its reports are written.")
    ] = Path("steadyml-demo"),
    quick: Annotated[
        bool,
        typer.Option(
            "--quick", help="A shorter replay at a lower rate that still plays every incident."
        ),
    ] = False,
) -> None:
    """Train and promote on 2015, serve, replay 2016–2018 with incidents; report detection."""
    started = time.perf_counter()
    console.print(Rule("steadyml demo — census employment, Massachusetts"))
    console.print(Rule("1. train v1 on 2015, gate, promote"))
    spec_path = _train_and_promote(directory / "project")
    scenario = story_scenario(spec_path.parent, quick=quick)
    rate = scenario.rate / 1e6
    console.print(
        Rule(
            f"2. serve v1, replay 2016–2018 rows: {scenario.duration} of traffic from "
            f"{scenario.start:%Y-%m-%d %H:%M} at {rate:g}M requests/day"
        )
    )
    out = directory / "simulation"
    result = _replay(scenario, out)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "simulation.json"
    json_path.write_text(json.dumps(result.to_dict(), indent=2, default=str), encoding="utf-8")
    from steadyml.faces.reports.simulation_html import write_simulation_html

    html_path = write_simulation_html(result, out / "simulation.html")
    console.print(Rule("3. what happened"))
    print_story(result, console)
    for line in _retrain_lines(result):
        console.print(line)
    console.print(f"report: [bold]{html_path}[/] (and {json_path})")
    console.print(f"done in {time.perf_counter() - started:.0f}s")
    if result.partial:
        console.print("interrupted: the server is stopped, the report above is partial")
        raise typer.Exit(130)
    missed = [d.name for d in result.detections if not d.detected]
    if missed:
        console.print(f"[bold red]not detected[/]: {', '.join(missed)}")
        raise typer.Exit(1)
    console.print("[bold green]every scripted incident was detected[/]")


def register(app: typer.Typer) -> None:
    """Add the demo command to ``app``."""
    app.command("demo")(demo_command)
