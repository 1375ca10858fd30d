"""Announcements in the running bot: sending each recipient its version, and the coordinator's
live report.

The recipients are outbox rows, fixed in the transaction that confirmed the announcement; the
drainer sends them in the background (`render`), through the Sender's pacing, so members
writing to the bot meanwhile never wait for a broadcast. Photos and documents go by the
`file_id` Telegram gave the coordinator's upload: sent once, never uploaded again. Every few
seconds (`report`) the coordinator's report message is redrawn with the counts (sent, failed,
blocked, waiting, and the time left); when nothing is left to send it becomes the final
report.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import pick_lang
from bot.outbox import Action, Delivery, Render, Skip, wake_after_commit
from bot.sender import Sender, SendResult
from bot.settings import Settings
from knowledge.announcements import Audience, Progress, progress_lines
from knowledge.i18n import N_, format_datetime, translator
from knowledge.municipalities import MunicipalityDirectory
from knowledge.service import KnowledgeBase
from knowledge.text import Lang
from storage import announcements, members
from storage.announcements import Recipient
from storage.db import SessionMaker
from storage.models import Announcement, OutboxMessage
from storage.types import Clock

log = logging.getLogger(__name__)

# How often the live reports are redrawn.
REPORT_SECONDS: Final = 3.0
# Messages a second the Sender allows overall: the estimate of the time left when no rate has
# been measured yet.
ASSUMED_RATE: Final = 25.0


class ReportAction(CallbackData, prefix="co-bcr"):
    """A button under a report (coordinators only): show it again, cancel the rest of the
    delivery, or get the per-recipient CSV."""

    action: str
    id: int


# The statuses of a recipient's row as the CSV words them.
STATUS_LABELS: Final[dict[str, str]] = {
    "pending": N_("not sent yet"),
    "sending": N_("not sent yet"),
    "sent": N_("sent"),
    "failed": N_("failed"),
    "blocked": N_("blocked the bot"),
    "skipped": N_("not sent (opted out or unreachable)"),
    "cancelled": N_("not sent (cancelled)"),
}


def report_keyboard(announcement: Announcement, lang: Lang) -> InlineKeyboardMarkup:
    """Cancel while sending; the CSV always."""
    _ = translator(lang).gettext
    assert announcement.id is not None
    builder = InlineKeyboardBuilder()
    if announcement.status == "sending":
        builder.button(
            text=_("Cancel what is not sent yet"),
            callback_data=ReportAction(action="cancel", id=announcement.id),
        )
    builder.button(
        text=_("Outcome per recipient (CSV)"),
        callback_data=ReportAction(action="csv", id=announcement.id),
    )
    builder.adjust(1)
    return builder.as_markup()


def report_text(
    announcement: Announcement,
    progress: Progress,
    lang: Lang,
    *,
    left: timedelta | None,
    now: datetime,
    settings: Settings,
) -> str:
    """The report's text: the announcement's state, when it starts if later, and its counts."""
    words = translator(lang)
    assert announcement.id is not None
    count, number = announcement.recipients, announcement.id
    if announcement.status == "sending" and announcement.send_at > now:
        head = words.ngettext(
            "Announcement #{number}: scheduled for {moment}, {count} recipient.",
            "Announcement #{number}: scheduled for {moment}, {count} recipients.",
            count,
        ).format(
            number=number,
            count=count,
            moment=format_datetime(announcement.send_at, lang, settings.tz),
        )
    elif announcement.status == "done":
        head = words.ngettext(
            "Announcement #{number}: finished. {count} recipient.",
            "Announcement #{number}: finished. {count} recipients.",
            count,
        ).format(number=number, count=count)
    elif announcement.status == "cancelled":
        head = words.ngettext(
            "Announcement #{number}: cancelled. {count} recipient.",
            "Announcement #{number}: cancelled. {count} recipients.",
            count,
        ).format(number=number, count=count)
    else:
        head = words.ngettext(
            "Announcement #{number}: sending to {count} recipient.",
            "Announcement #{number}: sending to {count} recipients.",
            count,
        ).format(number=number, count=count)
    lines = ["📣 <b>" + head + "</b>"]
    return "\n".join([*lines, *progress_lines(progress, lang, left=left)])


def final_progress(announcement: Announcement) -> Progress | None:
    """The counts kept when the delivery ended (the outbox rows are deleted after a while)."""
    counts = announcement.counts
    if counts is None:
        return None
    return Progress(**{name: int(value) for name, value in counts.items()})


class Broadcaster:
    """Works out audiences, sends announcements' rows and keeps their reports up to date."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessionmaker: SessionMaker,
        sender: Sender,
        bot: Bot,
        knowledge: KnowledgeBase,
        clock: Clock,
        wake: Any = lambda: None,
    ) -> None:
        self.settings = settings
        self._sessionmaker = sessionmaker
        self._sender = sender
        self._bot = bot
        self._knowledge = knowledge
        self._clock = clock
        self.wake = wake
        self._versions: dict[int, dict[str, Any]] = {}
        self._pace: dict[int, tuple[float, int]] = {}  # id -> (monotonic time, done) last seen
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def municipalities(self) -> MunicipalityDirectory:
        """The municipalities audiences are made of."""
        return self._knowledge.municipalities

    def confirmed(self, session: AsyncSession) -> None:
        """Wake the drainer once the confirming transaction has committed."""
        wake_after_commit(session, self.wake)

    def renderers(self) -> dict[str, Render]:
        """The outbox renderer of announcements."""
        return {announcements.PURPOSE: self.render}

    async def recipients(
        self, session: AsyncSession, audience: Audience, versions: Sequence[str]
    ) -> list[Recipient]:
        """Everyone AUDIENCE means now, with the version each reads."""
        call = None
        if audience.call is not None:
            try:
                call = self._knowledge.pack.call(audience.call)
            except KeyError:
                return []
        default = self.settings.default_locale
        return await announcements.audience_of(
            session,
            audience,
            versions=versions,
            default=default,
            lang_of=lambda chosen, telegram: pick_lang(chosen, telegram, default),
            call=call,
        )

    async def deliver(self, chat_id: int, version: dict[str, Any]) -> SendResult:
        """Send one version to CHAT_ID exactly as recipients get it (also the preview)."""
        kind, html, file_id = (
            version["kind"],
            version.get("html") or None,
            str(version.get("file_id")),
        )
        if kind == "photo":
            return await self._sender.send_photo(chat_id, file_id, caption=html)
        if kind == "document":
            return await self._sender.send_document(chat_id, file_id, caption=html)
        return await self._sender.send_message(chat_id, html or "")

    async def preview(self, chat_id: int, version: dict[str, Any]) -> None:
        """Show a version to the coordinator as recipients will get it (a version fits one
        message: the wizard refuses longer ones)."""
        kind, html, file_id = (
            version["kind"],
            version.get("html") or None,
            str(version.get("file_id")),
        )
        if kind == "photo":
            await self._bot.send_photo(chat_id, file_id, caption=html)
        elif kind == "document":
            await self._bot.send_document(chat_id, file_id, caption=html)
        else:
            await self._bot.send_message(chat_id, html or "")

    async def render(
        self, session: AsyncSession, row: OutboxMessage, now: datetime
    ) -> Delivery | Skip | Action:
        """Send a recipient its version of the announcement (by file_id for photos and
        documents), unless the delivery was cancelled or the recipient opted out since."""
        number = int(row.payload["announcement"])
        announcement = await announcements.get(session, number)
        if announcement is None or announcement.status == "cancelled":
            return Skip("the announcement was cancelled")
        if row.chat_id > 0:
            member = await members.get_member(session, member_id=row.chat_id)
            if member is None or not member.reachable:
                return Skip("the member is gone or unreachable")
            if await announcements.is_opted_out(session, member.id):
                return Skip("the member opted out of announcements")
        versions = self._versions.setdefault(number, dict(announcement.versions))
        version = versions.get(str(row.payload.get("version"))) or next(iter(versions.values()))
        chat_id = row.chat_id

        async def run() -> SendResult:
            return await self.deliver(chat_id, version)

        return Action(run)

    async def report(self) -> None:
        """Redraw the report of every announcement not finished; finish those done."""
        now = self._clock()
        async with self._sessionmaker() as session:
            for announcement in await announcements.unfinished(session):
                number = announcement.id
                assert number is not None
                progress = await announcements.progress(session, number)
                ended = progress.done and (
                    announcement.status == "cancelled" or announcement.send_at <= now
                )
                if ended:
                    await announcements.finish(session, number, progress, now)
                    await session.refresh(announcement)
                    self._pace.pop(number, None)
                    self._versions.pop(number, None)
                await session.commit()
                await self.redraw(announcement, progress)

    async def redraw(self, announcement: Announcement, progress: Progress) -> None:
        """Edit the report message to show PROGRESS."""
        if announcement.report_chat_id is None or announcement.report_message_id is None:
            return
        assert announcement.id is not None
        lang = await self._coordinator_lang(announcement.report_chat_id)
        text = report_text(
            announcement,
            progress,
            lang,
            left=self._left(announcement.id, progress),
            now=self._clock(),
            settings=self.settings,
        )
        try:
            await self._bot.edit_message_text(
                text,
                chat_id=announcement.report_chat_id,
                message_id=announcement.report_message_id,
                reply_markup=report_keyboard(announcement, lang),
            )
        except TelegramBadRequest:
            pass  # unchanged since the last redraw, or deleted by the coordinator
        except TelegramAPIError as error:
            log.warning("announcement #%s: report not updated: %s", announcement.id, error)

    async def _coordinator_lang(self, chat_id: int) -> Lang:
        default = self.settings.default_locale
        async with self._sessionmaker() as session:
            coordinator = await members.get_member(session, member_id=chat_id)
        if coordinator is None:
            return default
        return pick_lang(coordinator.language, coordinator.telegram_language, default)

    def _left(self, number: int, progress: Progress) -> timedelta | None:
        """How long the rest will take, from the rate measured since the last redraw."""
        done = progress.sent + progress.failed + progress.blocked
        now = time.monotonic()
        last = self._pace.get(number)
        self._pace[number] = (now, done)
        rate = ASSUMED_RATE
        if last is not None and now > last[0] and done > last[1]:
            rate = (done - last[1]) / (now - last[0])
        return timedelta(seconds=progress.waiting / rate) if progress.waiting else None

    async def idle(self, timeout: float = 30.0) -> None:
        """Wait (up to TIMEOUT seconds) for the CSV files being made."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    def send_csv(self, chat_id: int, number: int, lang: Lang) -> None:
        """Send the per-recipient outcome of announcement NUMBER to CHAT_ID as a CSV, in the
        background (a big announcement's file takes a moment)."""
        task = asyncio.create_task(self._send_csv(chat_id, number, lang))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_csv(self, chat_id: int, number: int, lang: Lang) -> None:
        try:
            async with self._sessionmaker() as session:
                rows = await announcements.outcomes(session, number)
            document = outcome_csv(rows, lang, self.municipalities, self.settings)
            name = f"announcement-{number}.csv"
            await self._sender.send_document(chat_id, BufferedInputFile(document, filename=name))
        except Exception:  # the coordinator can press again; the bot goes on
            log.exception("announcement #%s: the CSV could not be made", number)


def outcome_csv(
    rows: list[dict[str, Any]],
    lang: Lang,
    municipalities: MunicipalityDirectory,
    settings: Settings,
) -> bytes:
    """Per recipient: id, member or group, language, municipality, status, time, and whether it
    was sent again after a restart. No names or usernames."""
    _ = translated = translator(lang).gettext
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Recipient id"),
            _("Member or group"),
            _("Language"),
            _("Municipality"),
            _("Status"),
            _("Time"),
            _("Sent again after a restart"),
        ]
    )
    for row in rows:
        municipality = municipalities.get(row["municipality"]) if row["municipality"] else None
        writer.writerow(
            [
                row["chat_id"],
                _("group") if row["chat_id"] < 0 else _("member"),
                row["language"],
                municipality.short[lang] if municipality else "",
                translated(STATUS_LABELS.get(row["status"], row["status"])),
                row["time"].astimezone(settings.tz).isoformat(timespec="seconds"),
                _("yes") if row["redelivered"] else "",
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
