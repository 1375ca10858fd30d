"""Filters run in the event loop: none costs a hop to a worker thread (see bot/filters.py)."""

from __future__ import annotations

import threading

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.types import Chat, Message

from bot.app import App
from bot.filters import check_filters_in_the_loop
from tests.support import TEST_NOW, make_user


def every_filter(router: Router) -> list[FilterObject]:
    found = []
    for observer in router.observers.values():
        for handler in (observer._handler, *observer.handlers):
            found += handler.filters or []
    for sub_router in router.sub_routers:
        found += every_filter(sub_router)
    return found


def test_no_filter_of_the_bot_runs_in_a_thread(app: App) -> None:
    filters = every_filter(app.dispatcher)
    assert len(filters) > 100  # every router's, the routers' own ones included
    assert [f.callback for f in filters if not f.awaitable] == []


async def test_synchronous_filters_are_called_in_the_loop(bot: Bot) -> None:
    threads: list[int] = []

    def private(message: Message) -> bool:
        threads.append(threading.get_ident())
        return message.chat.type == "private"

    async def answered(message: Message) -> str:
        return "handled"

    router = Router()
    router.message.filter(F.chat.type == "private")
    router.message.register(answered, private, F.text)
    message = Message(
        message_id=1,
        date=TEST_NOW,
        chat=Chat(id=7, type="private"),
        from_user=make_user(),
        text="?",
    )

    assert await router.propagate_event("message", message, bot=bot) == "handled"
    assert threads[-1] != threading.get_ident()  # aiogram's way: a worker thread
    check_filters_in_the_loop(router)
    assert await router.propagate_event("message", message, bot=bot) == "handled"
    assert threads[-1] == threading.get_ident()
