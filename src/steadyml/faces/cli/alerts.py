"""``steadyml alerts rules``: Prometheus alerting rules for the prediction server's metrics."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from steadyml.errors import ConfigError
from steadyml.services.notifications import rules_yaml
from steadyml.spec import load_spec

__all__ = ["register", "rules_command"]

_RANGE = re.compile(r"^\d+[smhdw]$")
_SELECTOR = re.compile(r'^\s*[A-Za-z_][A-Za-z0-9_]*\s*(=|!=|=~|!~)\s*"[^"]*"\s*$')

alerts_app = typer.Typer(
    name="alerts",
    help="Alerting outside steadyml: Prometheus rules for Alertmanager.",
    no_args_is_help=True,
)


def _check_selector(selector: str) -> None:
    parts = [p for p in selector.split(",") if p.strip()] if selector else []
    for part in parts:
        if not _SELECTOR.match(part):
            raise ConfigError(
                "--selector",
                selector,
                'write label matchers like job="churn" or job="churn",namespace="ml"',
            )


@alerts_app.command("rules")
def rules_command(
    spec: Annotated[
        Path, typer.Option("--spec", "-s", help="The service spec file (or its folder).")
    ] = Path("steadyml.yaml"),
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the rules here (default: stdout).")
    ] = None,
    selector: Annotated[
        str | None,
        typer.Option(
            "--selector", help='Label matchers of the server\'s series (default: job="<service>").'
        ),
    ] = None,
    range_: Annotated[
        str, typer.Option("--range", help="Rate window of the ratios (Prometheus duration).")
    ] = "5m",
) -> None:
    """Write Alertmanager-ready Prometheus alerting rules for the service-health signals."""
    if not _RANGE.match(range_):
        raise ConfigError("--range", range_, "use a Prometheus duration like 5m or 1h")
    if selector is not None:
        _check_selector(selector)
    text = rules_yaml(load_spec(spec), selector=selector, range_=range_)
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError("--out", str(out), f"cannot write it ({exc.strerror or exc})") from None
    typer.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``alerts`` (with ``rules``) to ``app``."""
    app.add_typer(alerts_app)
