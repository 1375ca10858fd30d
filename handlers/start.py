"""/start: onboarding in three steps: language, municipality (optional), consent."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import is_not_command
from bot.sender import quote
from handlers.help import help_text
from handlers.language import LanguageChoice, language_keyboard
from handlers.shared import drop_keyboard, refuse_old_button
from knowledge.municipalities import MunicipalityDirectory
from knowledge.text import Lang
from storage import members
from storage.models import Member

# Bump when the consent text below changes, so stored consents name the text they were given to.
CONSENT_VERSION = "profile-2"


class Onboarding(StatesGroup):
    """The steps of /start."""

    language = State()
    municipality = State()
    consent = State()


class MunicipalityChoice(CallbackData, prefix="muni"):
    """A municipality button (by id)."""

    id: str


class OnboardingAction(CallbackData, prefix="onb"):
    """Skip the municipality, or answer the consent question."""

    action: str


def skip_keyboard() -> InlineKeyboardMarkup:
    """Just the Skip button."""
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Skip"), callback_data=OnboardingAction(action="skip"))
    return builder.as_markup()


def consent_keyboard() -> InlineKeyboardMarkup:
    """Yes / No for storing the profile."""
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, store it"), callback_data=OnboardingAction(action="agree"))
    builder.button(text=_("No, thanks"), callback_data=OnboardingAction(action="decline"))
    return builder.as_markup()


async def start(message: Message, state: FSMContext) -> None:
    """Greet the member and ask for the language."""
    await state.set_state(Onboarding.language)
    await state.set_data({})
    name = message.from_user.first_name if message.from_user else ""
    await message.answer(
        _(
            "Hello, {name}! I am civicbot, the assistant of civic community groups "
            "in Lithuania and Latvia. Which language should I speak?"
        ).format(name=quote(name)),
        reply_markup=language_keyboard(),
    )


async def language_chosen(
    query: CallbackQuery,
    message: Message,
    callback_data: LanguageChoice,
    state: FSMContext,
    session: AsyncSession,
    member: Member,
    i18n: I18n,
) -> None:
    """Store the language and ask for the municipality, in the new language."""
    await members.set_language(session, member=member, language=callback_data.code)
    await state.set_state(Onboarding.municipality)
    with i18n.use_locale(callback_data.code):
        await query.answer()
        await drop_keyboard(query)
        await message.answer(
            _(
                "Which municipality is your community in? Type a part of its name, "
                "for example “Trakai” or “Ogre”. You can also skip this."
            ),
            reply_markup=skip_keyboard(),
        )


async def language_expected(message: Message) -> None:
    """Anything but a button during the language step: ask again."""
    await message.answer(
        _("Please choose a language with the buttons below."), reply_markup=language_keyboard()
    )


async def municipality_typed(
    message: Message, municipalities: MunicipalityDirectory, lang: Lang
) -> None:
    """Offer the municipalities that match what the member typed."""
    query = (message.text or "").strip()
    found = municipalities.find(query, limit=8)
    if not found:
        await message.answer(
            _(
                "I found no municipality matching “{query}”. "
                "Try another part of the name, or skip this step."
            ).format(query=quote(query[:100])),
            reply_markup=skip_keyboard(),
        )
        return
    builder = InlineKeyboardBuilder()
    for municipality in found:
        builder.button(
            text=municipality.short[lang], callback_data=MunicipalityChoice(id=municipality.id)
        )
    builder.button(text=_("Skip"), callback_data=OnboardingAction(action="skip"))
    builder.adjust(2)
    await message.answer(_("Choose your municipality:"), reply_markup=builder.as_markup())


async def municipality_expected(message: Message) -> None:
    """A sticker, photo and so on during the municipality step."""
    await message.answer(
        _("Please type the name of your municipality, or skip this step."),
        reply_markup=skip_keyboard(),
    )


async def municipality_chosen(
    query: CallbackQuery,
    callback_data: MunicipalityChoice,
    state: FSMContext,
    municipalities: MunicipalityDirectory,
) -> None:
    """Keep the choice (stored only with consent) and ask for consent."""
    if callback_data.id not in municipalities:
        await refuse_old_button(query)
        return
    await state.update_data(municipality=callback_data.id)
    await ask_consent(query, state)


async def municipality_skipped(query: CallbackQuery, state: FSMContext) -> None:
    """No municipality: go on to consent."""
    await state.update_data(municipality=None)
    await ask_consent(query, state)


async def ask_consent(query: CallbackQuery, state: FSMContext) -> None:
    """Explain what is stored and ask whether the member agrees."""
    await state.set_state(Onboarding.consent)
    await query.answer()
    await drop_keyboard(query)
    if query.message is not None:
        await query.message.answer(
            _(
                "May I store your municipality with your profile? I use it only to answer you "
                "better and to send reminders and announcements for your area. Your name and "
                "language from Telegram are kept in any case, so that I can answer you. You can "
                "change your mind at any time in /privacy; /mydata shows everything stored "
                "about you and /forget deletes it."
            ),
            reply_markup=consent_keyboard(),
        )


async def consent_expected(message: Message) -> None:
    """Anything but a button during the consent step."""
    await message.answer(
        _("Please answer with the buttons below."), reply_markup=consent_keyboard()
    )


async def consent_given(
    query: CallbackQuery,
    message: Message,
    callback_data: OnboardingAction,
    state: FSMContext,
    session: AsyncSession,
    member: Member,
    is_coordinator: bool,
) -> None:
    """Store the profile (or not) and finish onboarding with the list of commands."""
    data = await state.get_data()
    if callback_data.action == "agree":
        await members.save_profile(
            session,
            member=member,
            municipality=data.get("municipality"),
            consent_version=CONSENT_VERSION,
        )
        done = _("Thank you, your profile is saved.")
    else:
        await members.withdraw_profile(session, member=member)
        done = _("Understood: I keep only your name and language from Telegram.")
    await state.clear()
    await query.answer()
    await drop_keyboard(query)
    await message.answer(f"{done}\n\n{help_text(is_coordinator=is_coordinator)}")


def create_router() -> Router:
    """This feature's router, new (handlers registered in the order they are asked)."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(start, CommandStart())
    router.callback_query.register(
        language_chosen, Onboarding.language, LanguageChoice.filter(), F.message.as_("message")
    )
    router.message.register(language_expected, Onboarding.language, is_not_command)
    router.message.register(municipality_typed, Onboarding.municipality, F.text, is_not_command)
    router.message.register(municipality_expected, Onboarding.municipality, is_not_command)
    router.callback_query.register(
        municipality_chosen, Onboarding.municipality, MunicipalityChoice.filter()
    )
    router.callback_query.register(
        municipality_skipped, Onboarding.municipality, OnboardingAction.filter(F.action == "skip")
    )
    router.message.register(consent_expected, Onboarding.consent, is_not_command)
    router.callback_query.register(
        consent_given,
        Onboarding.consent,
        OnboardingAction.filter(F.action.in_({"agree", "decline"})),
        F.message.as_("message"),
    )
    return router
