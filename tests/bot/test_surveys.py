"""The questionnaire conversation's rules (bot/surveys.py), called directly on a database."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot import surveys as rules
from bot.surveys import (
    ConsentOutcome,
    Opening,
    OpeningNote,
    OpenSurvey,
    StepAction,
    StepOutcome,
    SubmitOutcome,
)
from knowledge.municipalities import MunicipalityDirectory, load_municipalities
from knowledge.questionnaire import Questionnaire, load_questionnaire
from storage import members, surveys
from storage.db import SessionMaker
from storage.models import SurveyDraft

TODAY = date(2026, 6, 15)
CLUB = """\
id: club
version: {version}
title: {{lt: Klubas, lv: Klubs, en: Club}}
intro: {{lt: Apie klubą, lv: Par klubu, en: About the club}}
consent: {{lt: Saugome atsakymus, lv: Glabājam atbildes, en: We keep the answers}}
closing: {{lt: Ačiū, lv: Paldies, en: Thank you}}
questions:
  - id: name
    kind: short_text
    text: {{lt: Pavadinimas, lv: Nosaukums, en: Name}}
  - id: kind
    kind: single_choice
    text: {{lt: Rūšis, lv: Veids, en: Kind}}
    options:
      - {{id: club, text: {{lt: Klubas, lv: Klubs, en: Club}}}}
      - {{id: ngo, text: {{lt: NVO, lv: NVO, en: NGO}}}}
  - id: areas
    kind: multiple_choice
    required: false
    text: {{lt: Sritys, lv: Jomas, en: Areas}}
    options:
      - {{id: culture, text: {{lt: Kultūra, lv: Kultūra, en: Culture}}}}
      - {{id: sport, text: {{lt: Sportas, lv: Sports, en: Sport}}}}
  - id: place
    kind: municipality
    text: {{lt: Savivaldybė, lv: Pašvaldība, en: Municipality}}
{extra}"""


def club(tmp_path: Path, *, version: int = 1, extra: str = "") -> Questionnaire:
    path = tmp_path / f"club-{version}.yaml"
    path.write_text(CLUB.format(version=version, extra=extra), encoding="utf-8")
    return load_questionnaire(path)


@pytest.fixture
def municipalities() -> MunicipalityDirectory:
    return load_municipalities()


@pytest.fixture
async def member(sessionmaker: SessionMaker) -> int:
    async with sessionmaker() as session:
        await members.sync_member(
            session, member_id=7, name="Ona", username=None, telegram_language="lt"
        )
        await session.commit()
    return 7


async def started(
    sessionmaker: SessionMaker,
    questionnaire: Questionnaire,
    municipalities: MunicipalityDirectory,
    member: int,
) -> OpenSurvey:
    """The member agreed to the consent text: the survey at its first question."""
    async with sessionmaker() as session:
        result = await rules.answer_consent(
            session,
            member_id=member,
            questionnaire=questionnaire,
            version=questionnaire.version,
            agree=True,
            municipalities=municipalities,
            today=TODAY,
        )
        await session.commit()
    assert result.outcome is ConsentOutcome.STARTED and result.survey is not None
    return result.survey


async def test_a_new_survey_asks_for_consent_then_resumes(
    sessionmaker: SessionMaker, tmp_path: Path, municipalities: MunicipalityDirectory, member: int
) -> None:
    questionnaire = club(tmp_path)
    async with sessionmaker() as session:
        opened = await rules.open_survey(
            session,
            member_id=member,
            questionnaire=questionnaire,
            municipalities=municipalities,
            today=TODAY,
        )
    assert (opened.opening, opened.note, opened.survey) == (
        Opening.ASK_CONSENT,
        OpeningNote.NONE,
        None,
    )
    survey = await started(sessionmaker, questionnaire, municipalities, member)
    assert survey.consented and survey.row.consent_version == "club@1"
    assert survey.question is not None and survey.question.id == "name"
    async with sessionmaker() as session:
        again = await rules.open_survey(
            session,
            member_id=member,
            questionnaire=questionnaire,
            municipalities=municipalities,
            today=TODAY,
        )
    assert again.opening is Opening.RESUMED
    assert again.survey is not None and again.survey.question is not None


async def test_typed_answers_move_on_or_are_refused(
    sessionmaker: SessionMaker, tmp_path: Path, municipalities: MunicipalityDirectory, member: int
) -> None:
    questionnaire = club(tmp_path)
    survey = await started(sessionmaker, questionnaire, municipalities, member)
    async with sessionmaker() as session:
        empty = await rules.answer_text(
            session, survey=survey, text="  ", municipalities=municipalities, today=TODAY
        )
        assert empty.outcome is StepOutcome.REFUSED and empty.invalid is not None
        assert empty.invalid.message("en") == "The answer cannot be empty."
        moved = await rules.answer_text(
            session, survey=survey, text="Bitininkai", municipalities=municipalities, today=TODAY
        )
        await session.commit()
    assert moved.outcome is StepOutcome.MOVED
    assert survey.question is not None and survey.question.id == "kind"
    async with sessionmaker() as session:
        row = await session.get(SurveyDraft, (member, "club"))
    assert row is not None and surveys.draft_of(row).answers == {"name": "Bitininkai"}


async def test_buttons_of_other_steps_or_kinds_change_nothing(
    sessionmaker: SessionMaker, tmp_path: Path, municipalities: MunicipalityDirectory, member: int
) -> None:
    questionnaire = club(tmp_path)
    survey = await started(sessionmaker, questionnaire, municipalities, member)
    before = survey.draft
    forged = [
        (StepAction.PICK, "kind", "ngo"),  # a later question's button
        (StepAction.PICK, "name", "x"),  # a text question has no options
        (StepAction.TICK, "name", "culture"),  # nor ticks
        (StepAction.DONE, "name", ""),
        (StepAction.MUNICIPALITY, "name", "trakai-district"),
        (StepAction.EDIT, "name", ""),  # the review's button, not at the review
        (StepAction.SUBMIT, "", ""),
    ]
    async with sessionmaker() as session:
        for action, question_id, option_id in forged:
            result = await rules.press(
                session,
                survey=survey,
                action=action,
                question_id=question_id,
                option_id=option_id,
                municipalities=municipalities,
                today=TODAY,
                language="lt",
                fallback_municipality=None,
            )
            assert result.outcome is StepOutcome.STALE, action
    assert survey.draft == before


async def walk_to_review(
    sessionmaker: SessionMaker,
    survey: OpenSurvey,
    municipalities: MunicipalityDirectory,
) -> None:
    async def press(action: StepAction, question_id: str, option_id: str = "") -> StepOutcome:
        async with sessionmaker() as session:
            result = await rules.press(
                session,
                survey=survey,
                action=action,
                question_id=question_id,
                option_id=option_id,
                municipalities=municipalities,
                today=TODAY,
                language="en",
                fallback_municipality=None,
            )
            await session.commit()
        return result.outcome

    async with sessionmaker() as session:
        await rules.answer_text(
            session, survey=survey, text="Klubas", municipalities=municipalities, today=TODAY
        )
        await session.commit()
    assert await press(StepAction.PICK, "kind", "club") is StepOutcome.MOVED
    assert await press(StepAction.TICK, "areas", "sport") is StepOutcome.TICKED
    assert await press(StepAction.DONE, "areas") is StepOutcome.MOVED
    assert await press(StepAction.MUNICIPALITY, "place", "ogre-municipality") is StepOutcome.MOVED
    assert survey.question is None  # the review


async def test_submit_from_the_review_and_again_later(
    sessionmaker: SessionMaker, tmp_path: Path, municipalities: MunicipalityDirectory, member: int
) -> None:
    questionnaire = club(tmp_path)
    for attempt in range(2):
        survey = await started(sessionmaker, questionnaire, municipalities, member)
        if attempt == 0:
            await walk_to_review(sessionmaker, survey, municipalities)
        else:  # updating a submission starts at the review, its answers carried over
            assert survey.question is None and survey.draft.answers["kind"] == "club"
        async with sessionmaker() as session:
            result = await rules.press(
                session,
                survey=survey,
                action=StepAction.SUBMIT,
                question_id="",
                option_id="",
                municipalities=municipalities,
                today=TODAY,
                language="en",
                fallback_municipality=None,
            )
            await session.commit()
        assert result.outcome is StepOutcome.SUBMITTED and result.submission is not None
        assert result.submission.outcome is SubmitOutcome.SUBMITTED
        assert result.submission.replaced_earlier is (attempt == 1)
        submission = result.submission.submission
        assert submission is not None and submission.municipality == "ogre-municipality"
        assert submission.answers["areas"] == ["sport"]


async def test_declining_keeps_an_earlier_submission_and_says_so(
    sessionmaker: SessionMaker, tmp_path: Path, municipalities: MunicipalityDirectory, member: int
) -> None:
    questionnaire = club(tmp_path)
    async with sessionmaker() as session:
        declined = await rules.answer_consent(
            session,
            member_id=member,
            questionnaire=questionnaire,
            version=1,
            agree=False,
            municipalities=municipalities,
            today=TODAY,
        )
    assert (declined.outcome, declined.submission_kept) == (ConsentOutcome.DECLINED, False)
    survey = await started(sessionmaker, questionnaire, municipalities, member)
    await walk_to_review(sessionmaker, survey, municipalities)
    async with sessionmaker() as session:
        await rules.submit(session, survey=survey, language="en", fallback_municipality=None)
        await session.commit()
    async with sessionmaker() as session:
        opened = await rules.open_survey(
            session,
            member_id=member,
            questionnaire=questionnaire,
            municipalities=municipalities,
            today=TODAY,
        )
        assert opened.note is OpeningNote.SUBMITTED_BEFORE and opened.submitted_at is not None
        declined = await rules.answer_consent(
            session,
            member_id=member,
            questionnaire=questionnaire,
            version=1,
            agree=False,
            municipalities=municipalities,
            today=TODAY,
        )
    assert (declined.outcome, declined.submission_kept) == (ConsentOutcome.DECLINED, True)


async def test_a_new_version_asks_consent_again_and_an_old_consent_is_outdated(
    sessionmaker: SessionMaker, tmp_path: Path, municipalities: MunicipalityDirectory, member: int
) -> None:
    first = club(tmp_path)
    survey = await started(sessionmaker, first, municipalities, member)
    async with sessionmaker() as session:
        await rules.answer_text(
            session, survey=survey, text="Klubas", municipalities=municipalities, today=TODAY
        )
        await session.commit()
    second = club(tmp_path, version=2)
    # The file changed under the running conversation: its draft is of version 1.
    survey_on_v2 = OpenSurvey(second, survey.row, survey.draft)
    async with sessionmaker() as session:
        assert (
            await rules.answer_text(
                session, survey=survey_on_v2, text="x", municipalities=municipalities, today=TODAY
            )
        ).outcome is StepOutcome.REOPEN
        opened = await rules.open_survey(
            session,
            member_id=member,
            questionnaire=second,
            municipalities=municipalities,
            today=TODAY,
        )
        outdated = await rules.answer_consent(
            session,
            member_id=member,
            questionnaire=second,
            version=1,
            agree=True,
            municipalities=municipalities,
            today=TODAY,
        )
        await session.commit()
    assert (opened.opening, opened.note) == (Opening.ASK_CONSENT, OpeningNote.CHANGED)
    assert opened.survey is not None and opened.survey.draft.answers["name"] == "Klubas"
    assert not opened.survey.consented
    assert outdated.outcome is ConsentOutcome.OUTDATED


async def test_a_damaged_draft_is_replaced_after_telling_the_member(
    sessionmaker: SessionMaker, tmp_path: Path, municipalities: MunicipalityDirectory, member: int
) -> None:
    questionnaire = club(tmp_path)
    async with sessionmaker() as session:
        session.add(SurveyDraft(member_id=member, questionnaire_id="club", version=1, draft={}))
        await session.commit()
    async with sessionmaker() as session:
        opened = await rules.open_survey(
            session,
            member_id=member,
            questionnaire=questionnaire,
            municipalities=municipalities,
            today=TODAY,
        )
    assert (opened.opening, opened.note) == (Opening.ASK_CONSENT, OpeningNote.DAMAGED)
    survey = await started(sessionmaker, questionnaire, municipalities, member)
    assert survey.question is not None and survey.question.id == "name"
