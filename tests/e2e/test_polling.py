"""The poller over real HTTP against the fake Bot API: chats at once, each chat in order,
nothing confirmed before it was handled, an unreadable update skipped."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import TelegramMethod
from aiogram.types import Message

from bot.polling import Poller, get_updates_until_stopped
from tests.e2e.fake_telegram import FakeTelegram

TOKEN = "123:TEST"


@pytest.fixture
async def bot(telegram: FakeTelegram) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(telegram.url))
    client = Bot(TOKEN, session=session)
    yield client
    await client.session.close()


class Recorder:
    """A dispatcher's one handler: it takes a random while, and notes what it handled."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.order: dict[int, list[str]] = defaultdict(list)
        self.handled: set[int] = set()
        self.busy = 0
        self.most_busy = 0
        self.dispatcher = Dispatcher()
        self.dispatcher.message.register(self.handle)

    async def handle(self, message: Message, event_update: Any) -> None:
        self.busy += 1
        self.most_busy = max(self.most_busy, self.busy)
        await asyncio.sleep(self.rng.uniform(0, 0.03))
        self.order[message.chat.id].append(message.text or "")
        self.handled.add(event_update.update_id)
        self.busy -= 1


async def poll_until(
    telegram: FakeTelegram,
    bot: Bot,
    dispatcher: Dispatcher,
    done: Any,
    *,
    max_concurrent: int = 8,
) -> Poller:
    stop = asyncio.Event()

    async def fetch(method: TelegramMethod[list[dict[str, Any]]]) -> list[dict[str, Any]]:
        return await get_updates_until_stopped(bot, method, stop)

    poller = Poller(dispatcher, bot, stop, fetch=fetch, max_concurrent=max_concurrent)
    task = asyncio.create_task(poller.run())
    for _ in range(600):
        if done():
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 30)
    return poller


async def test_chats_at_once_each_in_order_confirmed_only_when_handled(
    telegram: FakeTelegram, bot: Bot
) -> None:
    recorder = Recorder(seed=7)
    people = [telegram.user(100 + number, f"P{number}") for number in range(12)]
    expected: dict[int, list[str]] = defaultdict(list)
    queued: set[int] = set()
    for round_number in range(10):
        for person in people:
            text = f"{person.id}-{round_number}"
            queued.add(telegram.send_text(person, text).update_id)
            expected[person.id].append(text)
    total = sum(len(texts) for texts in expected.values())

    # Every getUpdates must ask from an update not handled yet: never past one in flight.
    offsets_checked: list[tuple[int, bool]] = []
    original = telegram._get_updates

    async def checked(params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        if offset:
            unhandled_below = [
                update_id
                for update_id in queued
                if update_id < offset and update_id not in recorder.handled
            ]
            offsets_checked.append((offset, not unhandled_below))
        return await original(params)

    telegram._get_updates = checked  # type: ignore[method-assign]
    await poll_until(telegram, bot, recorder.dispatcher, lambda: len(recorder.handled) == total)

    assert recorder.order == expected  # each chat in the order its messages came
    assert recorder.most_busy > 1  # and chats at the same time
    assert offsets_checked and all(
        confirmed_only_handled for _, confirmed_only_handled in offsets_checked
    )
    assert telegram.pending_updates == []  # all of it confirmed in the end


async def test_an_update_that_cannot_be_read_is_skipped_once(
    telegram: FakeTelegram, bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder(seed=1)
    person = telegram.user(7)
    # A poll without the fields every client requires: aiogram cannot read this update.
    poison = telegram.queue_raw("message", {"message_id": 1, "poll": {"id": "p"}})
    telegram.send_text(person, "after the poison")
    caplog.set_level(logging.WARNING)
    await poll_until(telegram, bot, recorder.dispatcher, lambda: bool(recorder.handled))

    assert recorder.order == {7: ["after the poison"]}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if f"update {poison} cannot be read" in w]) == 1
    assert not [r for r in caplog.records if r.levelno > logging.WARNING]
    assert telegram.pending_updates == []
