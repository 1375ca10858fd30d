"""REDIS_URL switches conversation state to Redis; it survives a restart there too."""

from __future__ import annotations

import uuid

from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage

from bot.app import create_storage
from bot.fsm import DatabaseStorage
from bot.settings import Settings
from storage.db import create_engine, create_sessionmaker
from tests.support import service_url


async def test_redis_url_selects_redis_and_state_survives(database_url: str) -> None:
    redis_url = service_url("REDIS_TEST_URL", "Redis")
    settings = Settings(_env_file=None, database_url=database_url, redis_url=redis_url)
    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    key = StorageKey(bot_id=1, chat_id=uuid.uuid4().int % 10**9, user_id=7)
    storage, _ = create_storage(settings, sessionmaker)
    assert isinstance(storage, RedisStorage)
    try:
        await storage.set_state(key, "Onboarding:consent")
        await storage.set_data(key, {"municipality": "ogre-municipality"})
    finally:
        await storage.close()
    restarted, _ = create_storage(settings, sessionmaker)
    try:
        assert await restarted.get_state(key) == "Onboarding:consent"
        assert await restarted.get_data(key) == {"municipality": "ogre-municipality"}
        await restarted.set_state(key, None)
        await restarted.set_data(key, {})
    finally:
        await restarted.close()
        await engine.dispose()


def test_without_redis_the_database_keeps_state(database_url: str) -> None:
    settings = Settings(_env_file=None, database_url=database_url)
    storage, _ = create_storage(settings, create_sessionmaker(create_engine(database_url)))
    assert isinstance(storage, DatabaseStorage)
