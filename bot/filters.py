"""Small filters shared by several routers, and how every filter is run."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Router
from aiogram.types import Message


def is_not_command(message: Message) -> bool:
    """True unless the message is a /command (state handlers leave commands to their routers)."""
    return not (message.text or message.caption or "").startswith("/")


def check_filters_in_the_loop(router: Router) -> None:
    """Run ROUTER's synchronous filters (and its sub-routers') in the event loop.

    aiogram runs a filter that is not a coroutine (a magic filter such as `F.text`, or a plain
    function like `is_not_command`) through `asyncio.to_thread`: a hop to a worker thread and
    back for every check, and a question passes a dozen checks on its way to the FAQ. In a
    burst, updates queued for the executor's few threads. Ours are all quick lookups on the
    update, so they are called directly instead.
    """
    for observer in router.observers.values():
        # The router's own filters (`router.message.filter(...)`) sit in a handler of its own,
        # which aiogram names only privately.
        root = observer._handler
        for handler in (root, *observer.handlers):
            for event_filter in handler.filters or ():
                if not event_filter.awaitable:
                    event_filter.callback = _in_the_loop(event_filter.callback)
                    event_filter.awaitable = True
    for sub_router in router.sub_routers:
        check_filters_in_the_loop(sub_router)


def _in_the_loop(check: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(check)
    async def checked(*args: Any, **kwargs: Any) -> Any:
        return check(*args, **kwargs)

    return checked
