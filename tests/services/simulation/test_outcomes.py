"""Business outcomes in the simulator: the ``outcome:`` section, the targeting model, the KPI
per tick and the KPI impact a mitigation avoided."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from steadyml.datasets import load_employment
from steadyml.services.simulation import ScenarioError, Simulation, parse_scenario
from steadyml.services.simulation.library import build_incidents
from steadyml.services.simulation.outcomes import Answers, outcome_values, targeting_outcomes
from steadyml.services.simulation.project import kpi_section
from steadyml.services.simulation.result import SimulationResult, Tick

BASE: dict[str, Any] = {"name": "x", "duration": "2h"}
DOCS = Path(__file__).resolve().parents[3] / "docs" / "simulation.md"

# -- the scenario section -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "key", "words"),
    [
        ({"threshold": 1.5}, "outcome.threshold", "less than or equal to 1"),
        ({"threshold": -0.1}, "outcome.threshold", "greater than or equal to 0"),
        ({"acceptance": 2}, "outcome.acceptance", "less than or equal to 1"),
        ({"delay": "-5m"}, "outcome.delay", "0s or more"),
        ({"delay": "soon"}, "outcome.delay", "duration"),
        ({"coverage": 0}, "outcome.coverage", "greater than 0"),
        ({"coverage": 1.5}, "outcome.coverage", "less than or equal to 1"),
        ({"name": ""}, "outcome.name", "at least 1"),
        ({"model": "uplift"}, "outcome.model", "targeting"),
        ({"column": "AGEP", "threshold": 0.4}, "outcome.threshold", "remove one"),
        ({"nme": "converted"}, "outcome.nme", "unknown key"),
    ],
)
def test_a_bad_outcome_section_is_refused_with_key_and_fix(
    outcome: dict[str, Any], key: str, words: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario({**BASE, "outcome": outcome})
    assert caught.value.field == key and words in caught.value.fix, caught.value.one_line()


@pytest.mark.parametrize(
    ("column", "words"), [("revenue", "not a column"), ("SCHL", "a number or a boolean")]
)
def test_an_outcome_column_is_checked_against_the_data_before_anything_starts(
    tmp_path: Path, column: str, words: str
) -> None:
    scenario = parse_scenario({**BASE, "outcome": {"column": column}})
    with pytest.raises(ScenarioError) as caught:
        Simulation(scenario, tmp_path / "out")
    assert caught.value.field == "outcome.column" and words in caught.value.fix
    assert not (tmp_path / "out").exists()


def test_the_defaults_are_the_documented_targeting_model() -> None:
    outcome = parse_scenario({**BASE, "outcome": {}}).outcome
    assert outcome is not None and outcome.column is None and outcome.model == "targeting"
    assert (outcome.threshold, outcome.acceptance, outcome.coverage) == (0.5, 0.3, 1.0)
    assert outcome.delay_delta == timedelta(hours=1)
    assert parse_scenario({**BASE, "outcome": {"delay": "0s"}}).outcome.delay_delta == timedelta(0)  # type: ignore[union-attr]
    assert parse_scenario(BASE).outcome is None


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["name", "delay", "coverage", "column", "model", "threshold",
                         "acceptance"]),
        st.none() | st.booleans() | st.floats() | st.integers(-3, 3) | st.text(max_size=6),
    )
)  # fmt: skip
def test_arbitrary_outcome_sections_never_crash_and_accepted_ones_are_in_range(
    outcome: dict[str, Any],
) -> None:
    try:
        parsed = parse_scenario({**BASE, "outcome": outcome}).outcome
    except ScenarioError as exc:
        assert exc.field.startswith("outcome") and exc.fix
        return
    assert parsed is not None
    assert 0 <= parsed.threshold <= 1 and 0 <= parsed.acceptance <= 1
    assert 0 < parsed.coverage <= 1 and parsed.delay_delta >= timedelta(0)
    assert parsed.column is None or not {"threshold", "acceptance"} & parsed.model_fields_set


def test_the_docs_outcome_example_is_a_valid_scenario() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    found = [raw for raw in map(yaml.safe_load, blocks) if raw.get("outcome")]
    assert found, "docs/simulation.md must show an outcome: section"
    for raw in found:
        outcome = parse_scenario({**BASE, **raw}).outcome
        assert outcome is not None
        assert outcome.model_fields_set == set(raw["outcome"])  # every key shown is one


# -- the outcome model --------------------------------------------------------------------


def test_the_targeting_model_matches_a_direct_computation_on_census_rows() -> None:
    rows = load_employment().analysis_with_labels().head(5000)
    n = rows.height
    labels = rows.get_column("employed").cast(pl.Float64).to_numpy()
    gen = np.random.default_rng(11)
    prediction = gen.random(n)
    prediction[gen.random(n) < 0.05] = np.nan  # refused requests
    fallback = gen.random(n) < 0.1
    prediction[fallback] = 0.5  # the census fallback's constant
    answers = Answers(prediction, fallback & np.isfinite(prediction))
    got = targeting_outcomes(
        answers, labels == 1.0, threshold=0.4, acceptance=0.3, rng=np.random.default_rng(3)
    )
    draws = np.random.default_rng(3).random(n)
    for i in range(n):  # the rule, row by row
        if not math.isfinite(prediction[i]):
            assert math.isnan(got[i])
            continue
        offer = not answers.fallback[i] and prediction[i] >= 0.4
        assert got[i] == float(offer and labels[i] == 1.0 and draws[i] < 0.3)
    # and the rate is what the model says it should be
    offered_positive = np.isfinite(prediction) & ~answers.fallback & (prediction >= 0.4)
    offered_positive &= labels == 1.0
    expected = 0.3 * offered_positive.sum()
    assert abs(np.nansum(got) - expected) < 4 * math.sqrt(expected * 0.7)


def test_an_inverted_version_loses_conversions_on_the_same_customers() -> None:
    n = 4000
    gen = np.random.default_rng(5)
    labels = (gen.random(n) < 0.45).astype(np.float64)
    good = np.clip(labels * 0.6 + gen.random(n) * 0.4, 0, 1)  # a useful score
    none = np.zeros(n, dtype=np.bool_)
    outcome = parse_scenario({**BASE, "outcome": {}}).outcome
    assert outcome is not None
    frame = pl.DataFrame({"x": np.zeros(n)})
    right = outcome_values(outcome, Answers(good, none), frame, labels, np.random.default_rng(1))
    wrong = outcome_values(
        outcome, Answers(1.0 - good, none), frame, labels, np.random.default_rng(1)
    )
    assert np.nansum(wrong) < 0.5 * np.nansum(right)


def test_a_column_carries_the_outcome_of_answered_requests() -> None:
    outcome = parse_scenario({**BASE, "outcome": {"column": "revenue"}}).outcome
    assert outcome is not None
    frame = pl.DataFrame({"revenue": [10.0, 20.0, 30.0, None]})
    answers = Answers(np.array([0.9, np.nan, 0.1, 0.7]), np.array([False, False, True, False]))
    got = outcome_values(outcome, answers, frame, np.ones(4), np.random.default_rng(0))
    assert got[0] == 10.0 and got[2] == 30.0  # the value, whatever the answer
    assert math.isnan(got[1]) and math.isnan(got[3])  # unanswered; no value


def test_the_simulated_kpi_is_a_mean_over_the_slow_window_or_the_specs_own() -> None:
    assert kpi_section("converted", None, ["5m", "1h"]) == {
        "name": "converted", "aggregate": "mean", "window": "1h"
    }  # fmt: skip
    assert kpi_section("c", None, ["5m", "30m"])["window"] == "30m"
    own = kpi_section("c", {"name": "x", "window": "5m", "max_drop": 0.2}, ["5m"])
    assert own == {"name": "c", "window": "5m", "max_drop": 0.2}


# -- KPI impact avoided ---------------------------------------------------------------------


def hand_built(
    outcome: bool = True, kpis: tuple[float, float, float] = (0.2, 0.1, 0.2)
) -> SimulationResult:
    """50 one-minute ticks of 100 answered requests; a NaN-outputs incident from 10m to
    40m; the KPI ``kpis[0]`` before, ``kpis[1]`` from the onset to 14m, ``kpis[2]`` after."""
    raw: dict[str, Any] = {
        **BASE,
        "duration": "50m",
        "incidents": [
            {"type": "nan_outputs", "onset": "10m", "duration": "30m"},
            {"type": "latency_spike", "onset": "2m", "duration": "3m"},
        ],
    }
    if outcome:
        raw["outcome"] = {}
    scenario = parse_scenario(raw)
    result = SimulationResult(
        scenario, build_incidents(scenario, "employed"), champion=1, project=Path()
    )
    for minute in range(50):
        start = scenario.start + timedelta(minutes=minute)
        kpi = kpis[0] if minute < 10 else kpis[1] if minute < 14 else kpis[2]
        if 2 <= minute < 5:
            kpi = 0.9  # the other incident's ticks are no baseline
        result.ticks.append(
            Tick(start, start + timedelta(minutes=1), "log", 100, {200: 100}, 0, [],
                 answered=100, outcomes=0, outcome_value=kpi * 100)
        )  # fmt: skip
    return result


def test_kpi_impact_avoided_is_the_observed_loss_rate_times_the_requests_saved() -> None:
    result = hand_built()
    nan = result.incidents[0]
    mitigated = nan.onset + timedelta(minutes=4)
    baseline = (7 * 0.2 * 100) / (7 * 100)  # minutes 0-1 and 5-9
    observed = 0.1
    saved = 26 * 100  # requests answered from 14m to the incident's end at 40m
    got = result.kpi_impact_avoided(nan, mitigated)
    assert got == pytest.approx((baseline - observed) * saved)
    assert result.ticks[12].kpi == pytest.approx(0.1)


def test_kpi_impact_avoided_is_null_or_zero_where_nothing_was_measured_or_lost() -> None:
    nan = hand_built().incidents[0]
    later = nan.onset + timedelta(minutes=4)
    assert hand_built(outcome=False).kpi_impact_avoided(nan, later) is None
    assert hand_built().kpi_impact_avoided(nan, nan.onset) is None  # nothing observed
    quick = nan.onset + timedelta(seconds=20)  # within the first tick: that tick's KPI
    first = hand_built().ticks[10].kpi
    assert first is not None
    loss = (7 * 0.2 * 100) / (7 * 100) - first
    assert nan.end is not None
    saved = sum(t.answered for t in hand_built().ticks if quick <= t.middle < nan.end)
    assert hand_built().kpi_impact_avoided(nan, quick) == pytest.approx(loss * saved)
    assert hand_built(kpis=(0.2, 0.3, 0.2)).kpi_impact_avoided(nan, later) == 0.0
    late = nan.onset + timedelta(minutes=45)  # mitigated after the end: nothing saved
    assert hand_built().kpi_impact_avoided(nan, late) == 0.0


def test_the_html_timeline_draws_the_kpi_line() -> None:
    from steadyml.faces.reports.simulation_html import render_simulation_html

    page = render_simulation_html(hand_built())
    assert '"yaxis": "y3"' in page and "KPI (converted per answered request)" in page
    assert "KPI (" not in render_simulation_html(hand_built(outcome=False))


# -- through the real server ----------------------------------------------------------------


@pytest.mark.slow
def test_outcomes_reach_the_store_and_a_rollback_saves_conversions(
    trained: Path, tmp_path: Path
) -> None:
    from steadyml.adapters.predlog import read_feedback
    from steadyml.adapters.store.monitoring import MonitorStore
    from steadyml.services.monitoring import log_root
    from steadyml.services.workspace import Workspace
    from steadyml.spec import load_spec

    raw: dict[str, Any] = {
        "name": "kpi",
        "data": {"spec": str(trained)},
        "duration": "18m",
        "rate": 400_000,
        "labels": {"delay": "3m"},
        "outcome": {"name": "converted", "delay": "2m", "acceptance": 1.0},
        "http": {"workers": 1, "before": "2m", "after": "3m"},
        "incidents": [{"type": "nan_outputs", "onset": "8m", "params": {"share": 0.5}}],
    }
    result = Simulation(parse_scenario(raw), tmp_path).run()
    [found] = result.detections
    assert found.detected and found.mitigation is not None, (found, result.monitor_incidents)
    assert found.kpi_impact_avoided is not None and found.kpi_impact_avoided > 0, result.ticks
    sent = sum(t.outcomes for t in result.ticks)
    assert sent > 0 and {t.mode for t in result.ticks if t.outcomes} == {"log", "http"}
    spec = load_spec(result.project / "steadyml.yaml")
    assert spec.monitors.kpi is not None and spec.monitors.kpi.name == "converted"
    with Workspace.open(spec, environ={}) as workspace:
        events = read_feedback(log_root(workspace), spec.service).collect()
        outcomes = events.filter(pl.col("kind") == "outcome")
        assert outcomes.height == sent and set(outcomes.get_column("name")) == {"converted"}
        points = MonitorStore(workspace.store).metric_series(
            spec.service, "kpi.value", window="1h", subject="converted"
        )
    assert points and all(0 <= p.value <= 1 for p in points if p.value is not None)
