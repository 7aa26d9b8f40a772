"""Contract tests run against both databases mailbot supports: SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from mailbot.adapters.db import make_engine, migrate
from mailbot.adapters.store import Store
from mailbot.testing.postgres import Postgres

_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    with Postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    server: Postgres = request.getfixturevalue("postgres")
    name = f"contract_{next(_numbers)}"
    admin = create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    yield server.url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A store on a fresh, migrated database (SQLite, then PostgreSQL)."""
    engine = make_engine(database_url)
    migrate(engine)
    yield Store(engine)
    engine.dispose()
