"""Shared fixtures: throw-away PostgreSQL databases on the server at 127.0.0.1:5432."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


@pytest.fixture
def new_postgres_db() -> Iterator[Callable[[], str]]:
    """A factory of fresh PostgreSQL databases (URLs), all dropped after the test.

    Skips the test, saying why, when the server cannot be reached.
    """
    admin = create_engine(
        f"{PG_SERVER}/postgres",
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 3},
    )
    created: list[str] = []

    def make() -> str:
        name = f"steadyml_test_{uuid.uuid4().hex[:12]}"
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:
            pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}")
        created.append(name)
        return f"{PG_SERVER}/{name}"

    try:
        yield make
    finally:
        with admin.connect() as connection:
            for name in created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url(new_postgres_db: Callable[[], str]) -> str:
    """One throw-away PostgreSQL database."""
    return new_postgres_db()
