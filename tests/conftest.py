"""Shared fixtures: settings, a migrated database, the real dispatcher and a recording bot.

What is slow to build is built once per test run and copied for each test: the migrated
database (a template SQLite file) and the knowledge base (its search index).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.types import Chat

from bot.app import App, open_app
from bot.local_session import BOT_TOKEN, LocalSession
from bot.settings import Settings
from knowledge.municipalities import load_municipalities
from knowledge.service import PACK_DIR, KnowledgeBase
from storage.db import SessionMaker, create_engine, create_sessionmaker, upgrade
from tests.support import Chatter, FixedClock, make_user


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, made once; tests get copies."""
    import asyncio

    path = tmp_path_factory.mktemp("template") / "civicbot.db"

    async def migrate() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate())
    return path


@pytest.fixture(scope="session")
def shared_knowledge() -> KnowledgeBase:
    """The bundled knowledge pack with its search index, built once for the whole run."""
    return KnowledgeBase(load_municipalities(), PACK_DIR)


@pytest.fixture
def database_url(tmp_path: Path, template_database: Path) -> str:
    """A fresh, migrated SQLite file per test."""
    path = tmp_path / "civicbot.db"
    shutil.copyfile(template_database, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[SessionMaker]:
    """Sessions on the test's own migrated SQLite database."""
    engine = create_engine(database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings for tests: coordinator 42, Lithuanian by default, no token."""
    return Settings(
        _env_file=None,
        database_url=database_url,
        coordinator_ids=frozenset({42}),
        default_locale="lt",
    )


@pytest.fixture
def clock() -> FixedClock:
    """The time as handlers see it: a fixed moment that a test may move."""
    return FixedClock()


@pytest.fixture
def local_session() -> LocalSession:
    """A session that records what the bot sends."""
    return LocalSession()


@pytest.fixture
def bot(local_session: LocalSession) -> Bot:
    """A bot whose requests are recorded, not sent."""
    return Bot(BOT_TOKEN, session=local_session, default=DefaultBotProperties(parse_mode="HTML"))


@pytest.fixture
async def app(
    settings: Settings, bot: Bot, shared_knowledge: KnowledgeBase, clock: FixedClock
) -> AsyncIterator[App]:
    """The whole application on a migrated database."""
    async with open_app(
        settings, bot=bot, knowledge=shared_knowledge.copy(), clock=clock
    ) as opened:
        yield opened


@pytest.fixture
def chatter(app: App, bot: Bot, local_session: LocalSession) -> Chatter:
    """A member (id 7, Telegram in Lithuanian) in a private chat with the bot."""
    user = make_user()
    return Chatter(app.dispatcher, bot, local_session, user, Chat(id=user.id, type="private"))
