"""The ``steadyml`` command: one Typer app, errors printed as one line, never a traceback."""

from __future__ import annotations

import os
import sys
import traceback

import typer
from rich.console import Console

from steadyml.errors import SteadyError
from steadyml.faces.cli import alerts, demo, drift, lifecycle, monitor, respond, serve, simulate
from steadyml.faces.cli import ui as ui_command

__all__ = ["app", "main"]

app = typer.Typer(
    name="steadyml",
    help="Keep machine-learning models healthy in production.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
lifecycle.register(app)
demo.register(app)
serve.register(app)
drift.register(app)
monitor.register(app)
simulate.register(app)
alerts.register(app)
respond.register(app)
ui_command.register(app)

INTERNAL_ERROR = 70


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; a :class:`SteadyError` becomes one line on stderr and its exit code."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        # without standalone mode, Typer returns (not raises) the code of a typer.Exit
        returned = app(args=argv, standalone_mode=False)
    except SteadyError as exc:
        err.print(f"[bold red]error[/] {exc.one_line()}", markup=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except (typer.Abort, EOFError):
        err.print("aborted")
        return 1
    except typer.exceptions.TyperException as exc:  # usage errors: bad option, no such command
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        return int(getattr(exc, "exit_code", 2))
    except Exception as exc:
        if os.environ.get("STEADYML_DEBUG"):
            traceback.print_exc()
        err.print(
            f"[bold red]internal error[/] {type(exc).__name__}: {exc} "
            "(set STEADYML_DEBUG=1 for the traceback, and please report it)",
            markup=True,
        )
        return INTERNAL_ERROR
    return returned if isinstance(returned, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
