"""The tables: members, group chats, conversation states, failed deliveries, calls, and what
the bot sends on its own initiative (subscriptions, the outbox and the lease of its drainer)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class Member(SQLModel, table=True):
    """A person who has written to the bot in a private chat."""

    id: int = Field(sa_type=BigInteger, primary_key=True, description="Telegram user id")
    name: str = Field(max_length=256)
    username: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=8, description="chosen language")
    telegram_language: str | None = Field(default=None, max_length=16)
    municipality: str | None = Field(default=None, max_length=64)
    role: str = Field(default="member", max_length=16)
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consent_version: str | None = Field(default=None, max_length=32)
    reachable: bool = True
    help_open: bool = Field(default=False, description="has a help request not closed")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class GroupChat(SQLModel, table=True):
    """A Telegram group or supergroup the bot is a member of."""

    __tablename__ = "group_chat"

    id: int = Field(sa_type=BigInteger, primary_key=True, description="Telegram chat id")
    title: str = Field(default="", max_length=256)
    type: str = Field(default="group", max_length=16)
    language: str | None = Field(default=None, max_length=8)
    municipality: str | None = Field(default=None, max_length=64)
    active: bool = True
    reachable: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConversationState(SQLModel, table=True):
    """Where a conversation stands (aiogram FSM state and data), so it survives restarts."""

    __tablename__ = "conversation_state"

    key: str = Field(primary_key=True, max_length=255)
    state: str | None = Field(default=None, max_length=255)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class HandledUpdate(SQLModel, table=True):
    """An update whose changes were committed, so a redelivery after a crash is skipped."""

    __tablename__ = "handled_update"

    update_id: int = Field(sa_type=BigInteger, primary_key=True)
    handled_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class FailedDelivery(SQLModel, table=True):
    """A message the bot meant to send on its own and could not, kept for the report."""

    __tablename__ = "failed_delivery"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_type=BigInteger, index=True)
    reason: str = Field(max_length=1024)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SurveyDraft(SQLModel, table=True):
    """A member's unfinished questionnaire: the engine's Draft as JSON, one per questionnaire.

    The consent to the questionnaire's text is recorded here when it is given (before the first
    question) and carried over to the submission.
    """

    __tablename__ = "survey_draft"

    member_id: int = Field(
        sa_type=BigInteger, foreign_key="member.id", ondelete="CASCADE", primary_key=True
    )
    questionnaire_id: str = Field(primary_key=True, max_length=32)
    version: int
    draft: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consent_version: str | None = Field(default=None, max_length=48)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SurveySubmission(SQLModel, table=True):
    """A submitted questionnaire. A newer submission supersedes the older one (history kept)."""

    __tablename__ = "survey_submission"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(
        sa_type=BigInteger, foreign_key="member.id", ondelete="CASCADE", index=True
    )
    questionnaire_id: str = Field(max_length=32, index=True)
    version: int
    language: str = Field(max_length=8)
    municipality: str | None = Field(default=None, max_length=64, index=True)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    consent_at: datetime = Field(sa_type=UTCDateTime)
    consent_version: str = Field(max_length=48)
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    superseded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class FundingCall(SQLModel, table=True):
    """A funding call a coordinator added with /newcall (the pack's own calls live in YAML).

    The coordinator types the texts in one language (`language`); the same text is shown to
    members of every language.
    """

    __tablename__ = "call"

    id: str = Field(primary_key=True, max_length=64)
    title: str = Field(max_length=512)
    programme: str = Field(max_length=512)
    funder: str = Field(max_length=512)
    who_may_apply: str = Field(max_length=2048)
    opens: datetime = Field(sa_type=UTCDateTime)
    closes: datetime = Field(sa_type=UTCDateTime)
    timezone: str = Field(max_length=64, description="IANA zone the call's times were given in")
    municipalities: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False),
        description="municipality ids; empty means everywhere",
    )
    contact: str = Field(max_length=512)
    link: str = Field(default="", max_length=1024)
    language: str = Field(max_length=8, description="the language the texts were typed in")
    created_by: int = Field(sa_type=BigInteger, description="Telegram id of the coordinator")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Subscription(SQLModel, table=True):
    """A chat (member or group) that wants reminders about calls.

    TARGET says which: `call:<id>` one call, `municipality:<id>` every call open to that
    municipality (calls added later too), `all` every call; `mute:<id>` stops one call that a
    broader subscription covers.
    """

    __table_args__ = (UniqueConstraint("chat_id", "target"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_type=BigInteger, index=True)
    target: str = Field(max_length=96, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutboxMessage(SQLModel, table=True):
    """A message the bot sends on its own initiative, stored before it is sent.

    KEY names it once and for all (a second row with the same key cannot exist, so nothing is
    planned twice). The drainer sends due rows: pending -> sending -> sent, or blocked (the
    chat is unreachable), failed (after retries), skipped (no longer worth sending: the call
    closed, a later reminder is due) or cancelled (its cause went away before it was due).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due_at", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255, unique=True)
    purpose: str = Field(max_length=32)
    chat_id: int = Field(sa_type=BigInteger, index=True)
    subject: str = Field(max_length=128, index=True, description="what it is about: a call id")
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    redelivered: bool = Field(
        default=False, description="was being sent when a sender died: may have arrived twice"
    )
    error: str | None = Field(default=None, max_length=1024)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Lease(SQLModel, table=True):
    """Who holds a job that exactly one bot process may run (the outbox drainer), and until
    when: another process takes it over once the holder stops renewing it."""

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=128)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class CallSchedule(SQLModel, table=True):
    """The dates of a call as its messages were last planned, so a change is noticed (also one
    made while the bot was down) and unsent reminders are planned again."""

    __tablename__ = "call_schedule"

    call_id: str = Field(primary_key=True, max_length=64)
    opens: datetime = Field(sa_type=UTCDateTime)
    closes: datetime = Field(sa_type=UTCDateTime)
    known_since: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    planned_until: datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="messages due by then are stored"
    )


class Consent(SQLModel, table=True):
    """A member's consent to one purpose (e.g. `help-request`), with the text version agreed to;
    withdrawn ones keep their history."""

    __table_args__ = (UniqueConstraint("member_id", "purpose"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(
        sa_type=BigInteger, foreign_key="member.id", ondelete="CASCADE", index=True
    )
    purpose: str = Field(max_length=32)
    version: str = Field(max_length=48)
    given_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class HelpRequest(SQLModel, table=True):
    """A leader's request for expert help; its id is the number the leader and coordinators see.

    The leader's account is never shown to coordinators, except the @username when the leader
    allowed it (SHOW_USERNAME). HANDLER_NAME is the coordinator's first name, all the leader
    ever learns of them.
    """

    __tablename__ = "help_request"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int | None = Field(
        default=None,
        sa_type=BigInteger,
        foreign_key="member.id",
        ondelete="SET NULL",
        index=True,
        description="None once the leader asked to be forgotten (the thread stays, anonymised)",
    )
    kind: str = Field(max_length=16)
    urgency: str = Field(max_length=8)
    municipality: str | None = Field(default=None, max_length=64)
    organisation: str | None = Field(default=None, max_length=256)
    description: str = Field(max_length=4096)
    attachments: list[int] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False),
        description="ids of the leader's messages with photos or documents",
    )
    language: str = Field(max_length=8)
    show_username: bool = False
    status: str = Field(default="new", max_length=8, index=True)
    handler_id: int | None = Field(default=None, sa_type=BigInteger)
    handler_name: str | None = Field(default=None, max_length=128)
    outcome: str | None = Field(default=None, max_length=512)
    last_answer: str | None = Field(
        default=None, max_length=4096, description="the coordinator's latest text to the leader"
    )
    topic_id: int | None = Field(default=None, description="its forum topic, if the chat is one")
    card_message_id: int | None = None
    leader_unreachable: bool = False
    leader_waiting_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    taken_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_activity_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RequestMessage(SQLModel, table=True):
    """A message that belongs to a help request: its card, a copy of a leader's or a
    coordinator's message (SOURCE names the original), a notice. A reply to any of them is
    about that request, and an edited original is edited in its copy."""

    __tablename__ = "request_message"
    __table_args__ = (
        UniqueConstraint("chat_id", "message_id"),
        Index("ix_request_message_source", "source_chat_id", "source_message_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="help_request.id", ondelete="CASCADE", index=True)
    chat_id: int = Field(sa_type=BigInteger)
    message_id: int
    source_chat_id: int | None = Field(default=None, sa_type=BigInteger)
    source_message_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Announcement(SQLModel, table=True):
    """A coordinator's announcement: its versions per language, its audience, its report.

    Its recipients are outbox rows (purpose `announcement`, subject `announcement:<id>`), fixed
    when it is confirmed; their statuses are the per-recipient report.
    """

    id: int | None = Field(default=None, primary_key=True)
    created_by: int = Field(sa_type=BigInteger)
    versions: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False),
        description="lang -> {kind: text|photo|document, html, file_id}, in the order added",
    )
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="sending", max_length=16, description="sending, done, cancelled")
    send_at: datetime = Field(sa_type=UTCDateTime)
    recipients: int = 0
    report_chat_id: int | None = Field(default=None, sa_type=BigInteger)
    report_message_id: int | None = None
    counts: dict[str, int] | None = Field(
        default=None,
        sa_column=Column(JSON(none_as_null=True), nullable=True),
        description="the final counts (sent, failed, ...), kept when the delivery ended",
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
