"""Group chats: the bot is added or removed, and greets when asked."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import (
    IS_MEMBER,
    IS_NOT_MEMBER,
    ChatMemberUpdatedFilter,
    Command,
    CommandObject,
)
from aiogram.types import ChatMemberUpdated, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import coordinator_command_names, private_only_commands
from storage import members


def greeting() -> str:
    """How the bot introduces itself in a group."""
    return _(
        "Hello! I am civicbot. In this group I answer only when addressed: "
        "a command, a mention of me, or a reply to one of my messages. "
        "Send /help to see what I can do."
    )


async def added_to_group(event: ChatMemberUpdated) -> None:
    """Greet the group (the group chat row was created by the middleware)."""
    await event.answer(greeting())


async def removed_from_group(event: ChatMemberUpdated, session: AsyncSession) -> None:
    """Stop counting the group as an audience."""
    await members.set_group_active(session, chat_id=event.chat.id, active=False)


async def start_in_group(message: Message) -> None:
    """/start in a group: introduce the bot."""
    await message.answer(greeting())


async def private_only(
    message: Message, bot: Bot, command: CommandObject, is_coordinator: bool
) -> None:
    """A command that works in a private chat only: a button that opens it there."""
    name = command.command.lower()
    if name in coordinator_command_names() and not is_coordinator:
        await message.reply(_("Only coordinators may do this."))
        return
    me = await bot.me()
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Open a private chat"), url=f"https://t.me/{me.username}?start={name}")
    await message.reply(
        _(
            "/{command} works in a private chat with me, so that what you tell me stays between us."
        ).format(command=name),
        reply_markup=builder.as_markup(),
    )


def create_router() -> Router:
    """This feature's router, new (handlers registered in the order they are asked)."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type.in_({"group", "supergroup"}))
    router.my_chat_member.filter(F.chat.type.in_({"group", "supergroup"}))
    router.my_chat_member.register(
        added_to_group, ChatMemberUpdatedFilter(IS_NOT_MEMBER >> IS_MEMBER)
    )
    router.my_chat_member.register(
        removed_from_group, ChatMemberUpdatedFilter(IS_MEMBER >> IS_NOT_MEMBER)
    )
    router.message.register(start_in_group, Command("start"))
    names = [info.name for info in private_only_commands()]
    router.message.register(private_only, Command(*names, ignore_case=True))
    return router
