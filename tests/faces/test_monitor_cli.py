"""``steadyml monitor`` and ``steadyml incidents`` on a project's own prediction log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from steadyml.adapters.predlog import PredictionLogWriter, prediction_schema
from steadyml.datasets import FEATURES, NUMERIC_FEATURES
from steadyml.faces.cli.app import main
from steadyml.spec import ServiceSpec
from tests.core.monitoring.helpers import log_frame, year
from tests.services.conftest import make_project


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ServiceSpec:
    for name in ("STEADYML_STATE_DIR", "STEADYML_STORE_URL", "STEADYML_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    return make_project(tmp_path / "project", deployment={"expected_throughput_rps": 10})


def write_log(spec: ServiceSpec, start: datetime, rows: int, nan_share: float = 0.0) -> None:
    kinds = {f: "numeric" if f in NUMERIC_FEATURES else "categorical" for f in FEATURES}
    root = spec.resolve(spec.state_dir) / "predlog"
    writer = PredictionLogWriter(root, spec.service, "w0", prediction_schema(kinds))
    writer.start()
    writer.append(log_frame(year(2016).head(rows), start, seconds=120, nan_share=nan_share))
    writer.close()


def test_monitor_once_then_incidents_with_their_timeline(
    capsys: pytest.CaptureFixture[str], project: ServiceSpec
) -> None:
    spec_file = str(project.base_dir / "steadyml.yaml")
    code, out, _ = run(capsys, "monitor", "--spec", spec_file, "--json")
    assert code == 0 and json.loads(out)["rows"] == 0
    # two minutes of records inside one 5-minute window (a window boundary inside them
    # would make two windows, and two alerts, depending on the time the test runs)
    now = datetime.now(UTC)
    pane = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    write_log(project, pane - timedelta(minutes=4, seconds=30), 1200, nan_share=0.1)
    code, out, err = run(capsys, "monitor", "--spec", spec_file)
    assert code == 0, err
    assert "1,200 records" in out and "fired nan_output" in out
    code, out, _ = run(capsys, "incidents", "--spec", spec_file, "--json")
    [incident] = json.loads(out)
    assert incident["type"] == "nan_output" and incident["severity"] == "P1"
    assert [e["kind"] for e in incident["timeline"]] == ["opened", "alert"]
    assert incident["alerts"][0]["rule"] == "nan_output"
    code, out, _ = run(capsys, "incidents", "--spec", spec_file)
    assert code == 0 and "nan output" in out and "alert" in out
    code, out, _ = run(capsys, "incidents", "--spec", spec_file, "--status", "resolved")
    assert code == 0 and "no resolved incidents" in out


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["monitor", "--interval", "5 minutes"], 2, "--interval"),
        (["incidents", "--status", "bogus"], 2, "--status"),
    ],
)
def test_bad_options_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], project: ServiceSpec, args: list[str], code: int, text: str
) -> None:
    got, out, err = run(capsys, *args, "--spec", str(project.base_dir))
    assert got == code and text in err and "Traceback" not in out + err


def test_a_misconfigured_rule_is_refused_with_its_key(
    capsys: pytest.CaptureFixture[str], project: ServiceSpec
) -> None:
    path = project.base_dir / "steadyml.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["alerts"] = [
        {"name": "p99", "metric": "health.latency_p99_ms", "comparator": "<", "threshold": -1}
    ]
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    code, _, err = run(capsys, "monitor", "--spec", str(path))
    assert code == 2 and "alerts.0.threshold" in err and "can never fire" in err


def test_watch_runs_rounds_until_interrupted(project: ServiceSpec) -> None:
    command = [sys.executable, "-m", "steadyml.faces.cli.app", "monitor", "--watch",
               "--interval", "200ms", "--spec", str(project.base_dir)]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEADYML_")}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    try:
        deadline = time.monotonic() + 60
        lines: list[str] = []
        assert process.stdout is not None
        while time.monotonic() < deadline and sum("records" in line for line in lines) < 2:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert sum("records" in line for line in lines) >= 2, [*lines, err]
    assert "monitoring employment every 200ms" in "".join(lines)
    assert "Traceback" not in err
