"""Two servers side by side, measured in interleaved rounds: ratios a noisy machine keeps.

On a shared machine throughput drifts by tens of percent between runs minutes apart,
more than the prediction log's cost. Both servers are started once and kept running;
wrk then loads one, then the other, alternating which goes first, so that each pair of
rounds sees the same machine. The result is the median of the per-round ratios.

A server is a steadyml spec variant (``relaxed``, ``strict``, ``bare``) or any other
server of ``run.py`` (``fastapi``, ``probe``, ``bentoml-batch``...).

Usage::

    uv run python benchmarks/serving/paired.py [--a relaxed --b bare --rounds 10]
    uv run python benchmarks/serving/paired.py --a fastapi --b relaxed   # the 2x target

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

from run import DATA, QUIET_ENV, THREADS_ENV, Server, free_port, post, servers, wrk

HERE = Path(__file__).resolve().parent
_VARIANTS = ("relaxed", "strict", "bare")


def start(name: str, workers: int) -> tuple[str, Server, subprocess.Popen[bytes]]:
    """Start the server ``name`` (a steadyml variant or a peer); its URL, kind and process."""
    port = free_port()
    table = servers(port, workers, workers)
    server = table[f"steadyml-{name}" if name in _VARIANTS else name]
    env = {**os.environ, **QUIET_ENV, **THREADS_ENV, **server.env}
    log = open(DATA / f"server-paired-{name}.log", "wb")  # noqa: SIM115 - kept open
    process = subprocess.Popen(
        server.argv, cwd=server.cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    return f"http://127.0.0.1:{port}{server.path}", server, process


def main() -> None:
    """Start both variants, alternate wrk runs, append the rounds to ``paired.jsonl``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", default="relaxed", help="first server (the denominator)")
    parser.add_argument("--b", default="bare", help="second server")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "paired.jsonl")
    args = parser.parse_args()
    started = {name: start(name, args.workers) for name in (args.a, args.b)}
    rounds: dict[str, list[float]] = {name: [] for name in started}
    p99: dict[str, list[float]] = {name: [] for name in started}
    bodies: dict[str, Path] = {}
    try:
        for name, (url, server, process) in started.items():
            bodies[name] = DATA / f"body-paired-{name}.json"
            bodies[name].write_bytes(server.body)
            deadline = time.monotonic() + 180
            while post(url, server.body) != 200:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} at {url} did not start")
                time.sleep(0.25)
            wrk(url, bodies[name], args.concurrency, 5)  # warm-up
        names = list(started)
        for index in range(args.rounds):
            for name in names if index % 2 == 0 else names[::-1]:
                url = started[name][0]
                measured = wrk(url, bodies[name], args.concurrency, args.duration)
                rounds[name].append(measured["requests"] / (measured["duration_us"] / 1e6))
                p99[name].append(measured["p99_us"] / 1000)
    finally:
        for _, _, process in started.values():
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
        "p99_ms": p99,
        "median_ratio_b_over_a": statistics.median(ratios),
    }
    with args.out.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    print(json.dumps(record))


if __name__ == "__main__":
    main()
