"""/language: the member chooses the language the bot speaks."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessageUnion,
    Message,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import LANGUAGE_NAMES
from knowledge.text import LANGUAGES, Lang
from storage import members
from storage.models import Member


class LanguageChoice(CallbackData, prefix="lang"):
    """A language button."""

    code: Lang


def language_keyboard() -> InlineKeyboardMarkup:
    """One button per language, each in its own language."""
    builder = InlineKeyboardBuilder()
    for code in LANGUAGES:
        builder.button(text=LANGUAGE_NAMES[code], callback_data=LanguageChoice(code=code))
    return builder.as_markup()


async def ask_language(message: Message) -> None:
    """Offer the three languages."""
    await message.answer(_("Which language should I speak?"), reply_markup=language_keyboard())


async def choose_language(
    query: CallbackQuery,
    message: MaybeInaccessibleMessageUnion,
    callback_data: LanguageChoice,
    session: AsyncSession,
    member: Member | None,
    i18n: I18n,
) -> None:
    """Store the chosen language and confirm in it."""
    if member is None:  # pressed in a group: the language is each member's own
        await query.answer()
        return
    await members.set_language(session, member=member, language=callback_data.code)
    with i18n.use_locale(callback_data.code):
        await query.answer()
        # Said in the language just chosen, which is the language it names.
        confirmation = _("I will speak English with you.")
        if isinstance(message, Message):
            await message.edit_text(confirmation)
        else:  # older than 48 hours: Telegram no longer lets the bot edit it
            await message.answer(confirmation)


def create_router() -> Router:
    """This feature's router, new (handlers registered in the order they are asked)."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(ask_language, Command("language"))
    router.callback_query.register(
        choose_language, LanguageChoice.filter(F.code.in_(LANGUAGES)), F.message.as_("message")
    )
    return router
