"""Shared fixtures: settings, a migrated database, the real dispatcher and a recording bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.types import Chat

from bot.app import App, open_app
from bot.local_session import BOT_TOKEN, LocalSession
from bot.settings import Settings
from tests.support import Chatter, make_user


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A fresh SQLite file per test."""
    return f"sqlite+aiosqlite:///{tmp_path / 'civicbot.db'}"


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
async def app(settings: Settings) -> AsyncIterator[App]:
    """The whole application on a migrated database."""
    async with open_app(settings) as opened:
        yield opened


@pytest.fixture
def local_session() -> LocalSession:
    """A session that records what the bot sends."""
    return LocalSession()


@pytest.fixture
def bot(local_session: LocalSession) -> Bot:
    """A bot whose requests are recorded, not sent."""
    return Bot(BOT_TOKEN, session=local_session, default=DefaultBotProperties(parse_mode="HTML"))


@pytest.fixture
def chatter(app: App, bot: Bot, local_session: LocalSession) -> Chatter:
    """A member (id 7, Telegram in Lithuanian) in a private chat with the bot."""
    user = make_user()
    return Chatter(app.dispatcher, bot, local_session, user, Chat(id=user.id, type="private"))
