"""The outbox drainer: sends what the bot says on its own initiative, once, in one process.

Rows are written to the outbox (`storage.outbox`) in the transaction of their cause. Exactly
one bot process drains them: the one holding the `drainer` lease in the database. Every
process tries to take it every few seconds; the holder renews it, and when the holder dies
another takes over once the lease has run out (`LEASE_SECONDS`). On taking over, rows the dead
holder left "being sent" are pending again: a message handed to Telegram just before the end
may then arrive twice (at most one per chat that was being sent to, `WINDOW` chats at a time).
That is the only way a message is sent twice.

The holder claims due rows, asks the renderer of each row's purpose for what to send (or
whether to skip it: the call closed, the chat unsubscribed, a later reminder is due), sends it
through the `Sender` (its pacing, 429 pause, 403 unreachable, retries) and records how it ended.
A row written in this process wakes the drainer at once; rows written by another process are
found within `POLL_SECONDS`. APScheduler runs the periodic jobs (renewing the lease, planning),
in every process; the jobs do their work only where the lease is held.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from uuid import uuid4

from aiogram.types import InlineKeyboardMarkup
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.sender import Outcome, Sender, SendResult
from storage import outbox
from storage.db import SessionMaker
from storage.models import OutboxMessage
from storage.types import Clock

log = logging.getLogger(__name__)

LEASE_NAME: Final = "drainer"
# The lease runs this long unless renewed; every process tries to take it this often.
LEASE_SECONDS: Final = 15.0
LEASE_RENEW_SECONDS: Final = 5.0
# Without a wake-up, due rows are looked for this often (rows written by other processes).
POLL_SECONDS: Final = 1.0
# Rows claimed at once, and chats sent to at the same time.
BATCH: Final = 100
WINDOW: Final = 8
# A failed row (Telegram down, not the chat's fault) is tried again this often, then given up.
MAX_ATTEMPTS: Final = 4
RETRY_SECONDS: Final = 30.0
# Ended rows are kept this long (for the reports), then deleted.
KEEP_FINISHED: Final = timedelta(days=30)


@dataclass(frozen=True)
class Delivery:
    """What to send for a row: HTML text and its buttons."""

    text: str
    reply_markup: InlineKeyboardMarkup | None = None


@dataclass(frozen=True)
class Skip:
    """A row not worth sending any more, and why (kept on the row)."""

    reason: str


@dataclass(frozen=True)
class Action:
    """A row that takes more than one message to send (a card with attachments, a copy into a
    forum topic): RUN makes the requests through the Sender and says how it ended."""

    run: Callable[[], Awaitable[SendResult]]


Render = Callable[[AsyncSession, OutboxMessage, datetime], Awaitable[Delivery | Skip | Action]]
Job = Callable[[], Awaitable[Any]]


def wake_after_commit(session: AsyncSession, wake: Callable[[], None]) -> None:
    """Call WAKE once SESSION's transaction has committed (the rows it wrote are visible)."""
    event.listen(session.sync_session, "after_commit", lambda _session: wake(), once=True)


class Drainer:
    """Sends due outbox rows through the Sender while this process holds the lease."""

    def __init__(
        self,
        sessionmaker: SessionMaker,
        sender: Sender,
        renderers: Mapping[str, Render],
        *,
        clock: Clock,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._sender = sender
        self._renderers = dict(renderers)
        self._clock = clock
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:8]}"
        self.is_leader = False
        self._wake = asyncio.Event()
        self._on_leadership: list[Job] = []
        self._periodic: list[tuple[Job, float, str]] = []
        self._stop = asyncio.Event()
        self.sent = 0

    def add_renderer(self, purpose: str, render: Render) -> None:
        """Who words the rows of PURPOSE."""
        self._renderers[purpose] = render

    def when_leader(self, job: Job) -> None:
        """Run JOB each time this process takes the lease (e.g. plan what was missed)."""
        self._on_leadership.append(job)

    def every(self, seconds: float, job: Job, name: str) -> None:
        """Run JOB every SECONDS while this process holds the lease."""
        self._periodic.append((job, seconds, name))

    def wake(self) -> None:
        """Look for due rows now (something was just written)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Hold or wait for the lease, and drain while holding it, until STOP is set."""
        self._stop = stop
        scheduler = AsyncIOScheduler()
        scheduler.add_job(
            self.keep_lease,
            "interval",
            seconds=LEASE_RENEW_SECONDS,
            id="lease",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        for job, seconds, name in self._periodic:
            scheduler.add_job(
                self._if_leader(job, name),
                "interval",
                seconds=seconds,
                id=name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
            )
        await self.keep_lease()
        scheduler.start()
        try:
            while not stop.is_set():
                if self.is_leader:
                    await self._drain_due()
                await self._sleep(stop)
        finally:
            scheduler.shutdown(wait=False)
            await self._give_up_lease()

    def _if_leader(self, job: Job, name: str) -> Job:
        async def run_job() -> None:
            if not self.is_leader:
                return
            try:
                await job()
            except (SQLAlchemyError, OSError) as error:
                log.warning("%s: %s; trying again at the next run", name, error)

        return run_job

    async def _sleep(self, stop: asyncio.Event) -> None:
        stopped = asyncio.ensure_future(stop.wait())
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait(
                {stopped, woken}, timeout=POLL_SECONDS, return_when="FIRST_COMPLETED"
            )
        finally:
            stopped.cancel()
            woken.cancel()
        self._wake.clear()

    async def keep_lease(self) -> None:
        """Take or renew the lease; on taking it, release what a dead holder left half-sent."""
        try:
            async with self._sessionmaker() as session:
                leader = await outbox.take_lease(
                    session,
                    name=LEASE_NAME,
                    holder=self.holder,
                    now=self._clock(),
                    ttl=timedelta(seconds=LEASE_SECONDS),
                )
                released = 0
                if leader and not self.is_leader:
                    released = await outbox.release_claimed(session)
                await session.commit()
        except (SQLAlchemyError, OSError) as error:
            log.warning("outbox lease: %s; trying again in %.0f s", error, LEASE_RENEW_SECONDS)
            self.is_leader = False
            return
        if leader and not self.is_leader:
            log.info("this process sends the outbox now (%s)", self.holder)
            if released:
                log.warning(
                    "%d message(s) were being sent when the previous sender stopped: sending "
                    "them again (each may arrive twice)",
                    released,
                )
            self.is_leader = True
            for job in self._on_leadership:
                await self._if_leader(job, "taking over")()
            self.wake()
        elif not leader and self.is_leader:
            log.warning("another process took the outbox lease; this one stops sending")
            self.is_leader = False

    async def _give_up_lease(self) -> None:
        if not self.is_leader:
            return
        self.is_leader = False
        with contextlib.suppress(SQLAlchemyError, OSError):
            async with self._sessionmaker() as session:
                await outbox.drop_lease(session, name=LEASE_NAME, holder=self.holder)
                await session.commit()

    async def drain_once(self) -> None:
        """Send everything due now, if this process holds the lease (tests, benchmarks)."""
        await self._drain_due()

    async def _drain_due(self) -> None:
        """Send everything due now, batch after batch."""
        while self.is_leader and not self._stop.is_set():
            try:
                async with self._sessionmaker() as session:
                    rows = await outbox.claim_due(session, now=self._clock(), limit=BATCH)
                    await session.commit()
            except (SQLAlchemyError, OSError) as error:
                log.warning("outbox: %s; trying again shortly", error)
                return
            if not rows:
                return
            await self._send_batch(rows)

    async def _send_batch(self, rows: Sequence[OutboxMessage]) -> None:
        """Each chat's rows in order; up to WINDOW chats at the same time."""
        by_chat: dict[int, list[OutboxMessage]] = defaultdict(list)
        for row in rows:
            by_chat[row.chat_id].append(row)
        window = asyncio.Semaphore(WINDOW)

        async def send_chat(chat_rows: list[OutboxMessage]) -> None:
            async with window:
                for row in chat_rows:
                    if self._stop.is_set() or not self.is_leader:
                        await self._put_back(row)
                    else:
                        await self._send_row(row)

        await asyncio.gather(*(send_chat(chat_rows) for chat_rows in by_chat.values()))

    async def _send_row(self, row: OutboxMessage) -> None:
        assert row.id is not None
        now = self._clock()
        render = self._renderers.get(row.purpose)
        try:
            async with self._sessionmaker() as session:
                if render is None:
                    what: Delivery | Skip | Action = Skip(f"nobody words {row.purpose!r} messages")
                else:
                    what = await render(session, row, now)
                await session.rollback()
            if isinstance(what, Skip):
                await self._finish(row.id, outbox.SKIPPED, error=what.reason)
                log.info("outbox %s not sent: %s", row.key, what.reason)
                return
            if isinstance(what, Action):
                result = await what.run()
            else:
                result = await self._sender.send_message(
                    row.chat_id, what.text, reply_markup=what.reply_markup
                )
            if result.outcome is Outcome.SENT:
                self.sent += 1
                await self._finish(row.id, outbox.SENT, sent_at=self._clock())
            elif result.outcome is Outcome.BLOCKED:
                await self._finish(row.id, outbox.BLOCKED, error=result.error)
            elif not result.message_ids and row.attempts < MAX_ATTEMPTS:
                retry_at = self._clock() + timedelta(seconds=RETRY_SECONDS * row.attempts)
                async with self._sessionmaker() as session:
                    await outbox.retry_later(
                        session, row_id=row.id, due_at=retry_at, error=result.error
                    )
                    await session.commit()
            else:
                await self._finish(row.id, outbox.FAILED, error=result.error)
        except (SQLAlchemyError, OSError) as error:
            # The row stays "sending": the next holder of the lease sends it again.
            log.warning("outbox %s: %s", row.key, error)
        except Exception:  # a defect in a renderer: the row fails, the others still go out
            log.exception("outbox %s could not be sent", row.key)
            with contextlib.suppress(SQLAlchemyError, OSError):
                await self._finish(row.id, outbox.FAILED, error="internal error (see the log)")

    async def _put_back(self, row: OutboxMessage) -> None:
        """A claimed row not sent because the process stops: pending again, as it was."""
        assert row.id is not None
        with contextlib.suppress(SQLAlchemyError, OSError):
            async with self._sessionmaker() as session:
                await outbox.retry_later(session, row_id=row.id, due_at=row.due_at, error=row.error)
                await session.commit()

    async def _finish(
        self, row_id: int, status: str, *, error: str | None = None, sent_at: datetime | None = None
    ) -> None:
        async with self._sessionmaker() as session:
            await outbox.finish(session, row_id=row_id, status=status, error=error, sent_at=sent_at)
            await session.commit()

    async def clean_up(self) -> None:
        """Delete rows that ended long ago."""
        async with self._sessionmaker() as session:
            deleted = await outbox.delete_finished(session, before=self._clock() - KEEP_FINISHED)
            await session.commit()
        if deleted:
            log.info("outbox: %d old rows deleted", deleted)
