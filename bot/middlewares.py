"""Per-update context: the database session, the member and the group chat."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.middleware import FSMContextMiddleware
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

from bot.fsm import DatabaseStorage, bind_session
from bot.settings import Settings
from storage import members
from storage.conversations import load_conversations, read_apart
from storage.db import SessionMaker, autocommit_sessionmaker, wrote
from storage.models import ConversationState, GroupChat, Member

# How many members (and groups) are kept in memory, and for how long.
CACHE_SIZE, CACHE_SECONDS = 100_000, 300
# How many handled update ids are remembered, and for how long (Telegram keeps updates 24 h).
HANDLED_UPDATES, HANDLED_SECONDS = 1_000_000, 2 * 24 * 3600

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
# Our conversation storage and the key of an update's conversation in it.
ConversationKey = tuple[DatabaseStorage, str]


@dataclass
class _Visit:
    """A member's update waiting for the member and their conversation."""

    profile: members.Profile
    conversation_key: str | None
    loaded: asyncio.Future[tuple[Member, ConversationState | None]]


class MemberLoader:
    """Loads the members of the updates being handled together: one transaction for everyone
    waiting, which reads them and their conversations and writes the new and changed ones.

    When many people write at once, each update would otherwise pay for a transaction of its
    own (on PostgreSQL a handful of round trips, on SQLite a turn at its single writer for each
    newcomer). Here a task loads whoever is waiting, then whoever came meanwhile, and so on,
    each statement committing on its own (the insert of the new members is one statement).
    The update's own transaction stays read-only unless its handler writes.
    """

    def __init__(self, sessionmaker: SessionMaker) -> None:
        self._sessionmaker = autocommit_sessionmaker(sessionmaker)
        self._waiting: list[_Visit] = []
        self._loader: asyncio.Task[None] | None = None

    async def load(
        self, profile: members.Profile, conversation_key: str | None
    ) -> tuple[Member, ConversationState | None]:
        """The member for PROFILE (created or brought up to date, committed) and, when
        CONVERSATION_KEY is given, the conversation row stored under it (None if none)."""
        visit = _Visit(profile, conversation_key, asyncio.get_running_loop().create_future())
        self._waiting.append(visit)
        if self._loader is None:
            # A context of its own: not the first waiter's (its update's session, for one).
            self._loader = asyncio.create_task(
                self._load_all(), name="members", context=contextvars.Context()
            )
        return await visit.loaded

    async def _load_all(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                await self._load(batch)
        finally:
            self._loader = None

    async def _load(self, batch: list[_Visit]) -> None:
        try:
            async with self._sessionmaker() as session:
                profiles = [visit.profile for visit in batch]
                loaded, created = await members.sync_members(session, profiles)
                # Someone created just now has no conversation yet.
                keys = [
                    visit.conversation_key
                    for visit in batch
                    if visit.conversation_key and visit.profile.member_id not in created
                ]
                conversations = await load_conversations(session, keys=keys)
        except Exception as error:
            for visit in batch:
                if not visit.loaded.done():
                    visit.loaded.set_exception(error)
            return
        except BaseException:  # cancelled (the process stops): nobody is left waiting
            for visit in batch:
                visit.loaded.cancel()
            raise
        for visit, member in zip(batch, loaded, strict=True):
            if not visit.loaded.done():  # its update may have been cancelled meanwhile
                row = conversations.get(visit.conversation_key or "")
                visit.loaded.set_result((member, row))


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
        conversations: FSMContextMiddleware | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        # The conversation state middleware, when its storage is ours: the member and their
        # conversation are then read together.
        self._conversations = conversations
        self._loader = MemberLoader(sessionmaker)
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
                data["member"] = await self._member(session, user, chat, data)
                data["group"] = await self._group(session, chat)
                result = await handler(event, data)
            if wrote(session):
                # The update's changes and the note that it was handled commit together.
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
        self, session: AsyncSession, user: User | None, chat: Chat | None, data: dict[str, Any]
    ) -> Member | None:
        if user is None or user.is_bot or (chat is not None and chat.type != "private"):
            return None
        name, username, language = user.full_name, user.username, user.language_code

        def current(member: Member) -> bool:
            return members.is_current(
                member, name=name, username=username, telegram_language=language
            )

        cached = self._members.get(user.id) if self._members is not None else None
        if cached is not None and current(cached):
            return cached
        conversation = self._conversation_key(data)
        profile = members.Profile(user.id, name, username, language)
        loaded, row = await self._loader.load(profile, conversation[1] if conversation else None)
        member = await session.merge(loaded, load=False)
        if conversation is not None:
            storage, key = conversation
            storage.already_read(session, key, read_apart(session, key, row))
        if self._members is not None:
            self._members[user.id] = member
        return member

    def _conversation_key(self, data: dict[str, Any]) -> ConversationKey | None:
        """Where this update's conversation is kept, when it is kept by our own storage."""
        fsm = self._conversations
        if fsm is None or not isinstance(fsm.storage, DatabaseStorage):
            return None
        context = fsm.resolve_event_context(data["bot"], data)
        return (fsm.storage, fsm.storage.key_text(context.key)) if context is not None else None

    async def _group(self, session: AsyncSession, chat: Chat | None) -> GroupChat | None:
        if chat is None or chat.type not in {"group", "supergroup"}:
            return None
        title = chat.title or ""
        cached = self._groups.get(chat.id) if self._groups is not None else None
        if cached is not None and members.group_is_current(
            cached, title=title, type=chat.type, active=True
        ):
            return cached
        group = await members.get_group(session, chat_id=chat.id)
        if group is None or not members.group_is_current(
            group, title=title, type=chat.type, active=True
        ):
            async with self._sessionmaker() as own:
                synced = await members.sync_group(
                    own, chat_id=chat.id, title=title, type_=chat.type
                )
                await own.commit()
            group = await session.merge(synced, load=False)
        if self._groups is not None:
            self._groups[chat.id] = group
        return group

    def forget_chat(self, chat_id: int) -> None:
        """Drop CHAT_ID's member or group from the cache (changed outside an update, e.g.
        found unreachable): the next update reads it from the database again."""
        if self._members is not None:
            self._members.pop(chat_id, None)
        if self._groups is not None:
            self._groups.pop(chat_id, None)

    def _forget(self, user: User | None, chat: Chat | None) -> None:
        if self._members is not None and user is not None:
            self._members.pop(user.id, None)
        if self._groups is not None and chat is not None:
            self._groups.pop(chat.id, None)


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


class KeepResponseTypes(BaseRequestMiddleware):
    """Keeps aiogram's `Response[...]` classes alive for the life of the bot.

    pydantic caches a parametrized generic model only weakly, so once the garbage collector
    has run, `Response[Message]` is built again, schema and all, for the next request:
    milliseconds each time, which a busy bot spent on every reply.
    """

    def __init__(self) -> None:
        self._kept: dict[Any, Any] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in self._kept:
            self._kept[returning] = Response[returning]  # type: ignore[valid-type]
        return await make_request(bot, method)
