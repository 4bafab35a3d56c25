"""What every detection runner shares: its command line, the windows, its JSON lines.

Standard library only: the peers' runners import this module from their own virtual
environments, where steadyml is not installed.

A runner is called as ``python tool_X.py DATA_DIR --scenario NAME`` and prints one JSON
object per window on its own line::

    {"tool": ..., "version": ..., "scenario": ..., "window": 0, "start": ..., "end": ...,
     "status": "ok" | "partial" | "error", "alarms": {check: [column, ...]},
     "errors": {check: message}, "wall_s": ...}

``alarms`` maps each check the tool ran (``data_drift``, ``cbpe``...) to the columns or
metrics it flagged in that window (empty: no alarm). A check that raised an exception on
the window is in ``errors`` with the exception's first line instead; the status is
``partial`` when some checks failed and ``error`` when all did.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Window:
    """One window of replayed traffic."""

    index: int
    path: Path
    start: str
    end: str
    rows: int


@dataclass(frozen=True)
class Job:
    """One scenario for one tool."""

    data: Path
    scenario: str
    manifest: dict[str, Any]
    windows: list[Window]

    @property
    def features(self) -> list[str]:
        """The model's input columns."""
        return list(self.manifest["features"])

    @property
    def reference(self) -> Path:
        """2015 with the champion's scores."""
        return self.data / str(self.manifest["reference"])

    @property
    def window_rows(self) -> int:
        """The smallest full window's row count (the chunk size for chunking tools)."""
        return min(w.rows for w in self.windows)


def parse_job(argv: Sequence[str] | None = None) -> Job:
    """Read a runner's command line and the manifest."""
    parser = argparse.ArgumentParser(description="Evaluate one scenario's windows.")
    parser.add_argument("data", type=Path)
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--limit", type=int, default=0, help="only the first N windows")
    parser.add_argument("--since", default="", help="only windows ending after this ISO time")
    args = parser.parse_args(argv)
    manifest = json.loads((args.data / "manifest.json").read_text())
    entry = next((s for s in manifest["scenarios"] if s["name"] == args.scenario), None)
    if entry is None:
        parser.error(f"no scenario {args.scenario!r} in {args.data / 'manifest.json'}")
    windows = [
        Window(i, args.data / w["file"], w["start"], w["end"], int(w["rows"]))
        for i, w in enumerate(entry["windows"])
    ]
    if args.since:
        windows = [w for w in windows if w.end > args.since]
    if args.limit:
        windows = windows[: args.limit]
    return Job(args.data, args.scenario, manifest, windows)


def windows(job: Job) -> Iterator[tuple[Window, float]]:
    """The job's windows, each with the wall clock at its start."""
    for window in job.windows:
        yield window, time.perf_counter()


def describe(error: BaseException) -> str:
    """The exception's type and the first line of its message."""
    return (f"{type(error).__name__}: {error}".splitlines() or ["?"])[0][:300]


def emit(
    tool: str,
    version: str,
    job: Job,
    window: Window,
    started: float,
    *,
    alarms: Mapping[str, Sequence[str]] | None = None,
    errors: Mapping[str, BaseException] | None = None,
) -> None:
    """Print one window's result as a JSON line."""
    alarms, errors = dict(alarms or {}), dict(errors or {})
    status = "ok" if not errors else "partial" if alarms else "error"
    record = {
        "tool": tool,
        "version": version,
        "scenario": job.scenario,
        "window": window.index,
        "start": window.start,
        "end": window.end,
        "rows": window.rows,
        "status": status,
        "alarms": {k: sorted(set(v)) for k, v in alarms.items()},
        "errors": {k: describe(e) for k, e in errors.items()},
        "wall_s": round(time.perf_counter() - started, 3),
    }
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()
