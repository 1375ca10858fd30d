"""Questionnaire drafts and submissions in the database: storage/surveys.py on SQLite."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete
from sqlmodel import col

from knowledge.questionnaire import Draft, Questionnaire, load_questionnaires, start_draft
from storage import members, surveys
from storage.db import SessionMaker
from storage.models import Member, SurveyDraft

ANSWERS: dict[str, Any] = {
    "org_name": "Klubas",
    "org_type": "community",
    "municipality": "trakai-district",
    "contact_person": "Ona",
    "contact_email": "ona@example.lt",
    "contact_phone": None,
    "public_email": None,
    "website": None,
    "areas": ["culture"],
    "members": 10,
    "volunteers": 2,
    "cooperates": False,
    "challenges": ["none"],
    "challenges_details": None,
    "needs": "Patalpų.",
    "training_interest": ["none"],
    "directory_consent": True,
}


@pytest.fixture
def questionnaire() -> Questionnaire:
    return load_questionnaires()["civic-organisations"]


async def _member(sessionmaker: SessionMaker, member_id: int) -> None:
    async with sessionmaker() as session:
        await members.sync_member(
            session, member_id=member_id, name="Ona", username=None, telegram_language="lt"
        )
        await session.commit()


async def _submit(
    sessionmaker: SessionMaker,
    questionnaire: Questionnaire,
    member_id: int,
    **changes: Any,
) -> None:
    async with sessionmaker() as session:
        draft = Draft(questionnaire.id, questionnaire.version, None, {**ANSWERS, **changes})
        row = await surveys.save_draft(session, member_id=member_id, draft=draft)
        await surveys.record_consent(
            session, row=row, version=surveys.consent_version(questionnaire)
        )
        await surveys.submit(session, row=row, questionnaire=questionnaire, language="lt")
        await session.commit()


async def test_draft_is_saved_once_per_member_and_questionnaire(
    sessionmaker: SessionMaker, questionnaire: Questionnaire
) -> None:
    await _member(sessionmaker, 1)
    async with sessionmaker() as session:
        row = await surveys.save_draft(session, member_id=1, draft=start_draft(questionnaire))
        await surveys.record_consent(session, row=row, version="civic-organisations@1")
        await session.commit()
    moved = Draft(questionnaire.id, 1, "org_type", {"org_name": "Klubas"})
    async with sessionmaker() as session:
        await surveys.save_draft(session, member_id=1, draft=moved)
        await session.commit()
    async with sessionmaker() as session:
        stored = await surveys.get_draft(session, member_id=1, questionnaire_id=questionnaire.id)
        latest = await surveys.latest_draft(session, member_id=1)
    assert stored is not None and latest is not None
    assert latest.questionnaire_id == stored.questionnaire_id
    assert surveys.draft_of(stored) == moved
    assert stored.consent_version == "civic-organisations@1"  # a later save keeps the consent


async def test_no_submission_without_consent_or_when_incomplete(
    sessionmaker: SessionMaker, questionnaire: Questionnaire
) -> None:
    await _member(sessionmaker, 1)
    async with sessionmaker() as session:
        complete = Draft(questionnaire.id, questionnaire.version, None, ANSWERS)
        row = await surveys.save_draft(session, member_id=1, draft=complete)
        with pytest.raises(ValueError, match="consent"):
            await surveys.submit(session, row=row, questionnaire=questionnaire, language="lt")
        incomplete = Draft(questionnaire.id, questionnaire.version, None, {"org_name": "K"})
        row = await surveys.save_draft(session, member_id=1, draft=incomplete)
        await surveys.record_consent(session, row=row, version="civic-organisations@1")
        with pytest.raises(ValueError, match="not complete"):
            await surveys.submit(session, row=row, questionnaire=questionnaire, language="lt")


async def test_a_new_submission_supersedes_the_old_one(
    sessionmaker: SessionMaker, questionnaire: Questionnaire
) -> None:
    await _member(sessionmaker, 1)
    await _submit(sessionmaker, questionnaire, 1, members=10)
    await _submit(sessionmaker, questionnaire, 1, members=12, municipality="ogre-municipality")
    async with sessionmaker() as session:
        old, new = await surveys.submission_history(
            session, member_id=1, questionnaire_id=questionnaire.id
        )
        current = await surveys.current_submission(
            session, member_id=1, questionnaire_id=questionnaire.id
        )
        draft = await surveys.get_draft(session, member_id=1, questionnaire_id=questionnaire.id)
    assert draft is None
    assert current is not None and current.id == new.id
    assert (old.answers["members"], new.answers["members"]) == (10, 12)
    assert old.superseded_at is not None and new.superseded_at is None
    assert (old.municipality, new.municipality) == ("trakai-district", "ogre-municipality")
    assert new.consent_version == surveys.consent_version(questionnaire)
    assert new.language == "lt"


async def test_counts_and_listing_by_municipality(
    sessionmaker: SessionMaker, questionnaire: Questionnaire
) -> None:
    for member_id in (1, 2, 3):
        await _member(sessionmaker, member_id)
    await _submit(sessionmaker, questionnaire, 1)
    await _submit(sessionmaker, questionnaire, 1, members=11)
    await _submit(sessionmaker, questionnaire, 2)
    await _submit(sessionmaker, questionnaire, 3, municipality="ogre-municipality")
    async with sessionmaker() as session:
        await surveys.save_draft(session, member_id=3, draft=start_draft(questionnaire))
        await session.commit()
        counts = await surveys.survey_counts(session, questionnaire_id=questionnaire.id)
        trakai = await surveys.current_submissions(
            session, questionnaire_ids=[questionnaire.id], municipality="trakai-district"
        )
        nothing = await surveys.current_submissions(session, questionnaire_ids=["other"])
    assert counts.submitted == 3 and counts.updated == 1 and counts.in_progress == 1
    assert counts.by_municipality == {"trakai-district": 2, "ogre-municipality": 1}
    assert [row.member_id for row in trakai] == [1, 2]
    assert trakai[0].answers["members"] == 11
    assert nothing == []
    exported = surveys.for_export(trakai[0])
    assert exported["municipality"] == "trakai-district" and exported["language"] == "lt"


async def test_forgetting_a_member_removes_their_drafts_and_submissions(
    sessionmaker: SessionMaker, questionnaire: Questionnaire
) -> None:
    await _member(sessionmaker, 1)
    await _submit(sessionmaker, questionnaire, 1)
    async with sessionmaker() as session:
        await surveys.save_draft(session, member_id=1, draft=start_draft(questionnaire))
        await session.commit()
        await session.execute(delete(Member).where(col(Member.id) == 1))
        await session.commit()
        history = await surveys.submission_history(
            session, member_id=1, questionnaire_id=questionnaire.id
        )
        draft = await surveys.get_draft(session, member_id=1, questionnaire_id=questionnaire.id)
    assert history == [] and draft is None


async def test_a_new_draft_starts_empty_or_from_the_submission_in_force(
    sessionmaker: SessionMaker, questionnaire: Questionnaire
) -> None:
    await _member(sessionmaker, 1)
    async with sessionmaker() as session:
        fresh = await surveys.new_draft(session, member_id=1, questionnaire=questionnaire)
    assert fresh == start_draft(questionnaire)

    await _submit(sessionmaker, questionnaire, 1, members=10)
    await _submit(sessionmaker, questionnaire, 1, members=12)
    async with sessionmaker() as session:
        update = await surveys.new_draft(session, member_id=1, questionnaire=questionnaire)
        other = await surveys.new_draft(session, member_id=2, questionnaire=questionnaire)
        stored = await surveys.get_draft(session, member_id=1, questionnaire_id=questionnaire.id)
    assert update.current is None and not update.editing  # at the review
    assert update.answers["members"] == 12  # the submission in force, not the superseded one
    assert update.answers["org_name"] == ANSWERS["org_name"]
    assert other == start_draft(questionnaire)
    assert stored is None  # only made, not stored


def test_a_draft_row_that_no_longer_loads_reads_as_none(questionnaire: Questionnaire) -> None:
    fresh = start_draft(questionnaire)
    row = SurveyDraft(member_id=1, questionnaire_id=questionnaire.id, version=1, draft={})
    row.draft = fresh.to_dict()
    assert surveys.readable_draft(row) == fresh
    row.draft = {"questionnaire_id": questionnaire.id, "version": "one"}
    assert surveys.readable_draft(row) is None
