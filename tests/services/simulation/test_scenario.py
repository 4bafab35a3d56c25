"""Scenario files: every bundled one is valid; a bad one is refused with key and fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steadyml.services.simulation import (
    INCIDENT_TYPES,
    ScenarioError,
    Simulation,
    load_scenario,
    parse_scenario,
)

SCENARIOS = sorted((Path(__file__).resolve().parents[3] / "scenarios").glob("*.yaml"))


def test_the_library_has_a_scenario_per_incident_type() -> None:
    types = {i.type for path in SCENARIOS for i in load_scenario(path).incidents}
    assert types == set(INCIDENT_TYPES)
    assert {p.stem for p in SCENARIOS} >= {"clean-week", "demo"}


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_bundled_scenario_is_valid(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    Simulation(scenario, Path("unused"))  # features checked against the census data


BASE: dict[str, Any] = {"name": "x", "duration": "2h"}


@pytest.mark.parametrize(
    ("incident", "key", "words"),
    [
        ({"type": "gremlins", "onset": "1h"}, "incidents.0.type", "use one of"),
        ({"type": "nan_outputs", "onset": "3h"}, "incidents.0.onset", "beyond the end"),
        ({"type": "nan_outputs", "onset": "1h", "params": {"share": 2}}, "params.share", "1"),
        ({"type": "nan_outputs", "onset": "1h", "params": {"shar": 1}}, "params.shar", "share"),
        ({"type": "covariate_shift", "onset": "1h"}, "incidents.0.feature", "numeric feature"),
        ({"type": "nan_outputs", "onset": "1h", "feature": "AGEP"}, "feature", "remove"),
        ({"type": "nan_outputs", "onset": "soon"}, "incidents.0.onset", "duration"),
    ],
)
def test_bad_incidents_are_refused_with_key_and_fix(
    incident: dict[str, Any], key: str, words: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario({**BASE, "incidents": [incident]})
    assert key in caught.value.field and words in caught.value.fix


@pytest.mark.parametrize(
    ("changes", "key"),
    [({"rate": -5}, "rate"), ({"duration": "0s"}, "duration"), ({"colour": 1}, "colour"),
     ({"labels": {"coverage": 1.5}}, "labels.coverage"),
     ({"http": {"workers": 0}}, "http.workers")],
)  # fmt: skip
def test_bad_settings_are_refused_with_their_key(changes: dict[str, Any], key: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario({**BASE, **changes})
    assert caught.value.field == key and caught.value.fix


@pytest.mark.parametrize(
    ("incident", "words"),
    [
        ({"type": "covariate_shift", "onset": "1h", "feature": "HEIGHT"}, "not a feature"),
        ({"type": "covariate_shift", "onset": "1h", "feature": "SCHL"}, "numeric feature"),
        ({"type": "category_shift", "onset": "1h", "feature": "AGEP"}, "categorical"),
    ],
)
def test_features_are_checked_against_the_data_before_anything_starts(
    tmp_path: Path, incident: dict[str, Any], words: str
) -> None:
    scenario = parse_scenario({**BASE, "incidents": [incident]})
    with pytest.raises(ScenarioError) as caught:
        Simulation(scenario, tmp_path / "out")
    assert caught.value.field == "incidents.0.feature" and words in caught.value.fix
    assert not (tmp_path / "out").exists()


def test_a_missing_or_broken_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed", encoding="utf-8")
    with pytest.raises(ScenarioError, match="YAML"):
        load_scenario(broken)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["name", "duration", "rate", "incidents", "labels", "start", "http"]),
        json_values,
    )
)
def test_arbitrary_scenarios_never_crash(raw: dict[str, Any]) -> None:
    try:
        parse_scenario(raw)
    except ScenarioError as exc:
        assert exc.field and exc.one_line()
