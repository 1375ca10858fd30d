"""Fixtures of the storage tests: a migrated SQLite database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage.db import SessionMaker, create_engine, create_sessionmaker, upgrade


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[SessionMaker]:
    """Sessions on a fresh, migrated SQLite database."""
    engine = create_engine(database_url)
    await upgrade(engine)
    yield create_sessionmaker(engine)
    await engine.dispose()
