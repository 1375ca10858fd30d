"""Pressing a button under a message Telegram no longer lets the bot edit (over 48 hours old)."""

from __future__ import annotations

from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, InaccessibleMessage, Update

from tests.support import Chatter


async def press_on_old_message(chatter: Chatter, data: str) -> list[SendMessage]:
    """Press the button with callback DATA; Telegram sends such a message without its content."""
    old = InaccessibleMessage(chat=chatter.chat, message_id=1)
    query = CallbackQuery(
        id="old", from_user=chatter.user, chat_instance="test", message=old, data=data
    )
    return await chatter.feed(Update(update_id=next(chatter._ids), callback_query=query))
