"""The real `civicbot run` with many members at once: killed with updates in flight, none lost."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from tests.e2e.conftest import BotProcess
from tests.e2e.fake_telegram import FakeTelegram, timeout

MEMBERS = 30


def members_at_language_step(env: dict[str, str]) -> int:
    path = Path(env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///"))
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT COUNT(*) FROM conversation_state WHERE state = 'Onboarding:language'"
        ).fetchone()
    return int(rows[0])


async def test_a_kill_with_updates_in_flight_loses_none(
    telegram: FakeTelegram, bot_process: BotProcess, bot_env: dict[str, str]
) -> None:
    people = [
        telegram.user(500 + number, f"P{number}", language_code="en") for number in range(MEMBERS)
    ]
    # Replies hang for a while: the updates stay in flight, as on a slow network.
    telegram.inject("sendMessage", timeout(3), times=None)
    for person in people:
        telegram.send_text(person, "/start")
    for _ in range(100):  # until several are being handled at once
        if len(telegram.calls("sendMessage")) >= 5:
            break
        await asyncio.sleep(0.1)
    assert len(telegram.calls("sendMessage")) >= 5
    assert await bot_process.kill() != 0
    assert telegram.pending_updates  # what was in flight was not confirmed

    telegram.clear_faults()
    await bot_process.start()
    for person in people:
        greeting = await telegram.wait_for(chat_id=person.id, timeout=60)
        assert greeting.message is not None and greeting.message.plain_text.startswith("Hello")
    for _ in range(100):
        if members_at_language_step(bot_env) == MEMBERS and not telegram.pending_updates:
            break
        await asyncio.sleep(0.1)
    assert members_at_language_step(bot_env) == MEMBERS
    assert telegram.pending_updates == []
    assert await bot_process.stop() == 0
    assert "Traceback" not in bot_process.output


async def test_an_unreadable_update_is_skipped_and_the_bot_goes_on(
    telegram: FakeTelegram, bot_process: BotProcess
) -> None:
    poison = telegram.queue_raw("message", {"message_id": 1, "poll": {"id": "p"}})
    ona = telegram.user(7, language_code="en")
    telegram.send_text(ona, "/help")
    reply = (await telegram.wait_for(chat_id=7, timeout=60)).message
    assert reply is not None and reply.plain_text.startswith("Here is what I can do:")
    assert await bot_process.stop() == 0
    assert bot_process.output.count(f"update {poison} cannot be read") == 1
    assert "Traceback" not in bot_process.output
