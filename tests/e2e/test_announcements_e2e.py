"""Announcements with the real `civicbot run` process: a coordinator composes an lt and an en
version with a photo for one municipality, sees the count and the preview, confirms; the
members there get it once in their language, the others nothing; a blocked member (403) and a
429 are reported; a non-coordinator's replayed Confirm is refused. And a 300-recipient
announcement survives a SIGKILL in the middle: everyone has it, twice only where the report
says so, and the final report's numbers are the fake server's.

Members are written into the database before the bot starts, as if they had onboarded.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from storage.db import create_engine, upgrade
from tests.e2e.conftest import BotProcess, data, said, text_of
from tests.e2e.fake_telegram import (
    FakeTelegram,
    FakeUser,
    SentMessage,
    forbidden,
    retry_after,
)

COORDINATOR = 42


async def seed(env: dict[str, str], people: list[tuple[int, str, str]]) -> None:
    """The database migrated, with PEOPLE (id, language, municipality) as onboarded members."""
    engine = create_engine(env["DATABASE_URL"])
    await upgrade(engine)
    await engine.dispose()
    now = datetime.now(UTC).isoformat(sep=" ")
    with sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")) as db:
        db.executemany(
            "INSERT INTO member (id, name, language, municipality, role, consent_at, "
            "consent_version, reachable, help_open, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, 'member', ?, 'profile-1', 1, 0, ?, ?)",
            [(pid, f"Member {pid}", lang, place, now, now, now) for pid, lang, place in people],
        )


def delivered(telegram: FakeTelegram, marker: str) -> Counter[int]:
    """How many times each chat was sent the announcement (answered 200) by its MARKER."""
    return Counter(
        int(request.chat_id)
        for request in telegram.requests
        if request.method in {"sendMessage", "sendPhoto"}
        and request.status == 200
        and marker in text_of(request)
    )


async def final_report(telegram: FakeTelegram, number: int, timeout: float = 90) -> str:
    """The text of announcement NUMBER's report once it says it is delivered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in telegram.sent_messages(COORDINATOR):
            if f"Announcement #{number}: finished" in message.plain_text:
                return message.plain_text
        await asyncio.sleep(0.2)
    reports = [m.plain_text for m in telegram.sent_messages(COORDINATOR) if "#" in m.plain_text]
    raise AssertionError(f"no final report: {reports[-3:]}")


def count_in(report: str, label: str) -> int:
    found = re.search(rf"{label}: (\d+)", report)
    return int(found.group(1)) if found else 0


async def start_wizard(telegram: FakeTelegram, rasa: FakeUser, language: str) -> SentMessage:
    """/broadcast, then the first version's language; the question asking for its content."""
    telegram.send_text(rasa, "/broadcast")
    step = await said(telegram, rasa.id, "New announcement")
    telegram.press(rasa, step, data(step, language))
    return await said(telegram, rasa.id, "version: a text")


async def test_a_photo_announcement_in_two_languages_for_one_municipality(
    telegram: FakeTelegram, bot_env: dict[str, str], tmp_path: Path
) -> None:
    trakai, vilnius = "trakai-district", "vilnius-city"
    people = [
        (201, "lt", trakai),
        (202, "en", trakai),
        (203, "lt", trakai),  # has blocked the bot
        (204, "lv", trakai),  # no lv version: gets DEFAULT_LOCALE's (lt)
        (205, "lt", vilnius),
        (206, "en", vilnius),
    ]
    await seed(bot_env, people)
    bot = BotProcess(bot_env, tmp_path, telegram)
    await bot.start()
    try:
        rasa = telegram.user(COORDINATOR, "Rasa", "en")
        await start_wizard(telegram, rasa, "Lithuanian")
        bold = {"type": "bold", "offset": 0, "length": 11}
        telegram.send_text(rasa, "Susitikimas ketvirtadienį, LT-žymė", formatting=[bold])
        step = await said(telegram, rasa.id, "version is added")
        telegram.press(rasa, step, data(step, "English"))
        await said(telegram, rasa.id, "version: a text")
        upload = telegram.send_photo(rasa, caption="Meeting on Thursday, EN-mark")
        step = await said(telegram, rasa.id, "version is added")
        telegram.press(rasa, step, data(step, "Next: the audience"))
        await said(telegram, rasa.id, "It reaches now: 6 members and 0 group chats")
        telegram.send_text(rasa, "Trakai")
        step = await said(telegram, rasa.id, "Choose the municipality")
        telegram.press(rasa, step, data(step, "Trakai"))
        step = await said(telegram, rasa.id, "It reaches now: 4 members and 0 group chats")
        telegram.press(rasa, step, data(step, "Next: when to send"))
        step = await said(telegram, rasa.id, "When should it be sent?")
        telegram.press(rasa, step, data(step, "Send now"))
        # The preview: each version as it will be sent, with how many read it.
        await said(telegram, rasa.id, "Preview of the Lithuanian version (3 recipients)")
        lt_preview = await said(telegram, rasa.id, "LT-žymė")
        assert lt_preview.text == "<b>Susitikimas</b> ketvirtadienį, LT-žymė"
        await said(telegram, rasa.id, "Preview of the English version (1 recipient)")
        en_preview = await said(telegram, rasa.id, "EN-mark")
        assert en_preview.method == "sendPhoto" and en_preview.file is not None
        photo_id = en_preview.file.file_id
        uploaded = upload.payload["message"]["photo"][-1]["file_id"]
        assert photo_id == uploaded
        summary = await said(telegram, rasa.id, "It reaches now: 4 members and 0 group chats")

        # A member replaying the coordinator's Confirm is refused, and nothing is stored.
        stranger = telegram.user(205, "Jonas", "en")
        replay = telegram.press(stranger, summary, data(summary, "✅ Confirm"))
        refusal = await telegram.wait_for(
            "answerCallbackQuery",
            predicate=lambda r: r.params.get("callback_query_id") == replay.callback_query_id,
        )
        assert "tik koordinatoriai" in str(refusal.params.get("text"))  # 205 reads Lithuanian

        telegram.inject("sendMessage", forbidden(), times=None, chat_id=203)
        telegram.inject("sendMessage", retry_after(2), chat_id=201)
        telegram.press(rasa, summary, data(summary, "✅ Confirm"))
        await said(telegram, rasa.id, "Announcement #1: sending to 4 recipients")
        report = await final_report(telegram, 1)

        lt_copies = delivered(telegram, "LT-žymė")
        en_copies = delivered(telegram, "EN-mark")
        del lt_copies[COORDINATOR], en_copies[COORDINATOR]  # the previews
        assert lt_copies == {201: 1, 204: 1}
        assert en_copies == {202: 1}
        [photo] = [r for r in telegram.calls("sendPhoto") if r.chat_id == 202]
        assert photo.params["photo"] == photo_id and photo.params.get("parse_mode") == "HTML"
        assert telegram.calls("sendMessage")[-1].status is not None
        # The 429 was obeyed: 201 was tried, refused, then sent after the pause.
        tries_201 = [r for r in telegram.calls("sendMessage") if r.chat_id == 201]
        assert [r.status for r in tries_201] == [429, 200]
        assert tries_201[1].at - tries_201[0].at >= 1.9
        # The report's numbers are the server's.
        assert count_in(report, "Sent") == sum(lt_copies.values()) + sum(en_copies.values()) == 3
        assert count_in(report, "Blocked the bot") == 1
        assert count_in(report, "Failed") == 0 and count_in(report, "Waiting") == 0
        assert not [r for r in telegram.requests if str(r.chat_id) in {"205", "206"}]
        with sqlite3.connect(bot_env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")) as db:
            reachable = db.execute("SELECT reachable FROM member WHERE id = 203").fetchone()
            assert reachable == (0,)
        assert await bot.stop() == 0
    finally:
        if bot._process is not None:
            await bot.kill()
    assert "Traceback" not in bot.output


async def test_a_kill_in_the_middle_of_300_recipients_sends_each_once_but_the_in_flight(
    telegram: FakeTelegram, bot_env: dict[str, str], tmp_path: Path
) -> None:
    recipients = list(range(10_001, 10_301))
    await seed(bot_env, [(pid, "lt", "vilnius-city") for pid in recipients])
    bot = BotProcess(bot_env, tmp_path, telegram)
    await bot.start()
    try:
        rasa = telegram.user(COORDINATOR, "Rasa", "en")
        await start_wizard(telegram, rasa, "Lithuanian")
        telegram.send_text(rasa, "Visuotinis susirinkimas, KILL-žymė")
        step = await said(telegram, rasa.id, "version is added")
        telegram.press(rasa, step, data(step, "Next: the audience"))
        step = await said(telegram, rasa.id, "It reaches now: 300 members and 0 group chats")
        telegram.press(rasa, step, data(step, "Next: when to send"))
        step = await said(telegram, rasa.id, "When should it be sent?")
        telegram.press(rasa, step, data(step, "Send now"))
        summary = await said(telegram, rasa.id, "It reaches now: 300 members")
        telegram.press(rasa, summary, data(summary, "✅ Confirm"))
        await said(telegram, rasa.id, "Announcement #1: sending to 300 recipients")
        # Paced at 25 a second: about 100 are out after 4 s. Kill it there.
        deadline = time.monotonic() + 30
        while sum(delivered(telegram, "KILL-žymė").values()) < 100:
            assert time.monotonic() < deadline, "the delivery did not start"
            await asyncio.sleep(0.05)
        await bot.kill()
        before_restart = delivered(telegram, "KILL-žymė")
        assert 100 <= sum(before_restart.values()) < 300

        await bot.start()
        report = await final_report(telegram, 1)
        copies = delivered(telegram, "KILL-žymė")
        del copies[COORDINATOR]
        assert set(copies) == set(recipients)  # nobody skipped
        twice = {chat for chat, count in copies.items() if count > 1}
        assert all(count <= 2 for count in copies.values())
        with sqlite3.connect(bot_env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")) as db:
            flagged = {
                row[0]
                for row in db.execute("SELECT chat_id FROM outbox WHERE redelivered").fetchall()
            }
        # Only messages in flight at the kill (at most the drainer's window) went twice, and
        # each of them is flagged and reported.
        assert twice <= flagged and len(flagged) <= 8
        assert count_in(report, "Sent") == len(copies) == 300
        assert count_in(report, "Sent again after a restart \\(may have arrived twice\\)") == len(
            flagged
        )
        assert count_in(report, "Failed") == count_in(report, "Blocked the bot") == 0
        assert await bot.stop() == 0
    finally:
        if bot._process is not None:
            await bot.kill()
