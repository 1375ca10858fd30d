"""Help requests and their messages in the database; consents per purpose.

Every change of a request's status is one conditional UPDATE, so two coordinators pressing
Take at the same moment cannot both win: the database lets exactly one through.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from knowledge.help_requests import REOPEN_WITHIN
from storage.models import Consent, HelpRequest, Member, RequestMessage

OPEN = ("new", "taken")
# Request numbers and message ids are 32-bit: anything else in a button is forged.
LARGEST_NUMBER = 2**31 - 1


def is_number(value: int) -> bool:
    """Whether VALUE can be a request's number or a message's id."""
    return 0 < value <= LARGEST_NUMBER


async def create(session: AsyncSession, *, now: datetime, **fields: Any) -> HelpRequest:
    """Store a new request (status new); its id is its number. The member is marked as having
    an open request."""
    request = HelpRequest(created_at=now, last_activity_at=now, **fields)
    session.add(request)
    await session.flush()
    if request.member_id is not None:
        await _mark_open(session, request.member_id, True)
    return request


async def get(session: AsyncSession, request_id: int) -> HelpRequest | None:
    """The request with number REQUEST_ID, read afresh."""
    return await session.get(HelpRequest, request_id, populate_existing=True)


async def take(
    session: AsyncSession, *, request_id: int, coordinator_id: int, name: str, now: datetime
) -> bool:
    """Give a new request to a coordinator; False if it was not new any more (taken by someone
    else a moment before, or closed)."""
    result = await session.execute(
        update(HelpRequest)
        .where(col(HelpRequest.id) == request_id, col(HelpRequest.status) == "new")
        .values(
            status="taken",
            handler_id=coordinator_id,
            handler_name=name,
            taken_at=now,
            last_activity_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


async def release(session: AsyncSession, *, request_id: int, now: datetime) -> bool:
    """A taken request back to new (nobody handles it); False if it was not taken."""
    result = await session.execute(
        update(HelpRequest)
        .where(col(HelpRequest.id) == request_id, col(HelpRequest.status) == "taken")
        .values(status="new", handler_id=None, handler_name=None, last_activity_at=now)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


async def close(session: AsyncSession, *, request_id: int, outcome: str, now: datetime) -> bool:
    """Close an open request with a one-line outcome; False if it was closed already."""
    result = await session.execute(
        update(HelpRequest)
        .where(col(HelpRequest.id) == request_id, col(HelpRequest.status).in_(OPEN))
        .values(
            status="closed",
            outcome=outcome,
            closed_at=now,
            last_activity_at=now,
            leader_waiting_since=None,
        )
        .execution_options(synchronize_session=False)
    )
    closed = getattr(result, "rowcount", 0) == 1
    request = await get(session, request_id)
    if closed and request is not None and request.member_id is not None:
        still_open = await open_of_member(session, request.member_id)
        await _mark_open(session, request.member_id, bool(still_open))
    return closed


def may_reopen(request: HelpRequest, now: datetime) -> bool:
    """Whether the leader may still reopen REQUEST (closed within REOPEN_WITHIN)."""
    return (
        request.status == "closed"
        and request.closed_at is not None
        and now - request.closed_at <= REOPEN_WITHIN
    )


async def reopen(session: AsyncSession, *, request_id: int, now: datetime) -> bool:
    """A request closed within REOPEN_WITHIN open again (with its coordinator, if it had one)."""
    request = await get(session, request_id)
    if request is None or not may_reopen(request, now):
        return False
    status = "taken" if request.handler_id is not None else "new"
    result = await session.execute(
        update(HelpRequest)
        .where(col(HelpRequest.id) == request_id, col(HelpRequest.status) == "closed")
        .values(status=status, closed_at=None, outcome=None, last_activity_at=now)
        .execution_options(synchronize_session=False)
    )
    reopened = getattr(result, "rowcount", 0) == 1
    if reopened and request.member_id is not None:
        await _mark_open(session, request.member_id, True)
    return reopened


async def of_member(session: AsyncSession, member_id: int) -> list[HelpRequest]:
    """A leader's requests, the latest first."""
    result = await session.execute(
        select(HelpRequest)
        .where(col(HelpRequest.member_id) == member_id)
        .order_by(col(HelpRequest.id).desc())
    )
    return list(result.scalars())


async def open_of_member(session: AsyncSession, member_id: int) -> list[HelpRequest]:
    """A leader's requests that are not closed, oldest first."""
    result = await session.execute(
        select(HelpRequest)
        .where(col(HelpRequest.member_id) == member_id, col(HelpRequest.status).in_(OPEN))
        .order_by(col(HelpRequest.id))
    )
    return list(result.scalars())


async def open_requests(session: AsyncSession) -> list[HelpRequest]:
    """Every request that is not closed."""
    result = await session.execute(
        select(HelpRequest).where(col(HelpRequest.status).in_(OPEN)).order_by(col(HelpRequest.id))
    )
    return list(result.scalars())


async def by_topic(session: AsyncSession, topic_id: int) -> HelpRequest | None:
    """The request whose forum topic is TOPIC_ID."""
    result = await session.execute(
        select(HelpRequest).where(col(HelpRequest.topic_id) == topic_id).limit(1)
    )
    return result.scalars().first()


async def set_place(
    session: AsyncSession,
    *,
    request_id: int,
    topic_id: int | None = None,
    card_message_id: int | None = None,
) -> None:
    """Where the request lives in the coordinators' chat: its forum topic, its card."""
    values: dict[str, Any] = {}
    if topic_id is not None:
        values["topic_id"] = topic_id
    if card_message_id is not None:
        values["card_message_id"] = card_message_id
    if values:
        await session.execute(
            update(HelpRequest).where(col(HelpRequest.id) == request_id).values(**values)
        )


async def touch(
    session: AsyncSession,
    *,
    request_id: int,
    now: datetime,
    leader_waiting_since: datetime | bool | None = False,
) -> None:
    """Note activity on a request; LEADER_WAITING_SINCE (a moment or None) when the leader
    began waiting for an answer, or got one (False: unchanged)."""
    values: dict[str, Any] = {"last_activity_at": now}
    if leader_waiting_since is not False:
        values["leader_waiting_since"] = leader_waiting_since
    await session.execute(
        update(HelpRequest).where(col(HelpRequest.id) == request_id).values(**values)
    )


async def mark_leader_unreachable(session: AsyncSession, *, request_id: int) -> bool:
    """Note that the leader blocked the bot; False if it was noted already."""
    result = await session.execute(
        update(HelpRequest)
        .where(col(HelpRequest.id) == request_id, col(HelpRequest.leader_unreachable).is_(False))
        .values(leader_unreachable=True)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


async def clear_leader_unreachable(session: AsyncSession, *, member_id: int) -> None:
    """The leader writes again: their requests reach them again."""
    await session.execute(
        update(HelpRequest)
        .where(col(HelpRequest.member_id) == member_id, col(HelpRequest.leader_unreachable))
        .values(leader_unreachable=False)
    )


async def remember_message(
    session: AsyncSession,
    *,
    request_id: int,
    chat_id: int,
    message_id: int,
    source: tuple[int, int] | None = None,
) -> None:
    """MESSAGE_ID in CHAT_ID belongs to the request (a copy of SOURCE, if given)."""
    existing = await message(session, chat_id=chat_id, message_id=message_id)
    if existing is not None:
        return
    session.add(
        RequestMessage(
            request_id=request_id,
            chat_id=chat_id,
            message_id=message_id,
            source_chat_id=source[0] if source else None,
            source_message_id=source[1] if source else None,
        )
    )
    await session.flush()


async def message(session: AsyncSession, *, chat_id: int, message_id: int) -> RequestMessage | None:
    """The request message MESSAGE_ID in CHAT_ID, if it belongs to one."""
    result = await session.execute(
        select(RequestMessage).where(
            col(RequestMessage.chat_id) == chat_id, col(RequestMessage.message_id) == message_id
        )
    )
    return result.scalars().first()


async def copies_of(
    session: AsyncSession, *, chat_id: int, message_id: int
) -> Sequence[RequestMessage]:
    """The copies made of the message MESSAGE_ID in CHAT_ID."""
    result = await session.execute(
        select(RequestMessage).where(
            col(RequestMessage.source_chat_id) == chat_id,
            col(RequestMessage.source_message_id) == message_id,
        )
    )
    return result.scalars().all()


async def _mark_open(session: AsyncSession, member_id: int, value: bool) -> None:
    await session.execute(update(Member).where(col(Member.id) == member_id).values(help_open=value))


# --- consents ------------------------------------------------------------------------------------


async def consent(session: AsyncSession, *, member_id: int, purpose: str) -> Consent | None:
    """The member's consent to PURPOSE, if given and not withdrawn."""
    result = await session.execute(
        select(Consent).where(
            col(Consent.member_id) == member_id,
            col(Consent.purpose) == purpose,
            col(Consent.withdrawn_at).is_(None),
        )
    )
    return result.scalars().first()


async def give_consent(
    session: AsyncSession, *, member_id: int, purpose: str, version: str, now: datetime
) -> None:
    """Record the member's consent to PURPOSE (text VERSION), replacing a withdrawn one."""
    result = await session.execute(
        select(Consent).where(col(Consent.member_id) == member_id, col(Consent.purpose) == purpose)
    )
    existing = result.scalars().first()
    if existing is None:
        session.add(Consent(member_id=member_id, purpose=purpose, version=version, given_at=now))
    else:
        existing.version, existing.given_at, existing.withdrawn_at = version, now, None
    await session.flush()


async def withdraw_consent(
    session: AsyncSession, *, member_id: int, purpose: str, now: datetime
) -> None:
    """The member's consent to PURPOSE withdrawn (its history kept)."""
    await session.execute(
        update(Consent)
        .where(
            col(Consent.member_id) == member_id,
            col(Consent.purpose) == purpose,
            col(Consent.withdrawn_at).is_(None),
        )
        .values(withdrawn_at=now)
        .execution_options(synchronize_session=False)
    )
