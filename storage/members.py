"""Reading and writing members and group chats."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import FailedDelivery, GroupChat, HandledUpdate, Member
from storage.types import utcnow


async def get_member(session: AsyncSession, *, member_id: int) -> Member | None:
    """The member with Telegram id MEMBER_ID, if known."""
    return await session.get(Member, member_id)


def is_current(
    member: Member, *, name: str, username: str | None, telegram_language: str | None
) -> bool:
    """Whether MEMBER still matches what Telegram says about them (nothing to write)."""
    return (member.name, member.username, member.telegram_language, member.reachable) == (
        name,
        username,
        telegram_language,
        True,
    )


async def sync_member(
    session: AsyncSession,
    *,
    member_id: int,
    name: str,
    username: str | None,
    telegram_language: str | None,
) -> Member:
    """The member for a Telegram user, created on first contact, written only when changed."""
    member = await session.get(Member, member_id)
    if member is None:
        member = Member(
            id=member_id, name=name, username=username, telegram_language=telegram_language
        )
        session.add(member)
        await session.flush()
        return member
    if not is_current(member, name=name, username=username, telegram_language=telegram_language):
        member.name, member.username = name, username
        member.telegram_language, member.reachable = telegram_language, True
        member.updated_at = utcnow()
    return member


@dataclass(frozen=True)
class Profile:
    """What Telegram says about a person who writes to the bot."""

    member_id: int
    name: str
    username: str | None
    telegram_language: str | None


async def sync_members(
    session: AsyncSession, profiles: Sequence[Profile]
) -> tuple[list[Member], set[int]]:
    """The members for PROFILES (in order), created when new, written only when changed; and
    the ids of those created now.

    A query for the known ones and a statement for the new ones, however many (several people
    writing at once). A member another process has just created is read, not created twice.
    """
    ids = {profile.member_id for profile in profiles}
    found = await session.scalars(select(Member).where(col(Member.id).in_(ids)))
    known = {member.id: member for member in found}
    new = {p.member_id: p for p in profiles if p.member_id not in known}
    created: set[int] = set()
    if new:
        for member in await _create_members(session, new.values()):
            known[member.id] = member
            created.add(member.id)
        if len(known) < len(ids):  # created meanwhile by another process
            missing = ids - set(known)
            found = await session.scalars(select(Member).where(col(Member.id).in_(missing)))
            known |= {member.id: member for member in found}
    for profile in profiles:
        member = known[profile.member_id]
        if not is_current(
            member,
            name=profile.name,
            username=profile.username,
            telegram_language=profile.telegram_language,
        ):
            member.name, member.username = profile.name, profile.username
            member.telegram_language, member.reachable = profile.telegram_language, True
            member.updated_at = utcnow()
    await session.flush()
    return [known[profile.member_id] for profile in profiles], created


async def _create_members(session: AsyncSession, profiles: Iterable[Profile]) -> list[Member]:
    """Insert members for PROFILES in one statement (none for an id that exists already), in
    the order of their ids, so that two processes inserting the same ones cannot deadlock."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [
        {
            "id": profile.member_id,
            "name": profile.name,
            "username": profile.username,
            "telegram_language": profile.telegram_language,
        }
        for profile in sorted(profiles, key=lambda profile: profile.member_id)
    ]
    statement = insert(Member).on_conflict_do_nothing(index_elements=["id"]).returning(Member)
    return list(await session.scalars(statement, rows))


async def set_language(session: AsyncSession, *, member: Member, language: str) -> None:
    """Remember the member's chosen language."""
    member.language = language
    member.updated_at = utcnow()
    session.add(member)


async def save_profile(
    session: AsyncSession, *, member: Member, municipality: str | None, consent_version: str
) -> None:
    """Store the onboarding profile together with the consent it was given under."""
    now = utcnow()
    member.municipality = municipality
    member.consent_at, member.consent_version = now, consent_version
    member.updated_at = now
    session.add(member)


async def withdraw_profile(session: AsyncSession, *, member: Member) -> None:
    """Forget the optional profile of a member who did not consent."""
    member.municipality = None
    member.consent_at = member.consent_version = None
    member.updated_at = utcnow()
    session.add(member)


async def get_group(session: AsyncSession, *, chat_id: int) -> GroupChat | None:
    """The group chat with id CHAT_ID, if known."""
    return await session.get(GroupChat, chat_id)


def group_is_current(group: GroupChat, *, title: str, type: str, active: bool) -> bool:
    """Whether GROUP still matches what Telegram says about it (nothing to write); a group
    that writes is reachable again."""
    return (group.title, group.type, group.active, group.reachable) == (title, type, active, True)


async def sync_group(session: AsyncSession, *, chat_id: int, title: str, type_: str) -> GroupChat:
    """The group chat, created when first seen, written only when its title or type changed."""
    group = await session.get(GroupChat, chat_id)
    if group is None:
        group = GroupChat(id=chat_id, title=title, type=type_)
        session.add(group)
        await session.flush()
    elif not group_is_current(group, title=title, type=type_, active=True):
        group.title, group.type, group.active, group.reachable = title, type_, True, True
        group.updated_at = utcnow()
    return group


async def set_group_active(session: AsyncSession, *, chat_id: int, active: bool) -> None:
    """Record that the bot was added to or removed from a group."""
    await session.execute(
        update(GroupChat)
        .where(col(GroupChat.id) == chat_id)
        .values(active=active, updated_at=utcnow())
    )


async def mark_unreachable(session: AsyncSession, *, chat_id: int) -> None:
    """Record that messages to CHAT_ID cannot be delivered (blocked, deleted, kicked)."""
    table = GroupChat if chat_id < 0 else Member
    await session.execute(
        update(table).where(col(table.id) == chat_id).values(reachable=False, updated_at=utcnow())
    )


async def record_failed_delivery(session: AsyncSession, *, chat_id: int, reason: str) -> None:
    """Keep a message that could not be delivered for the delivery report."""
    session.add(FailedDelivery(chat_id=chat_id, reason=reason[:1024]))


async def record_handled_update(session: AsyncSession, *, update_id: int) -> None:
    """Remember that UPDATE_ID's changes are committed (in the same transaction)."""
    session.add(HandledUpdate(update_id=update_id))


async def recent_handled_updates(
    session: AsyncSession, *, keep: timedelta = timedelta(days=2)
) -> set[int]:
    """Ids of updates handled within KEEP; older records are deleted."""
    cutoff = utcnow() - keep
    await session.execute(delete(HandledUpdate).where(col(HandledUpdate.handled_at) < cutoff))
    result = await session.execute(select(col(HandledUpdate.update_id)))
    return set(result.scalars())


@dataclass(frozen=True)
class Recipient:
    """What a message the bot sends on its own needs to know of its chat."""

    chat_id: int
    language: str | None
    telegram_language: str | None
    municipality: str | None
    reachable: bool


async def recipient(session: AsyncSession, *, chat_id: int) -> Recipient | None:
    """The member (positive id) or group (negative id) CHAT_ID; None if unknown or the bot has
    left the group."""
    if chat_id > 0:
        member = await session.get(Member, chat_id)
        if member is None:
            return None
        return Recipient(
            chat_id,
            member.language,
            member.telegram_language,
            member.municipality,
            member.reachable,
        )
    group = await session.get(GroupChat, chat_id)
    if group is None or not group.active:
        return None
    return Recipient(chat_id, group.language, None, group.municipality, group.reachable)
