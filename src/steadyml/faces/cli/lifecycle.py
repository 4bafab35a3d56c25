"""Model lifecycle commands: init, train, gate, promote, rollback, lineage, versions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from steadyml.services.gate import GateReport, run_gate
from steadyml.services.lineage import lineage
from steadyml.services.promotion import AliasChange, promote, rollback
from steadyml.services.retraining import training_data
from steadyml.services.scaffold import write_scaffold
from steadyml.services.training import TrainResult, train
from steadyml.services.workspace import Workspace
from steadyml.spec import load_spec

__all__ = ["print_gate", "print_train", "register"]

console = Console(highlight=False)

SpecOption = Annotated[
    Path,
    typer.Option("--spec", "-s", help="The service spec file (or its folder).", show_default=True),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _workspace(spec_path: Path) -> Workspace:
    return Workspace.open(load_spec(spec_path))


def print_train(result: TrainResult, out: Console = console) -> None:
    """Summarise a training run."""
    ev = result.evaluation
    primary = ev.metrics[ev.primary_metric]
    out.print(
        f"trained [bold]v{result.version}[/] (alias candidate) in {result.seconds:.1f}s on "
        f"{result.train_rows:,} rows; held out {result.test_rows:,}; "
        f"{ev.primary_metric} {primary['estimate']:.4f} "
        f"[{primary['low']:.4f}, {primary['high']:.4f}]"
    )
    out.print(f"  run {result.run_id}, data {result.fingerprint[:23]}…")


def print_gate(report: GateReport, out: Console = console) -> None:
    """Print the gate's checks as a table."""
    against = (
        f"v{report.champion_version}" if report.champion_version is not None else "no champion"
    )
    verdict = "[bold green]PASSED[/]" if report.passed else "[bold red]FAILED[/]"
    table = Table(title=f"gate: v{report.candidate_version} vs {against} — {verdict}")
    for column in ("check", "result", "value", "threshold", "detail"):
        table.add_column(column, overflow="fold")
    for check in report.checks:
        table.add_row(
            check.name,
            "[green]pass[/]" if check.passed else "[red]FAIL[/]",
            _cell(check.value),
            _cell(check.threshold),
            check.detail,
        )
    out.print(table)
    if report.paths:
        out.print(f"report: {report.paths['markdown']}")


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _print_change(change: AliasChange) -> None:
    if change.action == "rollback":
        console.print(
            f"rolled back: champion v{change.replaced} -> [bold]v{change.champion}[/] "
            f"({change.reason})"
        )
        return
    old = f"v{change.previous}" if change.previous is not None else "none"
    gate = {True: "passed", False: "FAILED (forced)", None: "not run (forced)"}[change.gate_passed]
    console.print(
        f"promoted [bold]v{change.champion}[/] to champion (was {old}; previous = {old}); "
        f"gate {gate}"
    )


def init_command(
    data: Annotated[Path, typer.Option("--data", help="Parquet or CSV training data.")],
    target: Annotated[str, typer.Option("--target", help="The column to predict.")],
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to write steadyml.yaml and contract.json.")
    ] = Path(),
    service: Annotated[
        str | None, typer.Option(help="Service name (default: from the file).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite existing files.")] = False,
) -> None:
    """Write a commented steadyml.yaml and a contract inferred from the data."""
    result = write_scaffold(data, target, directory, service=service, force=force)
    console.print(
        f"wrote {result.spec_path} ({result.task.value}, {len(result.features)} features) "
        f"and {result.contract_path}"
    )


class TrainData(StrEnum):
    """Where ``steadyml train`` takes its rows from."""

    source = "source"
    production = "production"
    both = "both"


def train_command(
    spec: SpecOption = Path("steadyml.yaml"),
    reason: Annotated[str, typer.Option(help="Why this model is trained (recorded).")] = "",
    data: Annotated[
        TrainData,
        typer.Option(
            help="source: the spec's data; production: labelled predictions of the log over "
            "retrain.window; both: the two together.",
        ),
    ] = TrainData.source,
) -> None:
    """Validate the data, train, evaluate, log to MLflow and register a candidate."""
    with _workspace(spec) as workspace:
        with console.status("training…") as status:
            rows = training_data(
                workspace.spec, workspace, now=datetime.now(UTC), choice=data.value
            )
            if rows.frame is not None:
                console.print(f"training on {rows.production_rows:,} labelled production rows")
            result = train(
                workspace.spec,
                workspace,
                frame=rows.frame,
                in_order=rows.frame is not None,
                reason=reason,
                progress=status.update,
            )
        print_train(result)


def gate_command(
    spec: SpecOption = Path("steadyml.yaml"),
    candidate: Annotated[
        int | None, typer.Option(help="Version to gate (default: alias candidate).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Compare the candidate with the champion; exit non-zero when the gate fails."""
    with _workspace(spec) as workspace:
        report = run_gate(workspace, candidate=candidate)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        print_gate(report)
    if not report.passed:
        raise typer.Exit(6)


def promote_command(
    spec: SpecOption = Path("steadyml.yaml"),
    force: Annotated[bool, typer.Option(help="Promote without a passing gate.")] = False,
    reason: Annotated[str, typer.Option(help="Why (required with --force).")] = "",
) -> None:
    """Move champion to the candidate and previous to the old champion."""
    with _workspace(spec) as workspace:
        _print_change(promote(workspace, force=force, reason=reason))


def rollback_command(
    spec: SpecOption = Path("steadyml.yaml"),
    reason: Annotated[str, typer.Option(help="Why (recorded).")] = "",
) -> None:
    """Restore the previous champion."""
    with _workspace(spec) as workspace:
        _print_change(rollback(workspace, reason=reason))


def lineage_command(
    version: Annotated[int, typer.Argument(help="Model version number.")],
    spec: SpecOption = Path("steadyml.yaml"),
    as_json: JsonOption = False,
) -> None:
    """Data fingerprint, code commit, spec, metrics, gate result and alias history."""
    with _workspace(spec) as workspace:
        found = lineage(workspace, version)
    if as_json:
        typer.echo(json.dumps(found.to_dict(), indent=2, default=str))
        return
    console.print(f"[bold]v{found.version}[/]  aliases: {', '.join(found.aliases) or '-'}")
    console.print(f"  run            {found.run_id} (created {found.created_at})")
    console.print(f"  data           {found.data_fingerprint}")
    console.print(f"  code           {found.git_commit}")
    console.print(f"  reason         {found.reason}")
    model = found.spec.get("model", {})
    console.print(f"  model          {model.get('estimator')} params={model.get('params')}")
    shown = {k: v for k, v in found.metrics.items() if not k.endswith(("_low", "_high"))}
    console.print("  metrics        " + ", ".join(f"{k}={v:.4f}" for k, v in shown.items()))
    if found.gate is None:
        console.print("  gate           not run")
    else:
        console.print(f"  gate           {'passed' if found.gate['passed'] else 'FAILED'}")
    table = Table(title="alias history")
    for column in ("at", "alias", "action", "from", "to", "actor", "reason"):
        table.add_column(column)
    for move in found.alias_history:
        at = move["at"][:16].replace("T", " ")
        table.add_row(
            at, move["alias"], move["action"], str(move["from"] or "-"), str(move["to"] or "-"),
            move["actor"], move["reason"],
        )  # fmt: skip
    console.print(table)


def versions_command(spec: SpecOption = Path("steadyml.yaml")) -> None:
    """List registered versions with their aliases."""
    with _workspace(spec) as workspace:
        workspace.registry.ping()
        versions = workspace.registry.versions()
    table = Table(title=f"versions of {workspace.spec.model_name}")
    for column in ("version", "aliases", "created", "run"):
        table.add_column(column)
    for info in versions:
        table.add_row(
            str(info.version),
            ", ".join(info.aliases),
            info.created_at.isoformat()[:19],
            info.run_id,
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the lifecycle commands to ``app``."""
    app.command("init")(init_command)
    app.command("train")(train_command)
    app.command("gate")(gate_command)
    app.command("promote")(promote_command)
    app.command("rollback")(rollback_command)
    app.command("lineage")(lineage_command)
    app.command("versions")(versions_command)
