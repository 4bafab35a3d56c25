"""Fixtures of the store tests: one store per backend (SQLite, and PostgreSQL when up)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from steadyml.adapters.store import Store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new store's URL: a nested SQLite file, or the PostgreSQL test database."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return f"sqlite:///{tmp_path}/state/nested/steadyml.db"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open store on ``store_url``."""
    with Store.open(store_url) as opened:
        yield opened
