"""Settings resolve the spec with environment overrides."""

from __future__ import annotations

from pathlib import Path

from steadyml.settings import Settings
from steadyml.spec import parse_spec


def spec_at(base: Path) -> object:
    return parse_spec(
        {"service": "s", "task": "regression", "data": {"source": {"path": "d"}, "target": "y"}},
        base,
    )


def test_defaults_live_under_the_state_dir(tmp_path: Path) -> None:
    spec = parse_spec(
        {"service": "s", "task": "regression", "data": {"source": {"path": "d"}, "target": "y"}},
        tmp_path,
    )
    settings = Settings.resolve(spec, {})
    assert settings.state_dir == (tmp_path / ".steadyml").resolve()
    assert settings.tracking_uri == f"sqlite:///{settings.state_dir}/mlflow.db"
    assert settings.store_url == f"sqlite:///{settings.state_dir}/steadyml.db"
    assert settings.token is None


def test_environment_overrides_the_spec(tmp_path: Path) -> None:
    spec = parse_spec(
        {
            "service": "s",
            "task": "regression",
            "data": {"source": {"path": "d"}, "target": "y"},
            "registry": {"tracking_uri": "sqlite:///spec.db"},
        },
        tmp_path,
    )
    env = {
        "STEADYML_STATE_DIR": str(tmp_path / "state"),
        "STEADYML_TRACKING_URI": "postgresql://db/mlflow",
        "STEADYML_ACTOR": "ci-bot",
        "STEADYML_TOKEN": "t0k",
    }
    settings = Settings.resolve(spec, env)
    assert settings.state_dir == (tmp_path / "state").resolve()
    assert settings.tracking_uri == "postgresql://db/mlflow"
    assert settings.actor == "ci-bot"
    assert settings.token == "t0k"
