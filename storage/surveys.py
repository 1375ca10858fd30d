"""Reading and writing questionnaire drafts and submissions.

A member has at most one draft per questionnaire: the engine's `Draft` as JSON, written after
every answer, together with the consent given before the first question. Submitting turns the
draft into a `SurveySubmission`; a later submission of the same questionnaire supersedes the
earlier one, which is kept (with `superseded_at` set) as history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from knowledge.export import Submission
from knowledge.questionnaire import (
    AnswerValue,
    Draft,
    Kind,
    MunicipalityIds,
    Questionnaire,
    final_answers,
    resubmission_draft,
    start_draft,
)
from storage.models import SurveyDraft, SurveySubmission
from storage.types import utcnow


def consent_version(questionnaire: Questionnaire) -> str:
    """The version of the consent text a member agrees to: the questionnaire id and version."""
    return f"{questionnaire.id}@{questionnaire.version}"


def draft_of(row: SurveyDraft) -> Draft:
    """The engine's draft stored in ROW."""
    return Draft.from_dict(row.draft)


def readable_draft(row: SurveyDraft) -> Draft | None:
    """The engine's draft stored in ROW, or None if it no longer loads (a damaged row)."""
    try:
        return draft_of(row)
    except ValueError:
        return None


async def get_draft(
    session: AsyncSession, *, member_id: int, questionnaire_id: str
) -> SurveyDraft | None:
    """The member's draft of the questionnaire, if there is one."""
    return await session.get(SurveyDraft, (member_id, questionnaire_id))


async def latest_draft(session: AsyncSession, *, member_id: int) -> SurveyDraft | None:
    """The member's most recently changed draft of any questionnaire."""
    result = await session.execute(
        select(SurveyDraft)
        .where(col(SurveyDraft.member_id) == member_id)
        .order_by(col(SurveyDraft.updated_at).desc())
        .limit(1)
    )
    return result.scalars().first()


async def save_draft(session: AsyncSession, *, member_id: int, draft: Draft) -> SurveyDraft:
    """Store DRAFT as the member's progress (created on first save; its consent is kept).

    Written with the session's other changes (at its commit, or at its next query).
    """
    row = await get_draft(session, member_id=member_id, questionnaire_id=draft.questionnaire_id)
    now = utcnow()
    if row is None:
        row = SurveyDraft(
            member_id=member_id,
            questionnaire_id=draft.questionnaire_id,
            version=draft.version,
            draft=draft.to_dict(),
            created_at=now,
            updated_at=now,
        )
    else:
        row.version, row.draft, row.updated_at = draft.version, draft.to_dict(), now
    session.add(row)
    return row


async def record_consent(
    session: AsyncSession, *, row: SurveyDraft, version: str | None, at: datetime | None = None
) -> None:
    """Record on the draft that the member agreed to consent text VERSION (None: withdrawn)."""
    row.consent_version = version
    row.consent_at = (at or utcnow()) if version is not None else None
    row.updated_at = utcnow()
    session.add(row)


async def delete_draft(session: AsyncSession, *, member_id: int, questionnaire_id: str) -> None:
    """Forget the member's draft of the questionnaire."""
    await session.execute(
        delete(SurveyDraft).where(
            col(SurveyDraft.member_id) == member_id,
            col(SurveyDraft.questionnaire_id) == questionnaire_id,
        )
    )


def municipality_answer(
    questionnaire: Questionnaire, answers: dict[str, AnswerValue]
) -> str | None:
    """The answer to the questionnaire's first municipality question, if it was given."""
    for question in questionnaire.questions:
        value = answers.get(question.id)
        if question.kind is Kind.MUNICIPALITY and isinstance(value, str):
            return value
    return None


async def submit(
    session: AsyncSession,
    *,
    row: SurveyDraft,
    questionnaire: Questionnaire,
    language: str,
    fallback_municipality: str | None = None,
) -> SurveySubmission:
    """Turn the draft in ROW into a submission, superseding the member's earlier one.

    The consent recorded on the draft goes with the submission; ValueError if there is none or
    the draft is incomplete. The municipality is the answer to the first municipality question,
    else FALLBACK_MUNICIPALITY (the member's profile).
    """
    if row.consent_at is None or row.consent_version is None:
        raise ValueError("a questionnaire cannot be submitted without consent")
    answers = final_answers(questionnaire, draft_of(row))
    now = utcnow()
    await session.execute(
        update(SurveySubmission)
        .where(
            col(SurveySubmission.member_id) == row.member_id,
            col(SurveySubmission.questionnaire_id) == questionnaire.id,
            col(SurveySubmission.superseded_at).is_(None),
        )
        .values(superseded_at=now)
    )
    submission = SurveySubmission(
        member_id=row.member_id,
        questionnaire_id=questionnaire.id,
        version=questionnaire.version,
        language=language,
        municipality=municipality_answer(questionnaire, answers) or fallback_municipality,
        answers={key: list(v) if isinstance(v, list) else v for key, v in answers.items()},
        consent_at=row.consent_at,
        consent_version=row.consent_version,
        submitted_at=now,
    )
    session.add(submission)
    await session.delete(row)
    await session.flush()
    return submission


async def current_submission(
    session: AsyncSession, *, member_id: int, questionnaire_id: str
) -> SurveySubmission | None:
    """The member's latest, not superseded submission of the questionnaire."""
    result = await session.execute(
        select(SurveySubmission).where(
            col(SurveySubmission.member_id) == member_id,
            col(SurveySubmission.questionnaire_id) == questionnaire_id,
            col(SurveySubmission.superseded_at).is_(None),
        )
    )
    return result.scalars().first()


async def new_draft(
    session: AsyncSession,
    *,
    member_id: int,
    questionnaire: Questionnaire,
    municipalities: MunicipalityIds | None = None,
    today: date | None = None,
) -> Draft:
    """A member's new draft: their submission in force to update, at the review, else empty.

    Not stored: `save_draft` it. An earlier version's answers are carried over to the current
    version, judged with MUNICIPALITIES and TODAY (see `knowledge.questionnaire.migrate_draft`).
    """
    previous = await current_submission(
        session, member_id=member_id, questionnaire_id=questionnaire.id
    )
    if previous is None:
        return start_draft(questionnaire)
    return resubmission_draft(
        questionnaire,
        previous.answers,
        previous.version,
        municipalities=municipalities,
        today=today,
    )


async def submission_history(
    session: AsyncSession, *, member_id: int, questionnaire_id: str
) -> list[SurveySubmission]:
    """Every submission of the questionnaire by the member, oldest first."""
    result = await session.execute(
        select(SurveySubmission)
        .where(
            col(SurveySubmission.member_id) == member_id,
            col(SurveySubmission.questionnaire_id) == questionnaire_id,
        )
        .order_by(col(SurveySubmission.submitted_at), col(SurveySubmission.id))
    )
    return list(result.scalars())


async def current_submissions(
    session: AsyncSession,
    *,
    questionnaire_ids: Sequence[str],
    municipality: str | None = None,
) -> list[SurveySubmission]:
    """Submissions in force (not superseded), oldest first, optionally of one municipality."""
    query = select(SurveySubmission).where(
        col(SurveySubmission.questionnaire_id).in_(questionnaire_ids),
        col(SurveySubmission.superseded_at).is_(None),
    )
    if municipality is not None:
        query = query.where(col(SurveySubmission.municipality) == municipality)
    query = query.order_by(col(SurveySubmission.submitted_at), col(SurveySubmission.id))
    return list((await session.execute(query)).scalars())


def for_export(submission: SurveySubmission) -> Submission:
    """A submission in the shape knowledge.export takes."""
    return Submission(
        submitted_at=submission.submitted_at,
        language=submission.language,
        municipality=submission.municipality,
        answers=submission.answers,
    )


@dataclass(frozen=True)
class SurveyCounts:
    """How many submissions a questionnaire has, per municipality, and how many drafts."""

    questionnaire_id: str
    submitted: int
    updated: int
    in_progress: int
    by_municipality: dict[str | None, int]


async def survey_counts(session: AsyncSession, *, questionnaire_id: str) -> SurveyCounts:
    """Submissions in force by municipality, superseded ones, and drafts of the questionnaire."""
    in_force = col(SurveySubmission.superseded_at).is_(None)
    of_questionnaire = col(SurveySubmission.questionnaire_id) == questionnaire_id
    result = await session.execute(
        select(col(SurveySubmission.municipality), func.count())
        .where(of_questionnaire, in_force)
        .group_by(col(SurveySubmission.municipality))
    )
    by_municipality: dict[str | None, int] = {
        municipality: count for municipality, count in result.all()
    }
    updated = await session.scalar(
        select(func.count(func.distinct(col(SurveySubmission.member_id)))).where(
            of_questionnaire,
            col(SurveySubmission.superseded_at).is_not(None),
        )
    )
    in_progress = await session.scalar(
        select(func.count())
        .select_from(SurveyDraft)
        .where(col(SurveyDraft.questionnaire_id) == questionnaire_id)
    )
    return SurveyCounts(
        questionnaire_id=questionnaire_id,
        submitted=sum(by_municipality.values()),
        updated=int(updated or 0),
        in_progress=int(in_progress or 0),
        by_municipality=by_municipality,
    )


async def latest_answers(session: AsyncSession, *, member_id: int) -> dict[str, Any]:
    """The answers of the member's latest submission in force, of any questionnaire ({} if
    none)."""
    result = await session.execute(
        select(SurveySubmission)
        .where(
            col(SurveySubmission.member_id) == member_id,
            col(SurveySubmission.superseded_at).is_(None),
        )
        .order_by(col(SurveySubmission.submitted_at).desc())
        .limit(1)
    )
    submission = result.scalars().first()
    return dict(submission.answers) if submission else {}
