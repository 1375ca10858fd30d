"""Members' data in the database: /mydata finds it in every table, /forget leaves nothing but
anonymised help requests, retention deletes and anonymises on time (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import SQLModel, col

from storage import outbox, privacy
from storage.db import create_sessionmaker
from storage.models import (
    Announcement,
    Consent,
    ConversationState,
    FailedDelivery,
    FundingCall,
    HandledUpdate,
    HelpRequest,
    Member,
    OutboxMessage,
    RequestMessage,
    Subscription,
    SurveyDraft,
    SurveySubmission,
)
from tests.support import TEST_NOW

ONA, JONAS, COORDINATOR, DESK = 7, 8, 42, -1007770001
# Column names that say whose a row is.
WHOSE = {"member_id", "chat_id", "created_by", "handler_id", "user_id"}


def test_every_table_is_known_to_be_personal_or_not() -> None:
    tables = set(SQLModel.metadata.tables)
    assert tables - set(privacy.PERSONAL) - privacy.IMPERSONAL == set()
    for name, table in SQLModel.metadata.tables.items():
        named = {c.name for c in table.columns if c.name in WHOSE or c.name.endswith("_chat_id")}
        if name in privacy.PERSONAL:
            assert named <= set(privacy.PERSONAL[name]), name
        else:
            assert not named, f"{name} has {named}: is it personal?"


async def seed_everything(session: AsyncSession, member_id: int) -> None:
    """A row about MEMBER_ID in every personal table."""
    session.add(
        Member(id=member_id, name="Ona", municipality="trakai-district", consent_at=TEST_NOW)
    )
    await session.flush()
    session.add(
        HelpRequest(
            id=member_id,
            member_id=member_id,
            kind="legal",
            urgency="urgent",
            description="Pagalbos!",
            language="lt",
            show_username=True,
            attachments=[5],
        )
    )
    await session.flush()
    session.add_all(rows_about(member_id))
    await session.commit()


def rows_about(member_id: int) -> list[object]:
    moment = TEST_NOW
    return [
        Consent(member_id=member_id, purpose="help-request", version="1", given_at=moment),
        SurveyDraft(member_id=member_id, questionnaire_id="q", version=1, draft={"a": 1}),
        SurveySubmission(
            member_id=member_id,
            questionnaire_id="q",
            version=1,
            language="lt",
            answers={"org_name": "Ąžuolas"},
            consent_at=moment,
            consent_version="q@1",
        ),
        Subscription(chat_id=member_id, target="all", created_at=moment),
        OutboxMessage(
            key=f"k:{member_id}",
            purpose="reminder",
            chat_id=member_id,
            subject="call",
            payload={},
            due_at=moment,
        ),
        FailedDelivery(chat_id=member_id, reason="blocked"),
        ConversationState(key=f"fsm:123:{member_id}:{member_id}:default", state="x", data={}),
        RequestMessage(request_id=member_id, chat_id=member_id, message_id=1),
        RequestMessage(
            request_id=member_id,
            chat_id=DESK,
            message_id=member_id * 10,
            source_chat_id=member_id,
            source_message_id=1,
        ),
        FundingCall(
            id=f"call-{member_id}",
            title="t",
            programme="p",
            funder="f",
            who_may_apply="w",
            opens=moment,
            closes=moment,
            timezone="Europe/Vilnius",
            contact="c",
            language="lt",
            created_by=member_id,
        ),
        Announcement(created_by=member_id, report_chat_id=member_id, send_at=moment),
    ]


async def test_mydata_finds_the_member_in_every_personal_table(engine: AsyncEngine) -> None:
    async with create_sessionmaker(engine)() as session:
        await seed_everything(session, ONA)
        await seed_everything(session, JONAS)
        found = await privacy.collect(session, ONA)
    assert set(found) == set(privacy.PERSONAL)
    assert all(
        ONA in {row.get(column) for row in rows for column in privacy.PERSONAL[name]}
        or name == "conversation_state"
        for name, rows in found.items()
    )
    assert found["member"][0]["municipality"] == "trakai-district"
    assert found["survey_submission"][0]["answers"] == {"org_name": "Ąžuolas"}
    # Nothing of Jonas.
    assert not any(
        JONAS in {row.get(column) for column in privacy.PERSONAL[name]}
        for name, rows in found.items()
        for row in rows
    )


async def test_forget_leaves_only_the_anonymised_thread(engine: AsyncEngine) -> None:
    maker = create_sessionmaker(engine)
    async with maker() as session:
        await seed_everything(session, ONA)
        await seed_everything(session, JONAS)
        forgotten = await privacy.forget(session, ONA)
        await session.commit()
    assert forgotten.anonymised_requests == 1 and forgotten.deleted["member"] == 1
    async with maker() as session:
        assert await privacy.collect(session, ONA) == {}
        request = await session.get(HelpRequest, ONA)
        assert request is not None and request.member_id is None
        assert request.description == "Pagalbos!"  # the coordinators keep the history
        assert request.show_username is False and request.attachments == []
        copies = (
            await session.execute(
                select(RequestMessage).where(col(RequestMessage.request_id) == ONA)
            )
        ).scalars()
        assert [(m.chat_id, m.source_chat_id) for m in copies] == [(DESK, None)]
        # Jonas keeps everything.
        assert set(await privacy.collect(session, JONAS)) == set(privacy.PERSONAL)


async def test_retention_warns_once_deletes_drafts_and_anonymises_old_requests(
    engine: AsyncEngine,
) -> None:
    maker = create_sessionmaker(engine)
    rules = privacy.Retention(draft_days=180, request_days=365)
    now = TEST_NOW
    async with maker() as session:
        session.add_all([Member(id=ONA, name="Ona"), Member(id=JONAS, name="Jonas")])
        await session.flush()
        session.add_all(
            [
                SurveyDraft(
                    member_id=ONA,
                    questionnaire_id="old",
                    version=1,
                    updated_at=now - timedelta(days=181),
                ),
                SurveyDraft(
                    member_id=ONA,
                    questionnaire_id="soon",
                    version=1,
                    updated_at=now - timedelta(days=175),
                ),
                SurveyDraft(
                    member_id=JONAS,
                    questionnaire_id="fresh",
                    version=1,
                    updated_at=now - timedelta(days=10),
                ),
                HelpRequest(
                    member_id=ONA,
                    kind="legal",
                    urgency="later",
                    description="old",
                    language="lt",
                    status="closed",
                    closed_at=now - timedelta(days=366),
                ),
                HelpRequest(
                    member_id=ONA,
                    kind="legal",
                    urgency="later",
                    description="open",
                    language="lt",
                    status="taken",
                ),
                HandledUpdate(update_id=1, handled_at=now - timedelta(days=31)),
                HandledUpdate(update_id=2, handled_at=now - timedelta(days=1)),
                FailedDelivery(chat_id=ONA, reason="x", created_at=now - timedelta(days=40)),
            ]
        )
        await session.commit()
        swept = await privacy.sweep(session, now=now, rules=rules)
        await session.commit()
        again = await privacy.sweep(session, now=now + timedelta(hours=24), rules=rules)
        await session.commit()
    assert swept == privacy.Swept(
        drafts_deleted=1, drafts_warned=1, requests_anonymised=1, bookkeeping_deleted=2
    )
    assert again.drafts_warned == 0  # told once
    async with maker() as session:
        drafts = (await session.execute(select(col(SurveyDraft.questionnaire_id)))).scalars()
        assert sorted(drafts) == ["fresh", "soon"]
        warnings = await outbox.counts(session, purposes=[privacy.WARNING_PURPOSE])
        assert warnings["pending"] == 1
        owners = (
            await session.execute(select(col(HelpRequest.description), col(HelpRequest.member_id)))
        ).all()
        assert sorted(owners) == [("old", None), ("open", ONA)]
        left = await session.scalar(select(func.count()).select_from(HandledUpdate))
        assert left == 1
