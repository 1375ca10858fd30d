"""Test helpers: a member chatting with the real dispatcher, services tests may need, a call."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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


async def store_beekeeping_call(session: AsyncSession, **changes: Any) -> FundingCall:
    """Store a coordinator's call, open since yesterday for 5 more days (CHANGES: other fields)."""
    now = datetime.now(UTC)
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
