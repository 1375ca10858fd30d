"""Where each conversation stands (a state name and its data), so it survives restarts.

The aiogram adapter that routes the dispatcher's state through these functions is
`bot.fsm.DatabaseStorage`; here is only the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import ConversationState
from storage.types import utcnow

Conversation = tuple[str | None, dict[str, Any]]
EMPTY: Conversation = (None, {})
_ROWS = "conversation_rows"  # in Session.info: the rows a session read, by key
_ROWS_READ_APART = "conversation_rows_apart"  # in Session.info: rows read for it by another


async def load_conversation(session: AsyncSession, *, key: str) -> Conversation:
    """The state and data stored under KEY (no state and no data if none)."""
    row = await session.get(ConversationState, key)
    return _loaded(session, key, row)


def _loaded(session: AsyncSession, key: str, row: ConversationState | None) -> Conversation:
    """ROW as a conversation; the row is kept for a write later in the same session."""
    if row is None:
        return EMPTY
    session.info.setdefault(_ROWS, {})[key] = row
    return (row.state, dict(row.data))


async def load_conversations(
    session: AsyncSession, *, keys: Sequence[str]
) -> dict[str, ConversationState]:
    """The rows stored under KEYS, by key, in one query; a key with none is left out."""
    if not keys:
        return {}
    rows = await session.scalars(
        select(ConversationState).where(col(ConversationState.key).in_(set(keys)))
    )
    return {row.key: row for row in rows}


def read_apart(session: AsyncSession, key: str, row: ConversationState | None) -> Conversation:
    """ROW (read under KEY by another session) as a conversation of SESSION: a write later
    in SESSION changes that row instead of reading it again."""
    if row is None:
        return EMPTY
    session.info.setdefault(_ROWS_READ_APART, {})[key] = row
    return (row.state, dict(row.data))


async def store_conversation(
    session: AsyncSession, *, key: str, conversation: Conversation
) -> None:
    """Store the state and data under KEY; an empty conversation deletes the row.

    Written with the session's other changes (at its commit, or at its next query): a handler
    that answers the member in between holds no write lock meanwhile.
    """
    state, data = conversation
    row = _in_session(session, key) or await _row_for_update(session, key)
    if state is None and not data:
        if row is not None:
            await session.delete(row)
        return
    if row is None:
        row = ConversationState(key=key)
        session.add(row)
    row.state, row.data, row.updated_at = state, data, utcnow()


async def _row_for_update(session: AsyncSession, key: str) -> ConversationState | None:
    """KEY's row brought into SESSION: the one another session read for it, else read now."""
    apart: ConversationState | None = session.info.get(_ROWS_READ_APART, {}).pop(key, None)
    row: ConversationState | None
    if apart is not None:
        row = await session.merge(apart, load=False)
    else:
        row = await session.get(ConversationState, key, with_for_update=True)
    if row is not None:
        session.info.setdefault(_ROWS, {})[key] = row
    return row


def _in_session(session: AsyncSession, key: str) -> ConversationState | None:
    """The row of KEY if SESSION has it already (read, or added and not written yet)."""
    known = session.info.get(_ROWS, {}).get(key)
    if isinstance(known, ConversationState) and known in session:
        return known
    return next(
        (row for row in session.new if isinstance(row, ConversationState) and row.key == key),
        None,
    )


async def delete_conversations(session: AsyncSession, *, keys: list[str]) -> None:
    """Forget the conversations stored under KEYS."""
    if keys:
        await session.execute(delete(ConversationState).where(col(ConversationState.key).in_(keys)))
