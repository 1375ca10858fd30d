"""Requests for expert help in the running bot: what goes to the coordinators' chat and to
leaders, through the outbox, and how each of those messages is sent.

Handlers change a request in the update's transaction and, in the same transaction, store in
the outbox what that change makes the bot say: the card in the coordinators' chat, a leader's
message copied into the request's thread, a coordinator's answer copied to the leader, the
notices of each status change, the escalation of a request nobody took. The drainer sends them
(`render`), so a restart loses none and none goes twice.

The coordinators' chat may be a forum: each request then gets a topic of its own, named with its
number, kind, municipality and status, closed when the request is. A topic deleted by hand (or
"message thread not found") is made again. In an ordinary group the card and the replies to it
are the thread. Messages are copied (`copyMessage`) or rewritten, never forwarded: a forward
shows whose account it came from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import pick_lang
from bot.outbox import Action, Delivery, Render, Skip, wake_after_commit
from bot.sender import Outcome, Sender, SendResult, quote
from bot.settings import Settings
from knowledge.help_requests import (
    WAITING_REMINDER,
    RequestView,
    card_lines,
    duration_text,
    topic_name,
)
from knowledge.i18n import translator
from knowledge.municipalities import MunicipalityDirectory
from knowledge.reminders import Planned, iso
from knowledge.text import Lang
from storage import help_requests, members, outbox
from storage.db import SessionMaker
from storage.models import HelpRequest, OutboxMessage
from storage.types import Clock

log = logging.getLogger(__name__)

CARD: Final = "help-card"
RELAY: Final = "help-relay"
EDIT: Final = "help-edit"
NOTICE: Final = "help-notice"
ESCALATE: Final = "help-escalate"
WAITING: Final = "help-waiting"
PURPOSES: Final = (CARD, RELAY, EDIT, NOTICE, ESCALATE, WAITING)
THREAD_GONE: Final = ("message thread not found", "topic_deleted", "topic was deleted")


class HelpAction(CallbackData, prefix="hr"):
    """A button on a request's card: take, close, release, faq (make an FAQ entry)."""

    action: str
    id: int


def card_keyboard(request: HelpRequest, lang: Lang) -> InlineKeyboardMarkup:
    """Take (new), Close and Release (taken), Make an FAQ entry (closed)."""
    _ = translator(lang).gettext
    assert request.id is not None
    builder = InlineKeyboardBuilder()
    if request.status == "new":
        builder.button(text=_("Take"), callback_data=HelpAction(action="take", id=request.id))
    elif request.status == "taken":
        builder.button(text=_("Close"), callback_data=HelpAction(action="close", id=request.id))
        builder.button(text=_("Release"), callback_data=HelpAction(action="release", id=request.id))
    else:
        builder.button(
            text=_("Make an FAQ entry"), callback_data=HelpAction(action="faq", id=request.id)
        )
    return builder.as_markup()


@dataclass(frozen=True)
class Relayed:
    """A message to pass on: where it comes from, and its text or caption as HTML."""

    from_chat: int
    message_id: int
    html: str
    media: bool  # copied with HTML as its caption; otherwise sent as HTML text


class Helpdesk:
    """Plans and sends what help requests make the bot say."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessionmaker: SessionMaker,
        sender: Sender,
        bot: Bot,
        municipalities: MunicipalityDirectory,
        clock: Clock,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.settings = settings
        self._sessionmaker = sessionmaker
        self._sender = sender
        self._bot = bot
        self._municipalities = municipalities
        self._clock = clock
        self.wake = wake
        self._is_forum: bool | None = None

    @property
    def chat_id(self) -> int | None:
        """The coordinators' chat (COORDINATOR_CHAT_ID), if set."""
        return self.settings.coordinator_chat_id

    @property
    def lang(self) -> Lang:
        """The language of the coordinators' chat."""
        return self.settings.default_locale

    def view(self, request: HelpRequest, lang: Lang, username: str | None = None) -> RequestView:
        """What cards and lists show of REQUEST, in LANG."""
        municipality = self._municipalities.get(request.municipality or "")
        assert request.id is not None
        return RequestView(
            number=request.id,
            kind=request.kind,
            urgency=request.urgency,
            municipality=municipality.short[lang] if municipality else None,
            organisation=request.organisation,
            description=request.description,
            status=request.status,
            handler=request.handler_name,
            username=username if request.show_username else None,
            created_at=request.created_at,
            outcome=request.outcome,
            leader_unreachable=request.leader_unreachable,
        )

    def card_text(self, request: HelpRequest, username: str | None) -> str:
        """The card's HTML: its facts, then the leader's description."""
        lines = [
            quote(line)
            for line in card_lines(
                self.view(request, self.lang, username), self.lang, self.settings.timezone
            )
        ]
        lines[0] = f"<b>{lines[0]}</b>"
        return "\n".join([*lines, "", quote(request.description)])

    # --- storing what to send (in the caller's transaction) -----------------------------------

    async def _store(self, session: AsyncSession, planned: list[Planned]) -> None:
        await outbox.enqueue(session, planned)
        wake_after_commit(session, self.wake)

    async def submitted(self, session: AsyncSession, request: HelpRequest, now: datetime) -> None:
        """A new request: its card, and its escalations (sent only if nobody took it)."""
        assert request.id is not None and self.chat_id is not None
        number = request.id
        after = self.settings.escalation_delays[request.urgency]
        due = now + after
        planned = [
            Planned(f"{CARD}:{number}", CARD, self.chat_id, str(number), now, {"request": number}),
            Planned(
                f"{ESCALATE}:{number}:chat",
                ESCALATE,
                self.chat_id,
                str(number),
                due,
                {"request": number, "after": int(after.total_seconds())},
            ),
        ]
        planned += [
            Planned(
                f"{ESCALATE}:{number}:{coordinator}",
                ESCALATE,
                coordinator,
                str(number),
                due,
                {"request": number, "after": int(after.total_seconds())},
            )
            for coordinator in sorted(self.settings.coordinator_ids)
        ]
        await self._store(session, planned)

    async def relay(
        self,
        session: AsyncSession,
        request: HelpRequest,
        message: Relayed,
        *,
        to_leader: bool,
        reply_to: int | None,
        now: datetime,
    ) -> None:
        """Pass MESSAGE on: a coordinator's to the leader, or the leader's into the thread."""
        assert request.id is not None
        if to_leader:
            if request.member_id is None:
                return
            chat = request.member_id
        else:
            assert self.chat_id is not None
            chat = self.chat_id
        payload = {
            "request": request.id,
            "from_chat": message.from_chat,
            "message_id": message.message_id,
            "html": message.html,
            "media": message.media,
            "reply_to": reply_to,
            "to_leader": to_leader,
        }
        key = f"{RELAY}:{message.from_chat}:{message.message_id}"
        await self._store(session, [Planned(key, RELAY, chat, str(request.id), now, payload)])
        if to_leader:
            await help_requests.touch(
                session, request_id=request.id, now=now, leader_waiting_since=None
            )
            return
        await help_requests.touch(session, request_id=request.id, now=now)
        if (
            request.status == "taken"
            and request.handler_id
            and request.leader_waiting_since is None
        ):
            await help_requests.touch(
                session, request_id=request.id, now=now, leader_waiting_since=now
            )
            await self._store(
                session,
                [
                    Planned(  # once per wait: the key names when it began
                        f"{WAITING}:{request.id}:{iso(now)}",
                        WAITING,
                        request.handler_id,
                        str(request.id),
                        now + WAITING_REMINDER,
                        {"request": request.id, "since": iso(now)},
                    )
                ],
            )

    async def edited(
        self,
        session: AsyncSession,
        request_id: int,
        message: Relayed,
        edit_date: int,
        now: datetime,
    ) -> None:
        """An original message was edited: edit its copies."""
        payload = {
            "request": request_id,
            "from_chat": message.from_chat,
            "message_id": message.message_id,
            "html": message.html,
            "media": message.media,
        }
        key = f"{EDIT}:{message.from_chat}:{message.message_id}:{edit_date}"
        await self._store(
            session, [Planned(key, EDIT, message.from_chat, str(request_id), now, payload)]
        )

    async def notify(
        self,
        session: AsyncSession,
        request: HelpRequest,
        *,
        to_leader: bool,
        html: str,
        event: str,
        now: datetime,
    ) -> None:
        """A notice about REQUEST (EVENT names it once: "taken-1700000000"), to its leader or
        into its thread."""
        assert request.id is not None
        chat = request.member_id if to_leader else self.chat_id
        if chat is None:
            return
        key = f"{NOTICE}:{request.id}:{chat}:{event}"
        payload = {"request": request.id, "html": html, "to_leader": to_leader}
        await self._store(session, [Planned(key, NOTICE, chat, str(request.id), now, payload)])

    def leader_lang(self, language: str | None, telegram_language: str | None) -> Lang:
        """The language a leader reads."""
        return pick_lang(language, telegram_language, self.settings.default_locale)

    # --- sending (the drainer) ------------------------------------------------------------------

    def renderers(self) -> dict[str, Render]:
        """The outbox renderer of each purpose this module sends."""
        return {
            CARD: self._render_card,
            RELAY: self._render_relay,
            EDIT: self._render_edit,
            NOTICE: self._render_notice,
            ESCALATE: self._render_escalation,
            WAITING: self._render_waiting,
        }

    async def _request(self, session: AsyncSession, row: OutboxMessage) -> HelpRequest | None:
        return await help_requests.get(session, int(row.payload["request"]))

    async def _leader_username(self, request: HelpRequest, session: AsyncSession) -> str | None:
        if not request.show_username or request.member_id is None:
            return None
        member = await members.get_member(session, member_id=request.member_id)
        return member.username if member else None

    async def _render_card(
        self, session: AsyncSession, row: OutboxMessage, now: datetime
    ) -> Delivery | Skip | Action:
        request = await self._request(session, row)
        if request is None:
            return Skip("the request is gone")
        text = self.card_text(request, await self._leader_username(request, session))
        keyboard = card_keyboard(request, self.lang)
        number = request.id
        assert number is not None
        leader, attachments = request.member_id, list(request.attachments)

        async def run() -> SendResult:
            thread = await self._thread(number, create=True)
            result = await self._send_in_thread(number, text, keyboard, thread, reply_to=None)
            if result.outcome is not Outcome.SENT:
                return result
            card_id = result.message_ids[0]
            async with self._sessionmaker() as own:
                await help_requests.set_place(own, request_id=number, card_message_id=card_id)
                await help_requests.remember_message(
                    own, request_id=number, chat_id=row.chat_id, message_id=card_id
                )
                await own.commit()
            for message_id in attachments:
                if leader is None:
                    break
                copied = await self._copy_in_thread(
                    number, leader, message_id, None, reply_to=card_id
                )
                if copied.outcome is Outcome.SENT:
                    await self._remember_copy(number, row.chat_id, copied, (leader, message_id))
            return result

        return Action(run)

    async def _render_relay(
        self, session: AsyncSession, row: OutboxMessage, now: datetime
    ) -> Delivery | Skip | Action:
        request = await self._request(session, row)
        if request is None:
            return Skip("the request is gone")
        payload = row.payload
        number, to_leader = int(payload["request"]), bool(payload["to_leader"])
        source = (int(payload["from_chat"]), int(payload["message_id"]))
        html, media = str(payload["html"]), bool(payload["media"])
        reply_to = payload.get("reply_to")
        if to_leader and request.member_id is None:
            return Skip("the leader asked to be forgotten")

        async def run() -> SendResult:
            if to_leader:
                if media:
                    result = await self._sender.copy_message(
                        row.chat_id, source[0], source[1], caption=html, reply_to=reply_to
                    )
                else:
                    result = await self._sender.send_message(row.chat_id, html, reply_to=reply_to)
                if result.outcome is Outcome.BLOCKED:
                    await self._leader_blocked(number)
            else:
                card = reply_to if reply_to is not None else request.card_message_id
                if media:
                    result = await self._copy_in_thread(
                        number, source[0], source[1], html, reply_to=card
                    )
                else:
                    thread = await self._thread(number, create=True)
                    result = await self._send_in_thread(number, html, None, thread, reply_to=card)
            if result.outcome is Outcome.SENT:
                await self._remember_copy(number, row.chat_id, result, source)
            return result

        return Action(run)

    async def _render_edit(
        self, session: AsyncSession, row: OutboxMessage, now: datetime
    ) -> Delivery | Skip | Action:
        payload = row.payload
        source = (int(payload["from_chat"]), int(payload["message_id"]))
        copies = await help_requests.copies_of(session, chat_id=source[0], message_id=source[1])
        if not copies:
            return Skip("no copy of it was sent")
        html, media = str(payload["html"]), bool(payload["media"])
        targets = [(copy.chat_id, copy.message_id) for copy in copies]

        async def run() -> SendResult:
            for chat_id, message_id in targets:
                with suppress(TelegramBadRequest):  # unchanged, or too old to edit
                    if media:
                        await self._bot.edit_message_caption(
                            chat_id=chat_id, message_id=message_id, caption=html
                        )
                    else:
                        await self._bot.edit_message_text(
                            html, chat_id=chat_id, message_id=message_id
                        )
            return SendResult(chat_id=row.chat_id, outcome=Outcome.SENT)

        return Action(run)

    async def _render_notice(
        self, session: AsyncSession, row: OutboxMessage, now: datetime
    ) -> Delivery | Skip | Action:
        request = await self._request(session, row)
        if request is None:
            return Skip("the request is gone")
        html = str(row.payload["html"])
        number = int(row.payload["request"])
        if row.payload.get("to_leader"):
            if request.member_id is None:
                return Skip("the leader asked to be forgotten")
            return Delivery(html)

        async def run() -> SendResult:
            thread = await self._thread(number, create=True)
            return await self._send_in_thread(
                number, html, None, thread, reply_to=request.card_message_id
            )

        return Action(run)

    async def _render_escalation(
        self, session: AsyncSession, row: OutboxMessage, now: datetime
    ) -> Delivery | Skip | Action:
        request = await self._request(session, row)
        if request is None or request.status != "new":
            return Skip("somebody took the request")
        _ = translator(self.lang).gettext
        waited = duration_text(timedelta(seconds=int(row.payload.get("after", 0))), self.lang)
        head = _("Nobody has taken request #{number} (waiting: {duration}).").format(
            number=request.id, duration=waited
        )
        text = (
            "⚠️ <b>"
            + quote(head)
            + "</b>\n\n"
            + self.card_text(request, await self._leader_username(request, session))
        )
        keyboard = card_keyboard(request, self.lang)
        number = request.id
        assert number is not None
        if row.chat_id != self.chat_id:
            return Delivery(text, keyboard)  # a coordinator's private chat

        async def run() -> SendResult:
            # At the top of the chat: in a forum, the General topic; else a new message.
            result = await self._sender.send_message(row.chat_id, text, reply_markup=keyboard)
            if result.outcome is Outcome.SENT:
                await self._remember_copy(number, row.chat_id, result, None)
            return result

        return Action(run)

    async def _render_waiting(
        self, session: AsyncSession, row: OutboxMessage, now: datetime
    ) -> Delivery | Skip | Action:
        request = await self._request(session, row)
        if request is None or request.status != "taken":
            return Skip("the request is not being handled")
        if request.leader_waiting_since is None or iso(
            request.leader_waiting_since
        ) != row.payload.get("since"):
            return Skip("the leader got an answer")
        _ = translator(self.lang).gettext
        text = _(
            "The leader of request #{number} has been waiting for your answer for a day."
        ).format(number=request.id)
        return Delivery(quote(text), card_keyboard(request, self.lang))

    # --- the coordinators' chat -------------------------------------------------------------

    async def is_forum(self) -> bool:
        """Whether the coordinators' chat is a forum (asked of Telegram once)."""
        if self._is_forum is None and self.chat_id is not None:
            try:
                chat = await self._bot.get_chat(self.chat_id)
            except TelegramAPIError as error:
                log.warning("could not read COORDINATOR_CHAT_ID %s: %s", self.chat_id, error)
                return False
            self._is_forum = bool(chat.is_forum)
        return bool(self._is_forum)

    async def _thread(self, number: int, *, create: bool, again: bool = False) -> int | None:
        """The request's forum topic (made when missing, or AGAIN when deleted); None when the
        chat is no forum."""
        if self.chat_id is None or not await self.is_forum():
            return None
        async with self._sessionmaker() as session:
            request = await help_requests.get(session, number)
            if request is None:
                return None
            if request.topic_id is not None and not again:
                return request.topic_id
            if not create:
                return None
            name = topic_name(self.view(request, self.lang), self.lang)
            try:
                topic = await self._bot.create_forum_topic(self.chat_id, name)
            except TelegramAPIError as error:
                log.warning("could not make a topic for request #%s: %s", number, error)
                return None
            await help_requests.set_place(
                session, request_id=number, topic_id=topic.message_thread_id
            )
            await session.commit()
            return topic.message_thread_id

    async def _send_in_thread(
        self,
        number: int,
        html: str,
        keyboard: InlineKeyboardMarkup | None,
        thread: int | None,
        *,
        reply_to: int | None,
    ) -> SendResult:
        assert self.chat_id is not None
        result = await self._sender.send_message(
            self.chat_id,
            html,
            reply_markup=keyboard,
            thread_id=thread,
            reply_to=None if thread is not None else reply_to,
        )
        if thread is not None and _thread_gone(result):
            thread = await self._thread(number, create=True, again=True)
            result = await self._sender.send_message(
                self.chat_id, html, reply_markup=keyboard, thread_id=thread
            )
        return result

    async def _copy_in_thread(
        self,
        number: int,
        from_chat: int,
        message_id: int,
        caption: str | None,
        *,
        reply_to: int | None,
    ) -> SendResult:
        assert self.chat_id is not None
        thread = await self._thread(number, create=True)
        result = await self._sender.copy_message(
            self.chat_id,
            from_chat,
            message_id,
            caption=caption,
            thread_id=thread,
            reply_to=None if thread is not None else reply_to,
        )
        if thread is not None and _thread_gone(result):
            thread = await self._thread(number, create=True, again=True)
            result = await self._sender.copy_message(
                self.chat_id, from_chat, message_id, caption=caption, thread_id=thread
            )
        return result

    async def _remember_copy(
        self, number: int, chat_id: int, result: SendResult, source: tuple[int, int] | None
    ) -> None:
        async with self._sessionmaker() as session:
            for message_id in result.message_ids:
                await help_requests.remember_message(
                    session,
                    request_id=number,
                    chat_id=chat_id,
                    message_id=message_id,
                    source=source,
                )
            await session.commit()

    async def _leader_blocked(self, number: int) -> None:
        """The leader blocked the bot: the request says so, and the coordinators are told."""
        now = self._clock()
        async with self._sessionmaker() as session:
            request = await help_requests.get(session, number)
            if request is None or not await help_requests.mark_leader_unreachable(
                session, request_id=number
            ):
                await session.rollback()
                return
            _ = translator(self.lang).gettext
            html = quote(
                _(
                    "The leader of request #{number} has blocked the bot: messages no longer "
                    "reach them."
                ).format(number=number)
            )
            await self.notify(
                session, request, to_leader=False, html=html, event="unreachable", now=now
            )
            await session.commit()

    async def refresh(self, request: HelpRequest, username: str | None) -> None:
        """Redraw the card and rename (or close, or reopen) the topic after a change."""
        if self.chat_id is None or request.card_message_id is None:
            return
        with suppress(TelegramBadRequest):
            await self._bot.edit_message_text(
                self.card_text(request, username),
                chat_id=self.chat_id,
                message_id=request.card_message_id,
                reply_markup=card_keyboard(request, self.lang),
            )
        if request.topic_id is None or not await self.is_forum():
            return
        with suppress(TelegramBadRequest):
            await self._bot.edit_forum_topic(
                self.chat_id,
                request.topic_id,
                name=topic_name(self.view(request, self.lang), self.lang),
            )
        with suppress(TelegramBadRequest):
            if request.status == "closed":
                await self._bot.close_forum_topic(self.chat_id, request.topic_id)
            else:
                await self._bot.reopen_forum_topic(self.chat_id, request.topic_id)


def _thread_gone(result: SendResult) -> bool:
    return result.outcome is Outcome.FAILED and any(
        marker in (result.error or "").lower() for marker in THREAD_GONE
    )
