"""A member's data rights in the database: everything stored about them (`collect`), deleting it
(`forget`), anonymising their help requests, and retention.

PERSONAL names every table that holds something of a person, and the columns that say whose it
is; IMPERSONAL the tables that hold nothing of a person. A test checks that every table of the
schema is in one of them, so a new table cannot be forgotten by /mydata or /forget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Table, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from knowledge.reminders import MOVED, OPENED, REMINDER, Planned
from storage import outbox
from storage.models import (
    Announcement,
    Consent,
    ConversationState,
    FailedDelivery,
    FundingCall,
    HandledUpdate,
    HelpRequest,
    Member,
    OutboxMessage,
    RequestMessage,
    Subscription,
    SurveyDraft,
    SurveySubmission,
)

# Table -> the columns holding a member's Telegram id (conversation_state: inside its key).
PERSONAL: Final[Mapping[str, tuple[str, ...]]] = {
    "member": ("id",),
    "consent": ("member_id",),
    "survey_draft": ("member_id",),
    "survey_submission": ("member_id",),
    "subscription": ("chat_id",),
    "outbox": ("chat_id",),
    "failed_delivery": ("chat_id",),
    "conversation_state": ("key",),
    "help_request": ("member_id", "handler_id"),
    "request_message": ("chat_id", "source_chat_id"),
    "call": ("created_by",),
    "announcement": ("created_by", "report_chat_id"),
}
# Tables with nothing of a person: group chats, bookkeeping, schedules, the lease.
IMPERSONAL: Final = frozenset(
    {"group_chat", "handled_update", "lease", "call_schedule", "alembic_version"}
)
# Bookkeeping (handled updates, failed deliveries) is kept this long.
BOOKKEEPING_DAYS: Final = 30
# A member is told this long before an untouched questionnaire draft is deleted.
DRAFT_WARNING_DAYS: Final = 7
WARNING_PURPOSE: Final = "draft-expiry"
# The outbox purposes of deadline reminders.
REMINDER_PURPOSES: Final = (REMINDER, OPENED, MOVED)


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _key_names(key: str, member_id: int) -> bool:
    """Whether a conversation key (fsm:BOT:CHAT:USER:DESTINY) is the member's."""
    return str(member_id) in key.split(":")[2:4]


async def _conversation_keys(session: AsyncSession, member_id: int) -> list[str]:
    result = await session.execute(
        select(col(ConversationState.key)).where(
            col(ConversationState.key).contains(str(member_id))
        )
    )
    return [key for key in result.scalars() if _key_names(key, member_id)]


async def collect(session: AsyncSession, member_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every row stored about the member, by table (tables without any left out)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name, columns in PERSONAL.items():
        table = _table(name)
        condition: ColumnElement[bool]
        if name == "conversation_state":
            keys = await _conversation_keys(session, member_id)
            if not keys:
                continue
            condition = table.c.key.in_(keys)
        else:
            condition = or_(*(table.c[column] == member_id for column in columns))
        rows = (await session.execute(select(table).where(condition))).mappings().all()
        if rows:
            found[name] = [{key: _plain(value) for key, value in row.items()} for row in rows]
    return found


async def anonymise_requests(
    session: AsyncSession, member_id: int, *, closed_before: datetime | None = None
) -> int:
    """Take the member out of their help requests (with CLOSED_BEFORE, only those closed before
    then): the threads stay for the coordinators, with no id, username or copy in the member's
    chat left. How many requests."""
    chosen = select(col(HelpRequest.id)).where(col(HelpRequest.member_id) == member_id)
    if closed_before is not None:
        chosen = chosen.where(
            col(HelpRequest.status) == "closed", col(HelpRequest.closed_at) < closed_before
        )
    ids = list((await session.execute(chosen)).scalars())
    if not ids:
        return 0
    await session.execute(
        update(HelpRequest)
        .where(col(HelpRequest.id).in_(ids))
        .values(member_id=None, show_username=False, attachments=[], leader_unreachable=False)
        .execution_options(synchronize_session=False)
    )
    ours = col(RequestMessage.request_id).in_(ids)
    await session.execute(
        delete(RequestMessage).where(ours, col(RequestMessage.chat_id) == member_id)
    )
    await session.execute(
        update(RequestMessage)
        .where(ours, col(RequestMessage.source_chat_id) == member_id)
        .values(source_chat_id=None, source_message_id=None)
        .execution_options(synchronize_session=False)
    )
    return len(ids)


@dataclass(frozen=True)
class Forgotten:
    """What `forget` did."""

    deleted: dict[str, int]
    anonymised_requests: int


async def forget(session: AsyncSession, member_id: int) -> Forgotten:
    """Delete the member and everything that is only theirs, in SESSION's transaction: profile,
    consents, questionnaire drafts and answers, subscriptions, deliveries (pending ones too),
    failures, conversation state. Help requests are anonymised; calls and announcements a
    coordinator made stay, without their id."""
    anonymised = await anonymise_requests(session, member_id)
    await session.execute(
        update(HelpRequest)
        .where(col(HelpRequest.handler_id) == member_id)
        .values(handler_id=None, handler_name=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(FundingCall)
        .where(col(FundingCall.created_by) == member_id)
        .values(created_by=0)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Announcement)
        .where(col(Announcement.created_by) == member_id)
        .values(created_by=0)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Announcement)
        .where(col(Announcement.report_chat_id) == member_id)
        .values(report_chat_id=None, report_message_id=None)
        .execution_options(synchronize_session=False)
    )
    deleted: dict[str, int] = {}
    keys = await _conversation_keys(session, member_id)
    statements = {
        "conversation_state": delete(ConversationState).where(col(ConversationState.key).in_(keys)),
        "outbox": delete(OutboxMessage).where(col(OutboxMessage.chat_id) == member_id),
        "subscription": delete(Subscription).where(col(Subscription.chat_id) == member_id),
        "failed_delivery": delete(FailedDelivery).where(col(FailedDelivery.chat_id) == member_id),
        "consent": delete(Consent).where(col(Consent.member_id) == member_id),
        "survey_draft": delete(SurveyDraft).where(col(SurveyDraft.member_id) == member_id),
        "survey_submission": delete(SurveySubmission).where(
            col(SurveySubmission.member_id) == member_id
        ),
        "member": delete(Member).where(col(Member.id) == member_id),
    }
    for name, statement in statements.items():
        result = await session.execute(statement.execution_options(synchronize_session=False))
        deleted[name] = max(getattr(result, "rowcount", 0), 0)
    return Forgotten(deleted, anonymised)


@dataclass(frozen=True)
class Retention:
    """How long things are kept."""

    draft_days: int
    request_days: int


@dataclass(frozen=True)
class Swept:
    """What a retention run did."""

    drafts_deleted: int
    drafts_warned: int
    requests_anonymised: int
    bookkeeping_deleted: int


async def sweep(session: AsyncSession, *, now: datetime, rules: Retention) -> Swept:
    """Delete drafts untouched for DRAFT_DAYS (warning the member once, DRAFT_WARNING_DAYS
    before), bookkeeping older than BOOKKEEPING_DAYS; anonymise help requests closed more than
    REQUEST_DAYS ago."""
    expiry = now - timedelta(days=rules.draft_days)
    expired = await session.execute(
        delete(SurveyDraft)
        .where(col(SurveyDraft.updated_at) < expiry)
        .execution_options(synchronize_session=False)
    )
    warn_before = now - timedelta(days=rules.draft_days - DRAFT_WARNING_DAYS)
    due = await session.execute(
        select(SurveyDraft).where(col(SurveyDraft.updated_at) < warn_before)
    )
    warnings = [
        Planned(
            f"{WARNING_PURPOSE}:{draft.member_id}:{draft.questionnaire_id}:"
            f"{draft.updated_at:%Y%m%d%H%M%S}",
            WARNING_PURPOSE,
            draft.member_id,
            f"draft:{draft.member_id}:{draft.questionnaire_id}",
            now,
            {
                "questionnaire": draft.questionnaire_id,
                "touched": draft.updated_at.isoformat(),
                "deleted_on": (draft.updated_at + timedelta(days=rules.draft_days)).isoformat(),
            },
        )
        for draft in due.scalars()
    ]
    warned = await outbox.enqueue(session, warnings)
    closed_before = now - timedelta(days=rules.request_days)
    leaders = await session.execute(
        select(col(HelpRequest.member_id))
        .where(
            col(HelpRequest.status) == "closed",
            col(HelpRequest.closed_at) < closed_before,
            col(HelpRequest.member_id).is_not(None),
        )
        .distinct()
    )
    anonymised = 0
    for member_id in [value for value in leaders.scalars() if value is not None]:
        anonymised += await anonymise_requests(session, member_id, closed_before=closed_before)
    old = now - timedelta(days=BOOKKEEPING_DAYS)
    bookkeeping = 0
    for statement in (
        delete(HandledUpdate).where(col(HandledUpdate.handled_at) < old),
        delete(FailedDelivery).where(col(FailedDelivery.created_at) < old),
    ):
        result = await session.execute(statement.execution_options(synchronize_session=False))
        bookkeeping += max(getattr(result, "rowcount", 0), 0)
    return Swept(
        drafts_deleted=max(getattr(expired, "rowcount", 0), 0),
        drafts_warned=warned,
        requests_anonymised=anonymised,
        bookkeeping_deleted=bookkeeping,
    )


# --- withdrawing one consent ---------------------------------------------------------------------


async def withdraw_questionnaire(
    session: AsyncSession, member_id: int, questionnaire_id: str
) -> int:
    """A questionnaire's consent withdrawn: its draft and every submission deleted."""
    await session.execute(
        delete(SurveyDraft).where(
            col(SurveyDraft.member_id) == member_id,
            col(SurveyDraft.questionnaire_id) == questionnaire_id,
        )
    )
    result = await session.execute(
        delete(SurveySubmission).where(
            col(SurveySubmission.member_id) == member_id,
            col(SurveySubmission.questionnaire_id) == questionnaire_id,
        )
    )
    return max(getattr(result, "rowcount", 0), 0)


async def withdraw_listing(
    session: AsyncSession, member_id: int, questionnaire_id: str, question_id: str
) -> bool:
    """The directory consent withdrawn: the answer becomes "no" in every submission, so the
    organisation leaves /orgs and exports of the directory at once."""
    rows = (
        await session.execute(
            select(SurveySubmission).where(
                col(SurveySubmission.member_id) == member_id,
                col(SurveySubmission.questionnaire_id) == questionnaire_id,
            )
        )
    ).scalars()
    changed = False
    for row in rows:
        if row.answers.get(question_id) is not False:
            row.answers = {**row.answers, question_id: False}
            changed = True
    await session.flush()
    return changed


async def withdraw_reminders(session: AsyncSession, member_id: int) -> int:
    """Reminders stopped: every subscription and every reminder not sent yet deleted."""
    await session.execute(
        delete(OutboxMessage).where(
            col(OutboxMessage.chat_id) == member_id,
            col(OutboxMessage.status) == outbox.PENDING,
            col(OutboxMessage.purpose).in_(REMINDER_PURPOSES),
        )
    )
    result = await session.execute(
        delete(Subscription).where(col(Subscription.chat_id) == member_id)
    )
    return max(getattr(result, "rowcount", 0), 0)
