"""kill -9 a writing process: no acknowledged record lost, no corrupt file, nothing left open."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from steadyml.adapters.predlog import read_predictions, recover

CHILD = r"""
import sys, threading, time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from steadyml.adapters.predlog import PredictionLogWriter, prediction_schema

root, mode = Path(sys.argv[1]), sys.argv[2]
schema = prediction_schema({"x": "numeric"})
writer = PredictionLogWriter(root, "churn", "w0", schema, durability=mode, flush_interval=0.1,
                             segment_max_rows=40, segment_max_age=0.3)
writer.start()
lock = threading.Lock()


def table(ids):
    now = datetime.now(UTC)
    n = len(ids)
    return pa.table({
        "request_id": ids, "model_version": ["1"] * n,
        "event_time": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
        "received_at": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
        "status": ["ok"] * n, "prediction": [0.5] * n,
        "inputs": pa.array([{"x": 1.0}] * n, schema.field("inputs").type),
    })


def client(name):
    i = 0
    while True:
        ids = [f"{name}-{i}-{j}" for j in range(1 + i % 3)]
        ack = writer.append(table(ids))
        if mode == "relaxed":
            with lock:
                print(" ".join(ids), flush=True)
            time.sleep(0.002)
        elif ack.wait(30):
            with lock:
                print(" ".join(ids), flush=True)
        i += 1


for name in ("a", "b", "c", "d"):
    threading.Thread(target=client, args=(name,), daemon=True).start()
time.sleep(3600)
"""


def _run_and_kill(
    root: Path, mode: str, lines_before_kill: int, seconds: float = 0.0
) -> list[tuple[float, list[str]]]:
    script = root.parent / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    child = subprocess.Popen(
        [sys.executable, str(script), str(root), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    received: list[tuple[float, list[str]]] = []
    deadline = time.monotonic() + 40
    try:
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            received.append((time.monotonic(), line.split()))
            enough = len(received) >= lines_before_kill
            if enough and received[-1][0] - received[0][0] >= seconds:
                break
    finally:
        os.kill(child.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    rest, errors = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, errors
    received += [
        (killed_at, line.split()) for line in rest.splitlines(keepends=True) if line.endswith("\n")
    ]
    assert len(received) >= lines_before_kill, errors
    return received


def _check_files(root: Path) -> list[str]:
    leftovers = [p.name for p in root.rglob("*") if p.name.startswith(("_open-", "_tmp-"))]
    assert leftovers == []
    ids: list[str] = []
    for path in root.rglob("*.parquet"):
        ids += pq.read_table(path).column("request_id").to_pylist()  # every file opens
    read = read_predictions(root, "churn").select("request_id").collect()
    assert sorted(read.get_column("request_id").to_list()) == sorted(ids)
    assert len(ids) == len(set(ids))  # nothing sealed twice
    return ids


@pytest.mark.parametrize("lines_before_kill", [150, 400])
def test_strict_mode_loses_no_acknowledged_record(tmp_path: Path, lines_before_kill: int) -> None:
    root = tmp_path / "log"
    received = _run_and_kill(root, "strict", lines_before_kill)
    left_open = sorted(root.rglob("_open-*"))
    report = recover(root, "churn")
    # every file the crash left open was sealed or (empty, or sealed already) removed
    assert len(report.sealed) + sum(p in left_open for p in report.removed) == len(left_open)
    stored = set(_check_files(root))
    acked = {request_id for _, ids in received for request_id in ids}
    assert len(acked) >= lines_before_kill
    assert acked - stored == set()


def test_relaxed_mode_loss_is_bounded_by_the_flush_interval(tmp_path: Path) -> None:
    root = tmp_path / "log"
    received = _run_and_kill(root, "relaxed", 600, seconds=3.5)
    killed_at = received[-1][0]
    left_open = sorted(root.rglob("_open-*"))
    report = recover(root, "churn")
    assert len(report.sealed) + sum(p in left_open for p in report.removed) == len(left_open)
    stored = set(_check_files(root))
    old_enough = {
        request_id for at, ids in received if at < killed_at - 1.5 for request_id in ids
    }  # appended more than flush_interval (0.1 s) + 1.4 s of slack before the kill
    assert old_enough
    assert old_enough - stored == set()
