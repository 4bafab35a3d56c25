"""Run Evidently and NannyML on every scenario's windows, each scenario in its own process.

One child process per (tool, scenario), in the tool's own environment (``setup_envs.sh``),
bounded by ``--timeout``; a run that exceeds it is killed and recorded as such (the
windows it finished are kept). Each child prints one JSON line per window; they are
appended to ``--out``, which ``report.py`` reads. Usage::

    uv run python benchmarks/detection/make_windows.py
    bash benchmarks/detection/setup_envs.sh
    uv run python benchmarks/detection/run.py
    uv run python benchmarks/detection/report.py --readme benchmarks/README.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
TOOLS = ("evidently", "nannyml")
# no telemetry from the peers (there is no network here anyway)
QUIET = {"NML_DISABLE_USAGE_LOGGING": "1", "DO_NOT_TRACK": "1"}


def interpreter(tool: str) -> Path:
    """The Python of ``tool``'s own environment."""
    return HERE / f".venv-{tool}" / "bin" / "python"


def since(scenario: dict[str, Any], lead: timedelta) -> str:
    """Windows before this time are skipped: ``lead`` before the first onset (clean: none)."""
    onsets = [datetime.fromisoformat(i["onset"]) for i in scenario["incidents"]
              if i["type"] != "clean"]  # fmt: skip
    return (min(onsets) - lead).isoformat() if onsets else ""


def run_one(tool: str, scenario: str, data: Path, timeout: float, *, limit: int,
            start: str) -> list[Any]:  # fmt: skip
    """Evaluate one scenario with one tool; its per-window records (and a failure record)."""
    command = [str(interpreter(tool)), str(HERE / f"tool_{tool}.py"), str(data),
               "--scenario", scenario]  # fmt: skip
    if limit:
        command += ["--limit", str(limit)]
    if start:
        command += ["--since", start]
    env = {**os.environ, **QUIET, "PYTHONPATH": str(HERE)}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
        stdout, failure = done.stdout, None if done.returncode == 0 else done.stderr
    except subprocess.TimeoutExpired as exc:
        raw = exc.stdout or b""
        stdout = raw.decode() if isinstance(raw, bytes) else raw
        failure = f"timed out after {timeout:.0f} s"
    records: list[Any] = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    if failure is not None:
        tail = failure.strip().splitlines()[-1:] or ["?"]
        records.append({"tool": tool, "scenario": scenario, "status": "run_failed",
                        "error": tail[0][:300], "windows_done": len(records)})  # fmt: skip
    seconds = time.perf_counter() - started
    print(f"{tool:9} {scenario:28} {len(records):4} records in {seconds:6.1f} s", flush=True)
    return records


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--tools", nargs="*", default=list(TOOLS), choices=TOOLS)
    parser.add_argument("--scenarios", nargs="*", help="default: every one in the manifest")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--limit", type=int, default=0, help="only the first N windows")
    parser.add_argument(
        "--lead", type=float, default=15.0,
        help="minutes of traffic before an incident's onset to evaluate (the earlier windows "
        "repeat the clean stretch's first hour: same rows, same seed)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=HERE / "results.jsonl")
    args = parser.parse_args(argv)
    manifest = json.loads((args.data / "manifest.json").read_text())
    scenarios = {s["name"]: s for s in manifest["scenarios"]}
    names = args.scenarios or list(scenarios)
    missing = [t for t in args.tools if not interpreter(t).exists()]
    if missing:
        sys.exit(f"no environment for {missing}: run bash {HERE / 'setup_envs.sh'} first")
    args.out.write_text("")
    for tool in args.tools:
        for name in names:
            start = since(scenarios[name], timedelta(minutes=args.lead))
            records = run_one(tool, name, args.data, args.timeout, limit=args.limit, start=start)
            with args.out.open("a") as out:
                out.writelines(json.dumps(r) + "\n" for r in records)


if __name__ == "__main__":
    main()
