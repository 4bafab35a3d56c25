"""The HTML drift report: self-contained, complete, faithful to the result, opens in a browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from steadyml.errors import ConfigError
from steadyml.faces.reports.drift_html import render_drift_html, write_drift_html
from steadyml.services.drift import DriftCheck, check_drift

FIGURES = re.compile(r'<script type="application/json" id="steadyml-figures">(.*?)</script>', re.S)


def data(rows: int, *, shift: float = 0.0, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    start = datetime(2024, 3, 1, tzinfo=UTC)
    return pl.DataFrame(
        {
            "ts": [start + timedelta(minutes=int(m)) for m in np.linspace(0, 239, rows)],
            "age": rng.normal(40 + shift, 10, rows),
            "income": rng.lognormal(10, 1, rows),
            "plan <b>": rng.choice(["basic", "pro", "team"], rows),
            "code": rng.choice(["01", "2015", "7"], rows),
        }
    )


@pytest.fixture(scope="module")
def check() -> DriftCheck:
    return check_drift(data(8_000), data(4_000, shift=5.0, seed=1), time_column="ts", window="1h")


@pytest.fixture(scope="module")
def html(check: DriftCheck) -> str:
    return render_drift_html(check)


def figures(html: str) -> dict[str, dict[str, object]]:
    found = FIGURES.search(html)
    assert found is not None
    parsed: dict[str, dict[str, object]] = json.loads(found.group(1))
    return parsed


def test_the_report_is_self_contained(html: str) -> None:
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)\s*=\s*[\"']?(https?:)?//", html)
    assert html.count("<script") == 3  # plotly.js, the figures, the few lines that draw them
    assert html.count("plotly.js v") >= 1 and len(html) > 3_000_000  # plotly.js is inline
    assert "NaN" not in FIGURES.search(html).group(1)  # type: ignore[union-attr]


def test_every_feature_has_its_section_and_charts(check: DriftCheck, html: str) -> None:
    found = figures(html)
    for index, result in enumerate(check.result.ranked()):
        assert f'id="f{index}"' in html
        assert f"f{index}-dist" in found and f"f{index}-band" in found
        assert result.message.replace("'", "&#39;") in html
    assert "plan &lt;b&gt;" in html and "plan <b>" not in html.split("<script", maxsplit=1)[0]
    assert {"windows-heatmap", "windows-lines"} <= set(found)


def test_the_charts_show_the_result(check: DriftCheck, html: str) -> None:
    found = figures(html)
    index = [r.feature for r in check.result.ranked()].index("age")
    age = check.result["age"]
    assert age.histogram is not None
    bars = found[f"f{index}-dist"]["data"]
    assert isinstance(bars, list)
    reference = np.asarray(age.histogram.reference, dtype=float)
    current = np.asarray(age.histogram.current, dtype=float)
    shown = (reference > 0) | (current > 0)  # empty bins are left out
    for trace, counts in zip(bars, (reference, current), strict=True):
        shares = counts[shown] / counts.sum() * 100
        assert np.allclose(trace["y"], shares, atol=1e-3)  # percent of rows, to 1e-3 points
    assert bars[1]["x"][-1].startswith(">")  # the out-of-range bin the shift filled
    for number in re.findall(r"[\d.]+", bars[1]["x"][0]):  # 4 significant digits on the axis
        assert len(number.replace(".", "").lstrip("0")) <= 4, bars[1]["x"][0]
    codes = found[f"f{[r.feature for r in check.result.ranked()].index('code')}-dist"]["data"]
    assert isinstance(codes, list)
    assert {"01", "2015", "7"} <= set(codes[0]["x"])  # category labels are shown verbatim
    band = found[f"f{index}-band"]["data"]
    assert isinstance(band, list)
    assert band[0]["x"] == [age.effect]
    heatmap = found["windows-heatmap"]["data"]
    assert isinstance(heatmap, list)
    assert len(heatmap[0]["x"]) == len(check.windows) == 4
    assert max(max(row) for row in heatmap[0]["z"]) == 4  # age drifts: the drift colour


def test_write_creates_folders_and_reports_unwritable_paths(
    check: DriftCheck, tmp_path: Path
) -> None:
    written = write_drift_html(check, tmp_path / "a" / "b" / "drift.html")
    assert written.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot write the report"):
        write_drift_html(check, tmp_path / "file" / "drift.html")


def test_a_report_without_windows_or_charts_renders() -> None:
    check = check_drift(data(50), data(20, seed=2), columns=["age", "plan <b>"])
    html = render_drift_html(check)
    assert "insufficient data" in html and "windows-heatmap" not in html
    assert figures(html) == {}


def test_the_report_opens_in_chromium(check: DriftCheck, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed; only self-containment was checked")
    path = write_drift_html(check, tmp_path / "drift.html")
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--virtual-time-budget=15000", "--dump-dom",
    ]  # fmt: skip
    done = subprocess.run(
        [browser, *flags, path.as_uri()], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    drawn = done.stdout.count('class="main-svg"')
    assert drawn >= len(figures(path.read_text(encoding="utf-8")))  # every chart was drawn
