"""``steadyml alerts rules``: valid Alertmanager rules over metrics the server really exports."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from steadyml.faces.cli.app import main
from steadyml.services.serving import create_app
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec, load_spec
from tests.services.conftest import make_project

PROMQL_WORDS = {"sum", "rate", "increase", "clamp_min", "histogram_quantile", "by", "le", "max"}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def with_alerts(spec: ServiceSpec, alerts: list[dict[str, Any]]) -> ServiceSpec:
    """The spec with an ``alerts:`` list written to its file."""
    path = spec.base_dir / "steadyml.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["alerts"] = alerts
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return load_spec(path)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> ServiceSpec:
    spec = make_project(
        tmp_path_factory.mktemp("alerts") / "project",
        slos={"error_rate": 0.02, "fallback_rate": 0.03, "rejection_rate": 0.1},
    )
    latency = {
        "name": "latency_p99",
        "metric": "health.latency_p99_ms",
        "threshold": 120,
        "window": "5m",
        "severity": "P1",
        "runbook": "https://wiki.example.com/latency",
    }
    return with_alerts(spec, [latency])


@pytest.fixture(scope="module")
def exported(project: ServiceSpec) -> set[str]:
    """Metric names in a real prediction server's ``/metrics`` (no model loaded yet)."""

    async def scrape() -> str:
        with Workspace.open(project, environ={}) as workspace:
            app = create_app(project, workspace=workspace, worker_id="w-alerts")
            await app.startup()
            try:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
                    return (await client.get("/metrics")).text
            finally:
                await app.shutdown()

    text = asyncio.run(scrape())
    names = set(re.findall(r"^# TYPE (\S+) (\w+)", text, re.MULTILINE))
    found: set[str] = set()
    for name, kind in names:
        found.add(name)
        if kind == "counter":
            found.add(f"{name}_total")
        if kind == "histogram":
            found |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    found |= set(re.findall(r"^([a-zA-Z_:][\w:]*)[{ ]", text, re.MULTILINE))
    return found


def written_rules(capsys: pytest.CaptureFixture[str], project: ServiceSpec, out: Path) -> Any:
    code, stdout, err = run(
        capsys, "alerts", "rules", "--spec", str(project.base_dir), "--out", str(out)
    )
    assert code == 0, err
    assert f"wrote {out}" in stdout
    return yaml.safe_load(out.read_text(encoding="utf-8"))


def test_rules_are_alertmanager_shaped(
    capsys: pytest.CaptureFixture[str], project: ServiceSpec, tmp_path: Path
) -> None:
    rules = written_rules(capsys, project, tmp_path / "rules" / "steadyml.yml")
    [group] = rules["groups"]
    assert group["name"] == "steadyml-employment"
    names = [r["alert"] for r in group["rules"]]
    expected = {
        "SteadymlErrorRate",
        "SteadymlFallbackRate",
        "SteadymlLatencyP99",
        "SteadymlRejectionRate",
        "SteadymlLogDroppedRecords",
        "SteadymlNotReady",
    }
    assert expected <= set(names)
    for rule in group["rules"]:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}
        assert re.fullmatch(r"\d+[smh]", rule["for"])
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["labels"]["priority"] in {"P0", "P1", "P2", "P3"}
        assert rule["annotations"]["summary"] and rule["annotations"]["runbook_url"]
        assert rule["expr"].count("(") == rule["expr"].count(")")
        assert 'job="employment"' in rule["expr"]


def test_thresholds_come_from_the_slos_and_the_spec_rules(
    capsys: pytest.CaptureFixture[str], project: ServiceSpec, tmp_path: Path
) -> None:
    rules = written_rules(capsys, project, tmp_path / "r.yml")
    by_name = {r["alert"]: r for r in rules["groups"][0]["rules"]}
    assert by_name["SteadymlErrorRate"]["expr"].endswith("> 0.02")
    assert by_name["SteadymlFallbackRate"]["expr"].endswith("> 0.03")
    assert by_name["SteadymlRejectionRate"]["expr"].endswith("> 0.1")
    latency = by_name["SteadymlLatencyP99"]
    assert latency["expr"].endswith("> 0.12")  # 120 ms from the spec's rule, in seconds
    assert latency["labels"] == {"severity": "critical", "priority": "P1",
                                 "service": "employment"}  # fmt: skip
    assert latency["annotations"]["runbook_url"] == "https://wiki.example.com/latency"


@pytest.mark.slow  # starts a prediction server (its registry) once
def test_every_expression_uses_metrics_the_server_exports(
    capsys: pytest.CaptureFixture[str], project: ServiceSpec, tmp_path: Path, exported: set[str]
) -> None:
    rules = written_rules(capsys, project, tmp_path / "r.yml")
    assert "steadyml_predictions_total" in exported  # the scrape worked
    for rule in rules["groups"][0]["rules"]:
        expr = re.sub(r'"[^"]*"', '""', rule["expr"])  # drop label values
        expr = re.sub(r"\{[^}]*\}", "", expr)  # and matchers
        expr = re.sub(r"\[[^\]]*\]", "", expr)  # and ranges
        words = set(re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*", expr)) - PROMQL_WORDS
        metrics = {w for w in words if w != "e"}
        assert metrics, rule["alert"]
        for metric in metrics:
            # 'up' is the one series Prometheus itself writes for every target
            assert metric in exported or metric == "up", (rule["alert"], metric)


def test_promtool_accepts_the_rules(
    capsys: pytest.CaptureFixture[str], project: ServiceSpec, tmp_path: Path
) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed; the YAML shape is checked by the other tests")
    out = tmp_path / "r.yml"
    written_rules(capsys, project, out)
    checked = subprocess.run([promtool, "check", "rules", str(out)], capture_output=True,
                             text=True, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_rules_to_stdout_with_a_selector_and_range(
    capsys: pytest.CaptureFixture[str], project: ServiceSpec
) -> None:
    code, out, _ = run(capsys, "alerts", "rules", "--spec", str(project.base_dir),
                       "--selector", 'namespace="ml",app="churn"', "--range", "10m")  # fmt: skip
    assert code == 0
    assert out.startswith("# Prometheus alerting rules")
    rules = yaml.safe_load(out)["groups"][0]["rules"]
    assert all('namespace="ml",app="churn"' in r["expr"] for r in rules)
    assert any("[10m]" in r["expr"] for r in rules)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (["--range", "five minutes"], "--range"),
        (["--selector", "job=churn"], "--selector"),
        (["--selector", 'job="a"; drop'], "--selector"),
    ],
)
def test_bad_options_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], project: ServiceSpec, extra: list[str], field: str
) -> None:
    code, out, err = run(capsys, "alerts", "rules", "--spec", str(project.base_dir), *extra)
    assert code == 2 and out == ""
    assert field in err and "Traceback" not in err


def test_an_unwritable_out_path_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], project: ServiceSpec, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    code, _, err = run(capsys, "alerts", "rules", "--spec", str(project.base_dir),
                       "--out", str(blocker / "rules.yml"))  # fmt: skip
    assert code == 2 and "--out" in err and "cannot write" in err


def test_a_misconfigured_rule_in_the_spec_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = with_alerts(
        make_project(tmp_path / "bad"),
        [{"name": "x", "metric": "health.eror_rate", "threshold": 0.1}],
    )
    code, _, err = run(capsys, "alerts", "rules", "--spec", str(spec.base_dir))
    assert code == 2 and "alerts.0.metric" in err and "health.error_rate" in err
