"""aiogram's FSM storage over our own database, so every conversation survives a restart.

The table and its functions are `storage.conversations`; this is the glue aiogram calls.

While an update is being handled, state reads and writes go through that update's own
database session (see `bind_session`): changes commit together with whatever else the handler
changed (or roll back with it), and SQLite never sees two writers from one update.

With `cache=True` (one bot process on SQLite), committed conversations are also kept in memory,
so the many updates that only read their state cost no database round trip. Several processes
must not cache: each would keep its own, soon stale, copy.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StorageKey
from cachetools import LRUCache
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage.conversations import Conversation, load_conversation, store_conversation
from storage.db import SessionMaker

_PENDING = "conversation_changes"  # key in Session.info: changes not yet committed
_READ = "conversation_reads"  # key in Session.info: what this update read already

_update_session: ContextVar[AsyncSession | None] = ContextVar("update_session", default=None)


@asynccontextmanager
async def bind_session(session: AsyncSession) -> AsyncIterator[None]:
    """Route state reads and writes made while handling an update through SESSION."""
    token = _update_session.set(session)
    try:
        yield
    finally:
        _update_session.reset(token)


class DatabaseStorage(BaseStorage):
    """Conversation state and data in the `conversation_state` table."""

    def __init__(
        self,
        sessionmaker: SessionMaker,
        *,
        cache: bool = False,
        cache_size: int = 100_000,
        key_builder: KeyBuilder | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)
        self._cache: LRUCache[str, Conversation] | None = (
            LRUCache(maxsize=cache_size) if cache else None
        )

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        """Move the conversation to STATE (None ends it)."""
        value = state.state if isinstance(state, State) else state
        _, data = await self._read(key)
        await self._write(key, (value, data))

    async def get_state(self, key: StorageKey) -> str | None:
        """The conversation's current state."""
        return (await self._read(key))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        """Replace the conversation's data."""
        state, _ = await self._read(key)
        await self._write(key, (state, copy.deepcopy(dict(data))))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        """The conversation's data (a copy: changing it changes nothing stored)."""
        return copy.deepcopy((await self._read(key))[1])

    async def close(self) -> None:
        """Nothing to close: sessions are opened per call."""

    def key_text(self, key: StorageKey) -> str:
        """How KEY is stored in the table."""
        return self._key_builder.build(key)

    @staticmethod
    def already_read(session: AsyncSession, storage_key: str, conversation: Conversation) -> None:
        """Tell the storage that SESSION has read CONVERSATION (e.g. together with the member)."""
        read: dict[str, Conversation] = session.info.setdefault(_READ, {})
        read.setdefault(storage_key, conversation)

    async def _read(self, key: StorageKey) -> Conversation:
        storage_key = self._key_builder.build(key)
        session = _update_session.get()
        if session is not None and storage_key in session.info.get(_PENDING, {}):
            pending: Conversation = session.info[_PENDING][storage_key]
            return pending
        if self._cache is not None and storage_key in self._cache:
            return self._cache[storage_key]
        if session is not None:
            # Read once per update, however often the handlers ask.
            read: dict[str, Conversation] = session.info.setdefault(_READ, {})
            if storage_key not in read:
                read[storage_key] = await load_conversation(session, key=storage_key)
            conversation = read[storage_key]
        else:
            async with self._sessionmaker() as own_session:
                conversation = await load_conversation(own_session, key=storage_key)
        if self._cache is not None:
            self._cache[storage_key] = conversation
        return conversation

    async def _write(self, key: StorageKey, conversation: Conversation) -> None:
        storage_key = self._key_builder.build(key)
        session = _update_session.get()
        if session is not None:
            await store_conversation(session, key=storage_key, conversation=conversation)
            self._remember_until_commit(session, storage_key, conversation)
            return
        async with self._sessionmaker() as own_session, own_session.begin():
            await store_conversation(own_session, key=storage_key, conversation=conversation)
        if self._cache is not None:
            self._cache[storage_key] = conversation

    def _remember_until_commit(
        self, session: AsyncSession, storage_key: str, conversation: Conversation
    ) -> None:
        pending = session.info.get(_PENDING)
        if pending is None:
            pending = session.info[_PENDING] = {}
            sync_session = session.sync_session
            event.listen(sync_session, "after_commit", self._publish, once=True)
            event.listen(sync_session, "after_rollback", self._discard, once=True)
        pending[storage_key] = conversation

    def _publish(self, session: Session) -> None:
        pending = session.info.pop(_PENDING, {})
        if self._cache is not None:
            self._cache.update(pending)

    @staticmethod
    def _discard(session: Session) -> None:
        session.info.pop(_PENDING, None)
