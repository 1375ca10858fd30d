"""Small filters shared by several routers."""

from __future__ import annotations

from aiogram.types import Message


def is_not_command(message: Message) -> bool:
    """True unless the message is a /command (state handlers leave commands to their routers)."""
    return not (message.text or message.caption or "").startswith("/")
