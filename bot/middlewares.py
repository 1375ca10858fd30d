"""Per-update context: the database session, the member and the group chat."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, Update, User

from bot.settings import Settings
from storage import members
from storage.db import SessionMaker
from storage.fsm import bind_session

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DatabaseMiddleware(BaseMiddleware):
    """Opens one session per update and commits it when the handler has finished."""

    def __init__(self, sessionmaker: SessionMaker) -> None:
        self._sessionmaker = sessionmaker

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self._sessionmaker() as session, bind_session(session):
            data["session"] = session
            result = await handler(event, data)
            await session.commit()
            return result


class MemberMiddleware(BaseMiddleware):
    """Loads the member (private chats) or the group chat, creating them on first contact."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        session = data["session"]
        settings: Settings = data["settings"]
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        data["member"] = None
        data["group"] = None
        data["is_coordinator"] = settings.is_coordinator(user.id if user else None)
        if user is not None and not user.is_bot and (chat is None or chat.type == "private"):
            data["member"] = await members.sync_member(
                session,
                member_id=user.id,
                name=user.full_name,
                username=user.username,
                telegram_language=user.language_code,
            )
        if chat is not None and chat.type in {"group", "supergroup"}:
            data["group"] = await members.sync_group(
                session, chat_id=chat.id, title=chat.title or "", type_=chat.type
            )
        return await handler(event, data)


class InFlightMiddleware(BaseMiddleware):
    """Counts updates being handled so that a stop can wait for them to finish."""

    def __init__(self) -> None:
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.last_update_id: int | None = None

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        self._active += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            if isinstance(event, Update):
                self.last_update_id = max(self.last_update_id or 0, event.update_id)
            self._active -= 1
            if self._active == 0:
                self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no update is being handled; False when TIMEOUT passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True
