"""The Bot API session sends JSON bodies, and multipart forms only for uploads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.api_session import JsonSession

MESSAGE = {"message_id": 5, "date": 1_700_000_000, "chat": {"id": 7, "type": "private"}}


@pytest.fixture
async def received() -> AsyncIterator[tuple[Bot, list[tuple[str, Any]]]]:
    """A bot whose requests reach a server that notes each one's content type and body."""
    seen: list[tuple[str, Any]] = []

    async def answer(request: web.Request) -> web.Response:
        if request.content_type == "application/json":
            seen.append((request.content_type, await request.json()))
        else:
            seen.append((request.content_type, dict(await request.post())))
        if request.match_info["method"] == "sendMessage" and seen[-1][1].get("text") == "slow":
            await asyncio.sleep(2)
        return web.json_response({"ok": True, "result": MESSAGE})

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", answer)
    async with TestServer(app) as server:
        session = JsonSession(api=TelegramAPIServer.from_base(str(server.make_url(""))))
        bot = Bot("42:TEST", session=session)
        yield bot, seen
        await session.close()


async def test_a_message_goes_as_json_with_its_keyboard_as_an_object(
    received: tuple[Bot, list[tuple[str, Any]]],
) -> None:
    bot, seen = received
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Priminti", callback_data="r:1")]]
    )
    sent = await bot.send_message(
        7, "Paraiškos: iki rugpjūčio 27 d.", reply_markup=markup, disable_notification=False
    )
    assert sent.message_id == 5
    [(content_type, body)] = seen
    assert content_type == "application/json"
    assert body == {
        "chat_id": 7,
        "text": "Paraiškos: iki rugpjūčio 27 d.",
        "disable_notification": False,  # false is said, not left out
        "reply_markup": {"inline_keyboard": [[{"text": "Priminti", "callback_data": "r:1"}]]},
    }


async def test_an_upload_goes_as_a_multipart_form(
    received: tuple[Bot, list[tuple[str, Any]]],
) -> None:
    bot, seen = received
    await bot.send_document(7, BufferedInputFile(b"a,b\n", filename="export.csv"), caption="CSV")
    [(content_type, body)] = seen
    assert content_type == "multipart/form-data"
    assert body["chat_id"] == "7" and body["caption"] == "CSV"
    assert any(isinstance(value, web.FileField) for value in body.values())


async def test_a_request_that_takes_too_long_is_a_network_error(
    received: tuple[Bot, list[tuple[str, Any]]],
) -> None:
    bot, _ = received
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await bot.send_message(7, "slow", request_timeout=1)
