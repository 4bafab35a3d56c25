"""``steadyml serve``: options, and the uvicorn factory's environment contract."""

from __future__ import annotations

import pytest

from steadyml.errors import ConfigError
from steadyml.faces.cli.app import main
from steadyml.faces.cli.serve import SPEC_ENV, app_from_environment


def test_serve_help_lists_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--spec", "--host", "--port", "--workers", "--log-level", "--access-log"):
        assert option in out


def test_a_missing_spec_is_one_line_and_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--spec", "does-not-exist.yaml"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_the_factory_needs_the_spec_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SPEC_ENV, raising=False)
    with pytest.raises(ConfigError, match=SPEC_ENV):
        app_from_environment()
