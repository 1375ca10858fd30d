"""Small pieces several feature routers share (this module has no router of its own).

The member's lang as a questionnaire language, the name of a command sent, long replies in
pieces with the buttons under the last one, answers to buttons from old messages, and the choice
of a questionnaire.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.sender import split_text
from knowledge.questionnaire import Questionnaire
from knowledge.text import Lang


def command_name(message: Message) -> str | None:
    """The name of the /command MESSAGE sends, lower-case and without @bot; None for other text."""
    text = message.text or ""
    if not text.startswith("/"):
        return None
    return text.split(maxsplit=1)[0][1:].split("@")[0].lower()


async def answer_in_pieces(
    message: Message, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Send HTML TEXT to the chat of MESSAGE within Telegram's limit, the buttons under the last."""
    pieces = split_text(text)
    for piece in pieces[:-1]:
        await message.answer(piece)
    await message.answer(pieces[-1], reply_markup=reply_markup)


async def refuse_old_button(query: CallbackQuery) -> None:
    """A button whose questionnaire, municipality or step is gone: say so, change nothing."""
    await query.answer(_("This button is no longer active."), show_alert=True)


async def drop_keyboard(query: CallbackQuery) -> None:
    """Take the buttons off the message whose button was pressed (best effort).

    Telegram gives no editable message for one older than 48 hours, and may refuse an edit:
    the buttons then stay, and whatever the press did still counts.
    """
    if isinstance(query.message, Message) and query.message.reply_markup is not None:
        with suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(reply_markup=None)


async def questionnaire_or_list(
    message: Message,
    questionnaires: Mapping[str, Questionnaire],
    lang: Lang,
    *,
    question: str,
    button: Callable[[str], CallbackData],
) -> Questionnaire | None:
    """The only questionnaire; with none, say so; with several, list them and return None.

    QUESTION heads the list; BUTTON gives each listed questionnaire's callback data (from its id).
    """
    if not questionnaires:
        await message.answer(_("There are no questionnaires at the moment."))
        return None
    if len(questionnaires) == 1:
        [questionnaire] = questionnaires.values()
        return questionnaire
    builder = InlineKeyboardBuilder()
    for questionnaire in questionnaires.values():
        builder.button(text=questionnaire.title[lang], callback_data=button(questionnaire.id))
    builder.adjust(1)
    await message.answer(question, reply_markup=builder.as_markup())
    return None
