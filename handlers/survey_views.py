"""How the questionnaire conversation looks: its buttons, questions, review and consent text.

Every button names the question it belongs to (and the option, for choices), so that a button
from an earlier question is recognised (see `bot.surveys`).
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.exports import municipality_namer
from bot.sender import quote
from bot.surveys import OpenSurvey, StepAction
from handlers.shared import answer_in_pieces
from knowledge.i18n import format_date
from knowledge.municipalities import Municipality, MunicipalityDirectory
from knowledge.questionnaire import (
    Draft,
    Invalid,
    Kind,
    Question,
    Questionnaire,
    format_answer,
    previous_question,
    progress,
    visible_answers,
)
from knowledge.text import Lang
from storage.models import Member

# An answer longer than this is shortened in the review (the full text is kept and submitted).
REVIEW_ANSWER_CHARS = 300


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
    """A button of a question or the review: action A on question Q (option O)."""

    a: StepAction
    q: str = ""
    o: str = ""


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

    def button(text: str, action: StepAction, option: str = "") -> InlineKeyboardButton:
        data = Step(a=action, q=question.id, o=option).pack()
        return InlineKeyboardButton(text=text, callback_data=data)

    if question.kind is Kind.MULTIPLE_CHOICE:
        for option in question.options:
            mark = "☑" if option.id in draft.selection else "☐"
            builder.row(button(f"{mark} {option.text[lang]}", StepAction.TICK, option.id))
        builder.row(button(_("Done"), StepAction.DONE))
    elif question.kind in (Kind.YES_NO, Kind.SCALE):
        builder.row(
            *(button(option.text[lang], StepAction.PICK, option.id) for option in question.choices)
        )
    elif question.choices:
        for option in question.choices:
            builder.row(button(option.text[lang], StepAction.PICK, option.id))
    elif question.kind is Kind.MUNICIPALITY and home and (found := municipalities.get(home)):
        builder.row(button(found.short[lang], StepAction.MUNICIPALITY, found.id))
    navigation = []
    if previous_question(questionnaire, draft.answers, before=question.id) is not None:
        navigation.append(button(_("Back"), StepAction.BACK))
    if not question.required:
        navigation.append(button(_("Skip"), StepAction.SKIP))
    if navigation:
        builder.row(*navigation)
    if draft.editing:
        builder.row(button(_("Back to the review"), StepAction.REVIEW))
    builder.row(button(_("Cancel"), StepAction.PAUSE))
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
        builder.button(text=f"✏️ {number}", callback_data=Step(a=StepAction.EDIT, q=question_id))
    builder.adjust(6)
    builder.row(
        InlineKeyboardButton(text=_("Submit"), callback_data=Step(a=StepAction.SUBMIT).pack()),
        InlineKeyboardButton(text=_("Cancel"), callback_data=Step(a=StepAction.PAUSE).pack()),
    )
    return builder.as_markup()


async def show_step(
    message: Message,
    survey: OpenSurvey,
    lang: Lang,
    municipalities: MunicipalityDirectory,
    member: Member,
    notice: str | None = None,
) -> None:
    """Send the question on screen, or the review, with NOTICE (a warning, a welcome) first."""
    questionnaire, draft = survey.questionnaire, survey.draft
    question = survey.question
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


def municipality_keyboard(
    question: Question, found: list[Municipality], lang: Lang
) -> InlineKeyboardMarkup:
    """The municipalities that match what was typed, as buttons for QUESTION."""
    builder = InlineKeyboardBuilder()
    for municipality in found:
        builder.button(
            text=municipality.short[lang],
            callback_data=Step(a=StepAction.MUNICIPALITY, q=question.id, o=municipality.id),
        )
    builder.adjust(2)
    return builder.as_markup()


def warning(invalid: Invalid, lang: Lang) -> str:
    """A refused answer's reason, marked as a warning."""
    return "⚠️ " + quote(invalid.message(lang))
