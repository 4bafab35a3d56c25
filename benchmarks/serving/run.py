"""Serve the census champion with steadyml and its peers, load each with wrk, record.

Every (server, round) runs in one quiet stretch of the machine (``--quiet`` names the
command that holds it, e.g. ``/work/bin/quiet``-like wrappers; default: none): the
server starts, answers a warm-up, then wrk posts one JSON record per request for
``--duration`` seconds at each concurrency (2 wrk threads), and the server is stopped.
The server's CPU time (its whole process tree, from ``/proc``) is read around each run.
Results are appended as JSON lines to ``--out``; ``report.py`` turns them into tables.

Usage::

    uv run python benchmarks/serving/project.py        # train, promote, export (once)
    bash benchmarks/serving/setup_envs.sh               # BentoML's own environment
    uv run python benchmarks/serving/run.py --rounds 3  # every server, 3 rounds
    uv run python benchmarks/serving/paired.py          # ratios of two servers, interleaved
    uv run python benchmarks/serving/report.py          # tables into benchmarks/README.md
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DATA = HERE / "data"
PROJECT = DATA / "project"
VENV = ROOT / ".venv" / "bin"
BENTO = HERE / ".venv-bentoml" / "bin"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
QUIET_ENV = {"BENTOML_DO_NOT_TRACK": "True", "DO_NOT_TRACK": "1"}
# every server gets what steadyml's workers get by default: one OpenMP (LightGBM) and one
# Polars thread per process; on 2 cores, per-call thread pools only add hand-offs
THREADS_ENV = {"OMP_NUM_THREADS": "1", "POLARS_MAX_THREADS": "1"}
VARIANTS = ("relaxed", "strict", "bare")  # the spec variants project.py writes


@dataclass
class Server:
    """How to start one server and what to post to it."""

    name: str
    argv: list[str]
    path: str
    body: bytes
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = HERE


def _row() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / "row.json").read_text(encoding="utf-8"))
    return loaded


def _encoded_row() -> list[float]:
    sys.path.insert(0, str(HERE))
    from peer_model import PeerModel

    vector: list[float] = PeerModel().matrix([_row()])[0].tolist()
    return vector


def servers(port: int, workers: int, steadyml_workers: int) -> dict[str, Server]:
    """Every server of the benchmark, listening on ``port``."""
    row = _row()
    record = json.dumps(row).encode()
    p = str(port)
    steadyml = [str(VENV / "steadyml"), "serve", "--port", p, "--workers", str(steadyml_workers)]
    steadyml += ["--log-level", "warning", "--spec"]
    uvicorn = [str(VENV / "python"), "-m", "uvicorn", "server_fastapi:app", "--port", p]
    uvicorn += ["--workers", str(workers), "--loop", "uvloop", "--http", "httptools"]
    uvicorn += ["--no-access-log", "--log-level", "warning"]
    bento = [str(BENTO / "bentoml"), "serve", "server_bentoml:Census", "--port", p]
    bento += ["--host", "127.0.0.1"]
    model_dir = (DATA / "model_dir.txt").read_text(encoding="utf-8").strip()
    mlflow = [str(VENV / "mlflow"), "models", "serve", "-m", model_dir, "-p", p]
    mlflow += ["-h", "127.0.0.1", "--env-manager", "local", "--workers", str(workers)]
    encoded = json.dumps({"inputs": [_encoded_row()]}).encode()
    table = {
        f"steadyml-{variant}": Server(
            f"steadyml-{variant}", [*steadyml, str(PROJECT / f"{variant}.yaml")], "/predict", record
        )
        for variant in VARIANTS
    }
    return table | {
        "fastapi": Server("fastapi", uvicorn, "/predict", record),
        "probe": Server("probe", [*uvicorn[:3], "server_probe:app", *uvicorn[4:]], "/predict",
                        record),
        "bentoml": Server("bentoml", bento, "/predict", json.dumps({"record": row}).encode(),
                          {"BENCH_BATCHABLE": "0", "BENCH_WORKERS": str(workers)}),
        "bentoml-batch": Server("bentoml-batch", bento, "/predict",
                                json.dumps({"records": [row]}).encode(),
                                {"BENCH_BATCHABLE": "1", "BENCH_WORKERS": str(workers)}),
        "mlflow": Server("mlflow", mlflow, "/invocations", encoded),
    }  # fmt: skip


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its live descendants."""
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        child = int(entry.name)
        children.setdefault(int(fields[1]), []).append(child)
        ticks[child] = int(fields[11]) + int(fields[12])
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += ticks.get(current, 0)
        todo.extend(children.get(current, []))
    return total / CLOCK_TICKS


def post(url: str, body: bytes, timeout: float = 5.0) -> int:
    """POST ``body``; the HTTP status (0 when the connection fails)."""
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, urllib.error.URLError):
        return 0


def steadyml_workers_ready(base: str, workers: int, deadline: float) -> bool:
    """Wait until ``workers`` distinct steadyml workers answer ``/admin/status``.

    Each urllib request opens a new connection, which the kernel hashes to one of the
    listening workers; a worker listens only once its model is loaded.
    """
    seen: set[str] = set()
    while len(seen) < workers and time.perf_counter() < deadline:
        try:
            with urllib.request.urlopen(base + "/admin/status", timeout=5) as response:  # noqa: S310
                status = json.loads(response.read())
        except (OSError, urllib.error.URLError, ValueError):
            status = {}
        if status.get("ready"):
            seen.add(str(status.get("worker")))
        time.sleep(0.05)
    return len(seen) >= workers


def wrk(url: str, body_file: Path, connections: int, seconds: float) -> dict[str, Any]:
    """Run wrk (2 threads) and parse the JSON line ``post.lua`` prints."""
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "5s"]
    argv += ["-s", str(HERE / "post.lua"), url]
    env = {**os.environ, "WRK_BODY": str(body_file)}
    done = subprocess.run(
        argv, env=env, check=False, capture_output=True, text=True, timeout=seconds + 60
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            parsed: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return parsed
    raise RuntimeError(f"wrk printed no result: {done.stdout[-500:]} {done.stderr[-500:]}")


def launch(
    server: Server, log: IO[bytes], extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``server`` in its own session, its output to ``log``.

    Its environment: this one, quiet telemetry, one thread per pool, the server's own
    variables and ``extra_env``; its virtual environment's ``bin`` first on ``PATH``.
    """
    env = {**os.environ, **QUIET_ENV, **THREADS_ENV, **server.env, **(extra_env or {})}
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = f"{Path(server.argv[0]).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.Popen(
        server.argv, cwd=server.cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def run_one(
    name: str,
    round_: int,
    *,
    concurrency: list[int],
    seconds: float,
    warmup: float,
    workers: tuple[int, int],
) -> list[dict[str, Any]]:
    """Start one server, measure it at each concurrency, stop it; the result records."""
    port = free_port()
    server = servers(port, *workers)[name]
    body_file = DATA / f"body-{name}.json"
    body_file.write_bytes(server.body)
    url = f"http://127.0.0.1:{port}{server.path}"
    log = open(DATA / f"server-{name}.log", "wb")  # noqa: SIM115 - closed below
    started = time.perf_counter()
    process = launch(server, log)
    results: list[dict[str, Any]] = []
    try:
        while post(url, server.body) != 200:
            if process.poll() is not None or time.perf_counter() - started > 180:
                raise RuntimeError(f"{name} did not start: see {log.name}")
            time.sleep(0.25)
        if name.startswith("steadyml"):  # every worker, not only the first, has started
            base = url.removesuffix(server.path)
            if not steadyml_workers_ready(base, workers[1], started + 180):
                raise RuntimeError(f"{name}: not all {workers[1]} workers started")
        startup = time.perf_counter() - started
        wrk(url, body_file, 64, warmup)
        for connections in concurrency:
            before = tree_cpu(process.pid)
            measured = wrk(url, body_file, connections, seconds)
            cpu = tree_cpu(process.pid) - before
            duration = measured["duration_us"] / 1e6
            errors = sum(measured[k] for k in ("connect", "read", "write", "status", "timeout"))
            results.append(
                {
                    "server": name,
                    "round": round_,
                    "concurrency": connections,
                    "workers": workers[1] if name.startswith("steadyml") else workers[0],
                    "seconds": duration,
                    "requests": measured["requests"],
                    "rps": measured["requests"] / duration,
                    "p50_ms": measured["p50_us"] / 1000,
                    "p90_ms": measured["p90_us"] / 1000,
                    "p99_ms": measured["p99_us"] / 1000,
                    "max_ms": measured["max_us"] / 1000,
                    "errors": errors,
                    "error_kinds": {
                        k: measured[k]
                        for k in ("connect", "read", "write", "status", "timeout")
                        if measured[k]
                    },
                    "server_cpu_s": cpu,
                    "server_cpu_per_1k_requests_s": 1000 * cpu / max(1, measured["requests"]),
                    "startup_s": startup,
                }
            )
            print(json.dumps(results[-1]), flush=True)
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:  # the server had already exited
            pass
        log.close()
    return results


def versions() -> dict[str, str]:
    """Versions of every server's software and of wrk."""
    found: dict[str, str] = {}
    probe = "import importlib.metadata as m, json, sys; "
    probe += "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
    ours = ["steadyml", "fastapi", "starlette", "uvicorn", "uvloop", "httptools", "orjson"]
    ours += ["polars", "lightgbm", "mlflow", "prometheus_client"]
    for python, names in ((VENV / "python", ours), (BENTO / "python", ["bentoml", "lightgbm"])):
        if python.exists():
            argv = [str(python), "-c", probe, *names]
            out = subprocess.run(argv, check=False, capture_output=True, text=True)
            prefix = "bentoml env " if "bentoml" in str(python) else ""
            for key, value in json.loads(out.stdout or "{}").items():
                found[prefix + key] = value
    wrk_out = subprocess.run(["wrk", "-v"], check=False, capture_output=True, text=True)
    wrk_line = wrk_out.stdout.splitlines()
    found["wrk"] = wrk_line[0].split()[1] if wrk_line else "?"
    found["python"] = sys.version.split()[0]
    found["cpus"] = str(os.cpu_count())
    return found


ALL = ["steadyml-relaxed", "steadyml-strict", "steadyml-bare", "fastapi", "probe", "bentoml",
       "bentoml-batch", "mlflow"]  # fmt: skip


def main() -> None:
    """Run the rounds; each (server, round) in its own quiet stretch."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", nargs="*", default=ALL, choices=ALL)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[8, 64, 256])
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2, help="peer worker processes")
    parser.add_argument("--steadyml-workers", type=int, default=1)
    parser.add_argument("--floor", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--quiet", default="", help="command prefix holding the machine")
    parser.add_argument("--out", type=Path, default=HERE / "results.jsonl")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--round", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        records = run_one(
            args.one,
            args.round,
            concurrency=args.concurrency,
            seconds=args.duration,
            warmup=args.warmup,
            workers=(args.workers, args.steadyml_workers),
        )
        with args.out.open("a", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record) + "\n")
        return
    prefix = shlex.split(args.quiet)
    run_id = time.strftime("%Y-%m-%dT%H:%M:%S")
    with args.out.open("a", encoding="utf-8") as out:
        out.write(json.dumps({"run": run_id, "versions": versions()}) + "\n")
    if args.floor:
        floor = subprocess.run(
            [*prefix, str(VENV / "python"), str(HERE / "floor.py")],
            capture_output=True, text=True, check=True, timeout=300,
        )  # fmt: skip
        with args.out.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"run": run_id, "floor": json.loads(floor.stdout)}) + "\n")
    for round_ in range(1, args.rounds + 1):
        for name in args.servers:
            argv = [*prefix, sys.executable, __file__, "--one", name, "--round", str(round_)]
            argv += ["--duration", str(args.duration), "--warmup", str(args.warmup)]
            argv += ["--workers", str(args.workers), "--steadyml-workers"]
            argv += [str(args.steadyml_workers), "--out", str(args.out), "--concurrency"]
            argv += [str(c) for c in args.concurrency]
            budget = 240 + len(args.concurrency) * (args.duration + 70) + args.warmup
            try:
                subprocess.run(argv, check=True, timeout=budget)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                print(f"!! {name} round {round_}: {exc}", file=sys.stderr)
                with args.out.open("a", encoding="utf-8") as out:
                    failed = {"server": name, "round": round_, "failed": str(exc)[:300]}
                    out.write(json.dumps(failed) + "\n")


if __name__ == "__main__":
    main()
