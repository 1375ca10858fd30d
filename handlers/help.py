"""/help lists what this member can do; /cancel leaves any flow."""

from __future__ import annotations

import functools

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.commands import commands_for
from knowledge.text import Lang


def help_text(*, is_coordinator: bool) -> str:
    """The list of commands this member may use, in the current language."""
    return _help_text(get_i18n().current_locale, is_coordinator)


@functools.cache
def _help_text(lang: Lang, is_coordinator: bool) -> str:
    """The help text (it only changes with the catalogues, which are read once at start)."""
    lines = [_("Here is what I can do:")]
    lines += [f"/{info.name} — {_(info.description)}" for info in commands_for(coordinator=False)]
    if is_coordinator:
        lines += ["", _("For coordinators:")]
        lines += [
            f"/{info.name} — {_(info.description)}"
            for info in commands_for(coordinator=True)
            if info.coordinator
        ]
    lines += [
        "",
        _(
            "You can also simply type a question about programmes, calls and funding, "
            "in your own words."
        ),
    ]
    return "\n".join(lines)


async def show_help(message: Message, is_coordinator: bool) -> None:
    """Answer /help: in a group, what works there; in a private chat, everything."""
    if message.chat.type in {"group", "supergroup"}:
        await message.answer(group_help_text())
        return
    await message.answer(help_text(is_coordinator=is_coordinator))


def group_help_text() -> str:
    """What works in a group chat, in the current language."""
    lines = [_("In this group I answer these commands:")]
    lines += [
        f"/{info.name} — {_(info.description)}"
        for info in commands_for(coordinator=False)
        if info.groups
    ]
    lines += [
        "",
        _(
            "I also answer a question that mentions me or replies to one of my messages. "
            "Everything else, such as questionnaires, works in a private chat with me."
        ),
    ]
    return "\n".join(lines)


async def cancel(message: Message, state: FSMContext) -> None:
    """Leave whatever the member was doing."""
    if await state.get_state() is None:
        await message.answer(_("There is nothing to cancel. Send /help to see what I can do."))
        return
    await state.clear()
    await message.answer(_("Cancelled. Send /help to see what I can do."))


def create_router() -> Router:
    """This feature's router, new (handlers registered in the order they are asked)."""
    router = Router(name=__name__)
    router.message.register(show_help, Command("help"))
    router.message.register(cancel, Command("cancel"))
    return router
