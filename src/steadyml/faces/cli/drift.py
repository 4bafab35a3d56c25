"""``steadyml drift REFERENCE CURRENT``: a ranked table, JSON, an HTML report, a CI exit code."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from steadyml.core.drift import DatasetDriftResult, DriftResult, Status
from steadyml.core.durations import format_duration
from steadyml.errors import ConfigError, SteadyError
from steadyml.faces.reports.drift_html import write_drift_html
from steadyml.services.drift import DriftCheck, DriftProgress, FailOn, ProgressCallback, check_drift
from steadyml.spec import load_spec

__all__ = ["DRIFT_EXIT_CODE", "DriftDetected", "drift_command", "print_drift", "register"]

DRIFT_EXIT_CODE = 8


class DriftDetected(SteadyError):
    """``--fail-on`` was hit: the CLI prints one line and exits with code 8 (for CI)."""

    kind = "drift detected"
    exit_code = DRIFT_EXIT_CODE


_STYLES = {
    Status.OK: "green",
    Status.INSUFFICIENT_DATA: "dim",
    Status.WARN: "yellow",
    Status.SCHEMA_MISMATCH: "magenta",
    Status.DRIFT: "bold red",
}
_MAX_WINDOW_ROWS = 48
_LOG_WIDTH = 132

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def _num(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if abs(value) >= 10**-digits or value == 0 else f"{value:.1e}"


def _status(status: Status) -> str:
    return f"[{_STYLES[status]}]{status.value.replace('_', ' ')}[/]"


def _row(result: DriftResult) -> list[str]:
    stats = result.statistics
    effect = _num(result.effect)
    if result.effect_low is not None and result.effect_high is not None:
        effect += f" [{_num(result.effect_low)}, {_num(result.effect_high)}]"
    band = (
        f"{result.warn_threshold:g} / {result.drift_threshold:g}"
        if result.warn_threshold is not None and result.drift_threshold is not None
        else "-"
    )
    shift = (
        f"{result.min_detectable_shift:.2f} {result.shift_unit}"
        if result.min_detectable_shift is not None
        else "-"
    )
    ks_p = stats.get("ks_p_value")
    return [
        escape(result.feature),
        _status(result.status),
        escape(effect),
        band,
        shift,
        _num(stats.get("psi")),
        _num(stats.get("js")),
        "-" if ks_p is None else f"{ks_p:.2g}",
        f"{result.n_current:,}",
    ]


def print_drift(check: DriftCheck, out: Console = console) -> None:
    """Print the ranked feature table, the windows and what needs attention."""
    if not out.is_terminal and out.width < _LOG_WIDTH:  # CI logs: do not wrap at 80 columns
        out = Console(file=out.file, width=_LOG_WIDTH, highlight=False, color_system=None)
    result = check.result
    metric = result.features[0].metric if result.features else "effect"
    table = Table(
        title=escape(f"drift: {check.current} vs {check.reference}"),
        caption=f"{metric} = effect with its 95% interval; band = warn / drift tolerances; "
        "detectable = smallest shift this check catches at this size",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("feature", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column(escape(f"{metric} [interval]"), no_wrap=True)
    for name in ("band", "detectable"):
        table.add_column(name, no_wrap=True)
    for name in ("PSI", "JS", "KS p", "rows"):
        table.add_column(name, justify="right", no_wrap=True)
    for feature in result.ranked():
        table.add_row(*_row(feature))
    out.print(table)
    if check.windows:
        _print_windows(check, out)
    out.print(f"{_status(check.status)}: whole period {_counts(result)}")
    if check.windows:
        statuses = Counter(w.result.status.value for w in check.windows)
        windows = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in statuses.most_common())
        out.print(f"  {len(check.windows)} windows: {windows}")
    out.print(
        f"  {result.n_current:,} current rows against {result.n_reference:,} reference rows, "
        f"{check.seconds:.1f} s"
    )
    for feature in result.ranked():
        if feature.status is Status.OK:
            continue
        out.print(
            f"  [bold]{escape(feature.feature)}[/] {_status(feature.status)}: "
            + escape(feature.message),
            soft_wrap=True,
        )
        for note in feature.notes:
            out.print(f"      {note}", markup=False, soft_wrap=True)
    for note in check.notes:
        out.print(f"  note: {note}", markup=False, soft_wrap=True)
    for column, reason in check.skipped:
        out.print(f"  not compared: {column} ({reason})", markup=False, soft_wrap=True)


def _counts(result: DatasetDriftResult) -> str:
    return ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in result.counts().items() if n)


def _print_windows(check: DriftCheck, out: Console) -> None:
    width = format_duration(check.window) if check.window is not None else "?"
    table = Table(title=escape(f"windows of {width} on {check.time_column}"), box=box.SIMPLE_HEAD)
    for name in ("start", "rows", "status", "flagged", "largest effect"):
        table.add_column(name, justify="right" if name == "rows" else "left")
    for window in check.windows[:_MAX_WINDOW_ROWS]:
        ranked = window.result.ranked()
        flagged = window.result.with_status(Status.WARN, Status.DRIFT, Status.SCHEMA_MISMATCH)
        top = f"{ranked[0].feature} {_num(ranked[0].effect)}" if ranked else "-"
        table.add_row(
            window.start.strftime("%Y-%m-%d %H:%M"),
            f"{window.result.n_current:,}",
            _status(window.result.status),
            escape(", ".join(flagged) or "-"),
            escape(top),
        )
    out.print(table)
    hidden = len(check.windows) - _MAX_WINDOW_ROWS
    if hidden > 0:
        out.print(f"  ... {hidden} more windows (see --json or --html)")


@contextmanager
def _progress_bar() -> Iterator[ProgressCallback]:
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.completed:,.0f} rows"),
        TimeElapsedColumn(),
    )
    with Progress(
        *columns, console=err_console, transient=True, disable=not err_console.is_terminal
    ) as bar:
        task = bar.add_task("opening", total=None)

        def update(event: DriftProgress) -> None:
            bar.update(task, description=event.stage, completed=event.rows, total=event.total)

        yield update


def _columns(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [c.strip() for c in text.split(",") if c.strip()]
    if not names:
        raise ConfigError("--columns", text, "give comma-separated column names, e.g. age,income")
    return names


def drift_command(
    reference: Annotated[
        str,
        typer.Argument(
            help="Reference data (Parquet/CSV file or Parquet folder), or with --spec a "
            "model: champion, candidate or a version number."
        ),
    ],
    current: Annotated[
        str, typer.Argument(help="Current data (Parquet/CSV file or Parquet folder).")
    ],
    *,
    spec: Annotated[
        Path | None,
        typer.Option(
            "--spec",
            "-s",
            help="Service spec: compare its features with its tolerances; needed for a "
            "model reference.",
        ),
    ] = None,
    time_column: Annotated[
        str | None, typer.Option("--time-column", help="Event-time column for --window.")
    ] = None,
    window: Annotated[
        str | None,
        typer.Option("--window", help="Also compare each tumbling window, e.g. 1h, 30m, 1d."),
    ] = None,
    columns: Annotated[
        str | None, typer.Option("--columns", help="Compare only these (comma-separated).")
    ] = None,
    json_path: Annotated[
        str | None,
        typer.Option("--json", metavar="PATH|-", help="Write the result as JSON ('-': stdout)."),
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write a self-contained HTML report.")
    ] = None,
    fail_on: Annotated[
        FailOn,
        typer.Option(
            "--fail-on",
            help=f"Exit with code {DRIFT_EXIT_CODE} when a feature reaches warn, drift "
            "(a schema mismatch counts as both), or never.",
        ),
    ] = FailOn.DRIFT,
) -> None:
    """Compare CURRENT with REFERENCE: calibrated drift decisions per feature (and window)."""
    service = load_spec(spec) if spec is not None else None
    with _progress_bar() as progress:
        check = check_drift(
            reference,
            current,
            spec=service,
            columns=_columns(columns),
            time_column=time_column,
            window=window,
            progress=progress,
        )
    to_stdout = json_path == "-"
    if json_path is not None:
        text = json.dumps(check.to_dict(), indent=2, allow_nan=False)
        if to_stdout:
            sys.stdout.write(text + "\n")
        else:
            _write(Path(json_path), text)
    print_drift(check, err_console if to_stdout else console)
    if html is not None:
        written = write_drift_html(check, html)
        (err_console if to_stdout else console).print(
            f"report: {written}", markup=False, soft_wrap=True
        )
    if check.failed(fail_on):
        raise DriftDetected("--fail-on", fail_on.value, _failure(check, fail_on))


def _failure(check: DriftCheck, fail_on: FailOn) -> str:
    failing = fail_on.failing()
    features = [r.feature for r in check.result.features if r.status in failing]
    windows = [w for w in check.windows if any(r.status in failing for r in w.result.features)]
    parts = []
    if features:
        parts.append(f"{len(features)} feature(s) over the whole period ({', '.join(features)})")
    if windows:
        parts.append(f"{len(windows)} of {len(check.windows)} windows")
    return (
        f"{' and '.join(parts)} reached {fail_on.value}; "
        "look at the features above, or pass --fail-on never to report only"
    )


def _write(path: Path, text: str) -> None:
    try:
        path.expanduser().parent.mkdir(parents=True, exist_ok=True)
        path.expanduser().write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError("--json", str(path), f"cannot write it ({exc})") from None


def register(app: typer.Typer) -> None:
    """Add the ``drift`` command to ``app``."""
    app.command("drift")(drift_command)
