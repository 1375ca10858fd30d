"""/survey: a member answers a questionnaire, one question at a time, and can resume any time.

The member's progress is the engine's `Draft` (knowledge/questionnaire.py), stored in the
`survey_draft` table after every step, so a restart or /cancel loses nothing: /survey, or just
typing the next answer, carries on. The conversation state only marks that free text belongs
to the survey. Every button names the question it belongs to (and the option, for choices), so
a button from an earlier question is refused instead of changing the wrong answer; the consent
buttons count only while their consent question is the open step, and "I agree" only for the
version of the questionnaire whose consent text it was shown under. A stored draft that no
longer loads does not block /survey: the member is told and begins again, the draft replaced.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import COMMANDS
from bot.exports import municipality_namer
from bot.filters import is_not_command
from bot.i18n import format_date, format_datetime
from bot.sender import quote
from bot.settings import Settings
from handlers.shared import (
    answer_in_pieces,
    command_name,
    drop_keyboard,
    lang_of,
    questionnaire_or_list,
    refuse_old_button,
)
from knowledge.municipalities import MunicipalityDirectory
from knowledge.questionnaire import (
    Draft,
    Invalid,
    Kind,
    Question,
    Questionnaire,
    answer_current,
    choose_option,
    confirm_selection,
    current_question,
    edit_question,
    format_answer,
    go_back,
    migrate_draft,
    previous_question,
    progress,
    return_to_review,
    skip_current,
    toggle_current,
    validate_answer,
    validate_value,
    visible_answers,
)
from knowledge.text import Lang
from storage import surveys
from storage.models import Member, SurveyDraft

log = logging.getLogger(__name__)
router = Router(name=__name__)
router.message.filter(F.chat.type == "private")

# An answer longer than this is shortened in the review (the full text is kept and submitted).
REVIEW_ANSWER_CHARS = 300
# How many municipalities are offered as buttons for what a member typed.
MUNICIPALITY_CHOICES = 8


class Survey(StatesGroup):
    """Free text goes to the survey: at the consent question, or answering questions."""

    consent = State()
    answering = State()


class SurveyOpen(CallbackData, prefix="so"):
    """A questionnaire chosen from the /survey list."""

    q: str


class SurveyConsent(CallbackData, prefix="sc"):
    """Agree (or not) to the consent text of version V of questionnaire Q."""

    q: str
    v: int
    agree: bool


class Step(CallbackData, prefix="sq"):
    """A button of a question or the review: action A, question Q, option O.

    Actions: p pick an option, m pick a municipality, t tick, d done ticking, b back, s skip,
    r back to the review, e edit question Q (from the review), u submit, x cancel (pause).
    """

    a: str
    q: str = ""
    o: str = ""


# Actions that act on the question on screen: refused when Q is not the current question.
QUESTION_ACTIONS = frozenset("pmtdbsr")
REVIEW_ACTIONS = frozenset("eu")


@dataclass
class OpenDraft:
    """A member's draft of a questionnaire, as loaded for one update."""

    questionnaire: Questionnaire
    row: SurveyDraft
    draft: Draft


# --- showing questions and the review -----------------------------------------------------------


def _answer_text(
    question: Question, value: object, lang: Lang, municipalities: MunicipalityDirectory
) -> str:
    return format_answer(
        question,
        value,  # type: ignore[arg-type]
        lang,
        format_date=format_date,
        municipality_name=municipality_namer(municipalities),
    )


def question_text(
    questionnaire: Questionnaire,
    draft: Draft,
    question: Question,
    lang: Lang,
    municipalities: MunicipalityDirectory,
) -> str:
    """The question as the member reads it: where they are, the question, its help and hints."""
    position, total = progress(questionnaire, draft.answers, question.id)
    lines = [
        _("Question {position} of {total}").format(position=position, total=total),
        f"<b>{quote(question.text[lang])}</b>",
    ]
    if question.help is not None:
        lines.append(f"<i>{quote(question.help[lang])}</i>")
    if question.kind is Kind.MULTIPLE_CHOICE:
        lines.append(_("Tick all that apply, then press “Done”."))
    elif question.kind is Kind.MUNICIPALITY:
        lines.append(_("Type the name of the municipality."))
    elif not question.choices:
        lines.append(_("Type your answer."))
    if not question.required:
        lines.append(_("This question is optional."))
    if question.id in draft.answers and question.kind is not Kind.MULTIPLE_CHOICE:
        shown = _answer_text(question, draft.answers[question.id], lang, municipalities)
        lines.append(_("Your answer so far: {answer}").format(answer=quote(shown)))
    return "\n".join(lines)


def question_keyboard(
    questionnaire: Questionnaire,
    draft: Draft,
    question: Question,
    lang: Lang,
    municipalities: MunicipalityDirectory,
    home: str | None,
) -> InlineKeyboardMarkup:
    """Choices (or ticks and Done), then Back, Skip, Back to review and Cancel as they apply."""
    builder = InlineKeyboardBuilder()

    def button(text: str, action: str, option: str = "") -> InlineKeyboardButton:
        data = Step(a=action, q=question.id, o=option).pack()
        return InlineKeyboardButton(text=text, callback_data=data)

    if question.kind is Kind.MULTIPLE_CHOICE:
        for option in question.options:
            mark = "☑" if option.id in draft.selection else "☐"
            builder.row(button(f"{mark} {option.text[lang]}", "t", option.id))
        builder.row(button(_("Done"), "d"))
    elif question.kind in (Kind.YES_NO, Kind.SCALE):
        builder.row(*(button(option.text[lang], "p", option.id) for option in question.choices))
    elif question.choices:
        for option in question.choices:
            builder.row(button(option.text[lang], "p", option.id))
    elif question.kind is Kind.MUNICIPALITY and home and (found := municipalities.get(home)):
        builder.row(button(found.short[lang], "m", found.id))
    navigation = []
    if previous_question(questionnaire, draft.answers, before=question.id) is not None:
        navigation.append(button(_("Back"), "b"))
    if not question.required:
        navigation.append(button(_("Skip"), "s"))
    if navigation:
        builder.row(*navigation)
    if draft.editing:
        builder.row(button(_("Back to the review"), "r"))
    builder.row(button(_("Cancel"), "x"))
    return builder.as_markup()


def review_text(
    questionnaire: Questionnaire, draft: Draft, lang: Lang, municipalities: MunicipalityDirectory
) -> tuple[str, list[str]]:
    """The review of all answers, and the ids of the questions in the order they are numbered."""
    lines = [
        f"<b>{quote(questionnaire.title[lang])}</b>",
        _("Please check your answers before you submit them."),
        "",
    ]
    numbered: list[str] = []
    for question_id, value in visible_answers(questionnaire, draft.answers).items():
        question = questionnaire.question(question_id)
        numbered.append(question_id)
        shown = _answer_text(question, value, lang, municipalities)
        if len(shown) > REVIEW_ANSWER_CHARS:
            shown = shown[:REVIEW_ANSWER_CHARS].rstrip() + "…"
        lines.append(f"{len(numbered)}. <b>{quote(question.text[lang])}</b>")
        lines.append(quote(shown))
    lines += ["", _("To change an answer, press ✏️ with its number. When all is well, submit.")]
    return "\n".join(lines), numbered


def review_keyboard(numbered: list[str]) -> InlineKeyboardMarkup:
    """An edit button per answer, then Submit and Cancel."""
    builder = InlineKeyboardBuilder()
    for number, question_id in enumerate(numbered, start=1):
        builder.button(text=f"✏️ {number}", callback_data=Step(a="e", q=question_id))
    builder.adjust(6)
    builder.row(
        InlineKeyboardButton(text=_("Submit"), callback_data=Step(a="u").pack()),
        InlineKeyboardButton(text=_("Cancel"), callback_data=Step(a="x").pack()),
    )
    return builder.as_markup()


async def show_step(
    message: Message,
    loaded: OpenDraft,
    lang: Lang,
    municipalities: MunicipalityDirectory,
    member: Member,
    notice: str | None = None,
) -> None:
    """Send the question on screen, or the review, with NOTICE (a warning, a welcome) first."""
    questionnaire, draft = loaded.questionnaire, loaded.draft
    question = current_question(questionnaire, draft)
    if question is None:
        text, numbered = review_text(questionnaire, draft, lang, municipalities)
        markup = review_keyboard(numbered)
    else:
        # Split like the review: an answer shown again ("so far") can be long once escaped.
        text = question_text(questionnaire, draft, question, lang, municipalities)
        markup = question_keyboard(
            questionnaire, draft, question, lang, municipalities, member.municipality
        )
    await answer_in_pieces(message, f"{notice}\n\n{text}" if notice else text, markup)


def consent_text(questionnaire: Questionnaire, lang: Lang, note: str | None = None) -> str:
    """Title, introduction and what is stored, then the question whether the member agrees."""
    parts = [
        f"<b>{quote(questionnaire.title[lang])}</b>",
        quote(questionnaire.intro[lang]),
        f"<i>{quote(questionnaire.consent[lang])}</i>",
    ]
    if note:
        parts.append(note)
    parts.append(_("Do you agree to this and want to begin?"))
    return "\n\n".join(parts)


def consent_keyboard(questionnaire: Questionnaire) -> InlineKeyboardMarkup:
    """Agree and start, or not (for the consent text of the questionnaire's current version)."""
    q, v = questionnaire.id, questionnaire.version
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("I agree, let's begin"), callback_data=SurveyConsent(q=q, v=v, agree=True)
    )
    builder.button(text=_("No, thanks"), callback_data=SurveyConsent(q=q, v=v, agree=False))
    builder.adjust(1)
    return builder.as_markup()


# --- loading and keeping drafts -----------------------------------------------------------------


async def _in_progress(
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    questionnaires: Mapping[str, Questionnaire],
) -> OpenDraft | None:
    """The draft the member is working on (the one named in the conversation, else the latest)."""
    data = await state.get_data()
    row: SurveyDraft | None = None
    questionnaire_id = data.get("survey")
    if isinstance(questionnaire_id, str):
        row = await surveys.get_draft(
            session, member_id=member.id, questionnaire_id=questionnaire_id
        )
    if row is None:
        row = await surveys.latest_draft(session, member_id=member.id)
    if row is None or row.questionnaire_id not in questionnaires:
        return None
    draft = surveys.readable_draft(row)
    if draft is None:
        return None
    return OpenDraft(questionnaires[row.questionnaire_id], row, draft)


def _migrated(
    loaded: OpenDraft, municipalities: MunicipalityDirectory, settings: Settings
) -> Draft | None:
    """The draft carried over to the questionnaire's new version, or None if it is current."""
    questionnaire, draft = loaded.questionnaire, loaded.draft
    if draft.version == questionnaire.version:
        if draft.current is not None and questionnaire.get(draft.current) is None:
            return return_to_review(questionnaire, draft)
        return None
    return _carried_over(draft, questionnaire, municipalities, settings)


def _carried_over(
    draft: Draft,
    questionnaire: Questionnaire,
    municipalities: MunicipalityDirectory,
    settings: Settings,
) -> Draft:
    """DRAFT of an earlier version moved to the questionnaire's current one, as of today."""
    today = datetime.now(settings.tz).date()
    return migrate_draft(draft, questionnaire, municipalities=municipalities, today=today)


async def _save(session: AsyncSession, loaded: OpenDraft, draft: Draft) -> None:
    loaded.draft = draft
    loaded.row = await surveys.save_draft(session, member_id=loaded.row.member_id, draft=draft)


# --- /survey: choose, consent, resume -----------------------------------------------------------


@router.message(Command("survey"))
async def survey_command(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    member: Member,
    questionnaires: Mapping[str, Questionnaire],
    municipalities: MunicipalityDirectory,
    settings: Settings,
    locale: str,
) -> None:
    """List the questionnaires; with only one, open it at once."""
    lang = lang_of(locale)
    questionnaire = await questionnaire_or_list(
        message,
        questionnaires,
        lang,
        question=_("Which questionnaire would you like to fill in?"),
        button=lambda questionnaire_id: SurveyOpen(q=questionnaire_id),
    )
    if questionnaire is not None:
        await open_questionnaire(
            message, state, session, member, questionnaire, municipalities, settings, lang
        )


@router.callback_query(SurveyOpen.filter(), F.message.as_("message"))
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
    locale: str,
) -> None:
    """Open the questionnaire chosen from the list."""
    questionnaire = questionnaires.get(callback_data.q)
    if member is None or questionnaire is None:
        await refuse_old_button(query)
        return
    await query.answer()
    await drop_keyboard(query)
    await open_questionnaire(
        message, state, session, member, questionnaire, municipalities, settings, lang_of(locale)
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
) -> None:
    """Resume the member's draft where they left off, or ask for consent to begin."""
    await state.set_data({"survey": questionnaire.id})
    row = await surveys.get_draft(session, member_id=member.id, questionnaire_id=questionnaire.id)
    draft = surveys.readable_draft(row) if row is not None else None
    note: str | None = None
    if row is not None and draft is None:
        # A damaged draft must not block /survey: the member begins again, and agreeing to the
        # consent replaces it (declining deletes it).
        log.warning("draft of %s by member %s no longer loads", questionnaire.id, member.id)
        note = _(
            "Sorry, I could not read the answers you had saved for this questionnaire: "
            "please begin again."
        )
    elif row is not None and draft is not None:
        loaded = OpenDraft(questionnaire, row, draft)
        migrated = _migrated(loaded, municipalities, settings)
        if migrated is not None and migrated.version != loaded.draft.version:
            # The consent was given to the old version's text: ask again.
            await _save(session, loaded, migrated)
            await surveys.record_consent(session, row=loaded.row, version=None)
            note = _(
                "This questionnaire has changed since you started it. I kept the answers that "
                "still fit; the questions that are new or changed will be asked again."
            )
        elif migrated is not None:
            await _save(session, loaded, migrated)
        if loaded.row.consent_at is not None:
            await state.set_state(Survey.answering)
            welcome = _("Welcome back! Let's continue where you left off.")
            await show_step(message, loaded, lang, municipalities, member, notice=welcome)
            return
    else:
        previous = await surveys.current_submission(
            session, member_id=member.id, questionnaire_id=questionnaire.id
        )
        if previous is not None:
            note = _(
                "You submitted this questionnaire on {date}. You can update your answers: the new "
                "ones will replace the old ones."
            ).format(date=format_datetime(previous.submitted_at, lang, settings.tz))
    await state.set_state(Survey.consent)
    await message.answer(
        consent_text(questionnaire, lang, note), reply_markup=consent_keyboard(questionnaire)
    )


@router.callback_query(SurveyConsent.filter(), F.message.as_("message"))
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
    locale: str,
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
    lang = lang_of(locale)
    if callback_data.agree and callback_data.v != questionnaire.version:
        # The questionnaire changed since this consent text was shown: the member has not seen
        # the one in force, so they are shown it.
        await refuse_old_button(query)
        await drop_keyboard(query)
        await open_questionnaire(
            message, state, session, member, questionnaire, municipalities, settings, lang
        )
        return
    await query.answer()
    await drop_keyboard(query)
    if not callback_data.agree:
        await surveys.delete_draft(session, member_id=member.id, questionnaire_id=questionnaire.id)
        await state.clear()
        await message.answer(
            _("Understood: nothing is stored. Send /survey if you change your mind.")
        )
        return
    row = await surveys.get_draft(session, member_id=member.id, questionnaire_id=questionnaire.id)
    draft = surveys.readable_draft(row) if row is not None else None
    if row is None or draft is None:
        # No draft yet, or one that no longer loads: a new one, replacing it.
        draft = await surveys.new_draft(
            session,
            member_id=member.id,
            questionnaire=questionnaire,
            municipalities=municipalities,
            today=datetime.now(settings.tz).date(),
        )
        row = await surveys.save_draft(session, member_id=member.id, draft=draft)
    loaded = OpenDraft(questionnaire, row, draft)
    migrated = _migrated(loaded, municipalities, settings)
    if migrated is not None:
        await _save(session, loaded, migrated)
    await surveys.record_consent(
        session, row=loaded.row, version=surveys.consent_version(questionnaire)
    )
    await state.set_state(Survey.answering)
    await state.set_data({"survey": questionnaire.id})
    await show_step(message, loaded, lang, municipalities, member)


@router.message(Survey.consent, is_not_command)
async def consent_expected(
    message: Message,
    state: FSMContext,
    questionnaires: Mapping[str, Questionnaire],
    locale: str,
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


@router.message(Survey.answering, F.text, is_not_command)
async def answer_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    member: Member,
    questionnaires: Mapping[str, Questionnaire],
    municipalities: MunicipalityDirectory,
    settings: Settings,
    locale: str,
) -> None:
    """A typed answer to the question on screen: stored and on to the next, or asked again."""
    lang = lang_of(locale)
    loaded = await _in_progress(session, member, state, questionnaires)
    if loaded is None or loaded.row.consent_at is None:
        await _lost(message, state)
        return
    migrated = _migrated(loaded, municipalities, settings)
    if migrated is not None:
        # The file changed under a running conversation: reopen it, with the consent question.
        await open_questionnaire(
            message, state, session, member, loaded.questionnaire, municipalities, settings, lang
        )
        return
    questionnaire, draft = loaded.questionnaire, loaded.draft
    question = current_question(questionnaire, draft)
    if question is None:
        await show_step(
            message,
            loaded,
            lang,
            municipalities,
            member,
            notice=_("All questions are answered. Check your answers and press “Submit”."),
        )
        return
    text = message.text or ""
    today = datetime.now(settings.tz).date()
    if question.kind is Kind.MUNICIPALITY:
        found = municipalities.find(text, limit=MUNICIPALITY_CHOICES)
        if len(found) > 1:
            builder = InlineKeyboardBuilder()
            for municipality in found:
                builder.button(
                    text=municipality.short[lang],
                    callback_data=Step(a="m", q=question.id, o=municipality.id),
                )
            builder.adjust(2)
            await message.answer(_("Which one do you mean?"), reply_markup=builder.as_markup())
            return
        only = found[0].id if found else None
        result = validate_answer(question, text, municipalities=lambda _text: only, today=today)
    else:
        result = validate_answer(question, text, municipalities=municipalities, today=today)
    if isinstance(result, Invalid):
        await show_step(
            message, loaded, lang, municipalities, member, notice=_warning(result, lang)
        )
        return
    await _save(session, loaded, answer_current(questionnaire, draft, result))
    await show_step(message, loaded, lang, municipalities, member)


def _warning(invalid: Invalid, lang: Lang) -> str:
    return "⚠️ " + quote(invalid.message(lang))


@router.callback_query(Step.filter(), F.message.as_("message"))
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
    locale: str,
) -> None:
    """A button of a question or of the review; refused politely when it is an old one."""
    lang = lang_of(locale)
    action = callback_data.a
    if member is None or await state.get_state() != Survey.answering.state:
        await query.answer(
            _("This button is no longer active. Send /survey to continue your questionnaire."),
            show_alert=True,
        )
        return
    loaded = await _in_progress(session, member, state, questionnaires)
    if loaded is None or loaded.row.consent_at is None:
        await query.answer()
        await _lost(message, state)
        return
    if action == "x":
        await state.clear()
        await query.answer()
        await drop_keyboard(query)
        await message.answer(
            _("Paused. Your answers are kept: send /survey to continue where you left off.")
        )
        return
    questionnaire, draft = loaded.questionnaire, loaded.draft
    question = current_question(questionnaire, draft)
    on_screen = (
        action in QUESTION_ACTIONS and question is not None and callback_data.q == question.id
    ) or (action in REVIEW_ACTIONS and question is None)
    if _migrated(loaded, municipalities, settings) is not None:
        # The file changed under a running conversation: reopen it, with the consent question.
        await query.answer()
        await drop_keyboard(query)
        await open_questionnaire(
            message, state, session, member, questionnaire, municipalities, settings, lang
        )
        return
    if not on_screen:
        await query.answer(
            _("This button belongs to an earlier step. Please use the buttons of my last message."),
            show_alert=True,
        )
        return
    if action == "u":
        await _submit(query, message, state, session, member, loaded, lang, municipalities)
        return
    moved = _move(action, callback_data, questionnaire, draft, question, municipalities)
    if isinstance(moved, Invalid):
        await query.answer(moved.message(lang), show_alert=True)
        return
    await _save(session, loaded, moved)
    await query.answer()
    if action == "t" and question is not None and isinstance(query.message, Message):
        # Ticking stays on the same question: only the ticks change.
        markup = question_keyboard(
            questionnaire, moved, question, lang, municipalities, member.municipality
        )
        with suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(reply_markup=markup)
        return
    # A tick on a message too old to edit (over 48 hours) shows the question again instead.
    await drop_keyboard(query)
    await show_step(message, loaded, lang, municipalities, member)


def _move(
    action: str,
    callback_data: Step,
    questionnaire: Questionnaire,
    draft: Draft,
    question: Question | None,
    municipalities: MunicipalityDirectory,
) -> Draft | Invalid:
    """The draft after a button: the engine does the work, this only maps buttons to steps."""
    if action == "e":
        return edit_question(questionnaire, draft, callback_data.q)
    assert question is not None  # every other action is a question's (checked by the caller)
    if action == "p":
        chosen = choose_option(question, callback_data.o)
        return (
            chosen if isinstance(chosen, Invalid) else answer_current(questionnaire, draft, chosen)
        )
    if action == "m":
        if question.kind is not Kind.MUNICIPALITY:
            return draft  # not a municipality question: nothing to change
        picked = validate_value(question, callback_data.o, municipalities=municipalities)
        return (
            picked if isinstance(picked, Invalid) else answer_current(questionnaire, draft, picked)
        )
    if action == "t":
        return toggle_current(questionnaire, draft, callback_data.o)
    if action == "d":
        return confirm_selection(questionnaire, draft)
    if action == "s":
        return skip_current(questionnaire, draft)
    if action == "r":
        return return_to_review(questionnaire, draft)
    return go_back(questionnaire, draft)


async def _submit(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    member: Member,
    loaded: OpenDraft,
    lang: Lang,
    municipalities: MunicipalityDirectory,
) -> None:
    questionnaire = loaded.questionnaire
    earlier = await surveys.current_submission(
        session, member_id=member.id, questionnaire_id=questionnaire.id
    )
    try:
        await surveys.submit(
            session,
            row=loaded.row,
            questionnaire=questionnaire,
            language=lang,
            fallback_municipality=member.municipality,
        )
    except ValueError:
        # Not complete after all (it cannot happen from the review): ask what is missing.
        await _save(session, loaded, return_to_review(questionnaire, loaded.draft))
        await query.answer()
        await show_step(message, loaded, lang, municipalities, member)
        return
    await state.clear()
    await query.answer()
    await drop_keyboard(query)
    lines = [quote(questionnaire.closing[lang])]
    if earlier is not None:
        lines.append(_("Your new answers replace the ones you gave before."))
    lines.append(_("You can update your answers at any time with /survey."))
    await message.answer("\n\n".join(lines))


# --- anything else during the survey ------------------------------------------------------------


def _unknown_command(message: Message) -> bool:
    name = command_name(message)
    return name is not None and name not in {info.name for info in COMMANDS}


@router.message(Survey.answering, _unknown_command)
async def unknown_command(message: Message) -> None:
    """A command nobody has, in the middle of the survey: say how to go on."""
    await message.answer(
        _(
            "I do not know this command. Your answers are kept: type the answer to the last "
            "question, send /survey to see it again, or /cancel to stop for now."
        )
    )


@router.message(StateFilter(Survey.answering), ~F.text)
async def not_text(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    member: Member,
    questionnaires: Mapping[str, Questionnaire],
    municipalities: MunicipalityDirectory,
    locale: str,
) -> None:
    """A sticker, photo, voice message... mid-survey: the draft stays, the question comes again."""
    loaded = await _in_progress(session, member, state, questionnaires)
    if loaded is None:
        await _lost(message, state)
        return
    notice = _("I can only read text. Your answers are kept; here is the question again.")
    await show_step(message, loaded, lang_of(locale), municipalities, member, notice=notice)
