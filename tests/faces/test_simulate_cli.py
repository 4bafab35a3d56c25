"""``steadyml simulate``: a bad scenario is one line and exit 1, before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from steadyml.faces.cli.app import main


def test_an_unknown_incident_type_is_refused_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(
        "name: bad\nduration: 1h\nincidents:\n  - {type: gremlins, onset: 10m}\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    code = main(["simulate", str(scenario), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert "incidents.0.type" in err and "use one of" in err and "Traceback" not in err
    assert not out.exists()


def test_a_negative_rate_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text("name: bad\nrate: -3\n", encoding="utf-8")
    assert main(["simulate", str(scenario), "--out", str(tmp_path / "o")]) == 1
    assert "rate" in capsys.readouterr().err
