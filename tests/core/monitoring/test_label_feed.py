"""The label feed and traffic rules: a silent label feed, late labels, a surge of traffic.

Each new default rule is shown to fire on the failure it is for and to stay quiet on
clean traffic (Poisson counts around the expected rate, labels arriving on time).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from steadyml.core.monitoring import AlertRule, Measurement, compile_rules, evaluate
from steadyml.core.monitoring.checks import label_gap, label_gap_threshold
from steadyml.core.monitoring.measurements import Z95
from steadyml.spec import parse_spec

T = datetime(2016, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)
MINUTE_US = 60_000_000


def spec_with(**labels: Any) -> Any:
    return parse_spec(
        {
            "service": "s",
            "task": "binary_classification",
            "data": {"source": {"path": "x"}, "target": "y"},
            "monitors": {"windows": ["5m", "1h"]},
            "labels": {"expected_delay": "10m", **labels},
        }
    )


def rules() -> dict[str, AlertRule]:
    return {r.name: r for r in compile_rules(spec_with())}


def fires(rule: AlertRule, values: list[Measurement | None]) -> bool:
    history = [(T + i * STEP, m, True) for i, m in enumerate(values)]
    return evaluate(rule, "1", rule.subject, history, 3).firing


def volume(rows: int, expected: float) -> Measurement:
    spread = Z95 * np.sqrt(max(rows, 1))
    return Measurement(
        "volume.ratio", rows / expected, low=max(0.0, rows - spread) / expected,
        high=(rows + spread) / expected, n=rows,
    )  # fmt: skip


def test_the_label_and_traffic_rules_follow_the_label_spec() -> None:
    found = rules()
    assert found["labels_missing"].incident == "label_feed"
    assert found["labels_missing"].threshold == 900.0  # 1.5 x 10m
    assert found["labels_late"].threshold == 2 * 600.0 + 300.0  # 2 delays + a join
    assert found["labels_late"].window == "1h"
    assert found["traffic_surge"].incident == "traffic"
    assert found["labels_missing"].triage == "data"
    assert found["traffic_surge"].triage == "infrastructure"
    slow = {r.name: r for r in compile_rules(spec_with(expected_delay="1d"))}
    assert slow["labels_missing"].threshold == 1.5 * 86_400


def test_the_gap_counts_from_the_newest_label_or_from_when_labels_were_due() -> None:
    delay = timedelta(minutes=10)
    [gap] = label_gap(60 * MINUTE_US, 20 * MINUTE_US, 0, delay)
    assert gap.value == pytest.approx(40 * 60)
    [young] = label_gap(8 * MINUTE_US, 5 * MINUTE_US, 0, delay)
    assert young.value == 0.0  # labels are not due yet
    assert label_gap(60 * MINUTE_US, None, 0, delay) == []  # no label feed at all
    assert label_gap(60 * MINUTE_US, 5 * MINUTE_US, None, delay) == []


@given(
    st.integers(0, 10**12), st.integers(0, 10**12), st.integers(0, 10**12),
    st.integers(0, 10**7),
)  # fmt: skip
def test_the_gap_is_never_negative_nor_longer_than_since_the_label(
    now: int, last: int, first: int, delay_s: int
) -> None:
    [gap] = label_gap(now, last, first, timedelta(seconds=delay_s))
    assert gap.value is not None and 0.0 <= gap.value <= max(0.0, (now - last) / 1e6)


def test_labels_that_stop_coming_fire_once_the_gap_passes_the_threshold() -> None:
    rule = rules()["labels_missing"]
    delay = timedelta(minutes=10)
    # labels arrive every 5 minutes (the join interval), then stop at minute 60
    on_time = [
        label_gap(now * MINUTE_US, (now - now % 5) * MINUTE_US, 0, delay)[0]
        for now in range(15, 60)
    ]
    assert not any(fires(rule, [m]) for m in on_time)
    stopped = [label_gap(now * MINUTE_US, 60 * MINUTE_US, 0, delay)[0] for now in range(60, 90)]
    first = next(i for i, m in enumerate(stopped) if fires(rule, [m]))
    assert first == 15  # 15 minutes of silence (1.5 x 10m) reach the threshold
    assert label_gap_threshold(delay, timedelta(minutes=5)) == 900.0


def test_late_labels_fire_and_labels_on_time_do_not() -> None:
    rule = rules()["labels_late"]
    on_time = Measurement("performance.label_delay_p50_s", 600.0, n=500)
    late = Measurement("performance.label_delay_p50_s", 6 * 3600.0 + 600.0, n=500)
    assert not fires(rule, [on_time] * 3)
    assert fires(rule, [on_time, late])


def test_a_surge_fires_and_poisson_traffic_at_the_expected_rate_does_not() -> None:
    rule = rules()["traffic_surge"]
    rng = np.random.default_rng(0)
    expected = 2_300_000 / 86_400 * 300  # a 5-minute window at 2.3M requests/day
    clean = [volume(int(n), expected) for n in rng.poisson(expected, 7 * 288)]  # a week
    assert not any(fires(rule, [m]) for m in clean)
    small = [volume(int(n), 1_389.0) for n in rng.poisson(1_389.0, 7 * 288)]  # 400k/day
    assert not any(fires(rule, [m]) for m in small)
    assert fires(rule, [volume(int(3 * expected), expected)])
    assert not fires(rule, [volume(int(1.5 * expected), expected)])  # a busy hour is no surge
