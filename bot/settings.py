"""Settings read from the environment and `.env`, validated once at start-up."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from knowledge.help_requests import DEFAULT_ESCALATE_AFTER, parse_escalate_after
from knowledge.reminders import DEFAULT_OFFSETS, Offset, parse_offsets
from knowledge.text import Lang

_SYNC_TO_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
}
_ASYNC_DRIVERS = {"sqlite+aiosqlite", "postgresql+asyncpg"}
# Database connections beyond one per update handled at once.
POOL_SPARE_CONNECTIONS = 4
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_BOT_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")


class Settings(BaseSettings):
    """Everything the bot can be configured with (see the README's configuration table)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = "sqlite+aiosqlite:///data/civicbot.db"
    redis_url: str | None = None
    coordinator_ids: Annotated[frozenset[int], NoDecode] = Field(default_factory=frozenset)
    coordinator_chat_id: int | None = None
    default_locale: Lang = "lt"
    timezone: str = "Europe/Vilnius"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    max_concurrent_updates: int = Field(default=64, ge=1, le=1000)
    # Connections each process may open (see `pool_size`).
    database_pool_size: int | None = Field(default=None, ge=2, le=1000)
    reminder_offsets: str = DEFAULT_OFFSETS
    escalate_after: str = DEFAULT_ESCALATE_AFTER
    retention_draft_days: int = Field(default=180, ge=8, le=3650)
    retention_request_days: int = Field(default=365, ge=1, le=3650)
    knowledge_dir: Path | None = None

    @field_validator("bot_token", "webhook_secret", "redis_url", "webhook_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("bot_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _BOT_TOKEN.match(value.get_secret_value()):
            raise ValueError("must look like 123456:ABC-DEF..., as @BotFather gives it")
        return value

    @field_validator("telegram_api_url", "webhook_url")
    @classmethod
    def _check_http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"{value!r} is not a database URL") from None
        driver = _SYNC_TO_ASYNC_DRIVERS.get(url.drivername, url.drivername)
        if driver not in _ASYNC_DRIVERS:
            raise ValueError(
                f"unsupported database {url.drivername!r}: use sqlite+aiosqlite:///... "
                "or postgresql+asyncpg://..."
            )
        return url.set(drivername=driver).render_as_string(hide_password=False)

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^rediss?://", value):
            raise ValueError(f"{value!r} is not a redis:// URL")
        return value

    @field_validator("coordinator_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            for part in parts:
                if not re.fullmatch(r"-?\d+", part):
                    raise ValueError(f"{part!r} is not a Telegram user id")
            return frozenset(int(part) for part in parts)
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (try Europe/Vilnius)") from None
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _SECRET_TOKEN.match(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("reminder_offsets")
    @classmethod
    def _check_offsets(cls, value: str) -> str:
        parse_offsets(value)
        return value

    @field_validator("escalate_after")
    @classmethod
    def _check_escalation(cls, value: str) -> str:
        parse_escalate_after(value)
        return value

    @field_validator("knowledge_dir", mode="before")
    @classmethod
    def _check_knowledge_dir(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        if value is not None and not Path(str(value)).is_dir():
            raise ValueError(f"{value!r} is not a folder")
        return value

    @property
    def offsets(self) -> tuple[Offset, ...]:
        """REMINDER_OFFSETS, longest first."""
        return parse_offsets(self.reminder_offsets)

    @property
    def escalation_delays(self) -> dict[str, timedelta]:
        """ESCALATE_AFTER: how long a request of each urgency may stay untaken."""
        return {
            str(name): delay for name, delay in parse_escalate_after(self.escalate_after).items()
        }

    @property
    def pool_size(self) -> int:
        """Connections each process may open: DATABASE_POOL_SIZE, else one for every update
        handled at once and some to spare (the member loader, the scheduler, the outbox), so
        that no update ever waits for one. Most updates take none: the members of those in
        flight are loaded together (see bot.middlewares.MemberLoader)."""
        return self.database_pool_size or self.max_concurrent_updates + POOL_SPARE_CONNECTIONS

    @property
    def uses_sqlite(self) -> bool:
        """Whether the database is an SQLite file (one bot process)."""
        return self.database_url.startswith("sqlite")

    @property
    def tz(self) -> ZoneInfo:
        """The default time zone as an object."""
        return ZoneInfo(self.timezone)

    def is_coordinator(self, user_id: int | None) -> bool:
        """Whether USER_ID has coordinator rights."""
        return user_id is not None and user_id in self.coordinator_ids


class SettingsError(Exception):
    """A setting has a bad value; the message is one line naming the variable."""


class StartupError(Exception):
    """A setting that looked right does not work (a rejected token, a database that cannot be
    opened); the bot stops with one line naming the variable."""

    def __init__(self, variable: str, reason: str) -> None:
        super().__init__(f"{variable}: {reason}")
        self.variable = variable
        self.reason = reason


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment and `.env`; raise SettingsError on a bad value."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        variable = str(first["loc"][0]).upper() if first["loc"] else "settings"
        reason = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{variable}: {reason}") from None
