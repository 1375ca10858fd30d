"""Members, groups, conversation state and migrations, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import storage.models
from bot.fsm import DatabaseStorage, bind_session
from storage import members
from storage.db import (
    SessionMaker,
    alembic_config,
    upgrade,
)


async def test_migrations_produce_the_models_schema(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}),
                SQLModel.metadata,
            )
        )
    assert differences == []


async def test_upgrade_twice_is_harmless(engine: AsyncEngine) -> None:
    await upgrade(engine)
    async with engine.connect() as connection:
        revision = (
            await connection.execute(text("SELECT version_num FROM alembic_version"))
        ).scalar()
    assert revision == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_member_created_once_and_updated_only_on_change(sessionmaker: SessionMaker) -> None:
    async with sessionmaker() as session:
        member = await members.sync_member(
            session, member_id=5_000_000_001, name="Ona", username=None, telegram_language="lt"
        )
        await session.commit()
        created = member.updated_at
    async with sessionmaker() as session:
        same = await members.sync_member(
            session, member_id=5_000_000_001, name="Ona", username=None, telegram_language="lt"
        )
        assert not session.dirty
        assert same.updated_at == created
        renamed = await members.sync_member(
            session, member_id=5_000_000_001, name="Ona K.", username="ona", telegram_language="lt"
        )
        assert renamed in session.dirty
        await session.commit()
    async with sessionmaker() as session:
        stored = await members.get_member(session, member_id=5_000_000_001)
        assert stored is not None
        assert (stored.name, stored.username) == ("Ona K.", "ona")
        assert stored.created_at.tzinfo is not None


async def test_unreachable_member_and_group(sessionmaker: SessionMaker) -> None:
    async with sessionmaker() as session:
        await members.sync_member(
            session, member_id=11, name="A", username=None, telegram_language=None
        )
        await members.sync_group(session, chat_id=-1001, title="G", type_="supergroup")
        await session.commit()
        await members.mark_unreachable(session, chat_id=11)
        await members.mark_unreachable(session, chat_id=-1001)
        await members.record_failed_delivery(session, chat_id=11, reason="x" * 2000)
        await session.commit()
    async with sessionmaker() as session:
        member = await members.get_member(session, member_id=11)
        group = await session.get(storage.models.GroupChat, -1001)
        assert member is not None and not member.reachable
        assert group is not None and not group.reachable
        # Writing again clears the flag: the member is reachable once more.
        again = await members.sync_member(
            session, member_id=11, name="A", username=None, telegram_language=None
        )
        assert again.reachable


async def test_conversation_state_round_trip(sessionmaker: SessionMaker) -> None:
    fsm = DatabaseStorage(sessionmaker)
    key = StorageKey(bot_id=1, chat_id=7, user_id=7)
    assert await fsm.get_state(key) is None
    assert await fsm.get_data(key) == {}
    await fsm.set_state(key, "Onboarding:municipality")
    await fsm.set_data(key, {"municipality": "trakai-district", "answers": {"q1": [1, 2]}})
    assert await fsm.get_state(key) == "Onboarding:municipality"
    assert await fsm.get_data(key) == {
        "municipality": "trakai-district",
        "answers": {"q1": [1, 2]},
    }
    # A new storage object (a restarted bot) sees the same conversation.
    restarted = DatabaseStorage(sessionmaker)
    assert await restarted.get_state(key) == "Onboarding:municipality"
    await restarted.set_state(key, None)
    await restarted.set_data(key, {})
    async with sessionmaker() as session:
        count = await session.execute(text("SELECT count(*) FROM conversation_state"))
        assert count.scalar() == 0


async def test_state_written_in_the_update_session_commits_with_it(
    sessionmaker: SessionMaker,
) -> None:
    fsm = DatabaseStorage(sessionmaker)
    key = StorageKey(bot_id=1, chat_id=8, user_id=8)
    async with sessionmaker() as session, bind_session(session):
        await fsm.set_state(key, "Survey:question")
        await session.rollback()  # the handler failed: the state change goes with it
    assert await fsm.get_state(key) is None
    async with sessionmaker() as session, bind_session(session):
        await fsm.set_state(key, "Survey:question")
        await session.commit()
    assert await fsm.get_state(key) == "Survey:question"


async def test_members_of_several_updates_in_one_read_and_one_insert(
    sessionmaker: SessionMaker,
) -> None:
    async with sessionmaker() as session:
        await members.sync_members(session, [members.Profile(1, "Ona", None, "lt")])
        await session.commit()
    profiles = [
        members.Profile(2, "Jonas", "jonas", "lv"),
        members.Profile(1, "Ona K.", None, "lt"),
        members.Profile(3, "Anna", None, None),
        members.Profile(2, "Jonas", "jonas", "lv"),
    ]
    async with sessionmaker() as session:
        loaded, created = await members.sync_members(session, profiles)
        await session.commit()
    assert [member.id for member in loaded] == [2, 1, 3, 2]
    assert created == {2, 3}
    assert loaded[0] is loaded[3]
    new = loaded[0]
    assert (new.name, new.username, new.telegram_language) == ("Jonas", "jonas", "lv")
    assert (new.role, new.reachable, new.help_open) == ("member", True, False)
    assert new.created_at.tzinfo is not None
    async with sessionmaker() as session:
        renamed = await members.get_member(session, member_id=1)
        assert renamed is not None and renamed.name == "Ona K."


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
async def test_a_member_another_process_just_created_is_read_not_created_twice(
    engine: AsyncEngine, sessionmaker: SessionMaker
) -> None:
    """Two processes sharing PostgreSQL: the member's row appears between our read and our
    insert (written here on the same connection, as the other process's would be seen)."""
    inserted: list[bool] = []

    def other_process_first(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("INSERT INTO member") and not inserted:
            inserted.append(True)
            conn.exec_driver_sql(
                "INSERT INTO member (id, name, role, reachable, help_open, created_at, updated_at)"
                " VALUES (9, 'Ona', 'member', true, false, now(), now())"
            )

    async with sessionmaker() as session:
        event.listen(engine.sync_engine, "before_cursor_execute", other_process_first)
        loaded, created = await members.sync_members(
            session, [members.Profile(9, "Ona", None, "lt"), members.Profile(10, "Ida", None, None)]
        )
        await session.commit()
    event.remove(engine.sync_engine, "before_cursor_execute", other_process_first)
    assert inserted
    assert [member.id for member in loaded] == [9, 10]
    assert created == {10}
    assert loaded[0].telegram_language == "lt"  # brought up to date after the read
