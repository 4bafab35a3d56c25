"""The demo's story: its project, its scenario, and the scenario file that mirrors it."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from steadyml.datasets import FEATURES, TARGET, load_employment
from steadyml.services.demo_project import (
    REPLAY_FILE,
    STORY_RESPONSES,
    prepare_story_project,
    story_scenario,
)
from steadyml.services.responder import compile_policies
from steadyml.services.simulation import load_scenario

SCENARIO_FILE = Path(__file__).parents[2] / "scenarios" / "demo.yaml"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = prepare_story_project(tmp_path_factory.mktemp("demo") / "project")
    return spec.base_dir


def test_the_story_project_rolls_back_nan_and_retrains_on_drift(project: Path) -> None:
    from steadyml.spec import load_spec

    spec = load_spec(project / "steadyml.yaml")
    policies = {(p.on, p.action): p for p in compile_policies(spec)}
    assert set(policies) == {(r["on"], r["action"]) for r in STORY_RESPONSES}
    assert not policies["feature_drift", "retrain"].auto_promote
    assert spec.deployment.latency_budget_ms == 250
    assert spec.monitors.windows == ("5m", "1h")


def test_the_replayed_rows_are_the_labelled_analysis_years(project: Path) -> None:
    rows = pl.read_parquet(project / REPLAY_FILE)
    assert set(rows.get_column("year").unique().to_list()) == {2016, 2017, 2018}
    assert rows.height == load_employment().analysis.height
    assert rows.get_column(TARGET).null_count() == 0
    assert set(FEATURES) <= set(rows.columns)


@pytest.mark.parametrize("quick", [False, True])
def test_every_chapter_is_played_in_order_inside_the_replay(project: Path, quick: bool) -> None:
    scenario = story_scenario(project, quick=quick)
    types = [i.type for i in scenario.incidents]
    assert types == ["null_feature", "nan_outputs", "covariate_shift"]
    onsets = [i.onset_delta for i in scenario.incidents]
    assert onsets == sorted(onsets) and onsets[-1] < scenario.length
    assert scenario.incidents[2].ramp_delta.total_seconds() > 0  # gradual
    assert scenario.data.spec is not None and Path(scenario.data.spec).exists()
    assert scenario.data.path is not None and Path(scenario.data.path).exists()


def test_the_quick_story_is_shorter(project: Path) -> None:
    full, quick = story_scenario(project), story_scenario(project, quick=True)
    assert quick.length < full.length and quick.rate < full.rate
    assert full.rate == 2_300_000


def test_the_scenario_file_tells_the_same_story(project: Path) -> None:
    written, story = load_scenario(SCENARIO_FILE), story_scenario(project)
    assert written.incidents == story.incidents
    assert (written.duration, written.rate, written.labels, written.http) == (
        story.duration, story.rate, story.labels, story.http,
    )  # fmt: skip
