"""Storage fixtures: a migrated, empty database of each kind."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import SessionMaker, create_engine, create_sessionmaker, upgrade
from tests.support import service_url


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated, empty database of each kind (PostgreSQL in a schema of its own)."""
    if request.param == "sqlite":
        engine = create_engine(database_url)
        await upgrade(engine)
        yield engine
        await engine.dispose()
        return
    base_url = service_url("POSTGRES_TEST_URL", "PostgreSQL")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(base_url, connect_args={"server_settings": {"search_path": schema}})
    try:
        await upgrade(engine)
        yield engine
    finally:
        await engine.dispose()
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return create_sessionmaker(engine)
