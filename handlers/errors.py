"""What happens when handling an update fails: the member hears about it, nothing is lost."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent, User
from aiogram.utils.i18n import gettext as _

from storage import members
from storage.db import SessionMaker

log = logging.getLogger(__name__)


def _chat_id(event: ErrorEvent) -> int | None:
    update = event.update
    if update.message:
        return update.message.chat.id
    if update.callback_query:
        return update.callback_query.from_user.id
    if update.edited_message:
        return update.edited_message.chat.id
    return None


async def blocked(
    event: ErrorEvent, sessionmaker: SessionMaker, event_from_user: User | None = None
) -> None:
    """The member blocked the bot (or it was removed from the group): stop writing there."""
    chat_id = _chat_id(event)
    if chat_id is None:
        return
    log.info("chat %s is unreachable: %s", chat_id, event.exception)
    async with sessionmaker() as session:
        if event_from_user is not None and event_from_user.id == chat_id:
            # A first contact was rolled back with the failed update: keep the member anyway.
            await members.sync_member(
                session,
                member_id=chat_id,
                name=event_from_user.full_name,
                username=event_from_user.username,
                telegram_language=event_from_user.language_code,
            )
        await members.mark_unreachable(session, chat_id=chat_id)
        await session.commit()


async def unexpected(event: ErrorEvent, bot: Bot) -> None:
    """Log the failure and tell the member their progress is kept."""
    log.error("update %s failed", event.update.update_id, exc_info=event.exception)
    chat_id = _chat_id(event)
    if chat_id is None:
        return
    try:
        await bot.send_message(
            chat_id,
            _("Sorry, something went wrong on my side. Your progress is kept; please try again."),
        )
    except Exception:  # the chat may be the very thing that failed
        log.warning("could not tell chat %s about the failure", chat_id, exc_info=True)


def create_router() -> Router:
    """This feature's router, new (handlers registered in the order they are asked)."""
    router = Router(name=__name__)
    router.errors.register(blocked, ExceptionTypeFilter(TelegramForbiddenError))
    router.errors.register(unexpected)
    return router
