"""Deadline reminders with the real `civicbot run` process: subscribed by buttons, each sent
once, none lost over a SIGKILL, nothing after the deadline, a blocked member left alone.

The pack lives in KNOWLEDGE_DIR and its calls are minutes away; REMINDER_OFFSETS=2m,1m.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import BotProcess, data
from tests.e2e.fake_telegram import ApiRequest, FakeTelegram, SentMessage, forbidden

VILNIUS = ZoneInfo("Europe/Vilnius")


def write_pack(folder: Path, calls: list[tuple[str, str, datetime, datetime]]) -> None:
    """A knowledge pack of one file holding CALLS: (id, English title, opens, closes)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "source:",
        '  title: "Test calls"',
        '  seed: "test.txt"',
        "verified: 2026-11-22",
        "entries: []",
        "calls:",
    ]
    for call_id, title, opens, closes in calls:

        def local(moment: datetime) -> str:
            return moment.astimezone(VILNIUS).strftime("%Y-%m-%dT%H:%M:%S")

        lines += [
            f"  - id: {call_id}",
            f'    title: {{lt: "{title} LT", lv: "{title} LV", en: "{title}"}}',
            '    programme: {lt: "Programa", lv: "Programma", en: "Programme"}',
            '    funder: {lt: "Fondas", lv: "Fonds", en: "Fund"}',
            f"    opens: {local(opens)}",
            f"    closes: {local(closes)}",
            "    timezone: Europe/Vilnius",
            '    who_may_apply: {lt: "Visi", lv: "Visi", en: "Everyone"}',
            "    municipalities: []",
            '    contact: "info@example.org"',
            '    link: "https://example.org/call"',
            f'    questions: {{lt: ["Kada baigiasi {title}?"], lv: ["Kad beidzas {title}?"], '
            f'en: ["When does {title} close?"]}}',
        ]
    (folder / "calls.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def database(env: dict[str, str]) -> sqlite3.Connection:
    connection = sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///"))
    connection.row_factory = sqlite3.Row
    return connection


def sent_text(request: ApiRequest) -> str:
    return str(request.params.get("text") or "")


def containing(marker: str) -> Callable[[ApiRequest], bool]:
    """A wait_for predicate: a message whose text contains MARKER."""
    return lambda request: marker in sent_text(request)


def reminders_to(telegram: FakeTelegram, chat_id: int, marker: str) -> list[ApiRequest]:
    """The reminder messages delivered to CHAT_ID (text containing MARKER)."""
    return [
        request
        for request in telegram.calls("sendMessage")
        if str(request.chat_id) == str(chat_id)
        and request.status == 200
        and marker in sent_text(request)
    ]


async def message_to(telegram: FakeTelegram, chat_id: int, contains: str) -> SentMessage:
    request = await telegram.wait_for(
        chat_id=chat_id, predicate=lambda r: contains in sent_text(r), timeout=20
    )
    assert request.message is not None
    return request.message


async def until_sent(env: dict[str, str], count: int, timeout: float = 20) -> None:
    """Wait until COUNT outbox rows are recorded as sent."""
    deadline = time.monotonic() + timeout
    while True:
        with database(env) as connection:
            sent = connection.execute("SELECT count(*) FROM outbox WHERE status = 'sent'")
            if sent.fetchone()[0] >= count:
                return
        assert time.monotonic() < deadline, f"fewer than {count} outbox rows sent"
        await asyncio.sleep(0.1)


async def sleep_until(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.time()))


@pytest.fixture
def soon(tmp_path: Path, bot_env: dict[str, str]) -> tuple[datetime, datetime]:
    """A pack with a call closing in 150 s and one opening in 45 s; the bot's settings."""
    start = datetime.now(UTC).replace(microsecond=0)
    closes = start + timedelta(seconds=150)
    opening = start + timedelta(seconds=45)
    write_pack(
        tmp_path / "pack",
        [
            ("quick-call", "Quick call", start - timedelta(days=1), closes),
            ("next-call", "Next call", opening, start + timedelta(days=10)),
        ],
    )
    bot_env |= {"KNOWLEDGE_DIR": str(tmp_path / "pack"), "REMINDER_OFFSETS": "2m,1m"}
    return closes, opening


async def test_each_reminder_once_across_a_kill_and_none_after_the_deadline(
    telegram: FakeTelegram,
    bot_env: dict[str, str],
    tmp_path: Path,
    soon: tuple[datetime, datetime],
) -> None:
    closes, opening = soon
    process = BotProcess(bot_env, tmp_path, telegram)
    await process.start()
    try:
        ona = telegram.user(7, "Ona", language_code="lt")
        john = telegram.user(8, "John", language_code="en")
        rasa = telegram.user(50, "Rasa", language_code="lt")
        jonas = telegram.user(51, "Jonas", language_code="lt")
        group = telegram.group(-1001, "Kaimynai")
        telegram.set_member_status(group, rasa, "administrator")
        telegram.set_member_status(group, jonas, "member")

        # Ona follows the quick call from /calls, and all calls from /remind: each reminder
        # still comes once.
        telegram.send_text(ona, "/calls")
        listed = await message_to(telegram, 7, "Quick call LT")
        telegram.press(ona, listed, data(listed, "🔔 Priminti: Quick call LT"))
        await telegram.wait_for("editMessageReplyMarkup", chat_id=7)
        telegram.send_text(ona, "/remind")
        overview = await message_to(telegram, 7, "Gaunate priminimus apie")
        assert "„Quick call LT“" in overview.plain_text
        telegram.press(ona, overview, data(overview, "⬜ Visi kvietimai"))
        await telegram.wait_for("editMessageText", chat_id=7)

        # John asks about the call in English and presses "Remind me" under the answer.
        telegram.send_text(john, "When does Quick call close?")
        answer = await message_to(telegram, 8, "Quick call")
        telegram.press(john, answer, data(answer, "Remind me"))
        await telegram.wait_for("editMessageReplyMarkup", chat_id=8)

        # In the group, a member who is no administrator is refused; the administrator is not.
        telegram.send_text(rasa, "/remind", chat=group)
        in_group = await message_to(telegram, group.id, "Ši grupė kol kas negauna")
        pressed = telegram.press(jonas, in_group, data(in_group, "⬜ Visi kvietimai"))
        refused = await telegram.wait_for(
            "answerCallbackQuery",
            predicate=lambda r: r.params.get("callback_query_id") == pressed.callback_query_id,
        )
        assert "administratoriai" in str(refused.params.get("text"))
        telegram.press(rasa, in_group, data(in_group, "⬜ Visi kvietimai"))
        await telegram.wait_for("editMessageText", chat_id=group.id)

        # The two-minute reminders (due 30 s after the start) reach all three chats.
        for chat_id, marker in ((7, "Priminimas"), (8, "Reminder"), (group.id, "Priminimas")):
            reminder = await telegram.wait_for(
                chat_id=chat_id, predicate=containing(marker), timeout=40
            )
            assert reminder.message is not None
            assert "po 2 minučių" in sent_text(reminder) or "in 2 minutes" in sent_text(reminder)
            labels = [label for row in reminder.message.buttons for label, _ in row]
            assert labels in (
                ["Nebepriminti", "Į kalendorių"],
                ["Stop reminding", "Add to calendar"],
            )
        # John blocks the bot: whatever comes next to him fails once and marks him.
        telegram.inject("sendMessage", forbidden(), times=None, chat_id=8)
        # The kill comes once the three are recorded as sent (a message whose sending is not
        # recorded yet may be sent again: the one exception to "once").
        await until_sent(bot_env, 3)

        # Killed before the next call opens and the one-minute reminders fall due, back only
        # after: the notice and the reminders still come, once.
        await process.kill()
        await sleep_until((closes - timedelta(seconds=50)).timestamp())
        await process.start()
        for chat_id in (7, group.id):
            await telegram.wait_for(
                chat_id=chat_id,
                predicate=lambda r: "Priminimas" in sent_text(r) and "po 1 minutės" in sent_text(r),
                timeout=30,
            )
        await sleep_until(closes.timestamp() + 5)
    finally:
        await process.stop()

    assert len(reminders_to(telegram, 7, "Priminimas: „Quick call LT“")) == 2
    assert len(reminders_to(telegram, group.id, "Priminimas: „Quick call LT“")) == 2
    # The "now open" notice of the next call came once, to those following all calls.
    assert len(reminders_to(telegram, 7, "„Next call LT“ jau prasidėjo")) == 1
    assert len(reminders_to(telegram, group.id, "„Next call LT“ jau prasidėjo")) == 1
    assert reminders_to(telegram, 8, "Next call") == []  # John follows one call only
    # John got the first reminder, then was found unreachable: one failed attempt, no more.
    assert len(reminders_to(telegram, 8, "Reminder: “Quick call”")) == 1
    blocked = [r for r in telegram.calls("sendMessage") if r.chat_id == 8 and r.status == 403]
    assert len(blocked) == 1
    # Nothing reached anyone after the deadline.
    late = [
        r for r in telegram.calls("sendMessage") if r.status == 200 and "Quick call" in sent_text(r)
    ]
    assert all(r.message is not None and r.message.date <= closes.timestamp() for r in late)
    with database(bot_env) as connection:
        john_row = connection.execute("SELECT reachable FROM member WHERE id = 8").fetchone()
        assert john_row["reachable"] == 0
        rows = connection.execute(
            "SELECT chat_id, purpose, status FROM outbox WHERE subject = 'quick-call'"
        ).fetchall()
    statuses = sorted((row["chat_id"], row["status"]) for row in rows)
    assert statuses == sorted(
        [
            (7, "sent"),
            (7, "sent"),
            (8, "sent"),
            (8, "blocked"),
            (group.id, "sent"),
            (group.id, "sent"),
        ]
    )
    assert opening < closes - timedelta(seconds=60)
