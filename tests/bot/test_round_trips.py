"""What one update costs the database when nothing is kept in memory (several processes, as on
PostgreSQL): nothing read twice, nothing written that did not change, two queries per question
(the member, their conversation), shared with whoever writes at the same time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.types import Chat
from sqlalchemy import event

from bot.app import App, create_dispatcher
from bot.local_session import LocalSession
from tests.support import Chatter, make_user


@pytest.fixture
def statements(app: App) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs, from now on."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(app.engine.sync_engine, "before_cursor_execute", note)
    yield seen
    event.remove(app.engine.sync_engine, "before_cursor_execute", note)


@pytest.fixture
def uncached(app: App, bot: Bot, local_session: LocalSession) -> Chatter:
    """A member talking to a dispatcher that keeps nothing in memory between updates."""
    dispatcher = create_dispatcher(
        app.settings,
        sessionmaker=app.sessionmaker,
        translations=app.translations,
        municipalities=app.municipalities,
        knowledge=app.knowledge,
        questionnaires=app.questionnaires,
        sender=app.sender,
        reminders=app.reminders,
        helpdesk=app.helpdesk,
        broadcaster=app.broadcaster,
        cache=False,
        clock=app.dispatcher["clock"],
    )
    user = make_user(7, "en")
    return Chatter(dispatcher, bot, local_session, user, Chat(id=7, type="private"))


def writes(statements: list[str]) -> list[str]:
    return [s for s in statements if s.split()[0] in {"INSERT", "UPDATE", "DELETE"}]


def reads(statements: list[str]) -> list[str]:
    return [s for s in statements if s.startswith("SELECT")]


async def test_a_known_member_asking_costs_two_queries_and_no_write(
    uncached: Chatter, statements: list[str]
) -> None:
    [first] = await uncached.send("What is the community pilot?")
    assert first.text
    assert writes(statements) and "INSERT INTO member" in " ".join(writes(statements))
    statements.clear()
    [again] = await uncached.send("Kas yra LPA?")
    assert again.text
    # The member, then their conversation state; nothing written.
    members, conversations = reads(statements)
    assert "FROM member" in members and "FROM conversation_state" in conversations
    assert writes(statements) == []


async def test_a_conversation_step_reads_its_state_once_and_writes_once(
    uncached: Chatter, statements: list[str]
) -> None:
    [offer] = await uncached.send("/start")
    statements.clear()
    await uncached.press(offer, "English")
    assert len(reads(statements)) == 2  # member and state, the state not again
    # The chosen language and the next step, each written once (updates not deduplicated here).
    changed = sorted(" ".join(s.split()[:2]) for s in writes(statements))
    assert changed == ["UPDATE conversation_state", "UPDATE member"]
