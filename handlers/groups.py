"""Group chats: the bot is added or removed, and greets when asked."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import IS_MEMBER, IS_NOT_MEMBER, ChatMemberUpdatedFilter, Command
from aiogram.types import ChatMemberUpdated, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

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
    return router
