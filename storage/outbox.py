"""The outbox: every message the bot sends on its own initiative, stored before it is sent.

A row is written in the same transaction as its cause (a subscription, a changed deadline, a
help request, an announcement), under a unique key, so storing it twice is impossible. One
drainer (`bot.outbox.Drainer`, in the process holding the lease) claims due rows, sends them
and records how each ended. Claiming is a conditional update (pending -> sending), so even two
drainers could never take the same row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from knowledge.reminders import Planned
from storage.models import Lease, OutboxMessage
from storage.types import utcnow

PENDING: Final = "pending"
SENDING: Final = "sending"
SENT: Final = "sent"
BLOCKED: Final = "blocked"
FAILED: Final = "failed"
SKIPPED: Final = "skipped"
CANCELLED: Final = "cancelled"
# Rows written per round trip.
INSERT_BATCH: Final = 1000


@dataclass(frozen=True)
class Counts:
    """How many rows of a kind are in each status."""

    by_status: dict[str, int]

    def __getitem__(self, status: str) -> int:
        return self.by_status.get(status, 0)


async def enqueue(session: AsyncSession, planned: Iterable[Planned]) -> int:
    """Store PLANNED messages; a key already stored is kept as it is, except that a cancelled
    one is planned again (a deadline moved back, a subscription renewed). The number of rows
    written (new or revived)."""
    rows = [
        {
            "key": item.key,
            "purpose": item.purpose,
            "chat_id": item.chat_id,
            "subject": item.subject,
            "payload": item.payload,
            "due_at": item.due_at,
            "status": PENDING,
            "attempts": 0,
            "redelivered": False,
            "created_at": utcnow(),
            "updated_at": utcnow(),
        }
        for item in planned
    ]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # The table itself (not the ORM class): a plain executemany, without the ORM's bulk layer.
    statement = insert(OutboxMessage.__table__)  # type: ignore[attr-defined]
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "status": PENDING,
            "due_at": excluded.due_at,
            "payload": excluded.payload,
            "attempts": 0,
            "error": None,
            "updated_at": excluded.updated_at,
        },
        where=statement.table.c.status == CANCELLED,
    )
    written = 0
    for start in range(0, len(rows), INSERT_BATCH):
        # One statement, compiled once, run for many rows (executemany).
        result = await session.execute(statement, rows[start : start + INSERT_BATCH])
        count = getattr(result, "rowcount", -1)
        written += count if count >= 0 else len(rows[start : start + INSERT_BATCH])
    return written


async def cancel(
    session: AsyncSession,
    *,
    subject: str,
    purposes: Sequence[str],
    chat_id: int | None = None,
    keep_keys: Iterable[str] = (),
) -> int:
    """Cancel the unsent messages of PURPOSES about SUBJECT (to CHAT_ID only, if given), except
    those with a key in KEEP_KEYS; the number cancelled."""
    conditions = [
        col(OutboxMessage.status) == PENDING,
        col(OutboxMessage.subject) == subject,
        col(OutboxMessage.purpose).in_(purposes),
    ]
    if chat_id is not None:
        conditions.append(col(OutboxMessage.chat_id) == chat_id)
    keep = list(keep_keys)
    if keep:
        conditions.append(col(OutboxMessage.key).not_in(keep))
    result = await session.execute(
        update(OutboxMessage)
        .where(*conditions)
        .values(status=CANCELLED, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return max(getattr(result, "rowcount", 0), 0)


async def pending_of_chat(
    session: AsyncSession, *, chat_id: int, purposes: Sequence[str]
) -> list[OutboxMessage]:
    """CHAT_ID's unsent messages of PURPOSES."""
    result = await session.execute(
        select(OutboxMessage).where(
            col(OutboxMessage.chat_id) == chat_id,
            col(OutboxMessage.status) == PENDING,
            col(OutboxMessage.purpose).in_(purposes),
        )
    )
    return list(result.scalars())


async def cancel_rows(session: AsyncSession, ids: Sequence[int]) -> None:
    """Cancel the rows with IDS that are still unsent."""
    if ids:
        await session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(ids), col(OutboxMessage.status) == PENDING)
            .values(status=CANCELLED, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )


async def claim_due(session: AsyncSession, *, now: datetime, limit: int) -> list[OutboxMessage]:
    """Up to LIMIT rows due by NOW, earliest first, marked as being sent (commit to claim)."""
    due = (
        select(col(OutboxMessage.id))
        .where(col(OutboxMessage.status) == PENDING, col(OutboxMessage.due_at) <= now)
        .order_by(col(OutboxMessage.due_at), col(OutboxMessage.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list((await session.execute(due)).scalars())
    if not ids:
        return []
    result = await session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids), col(OutboxMessage.status) == PENDING)
        .values(
            status=SENDING,
            attempts=col(OutboxMessage.attempts) + 1,
            updated_at=utcnow(),
        )
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    )
    rows = list(result.scalars())
    rows.sort(key=lambda row: (row.due_at, row.id or 0))
    return rows


async def finish(
    session: AsyncSession,
    *,
    row_id: int,
    status: str,
    error: str | None = None,
    sent_at: datetime | None = None,
) -> None:
    """Record how a claimed row ended."""
    await session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == row_id)
        .values(
            status=status,
            error=error[:1024] if error else None,
            sent_at=sent_at,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )


async def retry_later(
    session: AsyncSession, *, row_id: int, due_at: datetime, error: str | None
) -> None:
    """Put a claimed row back, to be tried again at DUE_AT."""
    await session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == row_id)
        .values(
            status=PENDING,
            due_at=due_at,
            error=error[:1024] if error else None,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )


async def release_claimed(session: AsyncSession) -> int:
    """Rows left "sending" by a drainer that died: pending again (each may have reached its
    chat just before the end: the one way a message can arrive twice). How many."""
    result = await session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.status) == SENDING)
        .values(status=PENDING, redelivered=True, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return max(getattr(result, "rowcount", 0), 0)


async def later_one_due(session: AsyncSession, *, row: OutboxMessage, now: datetime) -> bool:
    """Whether a later message of ROW's purpose, chat and subject is due by NOW too (or was
    sent): then ROW, overtaken while the bot was down, is not worth sending."""
    found = await session.execute(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            col(OutboxMessage.chat_id) == row.chat_id,
            col(OutboxMessage.subject) == row.subject,
            col(OutboxMessage.purpose) == row.purpose,
            col(OutboxMessage.id) != row.id,
            col(OutboxMessage.status).in_((PENDING, SENDING, SENT)),
            col(OutboxMessage.due_at) > row.due_at,
            col(OutboxMessage.due_at) <= now,
        )
    )
    return bool(found.scalar_one())


async def next_due(session: AsyncSession) -> datetime | None:
    """When the earliest unsent row is due; None when there is none."""
    result = await session.execute(
        select(func.min(OutboxMessage.due_at)).where(col(OutboxMessage.status) == PENDING)
    )
    value: datetime | None = result.scalar_one()
    return value


async def counts(session: AsyncSession, *, purposes: Sequence[str] = ()) -> Counts:
    """How many rows (of PURPOSES, if given) are in each status."""
    statement = select(col(OutboxMessage.status), func.count()).group_by(col(OutboxMessage.status))
    if purposes:
        statement = statement.where(col(OutboxMessage.purpose).in_(purposes))
    result = await session.execute(statement)
    return Counts({status: count for status, count in result.all()})


async def of_chat(session: AsyncSession, *, chat_id: int) -> list[OutboxMessage]:
    """Every row addressed to CHAT_ID, earliest first."""
    result = await session.execute(
        select(OutboxMessage)
        .where(col(OutboxMessage.chat_id) == chat_id)
        .order_by(col(OutboxMessage.due_at), col(OutboxMessage.id))
    )
    return list(result.scalars())


async def delete_finished(session: AsyncSession, *, before: datetime) -> int:
    """Delete rows that ended (sent, blocked, failed, skipped, cancelled) before BEFORE."""
    result = await session.execute(
        delete(OutboxMessage).where(
            col(OutboxMessage.status).not_in((PENDING, SENDING)),
            col(OutboxMessage.updated_at) < before,
        )
    )
    return max(getattr(result, "rowcount", 0), 0)


# --- the lease ---------------------------------------------------------------------------------


async def take_lease(
    session: AsyncSession, *, name: str, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Take or renew the lease NAME for HOLDER until NOW + TTL; False while another holds it.

    One conditional update (or insert), so two processes asking at once cannot both win.
    """
    expires = now + ttl
    result = await session.execute(
        update(Lease)
        .where(
            col(Lease.name) == name,
            or_(col(Lease.holder) == holder, col(Lease.expires_at) < now),
        )
        .values(holder=holder, expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) == 1:
        return True
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted = await session.execute(
        insert(Lease)
        .values(name=name, holder=holder, expires_at=expires)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return getattr(inserted, "rowcount", 0) == 1


async def drop_lease(session: AsyncSession, *, name: str, holder: str) -> None:
    """Give up the lease NAME if HOLDER has it (a clean stop: another may take it at once)."""
    await session.execute(
        delete(Lease).where(and_(col(Lease.name) == name, col(Lease.holder) == holder))
    )


async def lease_holder(session: AsyncSession, *, name: str, now: datetime) -> str | None:
    """Who holds the lease NAME at NOW, if anyone."""
    lease = await session.get(Lease, name, populate_existing=True)
    return lease.holder if lease is not None and lease.expires_at >= now else None


def payload_value(row: OutboxMessage, name: str) -> Any:
    """One value of ROW's payload (None if missing)."""
    return (row.payload or {}).get(name)
