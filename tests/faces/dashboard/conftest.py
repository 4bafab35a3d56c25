"""A monitored scenario built once per session; each test gets its own copy of it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from steadyml.adapters.store import Store
from tests.faces.dashboard.scenario import Scenario, build_scenario

TOKEN = "s3cret-token"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("dashboard") / "scenario")


@pytest.fixture
def scenario(built: Scenario, tmp_path: Path) -> Scenario:
    """A private copy of the scenario (actions write to its store)."""
    target = tmp_path / "scenario"
    shutil.copytree(built.directory, target)
    return replace(built, directory=target, store_url=f"sqlite:///{target}/steadyml.db")


@pytest.fixture
def store(scenario: Scenario) -> Iterator[Store]:
    with Store.open(scenario.store_url) as opened:
        yield opened
