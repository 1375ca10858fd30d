"""The tables: members, group chats, conversation states and failed deliveries."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column
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


class FailedDelivery(SQLModel, table=True):
    """A message the bot meant to send on its own and could not, kept for the report."""

    __tablename__ = "failed_delivery"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_type=BigInteger, index=True)
    reason: str = Field(max_length=1024)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
