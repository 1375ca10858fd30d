"""/survey: a member answers a questionnaire, one question at a time, and can resume any time.

The rules are in `bot.surveys`; the look in `handlers/survey_views.py`. This module turns
updates into those functions' calls and their outcomes into messages. The conversation state
marks that free text belongs to the survey, and its data names the questionnaire that is open
(the one place that says so).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import suppress
from datetime import date

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import surveys as rules
from bot.commands import COMMANDS
from bot.filters import is_not_command
from bot.sender import quote
from bot.settings import Settings
from bot.surveys import (
    ConsentOutcome,
    Opening,
    OpeningNote,
    OpenSurvey,
    StepAction,
    StepOutcome,
    SubmitOutcome,
    SubmitResult,
)
from handlers.shared import command_name, drop_keyboard, questionnaire_or_list, refuse_old_button
from handlers.survey_views import (
    Step,
    Survey,
    SurveyConsent,
    SurveyOpen,
    consent_keyboard,
    consent_text,
    municipality_keyboard,
    question_keyboard,
    show_step,
    warning,
)
from knowledge.i18n import format_datetime
from knowledge.municipalities import MunicipalityDirectory
from knowledge.questionnaire import Questionnaire
from knowledge.text import Lang
from storage.models import Member
from storage.types import Clock

log = logging.getLogger(__name__)


def _today(settings: Settings, clock: Clock) -> date:
    return clock().astimezone(settings.tz).date()


async def _open_survey(
    state: FSMContext,
    session: AsyncSession,
    member: Member,
    questionnaires: Mapping[str, Questionnaire],
) -> OpenSurvey | None:
    """The draft of the questionnaire the conversation has open, if it is readable."""
    questionnaire = questionnaires.get(str((await state.get_data()).get("survey")))
    if questionnaire is None:
        return None
    return await rules.load_survey(session, member_id=member.id, questionnaire=questionnaire)


# --- /survey: choose, consent, resume -----------------------------------------------------------


async def survey_command(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    member: Member,
    questionnaires: Mapping[str, Questionnaire],
    municipalities: MunicipalityDirectory,
    settings: Settings,
    lang: Lang,
    clock: Clock,
) -> None:
    """List the questionnaires; with only one, open it at once."""
    questionnaire = await questionnaire_or_list(
        message,
        questionnaires,
        lang,
        question=_("Which questionnaire would you like to fill in?"),
        button=lambda questionnaire_id: SurveyOpen(q=questionnaire_id),
    )
    if questionnaire is not None:
        await open_questionnaire(
            message, state, session, member, questionnaire, municipalities, settings, lang, clock
        )


async def survey_chosen(
    query: CallbackQuery,
    message: Message,
    callback_data: SurveyOpen,
    state: FSMContext,
    session: AsyncSession,
    member: Member | None,
    questionnaires: Mapping[str, Questionnaire],
    municipalities: MunicipalityDirectory,
    settings: Settings,
    lang: Lang,
    clock: Clock,
) -> None:
    """Open the questionnaire chosen from the list."""
    questionnaire = questionnaires.get(callback_data.q)
    if member is None or questionnaire is None:
        await refuse_old_button(query)
        return
    await query.answer()
    await drop_keyboard(query)
    await open_questionnaire(
        message, state, session, member, questionnaire, municipalities, settings, lang, clock
    )


async def open_questionnaire(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    member: Member,
    questionnaire: Questionnaire,
    municipalities: MunicipalityDirectory,
    settings: Settings,
    lang: Lang,
    clock: Clock,
) -> None:
    """Resume the member's draft where they left off, or ask for consent to begin."""
    await state.set_data({"survey": questionnaire.id})
    opened = await rules.open_survey(
        session,
        member_id=member.id,
        questionnaire=questionnaire,
        municipalities=municipalities,
        today=_today(settings, clock),
    )
    if opened.opening is Opening.RESUMED and opened.survey is not None:
        await state.set_state(Survey.answering)
        welcome = _("Welcome back! Let's continue where you left off.")
        await show_step(message, opened.survey, lang, municipalities, member, notice=welcome)
        return
    note: str | None = None
    if opened.note is OpeningNote.DAMAGED:
        note = _(
            "Sorry, I could not read the answers you had saved for this questionnaire: "
            "please begin again."
        )
    elif opened.note is OpeningNote.CHANGED:
        note = _(
            "This questionnaire has changed since you started it. I kept the answers that "
            "still fit; the questions that are new or changed will be asked again."
        )
    elif opened.note is OpeningNote.SUBMITTED_BEFORE and opened.submitted_at is not None:
        note = _(
            "You submitted this questionnaire on {date}. You can update your answers: the new "
            "ones will replace the old ones."
        ).format(date=format_datetime(opened.submitted_at, lang, settings.tz))
    await state.set_state(Survey.consent)
    await message.answer(
        consent_text(questionnaire, lang, note), reply_markup=consent_keyboard(questionnaire)
    )


async def consent_answered(
    query: CallbackQuery,
    message: Message,
    callback_data: SurveyConsent,
    state: FSMContext,
    session: AsyncSession,
    member: Member | None,
    questionnaires: Mapping[str, Questionnaire],
    municipalities: MunicipalityDirectory,
    settings: Settings,
    lang: Lang,
    clock: Clock,
) -> None:
    """Record the consent and show the first question, or leave without storing anything."""
    questionnaire = questionnaires.get(callback_data.q)
    # Only the consent question on screen counts: "No, thanks" under an earlier one would
    # delete a draft in progress, "I agree" would break into another conversation.
    at_consent = await state.get_state() == Survey.consent.state and (
        (await state.get_data()).get("survey") == callback_data.q
    )
    if member is None or questionnaire is None or not at_consent:
        await refuse_old_button(query)
        return
    result = await rules.answer_consent(
        session,
        member_id=member.id,
        questionnaire=questionnaire,
        version=callback_data.v,
        agree=callback_data.agree,
        municipalities=municipalities,
        today=_today(settings, clock),
    )
    if result.outcome is ConsentOutcome.OUTDATED:
        await refuse_old_button(query)
        await drop_keyboard(query)
        await open_questionnaire(
            message, state, session, member, questionnaire, municipalities, settings, lang, clock
        )
        return
    await query.answer()
    await drop_keyboard(query)
    if result.outcome is ConsentOutcome.DECLINED:
        await state.clear()
        if result.submission_kept:
            await message.answer(
                _(
                    "Understood: nothing new is stored. The answers you submitted before stay "
                    "as they were; send /survey if you want to update them."
                )
            )
        else:
            await message.answer(
                _("Understood: nothing is stored. Send /survey if you change your mind.")
            )
        return
    assert result.survey is not None
    await state.set_state(Survey.answering)
    await state.set_data({"survey": questionnaire.id})
    await show_step(message, result.survey, lang, municipalities, member)


async def consent_expected(
    message: Message,
    state: FSMContext,
    questionnaires: Mapping[str, Questionnaire],
) -> None:
    """Text, stickers and the like at the consent question: ask for a button."""
    questionnaire = questionnaires.get(str((await state.get_data()).get("survey")))
    if questionnaire is None:
        await state.clear()
        await message.answer(_("Send /survey to begin."))
        return
    await message.answer(
        _("Please answer with the buttons below."), reply_markup=consent_keyboard(questionnaire)
    )


# --- answering ----------------------------------------------------------------------------------


async def _lost(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("You have no questionnaire in progress. Send /survey to begin."))


async def answer_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    member: Member,
    questionnaires: Mapping[str, Questionnaire],
    municipalities: MunicipalityDirectory,
    settings: Settings,
    lang: Lang,
    clock: Clock,
) -> None:
    """A typed answer to the question on screen: stored and on to the next, or asked again."""
    survey = await _open_survey(state, session, member, questionnaires)
    if survey is None or not survey.consented:
        await _lost(message, state)
        return
    result = await rules.answer_text(
        session,
        survey=survey,
        text=message.text or "",
        municipalities=municipalities,
        today=_today(settings, clock),
    )
    if result.outcome is StepOutcome.REOPEN:
        # The file changed under a running conversation: reopen it, with the consent question.
        await open_questionnaire(
            message,
            state,
            session,
            member,
            survey.questionnaire,
            municipalities,
            settings,
            lang,
            clock,
        )
    elif result.outcome is StepOutcome.AT_REVIEW:
        notice = _("All questions are answered. Check your answers and press “Submit”.")
        await show_step(message, survey, lang, municipalities, member, notice=notice)
    elif result.outcome is StepOutcome.CONFIRM_MUNICIPALITY and result.question is not None:
        found = list(result.municipalities)
        if len(found) == 1:
            ask = _("Did you mean {municipality}? Press it to confirm, or type the name again.")
            ask = ask.format(municipality=quote(found[0].names[lang]))
        else:
            ask = _("Which one do you mean? Press it, or type the name again.")
        await message.answer(ask, reply_markup=municipality_keyboard(result.question, found, lang))
    elif result.outcome is StepOutcome.REFUSED and result.invalid is not None:
        notice = warning(result.invalid, lang)
        await show_step(message, survey, lang, municipalities, member, notice=notice)
    else:
        await show_step(message, survey, lang, municipalities, member)


async def step_pressed(
    query: CallbackQuery,
    message: Message,
    callback_data: Step,
    state: FSMContext,
    session: AsyncSession,
    member: Member | None,
    questionnaires: Mapping[str, Questionnaire],
    municipalities: MunicipalityDirectory,
    settings: Settings,
    lang: Lang,
    clock: Clock,
) -> None:
    """A button of a question or of the review; refused politely when it is an old one."""
    action = callback_data.a
    if member is None or await state.get_state() != Survey.answering.state:
        await query.answer(
            _("This button is no longer active. Send /survey to continue your questionnaire."),
            show_alert=True,
        )
        return
    survey = await _open_survey(state, session, member, questionnaires)
    if survey is None or not survey.consented:
        await query.answer()
        await _lost(message, state)
        return
    if action is StepAction.PAUSE:
        await state.clear()
        await query.answer()
        await drop_keyboard(query)
        await message.answer(
            _("Paused. Your answers are kept: send /survey to continue where you left off.")
        )
        return
    result = await rules.press(
        session,
        survey=survey,
        action=action,
        question_id=callback_data.q,
        option_id=callback_data.o,
        municipalities=municipalities,
        today=_today(settings, clock),
        language=lang,
        fallback_municipality=member.municipality,
    )
    if result.outcome is StepOutcome.REOPEN:
        # The file changed under a running conversation: reopen it, with the consent question.
        await query.answer()
        await drop_keyboard(query)
        await open_questionnaire(
            message,
            state,
            session,
            member,
            survey.questionnaire,
            municipalities,
            settings,
            lang,
            clock,
        )
        return
    if result.outcome is StepOutcome.STALE:
        await query.answer(
            _("This button belongs to an earlier step. Please use the buttons of my last message."),
            show_alert=True,
        )
        return
    if result.outcome is StepOutcome.REFUSED and result.invalid is not None:
        await query.answer(result.invalid.message(lang), show_alert=True)
        return
    if result.outcome is StepOutcome.SUBMITTED and result.submission is not None:
        await _submitted(
            query, message, state, survey, result.submission, lang, municipalities, member
        )
        return
    await query.answer()
    question = survey.question
    if (
        result.outcome is StepOutcome.TICKED
        and question is not None
        and isinstance(message, Message)
    ):
        # Ticking stays on the same question: only the ticks change.
        markup = question_keyboard(
            survey.questionnaire, survey.draft, question, lang, municipalities, member.municipality
        )
        with suppress(TelegramBadRequest):
            await message.edit_reply_markup(reply_markup=markup)
        return
    # A tick on a message too old to edit (over 48 hours) shows the question again instead.
    await drop_keyboard(query)
    notice = None
    if result.outcome is StepOutcome.ANSWER_FIRST:
        notice = _(
            "This question is required, so the review can only come after it: please answer it."
        )
    await show_step(message, survey, lang, municipalities, member, notice=notice)


async def _submitted(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    survey: OpenSurvey,
    submitted: SubmitResult,
    lang: Lang,
    municipalities: MunicipalityDirectory,
    member: Member,
) -> None:
    if submitted.outcome is SubmitOutcome.INCOMPLETE:
        # Not complete after all (it cannot happen from the review): ask what is missing.
        await query.answer()
        await show_step(message, survey, lang, municipalities, member)
        return
    await state.clear()
    await query.answer()
    await drop_keyboard(query)
    lines = [quote(survey.questionnaire.closing[lang])]
    if submitted.replaced_earlier:
        lines.append(_("Your new answers replace the ones you gave before."))
    lines.append(_("You can update your answers at any time with /survey."))
    await message.answer("\n\n".join(lines))


# --- anything else during the survey ------------------------------------------------------------


def _unknown_command(message: Message) -> bool:
    name = command_name(message)
    return name is not None and name not in {info.name for info in COMMANDS}


async def unknown_command(message: Message) -> None:
    """A command nobody has, in the middle of the survey: say how to go on."""
    await message.answer(
        _(
            "I do not know this command. Your answers are kept: type the answer to the last "
            "question, send /survey to see it again, or /cancel to stop for now."
        )
    )


async def not_text(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    member: Member,
    questionnaires: Mapping[str, Questionnaire],
    municipalities: MunicipalityDirectory,
    lang: Lang,
) -> None:
    """A sticker, photo, voice message... mid-survey: the draft stays, the question comes again."""
    survey = await _open_survey(state, session, member, questionnaires)
    if survey is None:
        await _lost(message, state)
        return
    notice = _("I can only read text. Your answers are kept; here is the question again.")
    await show_step(message, survey, lang, municipalities, member, notice=notice)


def create_router() -> Router:
    """The questionnaire conversation's router, new."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(survey_command, Command("survey"))
    router.callback_query.register(survey_chosen, SurveyOpen.filter(), F.message.as_("message"))
    router.callback_query.register(
        consent_answered, SurveyConsent.filter(), F.message.as_("message")
    )
    router.message.register(consent_expected, Survey.consent, is_not_command)
    router.message.register(answer_typed, Survey.answering, F.text, is_not_command)
    router.callback_query.register(step_pressed, Step.filter(), F.message.as_("message"))
    router.message.register(unknown_command, Survey.answering, _unknown_command)
    router.message.register(not_text, StateFilter(Survey.answering), ~F.text)
    return router
