"""A Bot API session that talks to no server: it records requests and answers them itself.

The console uses it to show what the bot says; tests and benchmarks use it to see what the bot
sent. Answers have Telegram's shapes, so handlers work exactly as against the real server.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import (
    CopyMessage,
    EditMessageReplyMarkup,
    EditMessageText,
    GetChat,
    GetMe,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType

BOT_USER = {"id": 100000, "is_bot": True, "first_name": "civicbot", "username": "civicbot"}
BOT_TOKEN = f"{BOT_USER['id']}:local-session"


class LocalSession(BaseSession):
    """Records every request in `requests` and returns a plausible Telegram answer."""

    def __init__(self, listener: Callable[[TelegramMethod[Any], Any], None] | None = None) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self._listener = listener
        self._message_ids = itertools.count(1)

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        """Record METHOD and answer it."""
        self.requests.append(method)
        result = self._answer(bot, method)
        if self._listener is not None:
            self._listener(method, result)
        response = self.check_response(
            bot, method, status_code=200, content=json.dumps({"ok": True, "result": result})
        )
        return response.result  # type: ignore[return-value]

    def _answer(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, GetMe):
            return BOT_USER
        if isinstance(method, GetChat):
            chat_id = int(method.chat_id)
            gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
            return {
                "id": chat_id,
                "type": "private" if chat_id > 0 else "supergroup",
                "title": None if chat_id > 0 else "group",
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": dict.fromkeys((*gifts, "gifts_from_channels"), False),
            }
        if isinstance(method, CopyMessage):
            return {"message_id": next(self._message_ids)}
        if isinstance(method, SendMessage | SendPhoto | SendDocument):
            return self._message(method.chat_id, method, next(self._message_ids))
        if isinstance(method, EditMessageText | EditMessageReplyMarkup):
            if method.inline_message_id or method.chat_id is None or method.message_id is None:
                return True
            return self._message(method.chat_id, method, method.message_id)
        return True

    def _message(self, chat_id: int | str, method: TelegramMethod[Any], message_id: int) -> Any:
        chat_id = int(chat_id)
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        if chat_id < 0:
            chat["title"] = "group"
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
        }
        text = getattr(method, "text", None)
        if isinstance(text, str):
            message["text"] = text
        markup = getattr(method, "reply_markup", None)
        if markup is not None:
            message["reply_markup"] = markup.model_dump(exclude_none=True, mode="json")
        if isinstance(method, SendDocument):
            message["document"] = {"file_id": "local", "file_unique_id": "local"}
        if isinstance(method, SendPhoto):
            message["photo"] = [
                {"file_id": "local", "file_unique_id": "local", "width": 1, "height": 1}
            ]
        return message

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        """There is no file server here."""
        yield b""

    async def close(self) -> None:
        """Nothing to close."""

    def sent(self, method_type: type[TelegramMethod[Any]] = SendMessage) -> list[Any]:
        """The recorded requests of one kind, oldest first."""
        return [method for method in self.requests if isinstance(method, method_type)]
