"""Links from a group into the private chat: `/start survey` opens /survey there, and so on.

A command that works only in a private chat, sent in a group, is answered with a button that
opens the private chat with the bot at that command (see `handlers/groups.py`). Telegram then
sends `/start COMMAND` here, and the command's own handler answers as if it had been typed.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.dispatcher.event.handler import CallableObject, CallbackType
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from handlers import calls, directory, language, survey, survey_admin


def link_targets() -> dict[str, tuple[CallbackType, bool]]:
    """What each link opens: the command's handler, and whether it is for coordinators only."""
    return {
        "survey": (survey.survey_command, False),
        "orgs": (directory.orgs_command, False),
        "language": (language.ask_language, False),
        "export": (survey_admin.export_command, True),
        "stats": (survey_admin.stats_command, True),
        "newcall": (calls.new_call, True),
    }


async def follow_link(
    message: Message, command: CommandObject, is_coordinator: bool, **data: Any
) -> None:
    """`/start COMMAND` from a link: answer as COMMAND does (rights checked here, as there)."""
    name = command.args or ""
    callback, coordinators_only = link_targets()[name]
    if coordinators_only and not is_coordinator:
        await message.answer(_("Only coordinators may do this."))
        return
    as_typed = CommandObject(prefix="/", command=name)
    await CallableObject(callback).call(
        message, command=as_typed, is_coordinator=is_coordinator, **data
    )


def create_router() -> Router:
    """The router of the links into the private chat (asked before /start)."""
    router = Router(name=__name__)
    router.message.register(
        follow_link,
        F.chat.type == "private",
        CommandStart(deep_link=True, magic=F.args.in_(link_targets())),
    )
    return router
