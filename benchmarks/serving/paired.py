"""Two servers side by side, measured in interleaved rounds: ratios a noisy machine keeps.

On a shared machine throughput drifts by tens of percent between runs minutes apart,
more than the prediction log's cost. Both servers are started once and kept running;
wrk then loads one, then the other, alternating which goes first, so that each pair of
rounds sees the same machine. The result is the median of the per-round ratios.

A server is a steadyml spec variant (``relaxed``, ``strict``, ``bare``) or any other
server of ``run.py`` (``fastapi``, ``probe``, ``bentoml-batch``...). ``--a-src`` and
``--b-src`` run a steadyml server from another checkout (its ``src`` first on
``PYTHONPATH``), to measure a change against the build before it.

Usage::

    uv run python benchmarks/serving/paired.py [--a relaxed --b bare --rounds 10]
    uv run python benchmarks/serving/paired.py --a fastapi --b relaxed   # the 2x target
    git worktree add /tmp/base main   # then, from the changed checkout:
    uv run python benchmarks/serving/paired.py --a relaxed --a-src /tmp/base --b relaxed

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

from run import DATA, VARIANTS, Server, free_port, launch, post, servers, tree_cpu, wrk

HERE = Path(__file__).resolve().parent


def start(
    name: str, workers: int, src: Path | None = None
) -> tuple[str, Server, subprocess.Popen[bytes]]:
    """Start the server ``name`` (a steadyml variant or a peer); its URL, kind and process.

    ``src``: a steadyml checkout whose ``src`` directory is imported instead of this one.
    """
    port = free_port()
    table = servers(port, workers, workers)
    server = table[f"steadyml-{name}" if name in VARIANTS else name]
    extra = None if src is None else {"PYTHONPATH": str(src.resolve() / "src")}
    log = open(DATA / f"server-paired-{port}.log", "wb")  # noqa: SIM115 - kept open
    process = launch(server, log, extra)
    return f"http://127.0.0.1:{port}{server.path}", server, process


def _label(name: str, src: Path | None) -> str:
    return name if src is None else f"{name}@{src}"


def main() -> None:
    """Start both servers, alternate wrk runs, append the rounds to ``paired.jsonl``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", default="relaxed", help="first server (the denominator)")
    parser.add_argument("--b", default="bare", help="second server")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--a-src", type=Path, help="steadyml checkout to run a from")
    parser.add_argument("--b-src", type=Path, help="steadyml checkout to run b from")
    parser.add_argument("--out", type=Path, default=HERE / "paired.jsonl")
    args = parser.parse_args()
    plan = {
        _label(args.a, args.a_src): (args.a, args.a_src),
        _label(args.b, args.b_src): (args.b, args.b_src),
    }
    if len(plan) < 2:
        parser.error("--a and --b are the same server; give another one, or --a-src/--b-src")
    for name, src in plan.values():
        if src is not None and name not in VARIANTS:
            parser.error(f"--a-src/--b-src apply to steadyml variants, not {name!r}")
        if src is not None and not (src / "src" / "steadyml").is_dir():
            parser.error(f"{src} is not a steadyml checkout (no src/steadyml)")
    label_a, label_b = plan
    started = {label: start(name, args.workers, src) for label, (name, src) in plan.items()}
    rounds: dict[str, list[float]] = {name: [] for name in started}
    p99: dict[str, list[float]] = {name: [] for name in started}
    cpu: dict[str, list[float]] = {name: [] for name in started}
    bodies: dict[str, Path] = {}
    try:
        for name, (url, server, process) in started.items():
            bodies[name] = DATA / f"body-paired-{len(bodies)}.json"
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
                url, _, process = started[name]
                before = tree_cpu(process.pid)
                measured = wrk(url, bodies[name], args.concurrency, args.duration)
                used = tree_cpu(process.pid) - before
                rounds[name].append(measured["requests"] / (measured["duration_us"] / 1e6))
                p99[name].append(measured["p99_us"] / 1000)
                cpu[name].append(1e6 * used / max(1, measured["requests"]))
    finally:
        for _, _, process in started.values():
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)
    ratios = [b / a for a, b in zip(rounds[label_a], rounds[label_b], strict=True)]
    record = {
        "run": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "a": label_a,
        "b": label_b,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "duration_s": args.duration,
        "rps": rounds,
        "p99_ms": p99,
        "server_cpu_us_per_request": cpu,
        "median_ratio_b_over_a": statistics.median(ratios),
    }
    with args.out.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    print(json.dumps(record))


if __name__ == "__main__":
    main()
