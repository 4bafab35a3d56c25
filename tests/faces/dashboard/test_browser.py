"""The dashboard in a real browser (Debian's chromium driven by Playwright) on a real server.

Follows an incident from the overview to its timeline, acknowledges it with the token,
sees it in the audit log, checks that an action without the token is refused, and saves
a screenshot of every page under ``docs/images/ui-*.png``.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from steadyml.adapters.store import Store
from steadyml.faces.dashboard import DashboardConfig, create_dashboard
from tests.faces.dashboard.conftest import TOKEN
from tests.faces.dashboard.scenario import Scenario

CHROMIUM = "/usr/bin/chromium"
IMAGES = Path(__file__).resolve().parents[3] / "docs" / "images"

pytestmark = pytest.mark.slow

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(scenario: Scenario, store: Store) -> Iterator[str]:
    app = create_dashboard(
        store,
        config=DashboardConfig(
            token=TOKEN, reports_dir=scenario.directory / "reports", refresh_seconds=0
        ),
        references=scenario.references,
    )
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the dashboard server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(10)


@pytest.fixture
def page(server: str) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        opened = context.new_page()
        errors: list[str] = []
        opened.on("pageerror", lambda exc: errors.append(str(exc)))
        opened.set_default_timeout(15_000)
        yield opened
        browser.close()
        assert not errors, errors


def _shot(page: Any, name: str) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    target = IMAGES / f"ui-{name}.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000


def test_every_page_in_the_browser(server: str, page: Any) -> None:
    page.goto(server + "/")
    assert page.locator("#services").inner_text().count("employment") == 1
    _shot(page, "overview")
    page.goto(server + "/services/employment?range=all")
    page.wait_for_selector("[data-figure=heatmap] .main-svg")
    page.wait_for_selector("[data-figure=rates] .main-svg")
    assert page.locator("[data-figure] .main-svg").count() >= 6
    _shot(page, "service")
    page.click("#features >> text=AGEP")
    page.wait_for_selector("[data-figure=distribution] .main-svg")
    _shot(page, "feature")
    page.goto(server + "/models/employment")
    page.fill("input[name=at]", "2016-03-01T00:10")
    page.click("#served-at button")
    assert "version 1" in page.locator("#served").inner_text()
    _shot(page, "models")
    page.goto(server + "/reports")
    assert "drift-employment.html" in page.locator("#reports").inner_text()
    _shot(page, "reports")
    page.goto(server + "/incidents?status=all")
    assert page.locator("#incident-list tbody tr").count() == 2
    _shot(page, "incidents")
    page.goto(server + "/no/such/page")
    assert "404" in page.title()


def test_follow_an_incident_and_acknowledge_it(server: str, page: Any, store: Store) -> None:
    page.goto(server + "/")
    page.click("a.incident-link >> text=nan output")
    page.wait_for_selector("#timeline")
    assert "opened" in page.locator("#timeline").inner_text()
    # without the token the action is refused and nothing is recorded
    form = page.locator("form[action$='/acknowledge']")
    form.locator("input[name=reason]").fill("looking")
    form.locator("button").click()
    assert "401" in page.title()
    assert not [e for e in store.audit_log("employment") if e.action == "acknowledge"]
    page.go_back()
    page.reload()
    form = page.locator("form[action$='/acknowledge']")
    form.locator("input[name=reason]").fill("NaN answers since v2, checking the model")
    form.locator("input[name=actor]").fill("ana")
    form.locator("input[name=token]").fill(TOKEN)
    form.locator("button").click()
    page.wait_for_selector("#timeline >> text=acknowledged")
    timeline = page.locator("#timeline").inner_text()
    assert "action: acknowledge" in timeline and "ana" in timeline
    _shot(page, "incident")
    [entry] = [e for e in store.audit_log("employment") if e.action == "acknowledge"]
    assert entry.actor == "ana" and entry.incident_id is not None
    page.goto(server + "/services/employment")
    assert "NaN answers since v2" in page.inner_text("body")


def test_chromium_is_debians(tmp_path: Path) -> None:
    assert shutil.which("chromium") is not None or Path(CHROMIUM).exists()
