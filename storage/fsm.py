"""aiogram FSM storage kept in our own database, so every conversation survives a restart.

While an update is being handled, state changes are written through that update's own
database session (see `bind_session`), so they commit together with whatever else the handler
changed, and SQLite never sees two writers from one update.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StorageKey
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import SessionMaker
from storage.models import ConversationState
from storage.types import utcnow

_update_session: ContextVar[AsyncSession | None] = ContextVar("update_session", default=None)


@asynccontextmanager
async def bind_session(session: AsyncSession) -> AsyncIterator[None]:
    """Route state writes made while handling an update through SESSION."""
    token = _update_session.set(session)
    try:
        yield
    finally:
        _update_session.reset(token)


class DatabaseStorage(BaseStorage):
    """Conversation state and data in the `conversation_state` table."""

    def __init__(self, sessionmaker: SessionMaker, key_builder: KeyBuilder | None = None) -> None:
        self._sessionmaker = sessionmaker
        self._key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        """Move the conversation to STATE (None ends it)."""
        value = state.state if isinstance(state, State) else state
        await self._write(key, state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        """The conversation's current state."""
        async with self._sessionmaker() as session:
            row = await session.get(ConversationState, self._key_builder.build(key))
            return row.state if row else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        """Replace the conversation's data."""
        await self._write(key, data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        """The conversation's data."""
        async with self._sessionmaker() as session:
            row = await session.get(ConversationState, self._key_builder.build(key))
            return dict(row.data) if row else {}

    async def close(self) -> None:
        """Nothing to close: sessions are opened per call."""

    async def _write(self, key: StorageKey, **values: Any) -> None:
        session = _update_session.get()
        if session is not None:
            await self._write_in(session, key, values)
            return
        async with self._sessionmaker() as own_session, own_session.begin():
            await self._write_in(own_session, key, values)

    async def _write_in(
        self, session: AsyncSession, key: StorageKey, values: dict[str, Any]
    ) -> None:
        storage_key = self._key_builder.build(key)
        row = await session.get(ConversationState, storage_key, with_for_update=True)
        state = values.get("state", row.state if row else None)
        data = values.get("data", row.data if row else {})
        if state is None and not data:
            if row is not None:
                await session.delete(row)
                await session.flush()
            return
        if row is None:
            row = ConversationState(key=storage_key)
            session.add(row)
        row.state, row.data, row.updated_at = state, data, utcnow()
        await session.flush()
