"""``steadyml demo``: the whole story on the bundled census data."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.rule import Rule

from steadyml.faces.cli.lifecycle import print_gate, print_train
from steadyml.services.demo_project import prepare_demo_project, spec_variant
from steadyml.services.gate import run_gate
from steadyml.services.promotion import promote
from steadyml.services.training import train
from steadyml.services.workspace import Workspace

__all__ = ["demo_command", "register"]

console = Console(highlight=False)


def demo_command(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the demo project is written.")
    ] = Path("steadyml-demo"),
) -> None:
    """Train, gate and promote on the bundled census data; then gate a changed model."""
    started = time.perf_counter()
    console.print(Rule("steadyml demo — census employment, Massachusetts"))
    spec = prepare_demo_project(directory)
    console.print(f"project: {spec.base_dir} (spec, contract, transforms, 2015 data)")
    with Workspace.open(spec) as workspace:
        console.print(Rule("1. train v1 on 2015"))
        with console.status("training v1…") as status:
            first = train(spec, workspace, reason="demo: first model", progress=status.update)
        print_train(first, console)
        console.print(Rule("2. gate v1 (no champion yet) and promote"))
        print_gate(run_gate(workspace), console)
        change = promote(workspace, reason="demo: first champion")
        console.print(f"champion is now [bold]v{change.champion}[/]")
    spec = spec_variant(spec, num_leaves=7, n_estimators=60, learning_rate=0.1)
    with Workspace.open(spec) as workspace:
        console.print(Rule("3. train v2 from a changed config (num_leaves 7, 60 trees)"))
        with console.status("training v2…") as status:
            second = train(spec, workspace, reason="demo: smaller model", progress=status.update)
        print_train(second, console)
        console.print(Rule("4. gate v2 against champion v1"))
        report = run_gate(workspace)
        print_gate(report, console)
        if report.passed:
            promote(workspace, reason="demo: gate passed")
            console.print(f"v{second.version} promoted")
        else:
            console.print(
                f"v{second.version} stays a candidate: champion v{first.version} keeps serving"
            )
    console.print(Rule())
    console.print(
        f"done in {time.perf_counter() - started:.0f}s. Explore: "
        f"steadyml lineage {first.version} --spec {spec.base_dir / 'steadyml.yaml'}"
    )


def register(app: typer.Typer) -> None:
    """Add the demo command to ``app``."""
    app.command("demo")(demo_command)
