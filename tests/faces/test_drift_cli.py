"""``steadyml drift``: the table, JSON, HTML, exit codes for CI, and a model as reference."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from steadyml.datasets import FEATURES, load_employment
from steadyml.faces.cli.app import app, main
from steadyml.faces.cli.drift import DRIFT_EXIT_CODE
from steadyml.services.drift import PREDICTION_COLUMN
from steadyml.services.promotion import promote
from steadyml.services.training import train
from steadyml.services.workspace import Workspace
from tests.services.conftest import make_project


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def write(path: Path, rows: int, *, shift: float = 0.0, moved: float = 0.0, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    city = rng.choice(["a", "b", "c", "d"], rows, p=[0.4, 0.3, 0.2, 0.1])
    city = np.where(rng.random(rows) < moved, "a", city)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    pl.DataFrame(
        {
            "ts": [start + timedelta(minutes=int(m)) for m in np.linspace(0, 179, rows)],
            "age": rng.normal(40 + shift, 10, rows),
            "city": city,
        }
    ).write_parquet(path)
    return str(path)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    return {
        "ref": write(tmp_path / "ref.parquet", 20_000),
        "same": write(tmp_path / "same.parquet", 6_000, seed=1),
        "warn": write(tmp_path / "warn.parquet", 20_000, moved=0.08, seed=2),
        "drift": write(tmp_path / "drift.parquet", 6_000, shift=6.0, seed=3),
    }


def test_drift_is_registered_with_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert "drift" in {c.name for c in app.registered_commands}
    code, out, _ = run(capsys, "drift", "--help")
    assert code == 0
    for option in ("--spec", "--time-column", "--window", "--columns", "--json", "--html"):
        assert option in out
    assert "--fail-on" in out and "never" in out


def test_a_ranked_table_and_the_ci_exit_code(
    capsys: pytest.CaptureFixture[str], files: dict[str, str]
) -> None:
    code, out, err = run(capsys, "drift", files["ref"], files["drift"])
    assert code == DRIFT_EXIT_CODE
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if "feature" in line and "status" in line)
    assert "tvd [interval]" in lines[header] and "KS p" in lines[header]
    assert lines[header + 2].split()[:2] == ["age", "drift"]  # ranked: most severe first
    assert "age drift: tvd" in out
    assert "not compared: ts (type timestamp[us, tz=UTC] is not profiled)" in out
    assert "drift detected" in err and "1 feature(s) over the whole period (age)" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in out + err
    assert run(capsys, "drift", files["ref"], files["drift"], "--fail-on", "never")[0] == 0
    assert run(capsys, "drift", files["ref"], files["same"])[0] == 0


def test_fail_on_warn(capsys: pytest.CaptureFixture[str], files: dict[str, str]) -> None:
    code, out, _ = run(capsys, "drift", files["ref"], files["warn"], "--columns", "city")
    assert code == 0 and "city" in out and "warn" in out
    code, _, err = run(capsys, "drift", files["ref"], files["warn"], "--fail-on", "warn")
    assert code == DRIFT_EXIT_CODE and "reached warn" in err


def test_json_to_stdout_is_pure_json(
    capsys: pytest.CaptureFixture[str], files: dict[str, str]
) -> None:
    code, out, err = run(capsys, "drift", files["ref"], files["drift"], "--json", "-")
    assert code == DRIFT_EXIT_CODE
    result = json.loads(out)
    assert result["status"] == "drift"
    assert [f["feature"] for f in result["result"]["features"]] == ["age", "city"]
    assert result["result"]["features"][0]["effect_interval"][0] is not None
    assert "feature" in err  # the table went to stderr


def test_json_and_html_files_and_windows(
    capsys: pytest.CaptureFixture[str], files: dict[str, str], tmp_path: Path
) -> None:
    args = ["--time-column", "ts", "--window", "1h", "--json", str(tmp_path / "out/r.json")]
    args += ["--html", str(tmp_path / "out/r.html"), "--fail-on", "never"]
    code, out, _ = run(capsys, "drift", files["ref"], files["drift"], *args)
    assert code == 0
    assert "windows of 1h on ts" in out and "3 windows: 3 drift" in out
    saved = json.loads((tmp_path / "out/r.json").read_text(encoding="utf-8"))
    assert saved["window"] == "1h" and len(saved["windows"]) == 3
    assert saved["windows"][0]["start"] == "2024-01-01T00:00:00+00:00"
    html = (tmp_path / "out/r.html").read_text(encoding="utf-8")
    assert "windows-heatmap" in html and f"report: {tmp_path / 'out/r.html'}" in out


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["missing.parquet", "missing.csv"], 4, "no such file"),
        (["champion", "{same}"], 2, "--spec"),
        (["{ref}", "{same}", "--window", "1h"], 2, "--time-column"),
        (["{ref}", "{same}", "--time-column", "ts", "--window", "soon"], 2, "not a duration"),
        (["{ref}", "{same}", "--columns", "nope"], 2, "not in the reference"),
        (["{ref}", "{same}", "--columns", ","], 2, "comma-separated"),
        (["{ref}", "{same}", "--fail-on", "sometimes"], 2, "Invalid value"),
    ],
)
def test_errors_are_one_line(
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    args: list[str],
    code: int,
    text: str,
) -> None:
    got, out, err = run(capsys, "drift", *[a.format(**files) for a in args])
    assert got == code
    assert text in err
    assert "Traceback" not in out + err


def test_drift_against_the_champion_through_the_cli(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = make_project(tmp_path / "project")
    with Workspace.open(spec, environ={}) as workspace:
        train(spec, workspace, reason="cli drift test")
        promote(workspace, force=True, reason="cli drift test")
    analysis = load_employment().analysis
    data = tmp_path / "data.parquet"
    analysis.write_parquet(data)
    spec_file = str(spec.base_dir / "steadyml.yaml")
    code, out, err = run(capsys, "drift", "champion", str(data), "--spec", spec_file)
    assert code == 0, err
    assert "vs model champion (v1)" in out
    assert PREDICTION_COLUMN in out and f"{analysis.height:,}" in out
    code, out, _ = run(capsys, "drift", "champion", str(data), "--spec", spec_file, "--json", "-")
    features = [f["feature"] for f in json.loads(out)["result"]["features"]]
    assert features == [*FEATURES, PREDICTION_COLUMN]
    shifted = analysis.with_columns(pl.col("AGEP") + 15)
    shifted.write_parquet(data)
    code, out, err = run(capsys, "drift", "1", str(data), "--spec", spec_file)
    assert code == DRIFT_EXIT_CODE and "AGEP" in err
