"""Two steadyml variants side by side, measured in interleaved rounds: what the log costs.

On a shared machine throughput drifts by tens of percent between runs minutes apart,
more than the prediction log's cost. Both servers are started once and kept running;
wrk then loads one, then the other, alternating which goes first, so that each pair of
rounds sees the same machine. The result is the median of the per-round ratios.

Usage::

    uv run python benchmarks/serving/paired.py [--a relaxed --b bare --rounds 10]

Appends one JSON line to ``paired.jsonl``; ``report.py`` shows the last one.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import time
from pathlib import Path

from run import DATA, PROJECT, QUIET_ENV, THREADS_ENV, VENV, free_port, post, wrk

HERE = Path(__file__).resolve().parent


def start(variant: str, workers: int) -> tuple[str, subprocess.Popen[bytes]]:
    """Start ``steadyml serve`` on the variant's spec; its URL and process."""
    port = free_port()
    argv = [str(VENV / "steadyml"), "serve", "--port", str(port), "--workers", str(workers)]
    argv += ["--log-level", "warning", "--spec", str(PROJECT / f"{variant}.yaml")]
    env = {**os.environ, **QUIET_ENV, **THREADS_ENV}
    log = open(DATA / f"server-paired-{variant}.log", "wb")  # noqa: SIM115 - kept open
    process = subprocess.Popen(
        argv, cwd=HERE, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    return f"http://127.0.0.1:{port}/predict", process


def main() -> None:
    """Start both variants, alternate wrk runs, append the rounds to ``paired.jsonl``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", default="relaxed", help="first spec variant (denominator)")
    parser.add_argument("--b", default="bare", help="second spec variant")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "paired.jsonl")
    args = parser.parse_args()
    body = (DATA / "row.json").read_bytes()
    body_file = DATA / "body-paired.json"
    body_file.write_bytes(body)
    servers = {name: start(name, args.workers) for name in (args.a, args.b)}
    rounds: dict[str, list[float]] = {name: [] for name in servers}
    try:
        for url, process in servers.values():
            deadline = time.monotonic() + 180
            while post(url, body) != 200:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not start")
                time.sleep(0.25)
            wrk(url, body_file, args.concurrency, 5)  # warm-up
        names = list(servers)
        for index in range(args.rounds):
            for name in names if index % 2 == 0 else names[::-1]:
                measured = wrk(servers[name][0], body_file, args.concurrency, args.duration)
                rounds[name].append(measured["requests"] / (measured["duration_us"] / 1e6))
    finally:
        for _, process in servers.values():
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)
    ratios = [b / a for a, b in zip(rounds[args.a], rounds[args.b], strict=True)]
    record = {
        "run": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "a": args.a,
        "b": args.b,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "duration_s": args.duration,
        "rps": rounds,
        "median_ratio_b_over_a": statistics.median(ratios),
    }
    with args.out.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    print(json.dumps(record))


if __name__ == "__main__":
    main()
