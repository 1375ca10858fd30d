"""The questionnaire conversation's rules, apart from Telegram: open, consent, step, submit.

A member's progress is the engine's `Draft` (knowledge/questionnaire.py) kept in the
`survey_draft` table after every step. These functions load it, apply what the member did and
store the result; `handlers/survey.py` only turns updates into calls of these functions and
their outcomes into messages (`handlers/survey_views.py`).

Rules kept here:
- Consent comes first and is recorded with the questionnaire's version; a draft carried over to
  a new version asks for it again, and "I agree" counts only for the version it was shown under.
- A button acts only on the question it was shown under (or on the review); any other is stale.
- Nothing is saved from a guess: a municipality typed in free words is offered as a button (or
  several), and only the button saves it; text that names no municipality is refused.
- A draft that no longer loads never blocks the member: they are told and begin again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum, StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.municipalities import Municipality, MunicipalityDirectory
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
    go_back,
    migrate_draft,
    return_to_review,
    skip_current,
    toggle_current,
    validate_answer,
    validate_value,
)
from knowledge.text import Lang
from storage import surveys
from storage.models import SurveyDraft, SurveySubmission

log = logging.getLogger(__name__)

# How many municipalities are offered as buttons for what a member typed.
MUNICIPALITY_CHOICES = 8


class StepAction(StrEnum):
    """What a questionnaire button does (its value is what the button's data carries)."""

    PICK = "p"  # choose option O of question Q
    MUNICIPALITY = "m"  # choose municipality O for question Q
    TICK = "t"  # tick or untick option O of multiple-choice question Q
    DONE = "d"  # the ticks of question Q are the answer
    BACK = "b"  # the question before Q
    SKIP = "s"  # skip optional question Q
    REVIEW = "r"  # back to the review from question Q (an edit abandoned)
    EDIT = "e"  # change the answer to question Q (from the review)
    SUBMIT = "u"  # submit (from the review)
    PAUSE = "x"  # stop for now; the draft is kept


# Buttons that act on the question on screen, and buttons of the review.
QUESTION_ACTIONS = frozenset(
    {
        StepAction.PICK,
        StepAction.MUNICIPALITY,
        StepAction.TICK,
        StepAction.DONE,
        StepAction.BACK,
        StepAction.SKIP,
        StepAction.REVIEW,
    }
)
REVIEW_ACTIONS = frozenset({StepAction.EDIT, StepAction.SUBMIT})


@dataclass
class OpenSurvey:
    """A member's draft of a questionnaire, as loaded for one update."""

    questionnaire: Questionnaire
    row: SurveyDraft
    draft: Draft

    @property
    def question(self) -> Question | None:
        """The question on screen; None at the review."""
        return current_question(self.questionnaire, self.draft)

    @property
    def consented(self) -> bool:
        """Whether the member agreed to the consent text (of this draft's version)."""
        return self.row.consent_at is not None


class Opening(Enum):
    """How a questionnaire opened."""

    RESUMED = "resumed"  # consent given earlier: go on at the step on screen
    ASK_CONSENT = "ask consent"  # a new start, or consent needed again


class OpeningNote(Enum):
    """What the member is told when the questionnaire opens."""

    NONE = "none"
    DAMAGED = "damaged"  # the saved draft no longer loads; they begin again
    CHANGED = "changed"  # the questionnaire has a new version; fitting answers were kept
    SUBMITTED_BEFORE = "submitted before"  # they may update their submission


@dataclass(frozen=True)
class Opened:
    """What `open_survey` found: resume SURVEY, or ask for consent (with NOTE)."""

    opening: Opening
    note: OpeningNote
    survey: OpenSurvey | None = None
    submitted_at: datetime | None = None


async def _save(session: AsyncSession, survey: OpenSurvey, draft: Draft) -> None:
    survey.draft = draft
    survey.row = await surveys.save_draft(session, member_id=survey.row.member_id, draft=draft)


def _carried_over(
    survey: OpenSurvey, *, municipalities: MunicipalityDirectory, today: date
) -> Draft | None:
    """The draft moved to the questionnaire's current version, or None if nothing changed."""
    questionnaire, draft = survey.questionnaire, survey.draft
    if draft.version == questionnaire.version:
        if draft.current is not None and questionnaire.get(draft.current) is None:
            return return_to_review(questionnaire, draft)
        return None
    return migrate_draft(draft, questionnaire, municipalities=municipalities, today=today)


def needs_reopening(
    survey: OpenSurvey, *, municipalities: MunicipalityDirectory, today: date
) -> bool:
    """Whether the questionnaire file changed under a running conversation (open it again)."""
    return _carried_over(survey, municipalities=municipalities, today=today) is not None


async def load_survey(
    session: AsyncSession, *, member_id: int, questionnaire: Questionnaire
) -> OpenSurvey | None:
    """The member's readable draft of QUESTIONNAIRE, or None."""
    row = await surveys.get_draft(session, member_id=member_id, questionnaire_id=questionnaire.id)
    draft = surveys.readable_draft(row) if row is not None else None
    if row is None or draft is None:
        return None
    return OpenSurvey(questionnaire, row, draft)


async def open_survey(
    session: AsyncSession,
    *,
    member_id: int,
    questionnaire: Questionnaire,
    municipalities: MunicipalityDirectory,
    today: date,
) -> Opened:
    """Resume the member's draft where they left off, or say that consent is to be asked."""
    row = await surveys.get_draft(session, member_id=member_id, questionnaire_id=questionnaire.id)
    draft = surveys.readable_draft(row) if row is not None else None
    if row is not None and draft is None:
        # A damaged draft must not block /survey: the member begins again, and agreeing to the
        # consent replaces it (declining deletes it).
        log.warning("draft of %s by member %s no longer loads", questionnaire.id, member_id)
        return Opened(Opening.ASK_CONSENT, OpeningNote.DAMAGED)
    if row is not None and draft is not None:
        survey = OpenSurvey(questionnaire, row, draft)
        moved = _carried_over(survey, municipalities=municipalities, today=today)
        if moved is not None and moved.version != draft.version:
            # The consent was given to the old version's text: it is asked again.
            await _save(session, survey, moved)
            await surveys.record_consent(session, row=survey.row, version=None)
            return Opened(Opening.ASK_CONSENT, OpeningNote.CHANGED, survey)
        if moved is not None:
            await _save(session, survey, moved)
        if survey.consented:
            return Opened(Opening.RESUMED, OpeningNote.NONE, survey)
        return Opened(Opening.ASK_CONSENT, OpeningNote.NONE, survey)
    previous = await surveys.current_submission(
        session, member_id=member_id, questionnaire_id=questionnaire.id
    )
    if previous is not None:
        return Opened(
            Opening.ASK_CONSENT, OpeningNote.SUBMITTED_BEFORE, submitted_at=previous.submitted_at
        )
    return Opened(Opening.ASK_CONSENT, OpeningNote.NONE)


class ConsentOutcome(Enum):
    """What answering the consent question led to."""

    STARTED = "started"  # consent recorded; the survey is at its step
    DECLINED = "declined"  # the draft is deleted (an earlier submission stays)
    OUTDATED = "outdated"  # agreed to an older version's text: show the current one


@dataclass(frozen=True)
class ConsentResult:
    """The outcome, the survey when it started, and whether a submission stays stored."""

    outcome: ConsentOutcome
    survey: OpenSurvey | None = None
    submission_kept: bool = False


async def answer_consent(
    session: AsyncSession,
    *,
    member_id: int,
    questionnaire: Questionnaire,
    version: int,
    agree: bool,
    municipalities: MunicipalityDirectory,
    today: date,
) -> ConsentResult:
    """Record the answer to the consent text of VERSION: start (or resume) or leave."""
    if agree and version != questionnaire.version:
        # The questionnaire changed since this consent text was shown: the member has not seen
        # the one in force.
        return ConsentResult(ConsentOutcome.OUTDATED)
    if not agree:
        await surveys.delete_draft(session, member_id=member_id, questionnaire_id=questionnaire.id)
        earlier = await surveys.current_submission(
            session, member_id=member_id, questionnaire_id=questionnaire.id
        )
        return ConsentResult(ConsentOutcome.DECLINED, submission_kept=earlier is not None)
    survey = await load_survey(session, member_id=member_id, questionnaire=questionnaire)
    if survey is None:
        # No draft yet, or one that no longer loads: a new one, replacing it.
        draft = await surveys.new_draft(
            session,
            member_id=member_id,
            questionnaire=questionnaire,
            municipalities=municipalities,
            today=today,
        )
        row = await surveys.save_draft(session, member_id=member_id, draft=draft)
        survey = OpenSurvey(questionnaire, row, draft)
    moved = _carried_over(survey, municipalities=municipalities, today=today)
    if moved is not None:
        await _save(session, survey, moved)
    await surveys.record_consent(
        session, row=survey.row, version=surveys.consent_version(questionnaire)
    )
    return ConsentResult(ConsentOutcome.STARTED, survey)


class StepOutcome(Enum):
    """What a typed answer or a pressed button led to."""

    MOVED = "moved"  # stored; show the step now on screen (the next question or the review)
    TICKED = "ticked"  # a tick changed: only the buttons of the question change
    REFUSED = "refused"  # not a valid answer: `invalid` says why; the question stays
    CONFIRM_MUNICIPALITY = "confirm municipality"  # offer `municipalities` as buttons
    AT_REVIEW = "at review"  # text typed at the review: nothing to answer
    STALE = "stale"  # a button of another step: nothing changed
    REOPEN = "reopen"  # the questionnaire changed under the conversation: open it again
    SUBMITTED = "submitted"  # the answers are submitted: `submission` says how
    ANSWER_FIRST = "answer first"  # back to the review refused: a required question comes first


class SubmitOutcome(Enum):
    """What pressing Submit led to."""

    SUBMITTED = "submitted"
    INCOMPLETE = "incomplete"  # a required answer is missing: the draft is at that question


@dataclass(frozen=True)
class SubmitResult:
    """The outcome, the submission made, and whether it replaced an earlier one."""

    outcome: SubmitOutcome
    submission: SurveySubmission | None = None
    replaced_earlier: bool = False


@dataclass(frozen=True)
class StepResult:
    """The outcome of one step, with what the member needs to see it."""

    outcome: StepOutcome
    invalid: Invalid | None = None
    municipalities: Sequence[Municipality] = ()
    question: Question | None = None
    submission: SubmitResult | None = None


async def answer_text(
    session: AsyncSession,
    *,
    survey: OpenSurvey,
    text: str,
    municipalities: MunicipalityDirectory,
    today: date,
) -> StepResult:
    """A typed answer to the question on screen: stored and moved on, or refused."""
    if needs_reopening(survey, municipalities=municipalities, today=today):
        return StepResult(StepOutcome.REOPEN)
    question = survey.question
    if question is None:
        return StepResult(StepOutcome.AT_REVIEW)
    if question.kind is Kind.MUNICIPALITY:
        # Never saved from what was typed: the matches are offered, and a button saves one.
        found = municipalities.recognise(text, limit=MUNICIPALITY_CHOICES)
        if found:
            return StepResult(
                StepOutcome.CONFIRM_MUNICIPALITY, municipalities=found, question=question
            )
        result = validate_answer(question, text, municipalities=lambda _text: None, today=today)
    else:
        result = validate_answer(question, text, municipalities=municipalities, today=today)
    if isinstance(result, Invalid):
        return StepResult(StepOutcome.REFUSED, invalid=result, question=question)
    await _save(session, survey, answer_current(survey.questionnaire, survey.draft, result))
    return StepResult(StepOutcome.MOVED)


async def press(
    session: AsyncSession,
    *,
    survey: OpenSurvey,
    action: StepAction,
    question_id: str,
    option_id: str,
    municipalities: MunicipalityDirectory,
    today: date,
    language: Lang,
    fallback_municipality: str | None,
) -> StepResult:
    """A button of the question on screen or of the review (not Pause, which is the handler's).

    Submit takes LANGUAGE (the member's) and FALLBACK_MUNICIPALITY (their profile's).
    """
    question = survey.question
    on_screen = (
        action in QUESTION_ACTIONS and question is not None and question_id == question.id
    ) or (action in REVIEW_ACTIONS and question is None)
    if needs_reopening(survey, municipalities=municipalities, today=today):
        return StepResult(StepOutcome.REOPEN)
    if not on_screen:
        return StepResult(StepOutcome.STALE)
    if action is StepAction.SUBMIT:
        submitted = await submit(
            session, survey=survey, language=language, fallback_municipality=fallback_municipality
        )
        return StepResult(StepOutcome.SUBMITTED, submission=submitted)
    moved = _move(action, question_id, option_id, survey, question, municipalities)
    if moved is None:
        return StepResult(StepOutcome.STALE)
    if isinstance(moved, Invalid):
        return StepResult(StepOutcome.REFUSED, invalid=moved, question=question)
    await _save(session, survey, moved)
    if action is StepAction.TICK:
        return StepResult(StepOutcome.TICKED)
    if action is StepAction.REVIEW and survey.question is not None:
        return StepResult(StepOutcome.ANSWER_FIRST, question=survey.question)
    return StepResult(StepOutcome.MOVED)


def _move(
    action: StepAction,
    question_id: str,
    option_id: str,
    survey: OpenSurvey,
    question: Question | None,
    municipalities: MunicipalityDirectory,
) -> Draft | Invalid | None:
    """The draft after a button; None when the button does not fit the question (forged)."""
    questionnaire, draft = survey.questionnaire, survey.draft
    if action is StepAction.EDIT:
        return edit_question(questionnaire, draft, question_id)
    if question is None:
        return None
    kind = question.kind
    if action is StepAction.PICK:
        if kind is Kind.MULTIPLE_CHOICE or not question.choices:
            return None
        chosen = choose_option(question, option_id)
        return (
            chosen if isinstance(chosen, Invalid) else answer_current(questionnaire, draft, chosen)
        )
    if action is StepAction.MUNICIPALITY:
        if kind is not Kind.MUNICIPALITY:
            return None
        picked = validate_value(question, option_id, municipalities=municipalities)
        return (
            picked if isinstance(picked, Invalid) else answer_current(questionnaire, draft, picked)
        )
    if action in (StepAction.TICK, StepAction.DONE) and kind is not Kind.MULTIPLE_CHOICE:
        return None
    if action is StepAction.TICK:
        return toggle_current(questionnaire, draft, option_id)
    if action is StepAction.DONE:
        return confirm_selection(questionnaire, draft)
    if action is StepAction.SKIP:
        return skip_current(questionnaire, draft)
    if action is StepAction.REVIEW:
        return return_to_review(questionnaire, draft)
    if action is StepAction.BACK:
        return go_back(questionnaire, draft)
    return None


async def submit(
    session: AsyncSession,
    *,
    survey: OpenSurvey,
    language: Lang,
    fallback_municipality: str | None,
) -> SubmitResult:
    """Turn the draft into a submission (the member's earlier one is kept as history)."""
    questionnaire = survey.questionnaire
    earlier = await surveys.current_submission(
        session, member_id=survey.row.member_id, questionnaire_id=questionnaire.id
    )
    try:
        submission = await surveys.submit(
            session,
            row=survey.row,
            questionnaire=questionnaire,
            language=language,
            fallback_municipality=fallback_municipality,
        )
    except ValueError:
        # Not complete after all (it cannot happen from the review): go to what is missing.
        await _save(session, survey, return_to_review(questionnaire, survey.draft))
        return SubmitResult(SubmitOutcome.INCOMPLETE)
    return SubmitResult(SubmitOutcome.SUBMITTED, submission, replaced_earlier=earlier is not None)
