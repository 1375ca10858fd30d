"""Questions in free words, answered from the knowledge base, in private chats and in groups.

In a private chat any text no other feature took (not a command, no conversation step under
way) is a question, also before /start. In a group the bot answers only when addressed:
`/ask QUESTION`, a mention of the bot, or a reply to one of its messages. When the knowledge
base is not sure, the member gets the closest questions as buttons and a button that says
whom to write to about the topic (help requests to coordinators come later).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final, Literal

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import is_not_command
from bot.sender import quote, split_text
from handlers.reminders import answer_buttons
from knowledge.search import DocumentKind
from knowledge.service import Answer, KnowledgeBase
from knowledge.text import Lang
from storage.types import Clock

GROUPS: Final = frozenset({"group", "supergroup"})
# Long question variants are cut on their buttons.
BUTTON_TEXT_LIMIT: Final = 60

# Callback data spells the kind in one letter, to leave room for the id in 64 bytes.
_KINDS: Final[dict[str, DocumentKind]] = {"e": "entry", "c": "call"}
_LETTERS: Final[dict[str, str]] = {kind: letter for letter, kind in _KINDS.items()}


class QuestionChoice(CallbackData, prefix="faq"):
    """A suggested question: the entry or call whose answer to show."""

    kind: Literal["e", "c"]
    id: str


class CoordinatorContact(CallbackData, prefix="faq-contact"):
    """Ask a coordinator about the closest topic (kind and id empty when nothing was close)."""

    kind: str
    id: str


def answer_keyboard(answer: Answer) -> InlineKeyboardMarkup | None:
    """Buttons under an unsure answer: the closest questions, then the coordinator's contact.

    Pack ids have no length limit: a suggestion whose id does not fit in a button is left out,
    and the coordinator's button then asks about no topic in particular.
    """
    if answer.confident:
        return None
    builder = InlineKeyboardBuilder()
    for suggestion in answer.suggestions:
        choice = _packed(QuestionChoice(kind=_LETTERS[suggestion.kind], id=suggestion.id))
        if choice is not None:
            builder.button(text=_shorten(suggestion.question), callback_data=choice)
    kind, item_id = answer.guess if answer.guess else ("", "")
    contact = _packed(CoordinatorContact(kind=_LETTERS.get(kind, ""), id=item_id))
    builder.button(
        text=_("Ask a coordinator"),
        callback_data=contact or CoordinatorContact(kind="", id="").pack(),
    )
    builder.adjust(1)
    return builder.as_markup()


def _packed(data: CallbackData) -> str | None:
    """DATA as a button's callback data, or None when it is over Telegram's 64 bytes."""
    try:
        return data.pack()
    except ValueError:
        return None


def _shorten(text: str) -> str:
    return text if len(text) <= BUTTON_TEXT_LIMIT else text[: BUTTON_TEXT_LIMIT - 1] + "…"


async def send_answer(
    message: Message, answer: Answer, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Send ANSWER (plain text, escaped here) to the chat of MESSAGE; in groups as a reply.

    The buttons under it: the suggestions of an unsure answer, else MARKUP. An unsure answer
    replies to the question, so "Ask a coordinator" can take the question along."""
    last_markup = answer_keyboard(answer) or markup
    pieces = split_text(quote(answer.text))
    for number, piece in enumerate(pieces, start=1):
        markup = last_markup if number == len(pieces) else None
        if message.chat.type in GROUPS or not answer.confident:
            await message.reply(piece, reply_markup=markup)
        else:
            await message.answer(piece, reply_markup=markup)


async def reply_to(
    message: Message,
    question: str,
    knowledge: KnowledgeBase,
    lang: Lang,
    clock: Clock,
    session: AsyncSession,
) -> None:
    """Answer QUESTION in the language it is clearly written in, else in the member's LANG."""
    asked_in = knowledge.language_of(question, lang)
    now = clock()
    answer = knowledge.answer(question, asked_in, now)
    markup = await reminder_buttons(session, message.chat.id, answer, knowledge, now)
    await send_answer(message, answer, markup)


async def reminder_buttons(
    session: AsyncSession, chat_id: int, answer: Answer, knowledge: KnowledgeBase, now: datetime
) -> InlineKeyboardMarkup | None:
    """ "Remind me" and "Add to calendar" under an answer about a call that has not closed."""
    if answer.kind != "call" or answer.id is None:
        return None
    return await answer_buttons(session, chat_id, answer.id, knowledge, answer.lang, now)


def ask_hint() -> str:
    """How to ask when the question itself is missing."""
    return _("Type your question after the command, for example: /ask When does the call close?")


async def question(
    message: Message, knowledge: KnowledgeBase, lang: Lang, clock: Clock, session: AsyncSession
) -> None:
    """Any text in a private chat that no feature took: a question for the knowledge base."""
    await reply_to(message, message.text or "", knowledge, lang, clock, session)


async def ask(
    message: Message,
    command: CommandObject,
    knowledge: KnowledgeBase,
    lang: Lang,
    clock: Clock,
    session: AsyncSession,
) -> None:
    """/ask QUESTION, in a group or a private chat."""
    asked = (command.args or "").strip()
    if not asked:
        await message.answer(ask_hint())
        return
    await reply_to(message, asked, knowledge, lang, clock, session)


async def addressed_to_bot(message: Message, bot: Bot) -> dict[str, str] | bool:
    """A group message that mentions the bot or replies to it; gives the `question` asked."""
    me = await bot.me()
    text = message.text or ""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == me.id:
        return {"question": text}
    if not me.username:
        return False
    mention = f"@{me.username}".lower()
    for entity in message.entities or []:
        if entity.type == "mention" and entity.extract_from(text).lower() == mention:
            pattern = re.compile(re.escape(mention) + r"\b[,:]?", re.IGNORECASE)
            return {"question": pattern.sub(" ", text).strip()}
    return False


async def addressed_in_group(
    message: Message,
    question: str,
    knowledge: KnowledgeBase,
    lang: Lang,
    clock: Clock,
    session: AsyncSession,
) -> None:
    """A mention of the bot, or a reply to it, in a group: answer the question in it."""
    if not question:
        await message.reply(ask_hint())
        return
    await reply_to(message, question, knowledge, lang, clock, session)


async def suggestion_chosen(
    query: CallbackQuery,
    callback_data: QuestionChoice,
    knowledge: KnowledgeBase,
    lang: Lang,
    bot: Bot,
    clock: Clock,
    session: AsyncSession,
) -> None:
    """A suggested question pressed: its answer, or a polite note if it is gone since."""
    now = clock()
    answer = knowledge.answer_about(_KINDS[callback_data.kind], callback_data.id, lang, now)
    if answer is None:
        await query.answer(
            _("I no longer have this question. Please ask again in your own words."),
            show_alert=True,
        )
        return
    await query.answer()
    chat_id = query.message.chat.id if query.message else query.from_user.id
    markup = await reminder_buttons(session, chat_id, answer, knowledge, now)
    pieces = split_text(quote(answer.text))
    for number, piece in enumerate(pieces, start=1):
        await bot.send_message(
            chat_id, piece, reply_markup=markup if number == len(pieces) else None
        )


async def coordinator_asked(
    query: CallbackQuery, callback_data: CoordinatorContact, knowledge: KnowledgeBase, bot: Bot
) -> None:
    """The member wants a person: say honestly whom to write to about the topic."""
    kind = _KINDS.get(callback_data.kind)
    contact = knowledge.contact(kind, callback_data.id) if kind and callback_data.id else None
    if contact:
        text = _(
            "I cannot pass questions to a coordinator yet. "
            "About this topic you can write to {contact}."
        ).format(contact=quote(contact))
    else:
        text = _(
            "I cannot pass questions to a coordinator yet, and the texts I know give no "
            "contact for this topic. Please try asking in other words, or ask your "
            "municipality."
        )
    await query.answer()
    chat_id = query.message.chat.id if query.message else query.from_user.id
    await bot.send_message(chat_id, text)


def create_router() -> Router:
    """This feature's router, new (handlers registered in the order they are asked)."""
    router = Router(name=__name__)
    router.message.register(
        question, F.chat.type == "private", F.text, is_not_command, StateFilter(None)
    )
    router.message.register(ask, Command("ask"))
    router.message.register(
        addressed_in_group, F.chat.type.in_(GROUPS), F.text, is_not_command, addressed_to_bot
    )
    router.callback_query.register(suggestion_chosen, QuestionChoice.filter())
    # "Ask a coordinator" (CoordinatorContact) is handled by handlers/expert.py.
    return router
