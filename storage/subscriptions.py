"""Reminder subscriptions of members and groups: one call, a municipality's calls, all calls.

A subscription's target is a short text (see `storage.models.Subscription`). Whether a chat
wants reminders about a call is worked out from all of its subscriptions: a `mute:<id>` beats
a broader subscription, and the earliest subscription covering the call says since when the
chat wants them (a reminder due before that is not owed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from knowledge.pack import Call
from storage.models import Subscription
from storage.types import utcnow

ALL: Final = "all"


def call_target(call_id: str) -> str:
    """The target of a subscription to one call."""
    return f"call:{call_id}"


def municipality_target(municipality_id: str) -> str:
    """The target of a subscription to every call open to one municipality."""
    return f"municipality:{municipality_id}"


def mute_target(call_id: str) -> str:
    """The target that stops one call's reminders a broader subscription would bring."""
    return f"mute:{call_id}"


def covers(target: str, call: Call) -> bool:
    """Whether a subscription to TARGET brings reminders about CALL (mutes aside)."""
    kind, _, value = target.partition(":")
    if target == ALL:
        return True
    if kind == "call":
        return value == call.id
    if kind == "municipality":
        return not call.municipalities or value in call.municipalities
    return False


def subscribed_since(subscriptions: Iterable[Subscription], call: Call) -> datetime | None:
    """Since when a chat with SUBSCRIPTIONS wants reminders about CALL; None if it does not."""
    since: datetime | None = None
    for subscription in subscriptions:
        if subscription.target == mute_target(call.id):
            return None
        if covers(subscription.target, call) and (since is None or subscription.created_at < since):
            since = subscription.created_at
    return since


async def of_chat(session: AsyncSession, *, chat_id: int) -> list[Subscription]:
    """Every subscription of CHAT_ID, oldest first."""
    result = await session.execute(
        select(Subscription)
        .where(col(Subscription.chat_id) == chat_id)
        .order_by(col(Subscription.created_at), col(Subscription.id))
    )
    return list(result.scalars())


async def every(session: AsyncSession) -> Sequence[Subscription]:
    """Every subscription of every chat."""
    return (await session.execute(select(Subscription))).scalars().all()


async def subscribe(
    session: AsyncSession, *, chat_id: int, target: str, now: datetime | None = None
) -> bool:
    """Add CHAT_ID's subscription to TARGET (a call's also lifts its mute); False if it had it."""
    existing = await of_chat(session, chat_id=chat_id)
    targets = {subscription.target for subscription in existing}
    kind, _, value = target.partition(":")
    if kind == "call" and mute_target(value) in targets:
        await _remove(session, chat_id, mute_target(value))
    if target in targets:
        return False
    session.add(Subscription(chat_id=chat_id, target=target, created_at=now or utcnow()))
    await session.flush()
    return True


async def unsubscribe(session: AsyncSession, *, chat_id: int, target: str) -> bool:
    """Remove CHAT_ID's subscription to TARGET; False if it had none."""
    return await _remove(session, chat_id, target)


async def stop_call(
    session: AsyncSession, *, chat_id: int, call: Call, now: datetime | None = None
) -> None:
    """No more reminders about CALL for CHAT_ID, whichever subscription brought them."""
    await _remove(session, chat_id, call_target(call.id))
    rest = await of_chat(session, chat_id=chat_id)
    if subscribed_since(rest, call) is not None:
        session.add(
            Subscription(chat_id=chat_id, target=mute_target(call.id), created_at=now or utcnow())
        )
        await session.flush()


async def forget_chat(session: AsyncSession, *, chat_id: int) -> None:
    """Every subscription of CHAT_ID, removed."""
    await session.execute(delete(Subscription).where(col(Subscription.chat_id) == chat_id))


async def _remove(session: AsyncSession, chat_id: int, target: str) -> bool:
    result = await session.execute(
        delete(Subscription).where(
            col(Subscription.chat_id) == chat_id, col(Subscription.target) == target
        )
    )
    return bool(getattr(result, "rowcount", 0))


def wanted_by(subscriptions: Sequence[Subscription], calls: Iterable[Call]) -> dict[str, datetime]:
    """For each of CALLS that SUBSCRIPTIONS (one chat's) cover: since when, by call id."""
    found: dict[str, datetime] = {}
    for call in calls:
        since = subscribed_since(subscriptions, call)
        if since is not None:
            found[call.id] = since
    return found
