"""Long polling with concurrent handling: members never wait for each other, nothing is lost.

Updates of different chats are handled at the same time, at most `max_concurrent` at once;
updates of one chat are handled in the order Telegram sent them (each waits for the one
before it). An update is confirmed to Telegram only when it and every update before it have
been handled: getUpdates is always asked from the oldest update still being handled, so a
crash loses none, and Telegram's repeats of the ones in flight are recognised and left alone.

Asking from the oldest update in flight means getUpdates answers at once while something is
being handled, with the updates in flight again. So a busy poller asks every `BUSY_POLL_SECONDS`
(or as soon as nothing is in flight any more), not in a loop. Each update is read on its own:
one that cannot be read is skipped with a warning, never retried forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.exceptions import TelegramAPIError, TelegramConflictError
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from pydantic import ValidationError

log = logging.getLogger(__name__)

# Long polling: how long Telegram holds a getUpdates open when there is nothing new.
POLL_SECONDS = 25
# While updates are being handled: how often new ones are asked for.
BUSY_POLL_SECONDS = 0.05
# The most updates one getUpdates returns (Telegram's limit).
MAX_BATCH = 100
# How long a stop waits for the updates being handled before it gives up on them.
STOP_GRACE_SECONDS = 20.0

Fetch = Callable[[TelegramMethod[list[dict[str, Any]]]], Awaitable[list[dict[str, Any]] | None]]


class GetRawUpdates(TelegramMethod[list[dict[str, Any]]]):
    """getUpdates answered as plain JSON objects, so that each update is read on its own.

    aiogram reads a whole batch at once: one update it cannot read (say, a kind of message a
    newer Bot API added) would fail the batch again and again. Read one by one, that update is
    skipped with a warning and the others are handled.
    """

    __returning__ = list[dict[str, Any]]
    __api_method__ = "getUpdates"

    offset: int | None = None
    limit: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


def chat_key(update: Update) -> int | None:
    """What orders updates: the chat (else the user) they come from; None for neither."""
    context = UserContextMiddleware.resolve_event_context(update)
    if context.chat is not None:
        return context.chat.id
    if context.user is not None:
        return context.user.id
    return None


class Poller:
    """Fetch updates, hand each to the dispatcher in a task, confirm what was handled."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        stop: asyncio.Event,
        *,
        fetch: Fetch,
        max_concurrent: int,
    ) -> None:
        self._dispatcher = dispatcher
        self._bot = bot
        self._stop = stop
        self._fetch_with_retries = fetch
        self._allowed = dispatcher.resolve_used_update_types()
        self._slots = asyncio.Semaphore(max_concurrent)
        # Updates received and not handled yet, by id; the last one of each chat.
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._last_of_chat: dict[int | None, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()  # set when the last update in flight finished
        self._next_id: int | None = None  # one past the highest update id received

    @property
    def offset(self) -> int | None:
        """The oldest update not handled yet: everything before it may be confirmed."""
        if self._in_flight:
            return min(self._in_flight)
        return self._next_id

    async def run(self) -> None:
        """Until a stop: fetch and dispatch; then let what is in flight finish, and confirm."""
        while not self._stop.is_set():
            if self._in_flight:
                await self._wait_busy()
                if self._stop.is_set():
                    break
            batch = await self._fetch()
            for raw in batch or ():
                self._receive(raw)
        await self._finish()

    async def _wait_busy(self) -> None:
        """While updates are being handled: a short while, or until all of them finished.

        Asking more often would only fetch the same updates in flight again: Telegram answers
        from the oldest one, up to a hundred.
        """
        self._idle.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), BUSY_POLL_SECONDS)

    async def _fetch(self) -> list[dict[str, Any]] | None:
        """The next updates from the oldest one in flight; None once stopped."""
        method = GetRawUpdates(
            offset=self.offset,
            limit=MAX_BATCH,
            timeout=0 if self._in_flight else POLL_SECONDS,
            allowed_updates=self._allowed,
        )
        fetch = asyncio.ensure_future(self._fetch_with_retries(method))
        stopped = asyncio.ensure_future(self._stop.wait())
        done, _ = await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if fetch not in done:
            fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fetch
            return None
        stopped.cancel()
        return fetch.result()

    def _receive(self, raw: dict[str, Any]) -> None:
        """Dispatch one raw update unless it is one already received; skip one unreadable."""
        update_id = raw.get("update_id")
        if not isinstance(update_id, int):
            log.warning("skipped an update without an id: %.200r", raw)
            return
        if update_id in self._in_flight or (
            self._next_id is not None and update_id < self._next_id
        ):
            return  # Telegram repeats what is not confirmed yet: it is being handled
        self._next_id = update_id + 1
        try:
            update = Update.model_validate(raw, context={"bot": self._bot})
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            log.warning(
                "update %s cannot be read (%s: %s): skipped", update_id, where, first["msg"]
            )
            return
        key = chat_key(update)
        task = asyncio.create_task(self._handle(update, self._last_of_chat.get(key)))
        self._in_flight[update_id] = task
        self._last_of_chat[key] = task
        task.add_done_callback(lambda _task: self._done(update_id, key, task))

    async def _handle(self, update: Update, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(before)  # the chat's previous update first
        async with self._slots:
            try:
                await self._dispatcher.feed_update(self._bot, update)
            except Exception:
                log.exception("update %s failed", update.update_id)

    def _done(self, update_id: int, key: int | None, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(update_id, None)
        if self._last_of_chat.get(key) is task:
            del self._last_of_chat[key]
        if not self._in_flight:
            self._idle.set()

    async def _finish(self) -> None:
        """Let the updates in flight finish (a while), drop the rest, confirm what was handled."""
        if self._in_flight:
            pending = list(self._in_flight.values())
            _, unfinished = await asyncio.wait(pending, timeout=STOP_GRACE_SECONDS)
            if unfinished:
                # Their changes roll back; unconfirmed, Telegram delivers them again after restart.
                log.warning("stopped with %d updates still being handled", len(unfinished))
                for task in unfinished:
                    task.cancel()
                await asyncio.gather(*unfinished, return_exceptions=True)
        await self._confirm()

    async def _confirm(self) -> None:
        """Tell Telegram what was handled, so it does not deliver it again after a restart."""
        offset = self.offset
        if offset is None:
            return
        try:
            await self._bot(GetRawUpdates(offset=offset, limit=1, timeout=0))
        except (TelegramAPIError, OSError, TimeoutError) as error:
            log.warning("could not confirm the last updates: %s", error)


async def get_updates_until_stopped(
    bot: Bot, method: TelegramMethod[list[dict[str, Any]]], stop: asyncio.Event
) -> list[dict[str, Any]]:
    """One getUpdates; a conflict (another poller, a webhook) is waited out, logged once a try."""
    while True:
        try:
            return await bot(method, request_timeout=POLL_SECONDS + 10)
        except TelegramConflictError as error:
            log.warning("getUpdates: %s; trying again in 5 s", error.message)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 5)
            if stop.is_set():
                return []
