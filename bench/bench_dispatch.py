"""Updates per second through the full stack against a bare aiogram echo, in one run.

Both dispatchers get the same kind of update and the same recording session (no network):
the bare one answers every text with an echo; the full one is civicbot's real dispatcher
(middlewares, database on a temporary SQLite file, conversation state, a translated reply).
Run: `uv run python -m bench.bench_dispatch` (or `make bench`).
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.types import Chat, Message, Update, User

from bot.app import open_app
from bot.local_session import BOT_TOKEN, LocalSession
from bot.settings import Settings

UPDATES = 3000
MEMBERS = 300  # distinct members, so the database sees first contacts and repeat visits
ROUNDS = 5


def make_updates(count: int, text: str) -> list[Update]:
    """COUNT text messages from MEMBERS different people."""
    ids = itertools.count(1)
    now = datetime.now(UTC)
    updates = []
    for number in range(count):
        user_id = 1000 + number % MEMBERS
        user = User(id=user_id, is_bot=False, first_name="Ona", language_code="lt")
        message = Message(
            message_id=next(ids),
            date=now,
            chat=Chat(id=user_id, type="private"),
            from_user=user,
            text=text,
        )
        updates.append(Update(update_id=number + 1, message=message))
    return updates


def recording_bot() -> Bot:
    return Bot(BOT_TOKEN, session=LocalSession(), default=DefaultBotProperties(parse_mode="HTML"))


async def rate(dispatcher: Dispatcher, bot: Bot, updates: list[Update]) -> float:
    """Updates per second for feeding UPDATES one after another."""
    started = time.perf_counter()
    for update in updates:
        await dispatcher.feed_update(bot, update)
    return len(updates) / (time.perf_counter() - started)


def bare_echo() -> Dispatcher:
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    return dispatcher


async def main() -> None:
    updates = make_updates(UPDATES, "/help")
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}",
        )
        echo, echo_bot, full_bot = bare_echo(), recording_bot(), recording_bot()
        async with open_app(settings, bot=full_bot) as app:
            await rate(app.dispatcher, full_bot, updates[:200])  # warm-up, first contacts
            await rate(echo, echo_bot, updates[:200])
            echo_rates, full_rates = [], []
            for _ in range(ROUNDS):  # interleaved, so both see the same machine load
                echo_rates.append(await rate(echo, echo_bot, updates))
                full_rates.append(await rate(app.dispatcher, full_bot, updates))
    echo_rate, full_rate = statistics.median(echo_rates), statistics.median(full_rates)
    print(f"bare aiogram echo : {echo_rate:8.0f} updates/s (median of {ROUNDS})")
    print(f"civicbot full stack: {full_rate:8.0f} updates/s (median of {ROUNDS})")
    print(f"ratio full/echo    : {full_rate / echo_rate:8.2f}  (target >= 0.5)")
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
