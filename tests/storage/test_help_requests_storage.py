"""Help requests' state changes on SQLite and PostgreSQL: a take race has one winner, close,
release, reopen within 14 days only, the member's open flag."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from storage import help_requests
from storage.db import SessionMaker
from storage.models import HelpRequest, Member

NOW = datetime(2027, 5, 3, 10, 0, tzinfo=UTC)


async def new_request(sessionmaker: SessionMaker) -> int:
    async with sessionmaker() as session:
        session.add(Member(id=7, name="Ona"))
        await session.flush()
        request = await help_requests.create(
            session,
            now=NOW,
            member_id=7,
            kind="legal",
            urgency="urgent",
            description="Savivaldybė grasina bauda.",
            language="lt",
        )
        await session.commit()
        assert request.id is not None
        return request.id


async def read(sessionmaker: SessionMaker, number: int) -> HelpRequest:
    async with sessionmaker() as session:
        request = await help_requests.get(session, number)
        assert request is not None
        return request


async def test_of_two_coordinators_taking_at_once_exactly_one_wins(
    sessionmaker: SessionMaker,
) -> None:
    number = await new_request(sessionmaker)
    start = asyncio.Event()

    async def take(coordinator: int, name: str) -> bool:
        async with sessionmaker() as session:
            await start.wait()
            won = await help_requests.take(
                session, request_id=number, coordinator_id=coordinator, name=name, now=NOW
            )
            await session.commit()
            return won

    tasks = [asyncio.create_task(take(42, "Rasa")), asyncio.create_task(take(43, "Tomas"))]
    await asyncio.sleep(0)
    start.set()
    results = await asyncio.gather(*tasks)
    assert sorted(results) == [False, True]
    request = await read(sessionmaker, number)
    winner = ("Rasa", 42) if results[0] else ("Tomas", 43)
    assert (request.status, request.handler_name, request.handler_id) == ("taken", *winner)


async def test_release_close_and_reopen_within_fourteen_days(sessionmaker: SessionMaker) -> None:
    number = await new_request(sessionmaker)
    async with sessionmaker() as session:
        assert (await session.get(Member, 7)).help_open  # type: ignore[union-attr]
        assert not await help_requests.release(session, request_id=number, now=NOW)
        assert await help_requests.take(
            session, request_id=number, coordinator_id=42, name="Rasa", now=NOW
        )
        assert await help_requests.release(session, request_id=number, now=NOW)
        assert await help_requests.take(
            session, request_id=number, coordinator_id=43, name="Tomas", now=NOW
        )
        assert await help_requests.close(session, request_id=number, outcome="Padėta.", now=NOW)
        assert not await help_requests.close(session, request_id=number, outcome="x", now=NOW)
        await session.commit()
    request = await read(sessionmaker, number)
    assert (request.status, request.outcome, request.handler_name) == ("closed", "Padėta.", "Tomas")
    async with sessionmaker() as session:
        member = await session.get(Member, 7, populate_existing=True)
        assert member is not None and not member.help_open
        # Too late: fifteen days after closing.
        late = NOW + timedelta(days=15)
        assert not await help_requests.reopen(session, request_id=number, now=late)
        # In time: it is open again, with its coordinator.
        assert await help_requests.reopen(session, request_id=number, now=NOW + timedelta(days=13))
        await session.commit()
    request = await read(sessionmaker, number)
    assert (request.status, request.handler_name, request.outcome) == ("taken", "Tomas", None)
    async with sessionmaker() as session:
        member = await session.get(Member, 7, populate_existing=True)
        assert member is not None and member.help_open


async def test_messages_of_a_request_are_found_from_either_side(sessionmaker: SessionMaker) -> None:
    number = await new_request(sessionmaker)
    async with sessionmaker() as session:
        await help_requests.remember_message(
            session, request_id=number, chat_id=-100, message_id=5, source=(7, 12)
        )
        await help_requests.remember_message(
            session, request_id=number, chat_id=-100, message_id=5, source=(7, 12)
        )
        await session.commit()
    async with sessionmaker() as session:
        found = await help_requests.message(session, chat_id=-100, message_id=5)
        assert found is not None and found.request_id == number
        copies = await help_requests.copies_of(session, chat_id=7, message_id=12)
        assert [(copy.chat_id, copy.message_id) for copy in copies] == [(-100, 5)]
        assert not help_requests.is_number(2**40) and help_requests.is_number(number)
