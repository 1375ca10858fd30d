"""Start-up of the real `civicbot run`: an unreachable Bot API is waited out, a rejected token
stops it with one line, a signal during any of it exits cleanly. Never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.conftest import BotProcess
from tests.e2e.fake_telegram import FakeTelegram, server_error, unauthorized


async def test_unreachable_bot_api_is_retried_and_sigterm_exits_0(
    telegram: FakeTelegram, bot_env: dict[str, str], tmp_path: Path
) -> None:
    env = bot_env | {"TELEGRAM_API_URL": "http://127.0.0.1:1"}
    process = BotProcess(env, tmp_path, telegram)
    await process.start(wait=False)
    await process.wait_for_output("is not reachable", count=2)
    assert await process.stop() == 0
    attempts = [line for line in process.output.splitlines() if "is not reachable" in line]
    assert len(attempts) >= 2
    assert all(re.search(r"trying again in \d+ s$", line) for line in attempts), attempts
    assert "Traceback" not in process.output
    assert "123:TEST" not in process.output


async def test_a_failing_bot_api_at_start_is_waited_out(
    telegram: FakeTelegram, bot_env: dict[str, str], tmp_path: Path
) -> None:
    telegram.inject("deleteWebhook", server_error(502), times=2)
    process = BotProcess(bot_env, tmp_path, telegram)
    await process.start()
    ona = telegram.user(7, language_code="en")
    telegram.send_text(ona, "/help")
    reply = (await telegram.wait_for(chat_id=7, timeout=60)).message
    assert reply is not None and reply.plain_text.startswith("Here is what I can do:")
    assert len(telegram.calls("deleteWebhook")) == 3
    assert process.output.count("is not reachable (Bad Gateway); trying again in") == 2
    assert await process.stop() == 0
    assert "Traceback" not in process.output


async def test_a_rejected_token_stops_with_one_line_naming_it(
    telegram: FakeTelegram, bot_env: dict[str, str], tmp_path: Path
) -> None:
    telegram.inject("deleteWebhook", unauthorized(), times=None)
    process = BotProcess(bot_env, tmp_path, telegram)
    await process.start()
    assert await process.exited() == 2
    problems = [line for line in process.output.splitlines() if "BOT_TOKEN" in line]
    assert problems == [
        "civicbot: BOT_TOKEN: Telegram rejected the token (401 Unauthorized): "
        "copy it again from @BotFather"
    ]
    assert "Traceback" not in process.output
