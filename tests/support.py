"""Test helpers: a member chatting with the real dispatcher, services tests may need, a call."""

from __future__ import annotations

import io
import itertools
import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, Chat, Message, Update, User
from sqlalchemy.ext.asyncio import AsyncSession

from bot.local_session import LocalSession
from storage import calls
from storage.models import FundingCall

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# The moment handlers see in tests (far from a daylight saving change).
TEST_NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


class FixedClock:
    """A clock standing still at NOW until a test moves it."""

    def __init__(self, now: datetime = TEST_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        """Move the clock on by DELTA."""
        self.now += delta


def service_url(variable: str, what: str) -> str:
    """The URL of a local service a test needs; skipped (never in CI) when it is not there."""
    url = os.environ.get(variable)
    if not url:
        if IN_CI:
            pytest.fail(f"{variable} is not set in CI: .ci/run must start {what}")
        pytest.skip(f"{what} not available: set {variable} to run this test")
    return url


@dataclass
class Chatter:
    """Drives the real dispatcher as Telegram would, and reads what the bot sent."""

    dispatcher: Dispatcher
    bot: Bot
    session: LocalSession
    user: User
    chat: Chat

    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def _message(self, **fields: Any) -> Message:
        number = next(self._ids)
        return Message(
            message_id=number,
            date=datetime.now(UTC),
            chat=fields.pop("chat", self.chat),
            from_user=fields.pop("from_user", self.user),
            **fields,
        )

    async def send(self, text: str | None = None, **fields: Any) -> list[SendMessage]:
        """Send a message (text, or other fields such as sticker=...) and return the replies."""
        if text is not None:
            fields["text"] = text
        return await self.feed(Update(update_id=next(self._ids), message=self._message(**fields)))

    async def press(self, reply: SendMessage, button_text: str) -> list[SendMessage]:
        """Press the button with BUTTON_TEXT under a message the bot sent."""
        markup = reply.reply_markup
        assert markup is not None and hasattr(markup, "inline_keyboard"), "no buttons"
        for row in markup.inline_keyboard:
            for button in row:
                if button.text == button_text:
                    return await self.press_data(str(button.callback_data))
        texts = [button.text for row in markup.inline_keyboard for button in row]
        raise AssertionError(f"no button {button_text!r} in {texts}")

    async def press_data(self, data: str, *, user: User | None = None) -> list[SendMessage]:
        """Press a button with callback DATA (also one that no longer exists)."""
        message = self._message(text="(earlier message)", from_user=None)
        query = CallbackQuery(
            id=str(next(self._ids)),
            from_user=user or self.user,
            chat_instance="test",
            message=message,
            data=data,
        )
        return await self.feed(Update(update_id=next(self._ids), callback_query=query))

    async def feed(self, update: Update) -> list[SendMessage]:
        """Feed one update; return the messages sent while handling it."""
        before = len(self.session.requests)
        await self.dispatcher.feed_update(self.bot, update)
        return [m for m in self.session.requests[before:] if isinstance(m, SendMessage)]

    def requests_since(self, count: int) -> list[Any]:
        """All requests after the first COUNT."""
        return self.session.requests[count:]


def make_user(user_id: int = 7, language_code: str | None = "lt", name: str = "Ona") -> User:
    """A Telegram user."""
    return User(id=user_id, is_bot=False, first_name=name, language_code=language_code)


def buttons(message: SendMessage) -> list[str]:
    """The texts of a message's inline buttons."""
    markup = message.reply_markup
    if markup is None or not hasattr(markup, "inline_keyboard"):
        return []
    return [button.text for row in markup.inline_keyboard for button in row]


async def store_beekeeping_call(
    session: AsyncSession, *, now: datetime = TEST_NOW, **changes: Any
) -> FundingCall:
    """Store a coordinator's call, open since the day before NOW for 5 more days.

    CHANGES: other fields.
    """
    fields: dict[str, Any] = {
        "call_id": "beekeeping-grants",
        "title": "Grants for beekeeping clubs",
        "programme": "Rural Bees",
        "funder": "Ogre municipality",
        "who_may_apply": "Beekeeping clubs",
        "opens": now - timedelta(days=1),
        "closes": now + timedelta(days=5, hours=1),
        "timezone": "Europe/Riga",
        "municipalities": ["ogre-municipality"],
        "contact": "bees@example.org",
        "link": "",
        "language": "en",
        "created_by": 42,
    }
    return await calls.add_call(session, **(fields | changes))


# Settings the command line reads from the environment: cleared for in-process runs, so that
# the developer's own environment never leaks into a test.
SETTING_VARIABLES = (
    "BOT_TOKEN",
    "TELEGRAM_API_URL",
    "DATABASE_URL",
    "COORDINATOR_IDS",
    "COORDINATOR_CHAT_ID",
    "DEFAULT_LOCALE",
    "TIMEZONE",
    "WEBHOOK_URL",
    "WEBHOOK_SECRET",
    "REDIS_URL",
    "REMINDER_OFFSETS",
    "KNOWLEDGE_DIR",
    "WEBHOOK_PORT",
    "MAX_CONCURRENT_UPDATES",
    "DATABASE_POOL_SIZE",
)


@dataclass(frozen=True)
class CommandResult:
    """What a `civicbot` command run in this process returned and printed."""

    returncode: int
    stdout: str
    stderr: str


def run_civicbot(
    args: list[str],
    *,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    stdin: str = "",
) -> CommandResult:
    """Run `civicbot ARGS` in this process, in CWD (no .env there), with ENV and STDIN."""
    from bot.cli import main

    for name in SETTING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    capsys.readouterr()
    code = main(args)
    out, err = capsys.readouterr()
    return CommandResult(code, out, err)
