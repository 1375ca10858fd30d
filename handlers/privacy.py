"""Members' data rights: /privacy (each consent with its switch), /mydata (everything stored,
as JSON, with a summary) and /forget (everything deleted, after a confirmation).

Withdrawing a consent stops that processing at once: the profile's municipality is deleted; a
questionnaire's answers and draft are deleted; a directory listing is ended (the organisation
leaves /orgs and the exports); reminders stop (subscriptions and unsent reminders deleted);
announcements stop (also deliveries already planned); help requests are anonymised.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from typing import Final

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import gettext as translated
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.middlewares import StorageMiddleware
from bot.privacy import data_document, summary_lines
from bot.reminders import Reminders
from handlers.expert import CONSENT_PURPOSE as HELP_PURPOSE
from handlers.shared import drop_keyboard, refuse_old_button
from knowledge.i18n import N_
from knowledge.municipalities import MunicipalityDirectory
from knowledge.questionnaire import Questionnaire
from knowledge.text import Lang
from storage import announcements, help_requests, members, privacy, subscriptions, surveys
from storage.models import Member
from storage.types import Clock

LABEL_LIMIT: Final = 40


class PrivacyAction(CallbackData, prefix="pv"):
    """A /privacy switch: the purpose (`profile`, `q`, `listing`, `reminders`, `news`, `help`),
    `on` or `off` (`off` asks first where data is deleted; `yes` confirms), the questionnaire."""

    purpose: str
    action: str
    id: str = ""


class ForgetAction(CallbackData, prefix="fg"):
    """/forget's confirmation."""

    action: str


def _cut(text: str) -> str:
    return text if len(text) <= LABEL_LIMIT else text[: LABEL_LIMIT - 1] + "…"


async def _states(
    session: AsyncSession,
    member: Member,
    questionnaires: Mapping[str, Questionnaire],
    lang: Lang,
) -> list[tuple[str, str, str, bool]]:
    """(purpose, questionnaire id, label, on) for every consent the member can change."""
    states: list[tuple[str, str, str, bool]] = [
        ("profile", "", _("Profile: your municipality"), member.consent_at is not None)
    ]
    for questionnaire in questionnaires.values():
        submission = await surveys.current_submission(
            session, member_id=member.id, questionnaire_id=questionnaire.id
        )
        draft = await surveys.get_draft(
            session, member_id=member.id, questionnaire_id=questionnaire.id
        )
        answered = submission is not None or (draft is not None and draft.consent_at is not None)
        title = _cut(questionnaire.title[lang])
        answers = _("Answers to “{title}”").format(title=title)
        states.append(("q", questionnaire.id, answers, answered))
        listing = questionnaire.directory_consent
        if listing is not None and submission is not None:
            listed = submission.answers.get(listing) is True
            label = _("Listing in /orgs: “{title}”").format(title=title)
            states.append(("listing", questionnaire.id, label, listed))
    followed = await subscriptions.of_chat(session, chat_id=member.id)
    states.append(("reminders", "", _("Deadline reminders"), bool(followed)))
    opted_out = await announcements.is_opted_out(session, member.id)
    receives = member.consent_at is not None and not opted_out  # audiences need the profile
    states.append(("news", "", _("Announcements from coordinators"), receives))
    helped = await help_requests.consent(session, member_id=member.id, purpose=HELP_PURPOSE)
    states.append(("help", "", _("Help requests"), helped is not None))
    return states


async def privacy_view(
    session: AsyncSession,
    member: Member,
    questionnaires: Mapping[str, Questionnaire],
    lang: Lang,
) -> tuple[str, InlineKeyboardMarkup]:
    """The /privacy text and its switches."""
    builder = InlineKeyboardBuilder()
    for purpose, questionnaire_id, label, on in await _states(
        session, member, questionnaires, lang
    ):
        builder.button(
            text=("✅ " if on else "⬜ ") + label,
            callback_data=PrivacyAction(
                purpose=purpose, action="off" if on else "on", id=questionnaire_id
            ),
        )
    builder.adjust(1)
    text = "\n".join(
        [
            "<b>" + _("Your consents") + "</b>",
            _(
                "✅ means you agreed and it is in use. Press one to withdraw it: what it covers "
                "is deleted or stopped at once. Announcements can be switched on again here, "
                "reminders in /remind."
            ),
            "",
            _("/mydata sends everything stored about you; /forget deletes all of it."),
        ]
    )
    return text, builder.as_markup()


async def privacy_command(
    message: Message,
    session: AsyncSession,
    member: Member,
    questionnaires: Mapping[str, Questionnaire],
    lang: Lang,
) -> None:
    """/privacy: each consent with its state and a switch."""
    text, keyboard = await privacy_view(session, member, questionnaires, lang)
    await message.answer(text, reply_markup=keyboard)


def _confirm(purpose: str, questionnaire_id: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("Yes, delete"),
        callback_data=PrivacyAction(purpose=purpose, action="yes", id=questionnaire_id),
    )
    builder.button(text=_("Keep it"), callback_data=PrivacyAction(purpose="show", action="show"))
    return builder.as_markup()


async def privacy_pressed(
    query: CallbackQuery,
    message: Message,
    callback_data: PrivacyAction,
    session: AsyncSession,
    member: Member,
    questionnaires: Mapping[str, Questionnaire],
    reminders: Reminders,
    clock: Clock,
    lang: Lang,
) -> None:
    """A switch: withdraw (asking first where data is deleted) or give again."""
    purpose, action, value = callback_data.purpose, callback_data.action, callback_data.id
    if purpose in {"q", "listing"} and value not in questionnaires:
        await refuse_old_button(query)
        return
    note: str | None = _("Done.")
    if purpose == "show":
        note = None
    elif action == "off" and purpose in {"profile", "q", "help"}:
        warnings = {
            "profile": _("Your municipality will be deleted. Go on?"),
            "q": _("Your answers and your unfinished draft of this questionnaire will be deleted."),
            "help": _(
                "Your help requests will be anonymised: coordinators keep the conversation, "
                "without your name or account, and you can no longer follow it here."
            ),
        }
        await query.answer()
        await message.answer(warnings[purpose], reply_markup=_confirm(purpose, value))
        return
    elif action in {"off", "yes"}:
        await _withdraw(session, member, purpose, value, questionnaires, reminders, clock)
        note = _("Withdrawn.")
    elif purpose == "news" and member.consent_at is None:
        await query.answer(
            _("Announcements go to members who stored their profile: send /start first."),
            show_alert=True,
        )
        return
    elif purpose == "news":
        await announcements.set_opted_out(
            session, member_id=member.id, opted_out=False, now=clock()
        )
    else:
        hints = {
            "profile": _("Send /start to store your municipality again."),
            "q": _("Send /survey to answer the questionnaire."),
            "listing": _("Send /survey and change the last answer to be listed."),
            "reminders": _("Send /remind or /calls to follow calls."),
            "help": _("You will be asked again when you send /expert."),
        }
        await query.answer(hints.get(purpose, note), show_alert=True)
        return
    await query.answer(note)
    text, keyboard = await privacy_view(session, member, questionnaires, lang)
    if purpose == "show" or action == "yes":
        await drop_keyboard(query)
        await message.answer(text, reply_markup=keyboard)
        return
    with suppress(TelegramBadRequest):
        await message.edit_text(text, reply_markup=keyboard)


async def _withdraw(
    session: AsyncSession,
    member: Member,
    purpose: str,
    value: str,
    questionnaires: Mapping[str, Questionnaire],
    reminders: Reminders,
    clock: Clock,
) -> None:
    if purpose == "profile":
        await members.withdraw_profile(session, member=member)
    elif purpose == "q":
        await privacy.withdraw_questionnaire(session, member.id, value)
    elif purpose == "listing":
        listing = questionnaires[value].directory_consent
        if listing is not None:
            await privacy.withdraw_listing(session, member.id, value, listing)
    elif purpose == "reminders":
        await privacy.withdraw_reminders(session, member.id)
        await reminders.chat_changed(session, member.id)
    elif purpose == "news":
        await announcements.set_opted_out(session, member_id=member.id, opted_out=True, now=clock())
    elif purpose == "help":
        await help_requests.withdraw_consent(
            session, member_id=member.id, purpose=HELP_PURPOSE, now=clock()
        )
        await privacy.anonymise_requests(session, member.id)
        member.help_open = False


# --- /mydata and /forget ----------------------------------------------------------------------


async def mydata(
    message: Message,
    session: AsyncSession,
    member: Member,
    municipalities: MunicipalityDirectory,
    clock: Clock,
    lang: Lang,
) -> None:
    """Everything stored about the member: a JSON document and a summary."""
    found = await privacy.collect(session, member.id)
    now = clock()
    document = data_document(found, member.id, now)
    await message.answer_document(
        BufferedInputFile(document, filename=f"civicbot-mydata-{member.id}.json"),
        caption=_("Everything stored about you, as of now."),
    )
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("Privacy settings"), callback_data=PrivacyAction(purpose="show", action="show")
    )
    builder.button(text=_("Delete everything"), callback_data=ForgetAction(action="ask"))
    lines = [
        "<b>" + _("What is stored about you") + "</b>",
        *summary_lines(found, lang, municipalities),
    ]
    await message.answer("\n".join(lines), reply_markup=builder.as_markup())


def _forget_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, delete everything"), callback_data=ForgetAction(action="yes"))
    builder.button(text=_("No, keep it"), callback_data=ForgetAction(action="no"))
    builder.adjust(1)
    return builder.as_markup()


FORGET_WARNING: Final = N_(
    "This deletes everything stored about you: profile, consents, questionnaire answers and "
    "drafts, reminders, messages waiting to be sent to you. Help requests stay with the "
    "coordinators without your name or account. It cannot be undone. Delete everything?"
)


async def forget_command(message: Message) -> None:
    """/forget: ask first."""
    await message.answer(translated(FORGET_WARNING), reply_markup=_forget_keyboard())


async def forget_pressed(
    query: CallbackQuery,
    message: Message,
    callback_data: ForgetAction,
    state: FSMContext,
    session: AsyncSession,
    member: Member,
    storage_middleware: StorageMiddleware,
) -> None:
    """Ask (from /mydata), delete everything, or keep it."""
    if callback_data.action == "ask":
        await query.answer()
        await message.answer(translated(FORGET_WARNING), reply_markup=_forget_keyboard())
        return
    await query.answer()
    await drop_keyboard(query)
    if callback_data.action != "yes":
        await message.answer(_("Nothing was deleted."))
        return
    await state.clear()
    await privacy.forget(session, member.id)
    if member in session:
        session.expunge(member)
    storage_middleware.forget_chat(member.id)
    await message.answer(
        _(
            "Everything stored about you is deleted. If you write to me again, I will know only "
            "what Telegram tells me: your name and language."
        )
    )


def create_router() -> Router:
    """/privacy, /mydata, /forget and their buttons: private chats, the member's own data."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    router.message.register(privacy_command, Command("privacy"))
    router.message.register(mydata, Command("mydata"))
    router.message.register(forget_command, Command("forget"))
    router.callback_query.register(
        privacy_pressed, PrivacyAction.filter(), F.message.as_("message")
    )
    router.callback_query.register(forget_pressed, ForgetAction.filter(), F.message.as_("message"))
    return router
