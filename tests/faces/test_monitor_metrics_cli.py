"""``steadyml monitor --watch --metrics-port``: the monitor's gauges over real HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from steadyml.faces.cli.app import main
from steadyml.spec import ServiceSpec
from tests.faces.test_monitor_cli import write_log
from tests.services.conftest import make_project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ServiceSpec:
    for name in ("STEADYML_STATE_DIR", "STEADYML_STORE_URL", "STEADYML_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    return make_project(tmp_path / "project", deployment={"expected_throughput_rps": 10})


@pytest.mark.slow  # a monitor process, two rounds and a scrape
def test_watch_serves_the_gauges_on_the_metrics_port(project: ServiceSpec) -> None:
    now = datetime.now(UTC)
    pane = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    # a complete 5-minute window, recent enough for the gauges (the newest four windows)
    # however long the monitor takes to start: 10 minutes of slack past the pane
    write_log(project, pane - timedelta(minutes=10), 1200, nan_share=0.1)
    command = [sys.executable, "-m", "steadyml.faces.cli.app", "monitor", "--watch",
               "--interval", "300ms", "--metrics-port", "0",
               "--spec", str(project.base_dir)]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEADYML_")}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    try:
        assert process.stdout is not None
        url, rounds, lines = None, 0, []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and (url is None or rounds < 2):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            found = re.search(r"metrics on (http://127\.0\.0\.1:\d+/metrics)", line)
            url = found.group(1) if found else url
            rounds += "records" in line
        assert url is not None and rounds >= 2, lines
        text = httpx.get(url, timeout=10.0).text
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert "Traceback" not in err
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    nan = [
        v
        for (name, labels), v in samples.items()
        if name == "steadyml_monitor_metric" and ("metric", "health.nan_rate") in labels
    ]
    assert nan and all(0.05 < v < 0.15 for v in nan)  # about the 10 % written
    ok = samples[("steadyml_monitor_rounds_total", (("result", "ok"), ("service", "employment")))]
    assert ok >= 1
    severities = {
        dict(labels)["severity"]
        for name, labels in samples
        if name == "steadyml_monitor_open_incidents"
    }
    assert severities == {"P0", "P1", "P2", "P3"}
    with pytest.raises(httpx.TransportError):  # the port is closed with the monitor
        httpx.get(url, timeout=2.0)


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--metrics-port", "9464"], "with --watch only"),
        (["--watch", "--metrics-port", "70000"], "0 to 65535"),
    ],
)
def test_bad_metrics_ports_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], project: ServiceSpec, args: list[str], text: str
) -> None:
    code = main(["monitor", "--spec", str(project.base_dir), *args])
    _, err = capsys.readouterr()
    assert code == 2 and "--metrics-port" in err and text in err
