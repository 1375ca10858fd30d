"""Per-update context: the database session, the member and the group chat."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    Response,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, TelegramObject, Update, User
from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncSession

from bot.fsm import bind_session
from bot.settings import Settings
from storage import members
from storage.db import SessionMaker
from storage.models import GroupChat, Member

# How many members (and groups) are kept in memory, and for how long.
CACHE_SIZE, CACHE_SECONDS = 100_000, 300
# How many handled update ids are remembered, and for how long (Telegram keeps updates 24 h).
HANDLED_UPDATES, HANDLED_SECONDS = 1_000_000, 2 * 24 * 3600

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class StorageMiddleware(BaseMiddleware):
    """One database session per update, with the member (private chats) or the group chat.

    Members and groups are created on first contact and written again only when something
    Telegram tells us about them changed. With `cache=True` (one process on SQLite) they are
    also kept in memory, so a repeat visit costs no database round trip; an update that fails
    drops what it may have changed from the cache.
    """

    def __init__(
        self,
        sessionmaker: SessionMaker,
        *,
        cache: bool = False,
        handled_updates: Iterable[int] | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        # Updates whose changes are committed: Telegram delivers again what was not confirmed
        # when the process died, and those must not be applied twice.
        self._handled: TTLCache[int, bool] | None = None
        if handled_updates is not None:
            self._handled = TTLCache(maxsize=HANDLED_UPDATES, ttl=HANDLED_SECONDS)
            self._handled.update(dict.fromkeys(handled_updates, True))
        self._members: TTLCache[int, Member] | None = None
        self._groups: TTLCache[int, GroupChat] | None = None
        if cache:
            self._members = TTLCache(maxsize=CACHE_SIZE, ttl=CACHE_SECONDS)
            self._groups = TTLCache(maxsize=CACHE_SIZE, ttl=CACHE_SECONDS)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        settings: Settings = data["settings"]
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        data["is_coordinator"] = settings.is_coordinator(user.id if user else None)
        update_id = event.update_id if isinstance(event, Update) else None
        if self._handled is not None and update_id in self._handled:
            log.info("update %s was already handled before a restart: skipped", update_id)
            return None
        session = self._sessionmaker()
        data["session"] = session
        try:
            async with bind_session(session):
                data["member"] = await self._member(session, user, chat)
                data["group"] = await self._group(session, chat)
                result = await handler(event, data)
            if session.in_transaction():
                if self._handled is not None and update_id is not None:
                    await members.record_handled_update(session, update_id=update_id)
                await session.commit()
                if self._handled is not None and update_id is not None:
                    self._handled[update_id] = True
        except BaseException:
            self._forget(user, chat)
            raise
        finally:
            # A session that never reached the database (a cached visit) holds nothing.
            if session.in_transaction() or session.identity_map:
                await session.close()
        return result

    async def _member(
        self, session: AsyncSession, user: User | None, chat: Chat | None
    ) -> Member | None:
        if user is None or user.is_bot or (chat is not None and chat.type != "private"):
            return None
        cached = self._members.get(user.id) if self._members is not None else None
        if cached is not None and members.is_current(
            cached,
            name=user.full_name,
            username=user.username,
            telegram_language=user.language_code,
        ):
            return cached
        member = await members.sync_member(
            session,
            member_id=user.id,
            name=user.full_name,
            username=user.username,
            telegram_language=user.language_code,
        )
        if self._members is not None:
            self._members[user.id] = member
        return member

    async def _group(self, session: AsyncSession, chat: Chat | None) -> GroupChat | None:
        if chat is None or chat.type not in {"group", "supergroup"}:
            return None
        cached = self._groups.get(chat.id) if self._groups is not None else None
        if cached is not None and (cached.title, cached.type, cached.active) == (
            chat.title or "",
            chat.type,
            True,
        ):
            return cached
        group = await members.sync_group(
            session, chat_id=chat.id, title=chat.title or "", type_=chat.type
        )
        if self._groups is not None:
            self._groups[chat.id] = group
        return group

    def _forget(self, user: User | None, chat: Chat | None) -> None:
        if self._members is not None and user is not None:
            self._members.pop(user.id, None)
        if self._groups is not None and chat is not None:
            self._groups.pop(chat.id, None)


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


class HarmlessFailureGuard(BaseRequestMiddleware):
    """Some failures leave the member seeing exactly what they should, so the handler's work must
    still count: answering a button press that is too old to answer (it only stops a spinner),
    and an edit that would not change the message (it already shows that, e.g. when an update
    is delivered again after a restart)."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as error:
            harmless = isinstance(method, AnswerCallbackQuery) or (
                isinstance(method, EditMessageText | EditMessageReplyMarkup)
                and "message is not modified" in error.message
            )
            if not harmless:
                raise
            log.info("%s changed nothing: %s", type(method).__name__, error.message)
            return Response[TelegramType](ok=True, result=cast(TelegramType, True))
