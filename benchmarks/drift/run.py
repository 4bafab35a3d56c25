"""Run every drift tool on the same files, each comparison in its own process.

Every (tool, data set, round) is one child process, so wall time and peak memory are the
tool's own: the child reports ``wall_s`` (reading the files to decisions, imports
excluded) and this script measures the whole process from outside with ``os.wait4``
(``process_s``, ``peak_rss_mb`` from the kernel's ``ru_maxrss``). Each run is bounded by
``--timeout``; a run that exceeds it is killed and recorded as such. Results are
appended as JSON lines to ``--out``; ``report.py`` turns them into the tables of
``benchmarks/README.md``.

steadyml and the scipy baseline run in the project environment (this interpreter); the
peers in their own environments made by ``setup_envs.sh``. Usage::

    uv run python benchmarks/drift/make_data.py
    bash benchmarks/drift/setup_envs.sh
    uv run python benchmarks/drift/run.py --out benchmarks/drift/results.jsonl
    uv run python benchmarks/drift/report.py benchmarks/drift/results.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
SIZES = ("100k", "1M", "5M", "20M")
CASES = ("none", "trivial", "moderate", "major")
CENSUS_YEARS = ("2016", "2017", "2018")
PROJECT_TOOLS = ("steadyml", "scipy")
PEERS = ("evidently", "nannyml", "whylogs")
# no telemetry calls from the peers during a timed run (there is no network here anyway)
QUIET = {"NML_DISABLE_USAGE_LOGGING": "1", "DO_NOT_TRACK": "1", "WHYLOGS_NO_ANALYTICS": "True"}


@dataclass(frozen=True)
class Dataset:
    """A reference and a current file, and their labels in the results."""

    reference: Path
    current: Path
    case: str
    size: str


def datasets(sizes: Sequence[str], cases: Sequence[str], census: bool) -> Iterator[Dataset]:
    """The comparisons to run, small ones first."""
    if census:
        for year in CENSUS_YEARS:
            yield Dataset(
                DATA / "census_2015.parquet", DATA / f"census_{year}.parquet", year, "census"
            )
    for size in sizes:
        for case in cases:
            yield Dataset(
                DATA / "reference.parquet", DATA / f"current_{case}_{size}.parquet", case, size
            )


def interpreter(tool: str) -> Path:
    """The Python that runs ``tool``."""
    if tool in PROJECT_TOOLS:
        return Path(sys.executable)
    return HERE / f".venv-{tool}" / "bin" / "python"


def run_one(tool: str, data: Dataset, timeout: float) -> dict[str, Any]:
    """Run one comparison in a child process; its JSON line plus outside measurements."""
    command = [
        str(interpreter(tool)),
        str(HERE / f"tool_{tool}.py"),
        str(data.reference),
        str(data.current),
        "--case",
        data.case,
        "--size",
        data.size,
    ]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(QUIET)
    base = {"tool": tool, "case": data.case, "size": data.size, "current": data.current.name}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(
            command, stdout=out, stderr=err, env=env, cwd=HERE, start_new_session=True
        )
        status, usage = _wait(child, timeout)
        elapsed = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    measured = {"process_s": round(elapsed, 3), "process_rss_mb": round(usage / 1024.0, 1)}
    if status is None:
        return {**base, **measured, "status": "timeout", "error": f"killed after {timeout:.0f} s"}
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if status != 0 or not lines:
        tail = stderr.strip().splitlines()[-3:]
        return {**base, **measured, "status": "error", "error": f"exit {status}: {tail}"}
    return {**json.loads(lines[-1]), **measured, "status": "ok"}


def _wait(child: subprocess.Popen[bytes], timeout: float) -> tuple[int | None, int]:
    """Reap ``child`` with ``wait4`` (its own peak RSS, in KiB); ``None`` on time-out."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid == child.pid:
            child.returncode = os.waitstatus_to_exitcode(status)
            return child.returncode, int(usage.ru_maxrss)
        if time.monotonic() > deadline:
            os.killpg(child.pid, signal.SIGKILL)
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            return None, int(usage.ru_maxrss)
        time.sleep(0.02)


def plan(args: argparse.Namespace) -> Iterator[tuple[int, str, Dataset]]:
    """(round, tool, data set) in run order: rounds outermost, tools interleaved."""
    all_data = list(datasets(args.sizes, args.cases, not args.no_census))
    rounds = max(args.rounds, args.peer_rounds)
    for index in range(rounds):
        for data in all_data:
            for tool in args.tools:
                peer = tool in PEERS
                if index >= (args.peer_rounds if peer else args.rounds):
                    continue
                if peer and data.size in SIZES and _rows(data.size) > _rows(args.peer_max_size):
                    continue
                yield index, tool, data


def _rows(label: str) -> int:
    scale = {"k": 1_000, "M": 1_000_000}
    return int(float(label[:-1]) * scale[label[-1]])


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", nargs="*", default=[*PROJECT_TOOLS, *PEERS])
    parser.add_argument("--sizes", nargs="*", default=list(SIZES), choices=SIZES)
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=CASES)
    parser.add_argument("--no-census", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="rounds for steadyml and scipy")
    parser.add_argument("--peer-rounds", type=int, default=1)
    parser.add_argument("--peer-max-size", default="5M", choices=SIZES)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run")
    parser.add_argument("--out", type=Path, default=HERE / "results.jsonl")
    args = parser.parse_args(argv)
    missing = [t for t in args.tools if not interpreter(t).exists()]
    if missing:
        parser.error(f"no environment for {missing}: run benchmarks/drift/setup_envs.sh")
    warm = next(datasets([], [], census=True))
    for tool in args.tools:  # compile bytecode and fill the page cache; not recorded
        run_one(tool, warm, args.timeout)
    with args.out.open("a") as sink:
        for index, tool, data in plan(args):
            record = {**run_one(tool, data, args.timeout), "round": index}
            sink.write(json.dumps(record) + "\n")
            sink.flush()
            print(
                f"{record['tool']:9} {record['size']:6} {record['case']:8} r{index} "
                f"{record['status']:7} wall {record.get('wall_s', '-')} s "
                f"process {record['process_s']} s rss {record['process_rss_mb']} MB",
                flush=True,
            )


if __name__ == "__main__":
    main()
