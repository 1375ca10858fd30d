"""Deadline reminders in the running bot: planning them with its settings and calls, and
wording each one for its recipient when it is sent.

Planning happens in the transaction of its cause: `chat_changed` after a chat's subscriptions
changed, `calls_changed` after /newcall, an edit of a call's dates or /reload. `plan_all` runs
in the process holding the outbox lease, at start and every few minutes: it stores what falls
due within the window, notices calls changed by another process or while the bot was down,
and takes in calls other processes stored. The words are made when a row is sent (`render`),
so they are true on arrival and in the recipient's language and time zone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Final, Literal

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import pick_lang
from bot.outbox import Delivery, Render, Skip, wake_after_commit
from bot.sender import quote
from bot.settings import Settings
from knowledge.i18n import translator
from knowledge.pack import Call
from knowledge.reminders import (
    MOVED,
    OPENED,
    REMINDER,
    iso,
    moved_text,
    opened_text,
    reminder_text,
)
from knowledge.service import KnowledgeBase
from knowledge.text import Lang
from storage import calls, members, outbox, subscriptions
from storage.db import SessionMaker
from storage.models import OutboxMessage
from storage.reminders import Report, Rules, plan_calls, plan_chat
from storage.types import Clock

log = logging.getLogger(__name__)

# How often the lease holder plans what comes within the window (and notices other changes).
PLAN_SECONDS: Final = 300.0


class ReminderButton(CallbackData, prefix="rm"):
    """A call's reminder buttons: remind me (on), stop reminding (off), add to calendar (ics).

    WHERE is the message the button sits under, so it can be redrawn: a call's answer or a
    reminder (`a`), or the /calls list (`l`).
    """

    action: Literal["on", "off", "ics"]
    where: Literal["a", "l"]
    call: str


def call_buttons(call_id: str, *, subscribed: bool, lang: Lang) -> InlineKeyboardMarkup:
    """ "Remind me" (or "Stop reminding") and "Add to calendar" under a call's text."""
    _ = translator(lang).gettext
    builder = InlineKeyboardBuilder()
    if subscribed:
        builder.button(
            text=_("Stop reminding"),
            callback_data=ReminderButton(action="off", where="a", call=call_id),
        )
    else:
        builder.button(
            text=_("Remind me"), callback_data=ReminderButton(action="on", where="a", call=call_id)
        )
    builder.button(
        text=_("Add to calendar"),
        callback_data=ReminderButton(action="ics", where="a", call=call_id),
    )
    builder.adjust(2)
    return builder.as_markup()


class Reminders:
    """Plans reminders into the outbox and words the ones due."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessionmaker: SessionMaker,
        knowledge: KnowledgeBase,
        clock: Clock,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.settings = settings
        self.rules = Rules(
            offsets=settings.offsets,
            municipalities=knowledge.municipalities,
            default_zone=settings.timezone,
        )
        self._sessionmaker = sessionmaker
        self._knowledge = knowledge
        self._clock = clock
        self.wake = wake

    # --- planning ---------------------------------------------------------------------------

    async def chat_changed(self, session: AsyncSession, chat_id: int) -> None:
        """Plan CHAT_ID's reminders again, in SESSION (its subscriptions just changed)."""
        await plan_chat(
            session,
            chat_id=chat_id,
            calls=self._knowledge.pack.calls,
            rules=self.rules,
            now=self._clock(),
        )
        wake_after_commit(session, self.wake)

    async def calls_changed(
        self, session: AsyncSession, calls_now: Iterable[Call] | None = None
    ) -> Report:
        """Plan every call's messages again, in SESSION (a call was added, edited, reloaded).

        CALLS_NOW are all calls as they are after the change (default: the knowledge's)."""
        known = self._knowledge.pack.calls if calls_now is None else calls_now
        report = await plan_calls(session, known, self.rules, now=self._clock())
        wake_after_commit(session, self.wake)
        return report

    async def plan_all(self) -> Report:
        """Take in calls stored by other processes, then plan everything, in a session of its
        own (at start, and every PLAN_SECONDS in the process holding the lease)."""
        async with self._sessionmaker() as session:
            stored = await calls.stored_calls(session)
            self._knowledge.set_stored_calls(stored)
            report = await plan_calls(
                session, self._knowledge.pack.calls, self.rules, now=self._clock()
            )
            await session.commit()
        if report.planned or report.cancelled or report.moved or report.removed:
            log.info(
                "reminders planned: %d stored, %d cancelled; deadlines moved: %s; calls gone: %s",
                report.planned,
                report.cancelled,
                ", ".join(report.moved) or "none",
                ", ".join(report.removed) or "none",
            )
        self.wake()
        return report

    # --- sending ----------------------------------------------------------------------------

    async def render(
        self, session: AsyncSession, row: OutboxMessage, now: datetime
    ) -> Delivery | Skip:
        """What ROW's recipient reads now, or why it is no longer worth sending."""
        try:
            call = self._knowledge.pack.call(row.subject)
        except KeyError:
            return Skip("the call is gone")
        if now >= call.closes:
            return Skip("the call has closed")
        recipient = await members.recipient(session, chat_id=row.chat_id)
        if recipient is None:
            return Skip("the chat is unknown or the bot has left it")
        if not recipient.reachable:
            return Skip("the chat is unreachable until it writes again")
        chat_subscriptions = await subscriptions.of_chat(session, chat_id=row.chat_id)
        if subscriptions.subscribed_since(chat_subscriptions, call) is None:
            return Skip("no longer subscribed")
        lang = pick_lang(
            recipient.language, recipient.telegram_language, self.settings.default_locale
        )
        zone = self.rules.zone(recipient.municipality)
        if row.purpose == REMINDER:
            if outbox.payload_value(row, "closes") != iso(call.closes):
                return Skip("the deadline has changed")
            if await outbox.later_one_due(session, row=row, now=now):
                return Skip("a later reminder is due")
            text = reminder_text(call, now, lang, zone)
        elif row.purpose == OPENED:
            if now < call.opens:
                return Skip("the call is not open yet")
            text = opened_text(call, lang, zone)
        elif row.purpose == MOVED:
            if outbox.payload_value(row, "closes") != iso(call.closes):
                return Skip("the deadline has changed again")
            text = moved_text(call, lang, zone)
        else:
            return Skip(f"not a reminder: {row.purpose}")
        return Delivery(quote(text), call_buttons(call.id, subscribed=True, lang=lang))

    def renderers(self) -> dict[str, Render]:
        """The outbox renderer of each purpose this module words."""
        return dict.fromkeys((REMINDER, OPENED, MOVED), self.render)
