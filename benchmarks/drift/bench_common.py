"""What every drift-benchmark runner shares: its command line and its one JSON line.

Standard library only: the runners of the peer tools import this module from their own
virtual environments, where steadyml is not installed.

A runner is called as ``python tool_X.py REFERENCE CURRENT --case C --size S`` and prints
one JSON object on one line::

    {"tool": ..., "version": ..., "case": ..., "size": ..., "wall_s": ..., "cpu_s": ...,
     "startup_s": ..., "peak_rss_mb": ..., "decisions": {column: label}, "scores": {...}}

``wall_s`` is the time from reading the files to the per-column decisions (interpreter
start and imports excluded, reported apart as ``startup_s``), ``cpu_s`` the CPU time of
all the process's threads over the same span; ``peak_rss_mb`` is the process's peak
resident memory. Labels are ``ok``, ``warn`` or ``drift`` (tools that decide yes/no use
``ok`` and ``drift``), or a status of their own such as ``insufficient_data``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Job:
    """One comparison: a reference file, a current file, and how to label the result."""

    reference: Path
    current: Path
    case: str
    size: str


def parse_job(argv: Sequence[str] | None = None) -> Job:
    """Read a runner's command line."""
    parser = argparse.ArgumentParser(description="Compare CURRENT with REFERENCE.")
    parser.add_argument("reference", type=Path)
    parser.add_argument("current", type=Path)
    parser.add_argument("--case", required=True)
    parser.add_argument("--size", required=True)
    args = parser.parse_args(argv)
    return Job(args.reference, args.current, args.case, args.size)


def process_age_s() -> float:
    """Seconds since this process started (Linux ``/proc``; 0 where unavailable)."""
    try:
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            started = int(stat.read().rsplit(")", 1)[1].split()[19])  # field 22: starttime
            now = float(uptime.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(0.0, now - started / os.sysconf("SC_CLK_TCK"))


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Stopwatch:
    """Wall time of the measured work, started after the imports."""

    def __init__(self) -> None:
        self.startup_s = process_age_s()
        self._start = time.perf_counter()
        self._cpu = time.process_time()

    def elapsed(self) -> float:
        """Seconds since the stopwatch was created."""
        return time.perf_counter() - self._start

    def cpu(self) -> float:
        """CPU seconds of this process (all threads) since the stopwatch was created."""
        return time.process_time() - self._cpu


def emit(
    tool: str,
    version: str,
    job: Job,
    watch: Stopwatch,
    *,
    decisions: Mapping[str, str],
    scores: Mapping[str, Any] | None = None,
    **extra: Any,
) -> None:
    """Print the runner's result as one JSON line on standard output."""
    wall = watch.elapsed()
    record = {
        "tool": tool,
        "version": version,
        "case": job.case,
        "size": job.size,
        "current": job.current.name,
        "wall_s": round(wall, 4),
        "cpu_s": round(watch.cpu(), 4),
        "startup_s": round(watch.startup_s, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "decisions": dict(decisions),
        "scores": dict(scores or {}),
        **extra,
    }
    sys.stdout.write(json.dumps(record, default=_jsonable) + "\n")
    sys.stdout.flush()


def _jsonable(value: object) -> object:
    # NumPy scalars in the peers' results become Python numbers; anything else, text
    item = getattr(value, "item", None)
    return item() if callable(item) else str(value)
