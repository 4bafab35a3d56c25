"""docs/drift.md: its example runs, and the defaults it states are the code's defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from steadyml.core.drift import DEFAULT_TOLERANCE, CompareSettings
from steadyml.core.profiles import ProfileSettings
from steadyml.core.profiles.bins import DEFAULT_BINS

PAGE = Path(__file__).resolve().parents[3] / "docs" / "drift.md"


def test_the_example_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "docs/drift.md", "exec"), {"__name__": "__docs__"})


def test_the_stated_defaults_are_the_defaults() -> None:
    text = PAGE.read_text(encoding="utf-8")
    assert (DEFAULT_TOLERANCE.metric, DEFAULT_TOLERANCE.warn, DEFAULT_TOLERANCE.drift) == (
        "tvd",
        0.04,
        0.12,
    )
    assert "TVD, warn 0.04, drift 0.12" in text
    settings = CompareSettings()
    assert f"false-alarm rate (default {settings.false_alarm_rate})" in text
    assert f"{settings.replicates} times" in text
    assert f"< {settings.min_current_rows} rows" in text
    assert f"< {settings.min_reference_rows} rows" in text
    profile = ProfileSettings()
    assert f"`k = {profile.sketch_k}`" in text
    assert f"{profile.max_categories:,} categories" in text
    assert f"{profile.sample_size:,} rows" in text
    assert DEFAULT_BINS == 20
    assert "20-quantiles" in text
