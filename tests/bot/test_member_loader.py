"""Members of the updates handled at the same time are loaded together (see MemberLoader)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.middlewares import MemberLoader
from storage import members
from storage.conversations import store_conversation
from storage.db import SessionMaker
from storage.models import Member


@pytest.fixture
def statements(sessionmaker: SessionMaker) -> Iterator[list[str]]:
    """The first word of every SQL statement run from now on."""
    seen: list[str] = []
    engine = sessionmaker.kw["bind"]
    assert isinstance(engine, AsyncEngine)

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split()[0])

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine.sync_engine, "before_cursor_execute", note)


def profile(member_id: int, name: str = "Ona") -> members.Profile:
    return members.Profile(member_id, name, None, "lt")


async def test_members_writing_at_once_cost_one_transaction(
    sessionmaker: SessionMaker, statements: list[str]
) -> None:
    async with sessionmaker() as session:
        await members.sync_members(session, [profile(1, "Ona")])
        await store_conversation(session, key="1:1:1:default", conversation=("S:step", {"a": 1}))
        await session.commit()
    statements.clear()
    loader = MemberLoader(sessionmaker)
    people = [profile(1, "Ona K."), *(profile(member_id) for member_id in range(2, 22))]
    loaded = await asyncio.gather(
        *(
            loader.load(person, f"1:{person.member_id}:{person.member_id}:default")
            for person in people
        )
    )
    assert [member.id for member, _ in loaded] == list(range(1, 22))
    assert loaded[0][0].name == "Ona K."  # the changed name written too
    row = loaded[0][1]
    assert row is not None and (row.state, row.data) == ("S:step", {"a": 1})
    assert all(row is None for _, row in loaded[1:])
    # One read of the members, one insert of the twenty new ones, one update, one read of the
    # conversations (of the one member who existed before): for everyone.
    assert statements.count("INSERT") == 1 and statements.count("UPDATE") == 1
    assert statements.count("SELECT") == 2
    async with sessionmaker() as session:
        stored = await members.get_member(session, member_id=1)
        assert stored is not None and stored.name == "Ona K."
        assert await members.get_member(session, member_id=21) is not None


async def test_a_failed_load_reaches_everyone_waiting_and_the_next_one_works(
    sessionmaker: SessionMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    loader = MemberLoader(sessionmaker)
    original = members.sync_members

    async def broken(*_args: Any) -> tuple[list[Member], set[int]]:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(members, "sync_members", broken)
    results = await asyncio.gather(
        *(loader.load(profile(member_id), None) for member_id in (1, 2, 3)),
        return_exceptions=True,
    )
    assert [str(result) for result in results] == ["the database went away"] * 3
    monkeypatch.setattr(members, "sync_members", original)
    member, row = await loader.load(profile(4), None)
    assert member.id == 4 and row is None


async def test_an_update_cancelled_while_waiting_leaves_the_others_their_members(
    sessionmaker: SessionMaker,
) -> None:
    loader = MemberLoader(sessionmaker)
    first = asyncio.create_task(loader.load(profile(1), None))
    second = asyncio.create_task(loader.load(profile(2), None))
    await asyncio.sleep(0)  # both are waiting, the load has begun
    first.cancel()
    member, _ = await second
    assert member.id == 2
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_newcomers_cost_a_read_and_an_insert_and_no_look_for_conversations(
    sessionmaker: SessionMaker, statements: list[str]
) -> None:
    loader = MemberLoader(sessionmaker)
    loaded = await asyncio.gather(
        *(
            loader.load(profile(member_id), f"1:{member_id}:{member_id}:default")
            for member_id in (31, 32, 33)
        )
    )
    assert [(member.id, row) for member, row in loaded] == [(31, None), (32, None), (33, None)]
    assert statements == ["SELECT", "INSERT"]


async def test_the_load_runs_in_a_context_of_its_own(
    sessionmaker: SessionMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first waiter's context (its update's database session, for one) stays its own."""
    update_of = contextvars.ContextVar("update_of", default="nobody")
    seen: list[str] = []
    original = members.sync_members

    async def noting(*args: Any) -> tuple[list[Member], set[int]]:
        seen.append(update_of.get())
        return await original(*args)

    monkeypatch.setattr(members, "sync_members", noting)
    update_of.set("first update")
    member, _ = await MemberLoader(sessionmaker).load(profile(41), None)
    assert member.id == 41 and seen == ["nobody"]
