"""Announcements in the database: the audience worked out from members, groups, subscriptions
and questionnaire answers; the recipients fixed as outbox rows; the report read back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from knowledge.announcements import Audience, Candidate, Progress, matches, version_for
from knowledge.pack import Call
from knowledge.reminders import Planned
from knowledge.text import Lang
from storage import outbox
from storage.models import (
    Announcement,
    Consent,
    GroupChat,
    Member,
    OutboxMessage,
    Subscription,
    SurveySubmission,
)
from storage.subscriptions import subscribed_since

PURPOSE: Final = "announcement"
# The consent purpose whose withdrawal opts a member out of announcements.
OPT_OUT_PURPOSE: Final = "announcements"
OPT_OUT_VERSION: Final = "announcements-1"

LangOf = Callable[[str | None, str | None], Lang]


def subject(announcement_id: int) -> str:
    """The outbox subject of an announcement's rows."""
    return f"{PURPOSE}:{announcement_id}"


@dataclass(frozen=True)
class Recipient:
    """A chat an announcement goes to, and the version it reads."""

    chat_id: int
    lang: Lang
    version: str


async def opted_out(session: AsyncSession) -> set[int]:
    """Members who asked for no announcements."""
    result = await session.execute(
        select(col(Consent.member_id)).where(
            col(Consent.purpose) == OPT_OUT_PURPOSE, col(Consent.withdrawn_at).is_not(None)
        )
    )
    return set(result.scalars())


async def set_opted_out(
    session: AsyncSession, *, member_id: int, opted_out: bool, now: datetime
) -> None:
    """Record that the member wants announcements (OPTED_OUT false) or not."""
    result = await session.execute(
        select(Consent).where(
            col(Consent.member_id) == member_id, col(Consent.purpose) == OPT_OUT_PURPOSE
        )
    )
    row = result.scalars().first()
    if row is None:
        row = Consent(member_id=member_id, purpose=OPT_OUT_PURPOSE, version=OPT_OUT_VERSION)
        session.add(row)
    row.given_at = now if not opted_out else row.given_at or now
    row.withdrawn_at = now if opted_out else None
    await session.flush()


async def is_opted_out(session: AsyncSession, member_id: int) -> bool:
    """Whether the member asked for no announcements."""
    result = await session.execute(
        select(func.count()).where(
            col(Consent.member_id) == member_id,
            col(Consent.purpose) == OPT_OUT_PURPOSE,
            col(Consent.withdrawn_at).is_not(None),
        )
    )
    return bool(result.scalar_one())


async def audience_of(
    session: AsyncSession,
    audience: Audience,
    *,
    versions: Sequence[str],
    default: Lang,
    lang_of: LangOf,
    call: Call | None,
) -> list[Recipient]:
    """Everyone AUDIENCE means, reachable and not opted out, with the version each reads."""
    excluded = await opted_out(session)
    follows: set[int] = set()
    if audience.call is not None and call is not None:
        subscriptions = (
            await session.execute(select(Subscription).order_by(col(Subscription.chat_id)))
        ).scalars()
        by_chat: dict[int, list[Subscription]] = {}
        for subscription in subscriptions:
            by_chat.setdefault(subscription.chat_id, []).append(subscription)
        follows = {
            chat for chat, subs in by_chat.items() if subscribed_since(subs, call) is not None
        }
    answers: dict[int, dict[str, Any]] = {}
    if audience.answer is not None:
        questionnaire = audience.answer[0]
        submissions = await session.execute(
            select(SurveySubmission).where(
                col(SurveySubmission.questionnaire_id) == questionnaire,
                col(SurveySubmission.superseded_at).is_(None),
            )
        )
        answers = {row.member_id: dict(row.answers) for row in submissions.scalars()}
    candidates: list[Candidate] = []
    if audience.people:
        result = await session.execute(
            select(
                col(Member.id),
                col(Member.language),
                col(Member.telegram_language),
                col(Member.municipality),
            ).where(col(Member.reachable), col(Member.consent_at).is_not(None))
        )
        for row in result.all():
            member_id, language, telegram_language, municipality = row[0], row[1], row[2], row[3]
            if member_id in excluded:
                continue
            candidates.append(
                Candidate(
                    member_id,
                    lang_of(language, telegram_language),
                    municipality,
                    member_id in follows,
                    answers.get(member_id, {}),
                )
            )
    if audience.groups:
        result = await session.execute(
            select(col(GroupChat.id), col(GroupChat.language), col(GroupChat.municipality)).where(
                col(GroupChat.active), col(GroupChat.reachable)
            )
        )
        for row in result.all():
            group_id, language, municipality = row[0], row[1], row[2]
            candidates.append(
                Candidate(group_id, lang_of(language, None), municipality, group_id in follows)
            )
    return [
        Recipient(candidate.chat_id, candidate.lang, version_for(candidate.lang, versions, default))
        for candidate in candidates
        if matches(audience, candidate)
    ]


async def create(
    session: AsyncSession,
    *,
    created_by: int,
    versions: dict[str, Any],
    audience: Audience,
    send_at: datetime,
    recipients: Sequence[Recipient],
) -> Announcement:
    """Store a confirmed announcement and fix its recipients as outbox rows, in SESSION's
    transaction (one row per chat: nobody can get it twice)."""
    announcement = Announcement(
        created_by=created_by,
        versions=versions,
        audience=audience.as_json(),
        send_at=send_at,
        recipients=len(recipients),
    )
    session.add(announcement)
    await session.flush()
    assert announcement.id is not None
    number = announcement.id
    await outbox.enqueue(
        session,
        [
            Planned(
                f"{PURPOSE}:{number}:{recipient.chat_id}",
                PURPOSE,
                recipient.chat_id,
                subject(number),
                send_at,
                {"announcement": number, "lang": recipient.lang, "version": recipient.version},
            )
            for recipient in recipients
        ],
    )
    return announcement


async def get(session: AsyncSession, announcement_id: int) -> Announcement | None:
    """The announcement, read afresh."""
    return await session.get(Announcement, announcement_id, populate_existing=True)


async def progress(session: AsyncSession, announcement_id: int) -> Progress:
    """How the announcement's delivery stands."""
    result = await session.execute(
        select(col(OutboxMessage.status), func.count())
        .where(col(OutboxMessage.subject) == subject(announcement_id))
        .group_by(col(OutboxMessage.status))
    )
    counts = dict(result.all())
    redelivered = await session.execute(
        select(func.count()).where(
            col(OutboxMessage.subject) == subject(announcement_id),
            col(OutboxMessage.redelivered),
        )
    )
    return Progress(
        sent=counts.get(outbox.SENT, 0),
        failed=counts.get(outbox.FAILED, 0),
        blocked=counts.get(outbox.BLOCKED, 0),
        waiting=counts.get(outbox.PENDING, 0) + counts.get(outbox.SENDING, 0),
        cancelled=counts.get(outbox.CANCELLED, 0) + counts.get(outbox.SKIPPED, 0),
        redelivered=redelivered.scalar_one(),
    )


async def cancel(session: AsyncSession, announcement_id: int, now: datetime) -> int:
    """Stop what has not been sent; how many were stopped."""
    stopped = await outbox.cancel(session, subject=subject(announcement_id), purposes=(PURPOSE,))
    await session.execute(
        update(Announcement)
        .where(col(Announcement.id) == announcement_id, col(Announcement.status) == "sending")
        .values(status="cancelled", finished_at=now)
    )
    return stopped


async def finish(
    session: AsyncSession, announcement_id: int, progress: Progress, now: datetime
) -> None:
    """A delivery with nothing left to send: done (unless cancelled), its final counts kept."""
    counts = asdict(progress)
    await session.execute(
        update(Announcement)
        .where(col(Announcement.id) == announcement_id, col(Announcement.status) == "sending")
        .values(status="done", finished_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Announcement)
        .where(col(Announcement.id) == announcement_id)
        .values(counts=counts)
        .execution_options(synchronize_session=False)
    )


async def unfinished(session: AsyncSession) -> list[Announcement]:
    """Announcements still being delivered, or cancelled without their final counts yet."""
    result = await session.execute(
        select(Announcement)
        .where(col(Announcement.counts).is_(None))
        .order_by(col(Announcement.id))
    )
    return list(result.scalars())


async def recent(session: AsyncSession, limit: int = 10) -> list[Announcement]:
    """The latest announcements, newest first."""
    result = await session.execute(
        select(Announcement).order_by(col(Announcement.id).desc()).limit(limit)
    )
    return list(result.scalars())


async def set_report(
    session: AsyncSession, announcement_id: int, *, chat_id: int, message_id: int
) -> None:
    """Where the live report is (edited as delivery goes on)."""
    await session.execute(
        update(Announcement)
        .where(col(Announcement.id) == announcement_id)
        .values(report_chat_id=chat_id, report_message_id=message_id)
    )


async def outcomes(session: AsyncSession, announcement_id: int) -> list[dict[str, Any]]:
    """Per recipient: chat id, language, municipality, status and time (no names)."""
    rows = list(
        (
            await session.execute(
                select(OutboxMessage)
                .where(col(OutboxMessage.subject) == subject(announcement_id))
                .order_by(col(OutboxMessage.id))
            )
        ).scalars()
    )
    people = [row.chat_id for row in rows if row.chat_id > 0]
    groups = [row.chat_id for row in rows if row.chat_id < 0]
    places: dict[int, str | None] = {}
    for table, ids in ((Member, people), (GroupChat, groups)):
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            result = await session.execute(
                select(col(table.id), col(table.municipality)).where(col(table.id).in_(chunk))
            )
            places.update(dict(result.all()))
    return [
        {
            "chat_id": row.chat_id,
            "language": row.payload.get("lang", ""),
            "municipality": places.get(row.chat_id) or "",
            "status": row.status,
            "time": row.sent_at or row.updated_at,
            "redelivered": row.redelivered,
        }
        for row in rows
    ]
