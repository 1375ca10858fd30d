"""The outbound sender over real HTTP against the fake Bot API: pacing, 429, 403, timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.sender import FloodGate, FloodGateMiddleware, Outcome, Sender
from tests.e2e.conftest import TOKEN
from tests.e2e.fake_telegram import (
    FakeTelegram,
    chat_not_found,
    forbidden,
    retry_after,
    server_error,
    timeout,
)


@pytest.fixture
async def bot(telegram: FakeTelegram) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(telegram.url), timeout=0.5)
    bot = Bot(TOKEN, session=session)
    yield bot
    await bot.session.close()


class Journal:
    def __init__(self) -> None:
        self.unreachable: list[int] = []
        self.failures: list[tuple[int, str]] = []

    async def on_unreachable(self, chat_id: int) -> None:
        self.unreachable.append(chat_id)

    async def on_failure(self, chat_id: int, reason: str) -> None:
        self.failures.append((chat_id, reason))


async def test_429_pauses_everyone_403_and_400_mark_unreachable(
    telegram: FakeTelegram, bot: Bot
) -> None:
    journal = Journal()
    gate = FloodGate()
    bot.session.middleware(FloodGateMiddleware(gate))
    sender = Sender(
        bot,
        gate=gate,
        on_unreachable=journal.on_unreachable,
        on_failure=journal.on_failure,
        base_delay=0.05,
    )
    telegram.inject("sendMessage", retry_after(1), chat_id=1)
    telegram.inject("sendMessage", forbidden(), chat_id=2)
    telegram.inject("sendMessage", chat_not_found(), chat_id=3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    results = await asyncio.gather(
        sender.send_message(1, "<b>Priminimas</b>"),
        sender.send_message(2, "Priminimas"),
        sender.send_message(3, "Priminimas"),
        sender.send_message(4, "Priminimas"),
    )
    assert [r.outcome for r in results] == [
        Outcome.SENT,
        Outcome.BLOCKED,
        Outcome.BLOCKED,
        Outcome.SENT,
    ]
    assert sorted(journal.unreachable) == [2, 3]
    assert journal.failures == []
    # Chat 1 was delivered once, after the pause that Telegram asked for.
    delivered = [r for r in telegram.calls("sendMessage") if r.status == 200]
    assert sorted(int(r.params["chat_id"]) for r in delivered) == [1, 4]
    assert loop.time() - started >= 1.0


async def test_server_errors_and_timeouts_are_retried_then_recorded(
    telegram: FakeTelegram, bot: Bot
) -> None:
    journal = Journal()
    sender = Sender(
        bot,
        on_unreachable=journal.on_unreachable,
        on_failure=journal.on_failure,
        max_attempts=3,
        base_delay=0.05,
        max_delay=0.1,
    )
    telegram.inject("sendMessage", server_error(502), chat_id=5)
    telegram.inject("sendMessage", timeout(1), chat_id=6)  # longer than the client's 0.5 s
    recovered = await sender.send_message(5, "Labas")
    retried_after_timeout = await sender.send_message(6, "Labas")
    assert recovered.outcome is Outcome.SENT
    assert retried_after_timeout.outcome is Outcome.SENT

    telegram.inject("sendMessage", server_error(500), chat_id=7, times=None)
    failed = await sender.send_message(7, "Labas")
    assert failed.outcome is Outcome.FAILED
    assert [chat for chat, _ in journal.failures] == [7]
    attempts = [r for r in telegram.calls("sendMessage") if str(r.params["chat_id"]) == "7"]
    assert len(attempts) == 3


async def test_long_text_arrives_in_pieces_in_order(telegram: FakeTelegram, bot: Bot) -> None:
    sender = Sender(bot, on_unreachable=Journal().on_unreachable, private_chat_per_second=50)
    paragraphs = [f"<b>{n}.</b> " + "žodis " * 120 for n in range(20)]
    result = await sender.send_message(8, "\n\n".join(paragraphs))
    assert result.outcome is Outcome.SENT
    pieces = [m.plain_text for m in telegram.sent_messages(8)]
    assert len(pieces) == len(result.message_ids) > 1
    assert all(len(piece) <= 4096 for piece in pieces)
    assert "".join(pieces).replace("\n", "").replace(" ", "") == "".join(
        p.replace("<b>", "").replace("</b>", "") for p in paragraphs
    ).replace(" ", "")
