"""Roles: who is a coordinator, decided on the server for every command and button."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import TelegramObject, User

from bot.settings import Settings

# Callback data of coordinator buttons starts with this, so a replayed button is recognised.
COORDINATOR_CALLBACK_PREFIX = "co-"


class IsCoordinator(Filter):
    """Passes only for users listed in COORDINATOR_IDS."""

    async def __call__(
        self, event: TelegramObject, settings: Settings, event_from_user: User | None = None
    ) -> bool:
        return settings.is_coordinator(event_from_user.id if event_from_user else None)
