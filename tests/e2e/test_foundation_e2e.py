"""The real `civicbot run` process against the fake Bot API: languages, restarts, faults."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.e2e.conftest import TOKEN, BotProcess
from tests.e2e.fake_telegram import (
    FakeTelegram,
    FakeUser,
    forbidden,
    retry_after,
)


def member_row(env: dict[str, str], member_id: int) -> sqlite3.Row | None:
    path = env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(Path(path)) as connection:
        connection.row_factory = sqlite3.Row
        cursor = connection.execute("SELECT * FROM member WHERE id = ?", (member_id,))
        row: sqlite3.Row | None = cursor.fetchone()
        return row


async def settled(telegram: FakeTelegram, user: FakeUser) -> None:
    """Updates are handled one after another: once /help is answered, earlier ones committed."""
    telegram.send_text(user, "/help")
    await telegram.wait_for(
        chat_id=user.id,
        predicate=lambda r: r.status == 200 and "/language" in str(r.params.get("text")),
    )


async def test_start_in_lithuanian_and_english(
    telegram: FakeTelegram, bot_process: BotProcess
) -> None:
    ona = telegram.user(7, "Ona", language_code="lt")
    john = telegram.user(8, "John", language_code="en")
    telegram.send_text(ona, "/start")
    telegram.send_text(john, "/start")
    to_ona = (await telegram.wait_for(chat_id=7)).message
    to_john = (await telegram.wait_for(chat_id=8)).message
    assert to_ona is not None and to_john is not None
    assert to_ona.plain_text.startswith("Sveiki, Ona!")
    assert to_john.plain_text.startswith("Hello, John!")
    assert [label for row in to_ona.buttons for label, _ in row] == [
        "Lietuvių",
        "Latviešu",
        "English",
    ]
    # The command menu was set for every language at start.
    assert ("language", "Pakeisti kalbą") in telegram.commands_for("lt")
    assert ("language", "Mainīt valodu") in telegram.commands_for("lv")
    assert ("language", "Change the language") in telegram.commands_for("en")


async def test_language_command_and_sticker(
    telegram: FakeTelegram, bot_process: BotProcess
) -> None:
    ona = telegram.user(7, "Ona", language_code="lt")
    telegram.send_text(ona, "/language")
    offer = (await telegram.wait_for(chat_id=7)).message
    assert offer is not None
    telegram.press(ona, offer, offer.callback_data("Latviešu"))
    edited = await telegram.wait_for("editMessageText", chat_id=7)
    assert edited.status == 200
    assert edited.params["text"] == "Runāšu ar jums latviski."
    telegram.send_sticker(ona)
    reply = (await telegram.wait_for(chat_id=7)).message
    assert reply is not None
    assert reply.plain_text.startswith("Es lasu tikai teksta ziņas")


async def test_onboarding_resumes_at_the_same_step_after_sigkill(
    telegram: FakeTelegram, bot_process: BotProcess
) -> None:
    ona = telegram.user(7, "Ona", language_code="lt")
    telegram.send_text(ona, "/start")
    welcome = (await telegram.wait_for(chat_id=7)).message
    assert welcome is not None
    telegram.press(ona, welcome, welcome.callback_data("English"))
    asked = (await telegram.wait_for(chat_id=7)).message
    assert asked is not None and "Which municipality" in asked.plain_text

    await bot_process.kill()
    telegram.send_text(ona, "trak")  # typed while the bot is down
    await bot_process.start()

    # The press was answered but, killed before its commit, may be delivered and answered again
    # (at least once); either way the conversation is at the municipality step.
    choices = (
        await telegram.wait_for(
            chat_id=7,
            timeout=30,
            predicate=lambda r: (
                r.message is not None and "Which municipality" not in r.message.plain_text
            ),
        )
    ).message
    assert choices is not None
    assert choices.plain_text == "Choose your municipality:"
    telegram.press(ona, choices, choices.callback_data("Trakai district"))
    consent = (
        await telegram.wait_for(
            chat_id=7, predicate=lambda r: r.message is not None and "May I" in r.message.plain_text
        )
    ).message
    assert consent is not None
    telegram.press(ona, consent, consent.callback_data("Yes, store it"))
    done = (
        await telegram.wait_for(
            chat_id=7, predicate=lambda r: r.message is not None and "saved" in r.message.plain_text
        )
    ).message
    assert done is not None and "profile is saved" in done.plain_text
    await settled(telegram, ona)
    row = member_row(bot_process.env, 7)
    assert row is not None
    assert (row["language"], row["municipality"]) == ("en", "trakai-district")


async def test_reply_waits_out_a_429_and_a_block_marks_the_member(
    telegram: FakeTelegram, bot_process: BotProcess
) -> None:
    ona = telegram.user(7, "Ona", language_code="lt")
    telegram.inject("sendMessage", retry_after(1), chat_id=7)
    telegram.send_text(ona, "/help")
    first = await telegram.wait_for(chat_id=7)
    assert first.status == 429
    retried = await telegram.wait_for(chat_id=7)
    assert retried.status == 200 and retried.message is not None
    assert retried.message.plain_text.startswith("Štai ką galiu")

    petras = telegram.user(9, "Petras", language_code="lt")
    telegram.inject("sendMessage", forbidden(), chat_id=9)
    telegram.send_text(petras, "/help")
    blocked = await telegram.wait_for(chat_id=9)
    assert blocked.status == 403
    await settled(telegram, ona)  # the bot is still answering others
    row = member_row(bot_process.env, 9)
    assert row is not None and row["reachable"] == 0


async def test_sigterm_stops_cleanly_and_confirms_handled_updates(
    telegram: FakeTelegram, bot_process: BotProcess
) -> None:
    ona = telegram.user(7, "Ona", language_code="lt")
    telegram.send_text(ona, "/help")
    await telegram.wait_for(chat_id=7)
    assert await bot_process.stop() == 0
    assert telegram.pending_updates == []  # nothing will be handled twice after a restart
    assert TOKEN not in bot_process.output
    assert "Traceback" not in bot_process.output


async def test_coordinator_menu_is_set_and_a_missing_coordinator_chat_is_tolerated(
    telegram: FakeTelegram, bot_env: dict[str, str], tmp_path: Path
) -> None:
    telegram.user(42, "Koordinatorė")  # 42 has talked to the bot; 5 never has, and comes first
    env = bot_env | {"COORDINATOR_IDS": "42,5"}
    process = BotProcess(env, tmp_path, telegram)
    await process.start()
    try:
        scope = {"type": "chat", "chat_id": 42}
        await telegram.wait_for("setMyCommands", predicate=lambda r: "42" in str(r.params))
        ona = telegram.user(7, "Ona", language_code="lt")
        telegram.send_text(ona, "/help")
        assert (await telegram.wait_for(chat_id=7)).status == 200
        commands = [name for name, _ in telegram.commands_for("lt", scope)]
        assert "export" in commands and "stats" in commands
        assert "export" not in [name for name, _ in telegram.commands_for("lt")]
    finally:
        assert await process.stop() == 0
