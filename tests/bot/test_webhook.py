"""Webhook mode: updates arrive over HTTP with Telegram's secret header and are answered."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.methods import SendMessage
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.app import open_app
from bot.local_session import LocalSession
from bot.runner import create_webhook_app
from bot.settings import Settings
from knowledge.service import KnowledgeBase

SECRET = "s3cret-token_1"
WebhookClient = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(
    settings: Settings, bot: Bot, local_session: LocalSession, shared_knowledge: KnowledgeBase
) -> AsyncIterator[WebhookClient]:
    webhook_settings = settings.model_copy(
        update={
            "webhook_url": "https://bot.example.org/telegram/hook",
            "webhook_secret": SecretStr(SECRET),
        }
    )
    async with (
        open_app(webhook_settings, bot=bot, knowledge=shared_knowledge.copy()) as app,
        TestClient(TestServer(create_webhook_app(app, bot))) as test_client,
    ):
        yield test_client


def update(text: str) -> dict[str, object]:
    user = {"id": 7, "is_bot": False, "first_name": "Ona", "language_code": "en"}
    message = {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": 7, "type": "private", "first_name": "Ona"},
        "from": user,
        "text": text,
    }
    return {"update_id": 501, "message": message}


async def test_update_with_the_secret_is_handled_before_the_answer(
    client: WebhookClient, local_session: LocalSession
) -> None:
    response = await client.post(
        "/telegram/hook",
        json=update("/help"),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    assert response.status == 200
    [reply] = local_session.sent(SendMessage)
    assert reply.chat_id == 7
    assert reply.text.startswith("Here is what I can do:")


async def test_update_without_the_secret_is_refused(
    client: WebhookClient, local_session: LocalSession
) -> None:
    response = await client.post("/telegram/hook", json=update("/help"))
    assert response.status == 401
    assert local_session.sent(SendMessage) == []
