"""Where each conversation stands (a state name and its data), so it survives restarts.

The aiogram adapter that routes the dispatcher's state through these functions is
`bot.fsm.DatabaseStorage`; here is only the table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import ConversationState
from storage.types import utcnow

Conversation = tuple[str | None, dict[str, Any]]
EMPTY: Conversation = (None, {})


async def load_conversation(session: AsyncSession, *, key: str) -> Conversation:
    """The state and data stored under KEY (no state and no data if none)."""
    row = await session.get(ConversationState, key)
    return (row.state, dict(row.data)) if row else EMPTY


async def store_conversation(
    session: AsyncSession, *, key: str, conversation: Conversation
) -> None:
    """Store the state and data under KEY; an empty conversation deletes the row."""
    state, data = conversation
    row = await session.get(ConversationState, key, with_for_update=True)
    if state is None and not data:
        if row is not None:
            await session.delete(row)
            await session.flush()
        return
    if row is None:
        row = ConversationState(key=key)
        session.add(row)
    row.state, row.data, row.updated_at = state, data, utcnow()
    await session.flush()


async def delete_conversations(session: AsyncSession, *, keys: list[str]) -> None:
    """Forget the conversations stored under KEYS."""
    if keys:
        await session.execute(delete(ConversationState).where(col(ConversationState.key).in_(keys)))
