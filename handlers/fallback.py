"""The last router: whatever no feature took gets a short polite reply or is ignored on purpose."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.commands import coordinator_command_names
from bot.roles import COORDINATOR_CALLBACK_PREFIX
from handlers.shared import command_name, refuse_old_button

GROUPS = {"group", "supergroup"}


async def coordinator_button(query: CallbackQuery) -> None:
    """A coordinator's button pressed (or replayed) by someone else: refused."""
    await query.answer(_("Only coordinators may do this."), show_alert=True)


async def stale_button(query: CallbackQuery) -> None:
    """A button from an old message, or one whose step is over."""
    await refuse_old_button(query)


async def group_chatter(message: Message) -> None:
    """Group messages not addressed to the bot, members joining or leaving: ignored on purpose."""


async def edited(message: Message) -> None:
    """Edits are not re-read: say so, so the member is not left waiting."""
    await message.answer(
        _("I only read new messages: please send the corrected text as a new message.")
    )


def is_coordinator_command(message: Message) -> bool:
    """Whether the message is one of the coordinators' commands."""
    name = command_name(message)
    return name is not None and name in coordinator_command_names()


async def coordinator_command(message: Message) -> None:
    """A coordinator's command sent by someone else: refused."""
    await message.answer(_("Only coordinators may do this."))


async def unknown_command(message: Message) -> None:
    """A command the bot does not have."""
    await message.answer(_("I do not know this command. Send /help to see what I can do."))


async def unknown_text(message: Message) -> None:
    """Text no feature took."""
    await message.answer(_("I did not understand. Send /help to see what I can do."))


async def not_text(message: Message, state: FSMContext) -> None:
    """Stickers, photos, voice, locations and the like."""
    if await state.get_state() is not None:
        await message.answer(
            _(
                "I can only read text. Your progress is kept: continue where you left off, "
                "or send /cancel."
            )
        )
        return
    await message.answer(_("I can only read text messages. Type a question or send /help."))


def create_router() -> Router:
    """This feature's router, new (handlers registered in the order they are asked)."""
    router = Router(name=__name__)
    router.callback_query.register(
        coordinator_button, F.data.startswith(COORDINATOR_CALLBACK_PREFIX)
    )
    router.callback_query.register(stale_button)
    router.message.register(group_chatter, F.chat.type.in_(GROUPS))
    router.edited_message.register(edited, F.chat.type == "private")
    router.message.register(coordinator_command, is_coordinator_command)
    router.message.register(unknown_command, F.text.startswith("/"))
    router.message.register(unknown_text, F.text)
    router.message.register(not_text)
    return router
