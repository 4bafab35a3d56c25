"""The steadyml CLI: help everywhere, one-line errors with exit codes, the lifecycle end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from steadyml.faces.cli.app import app, main
from tests.services.conftest import make_project

COMMANDS = ["init", "train", "gate", "promote", "rollback", "lineage", "versions", "demo"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_command_is_registered_and_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    registered = {c.name for c in app.registered_commands if c.name}
    assert set(COMMANDS) <= registered
    for command in sorted(registered):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0, command
        assert "Usage" in out and "--help" in out, command


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["train", "--spec", "nope.yaml"], 2, "steadyml init"),
        (["gate", "--spec", "nope.yaml"], 2, "no such file"),
        (["init", "--data", "missing.parquet", "--target", "y"], 4, "missing.parquet"),
        (["lineage", "notanumber"], 2, "Invalid value for 'version'"),
        (["frobnicate"], 2, "No such command"),
    ],
)
def test_errors_are_one_line_without_traceback(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    code: int,
    text: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    got, out, err = run(capsys, *args)
    assert got == code
    assert text in err
    assert "Traceback" not in out + err


def test_bad_spec_is_reported_with_its_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = tmp_path / "steadyml.yaml"
    spec.write_text(
        "service: s\ntask: regression\ndata: {source: {path: d}, target: y}\nmodle: {}\n"
    )
    got, _, err = run(capsys, "train", "--spec", str(spec))
    assert got == 2
    assert "modle" in err and "did you mean 'model'" in err
    assert len(err.strip().splitlines()) == 1


def test_lifecycle_through_the_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec = str(make_project(tmp_path / "p").base_dir / "steadyml.yaml")
    assert run(capsys, "promote", "--spec", spec)[0] == 7
    code, out, _ = run(capsys, "train", "--spec", spec, "--reason", "cli test")
    assert code == 0 and "trained v1" in out
    code, out, _ = run(capsys, "gate", "--spec", spec)
    assert code == 0 and "PASSED" in out
    code, out, _ = run(capsys, "promote", "--spec", spec)
    assert code == 0 and "promoted v1" in out
    code, out, _ = run(capsys, "versions", "--spec", spec)
    assert code == 0 and "champion" in out
    code, out, err = run(capsys, "train", "--spec", spec, "--data", "production")
    assert code == 3 and "retrain.min_rows" in err and "only 0 labelled" in err  # no traffic yet
    assert "Traceback" not in out + err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "train", "--spec", spec, "--data", "recent")
    assert code == 2 and "'recent' is not one of" in err
    code, out, _ = run(capsys, "lineage", "1", "--spec", spec)
    assert code == 0 and "sha256:" in out and "cli test" in out
    code, out, _ = run(capsys, "lineage", "1", "--spec", spec, "--json")
    assert code == 0 and '"data_fingerprint": "sha256:' in out
    code, _, err = run(capsys, "lineage", "5", "--spec", spec)
    assert code == 4 and "steadyml versions" in err
    code, _, err = run(capsys, "rollback", "--spec", spec)
    assert code == 7 and "no previous" in err


def test_the_installed_entry_point_runs() -> None:
    script = Path(sys.executable).parent / "steadyml"
    done = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    assert "demo" in done.stdout and "promote" in done.stdout


def _project_with(tmp_path: Path, frame_edit: str | None = None) -> str:
    spec = make_project(tmp_path / "p")
    if frame_edit is not None:
        import polars as pl

        path = spec.resolve("data/employment_2015.parquet")
        frame = pl.read_parquet(path)
        edited = {
            "no_target": frame.drop("employed"),
            "single_class": frame.with_columns(employed=pl.lit(1)),
            "empty": frame.head(0),
        }[frame_edit]
        edited.write_parquet(path)
    return str(spec.base_dir / "steadyml.yaml")


@pytest.mark.parametrize(
    ("edit", "code", "text"),
    [("single_class", 3, "single class"), ("no_target", 3, "no such column")],
)
def test_bad_training_data_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, edit: str, code: int, text: str
) -> None:
    spec = _project_with(tmp_path, edit)
    got, out, err = run(capsys, "train", "--spec", spec)
    assert got == code
    assert text in err
    assert "Traceback" not in out + err
    assert len(err.strip().splitlines()) == 1


def test_empty_training_file_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = _project_with(tmp_path, "empty")
    got, _, err = run(capsys, "train", "--spec", spec)
    assert got == 3
    assert "no rows" in err


def test_unreachable_registry_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _project_with(tmp_path)
    monkeypatch.setenv("STEADYML_TRACKING_URI", "postgresql+psycopg://postgres@127.0.0.1:9/x")
    for command in ("train", "gate", "promote", "rollback"):
        got, _, err = run(capsys, command, "--spec", spec)
        assert got == 5, command
        assert "registry unavailable" in err
        assert len(err.strip().splitlines()) == 1


def test_a_failing_gate_exits_with_code_6(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = make_project(tmp_path / "p", deployment={"latency_budget_ms": 0.001})
    path = str(spec.base_dir / "steadyml.yaml")
    assert run(capsys, "train", "--spec", path)[0] == 0
    code, out, _ = run(capsys, "gate", "--spec", path)
    assert code == 6
    assert "FAILED" in out
