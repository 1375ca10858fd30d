"""Coordinators and help requests: the buttons on a request's card (Take, Close, Release, Make
an FAQ entry), their replies passed on to the leader, and /tickets.

Only coordinators (COORDINATOR_IDS) may press anything on a card: anyone else in the chat is
told "not allowed" and nothing changes, also for a button replayed from an old message. Taking
is one conditional update in the database: of two coordinators pressing Take at the same moment,
exactly one gets the request, and the other is told who did. A coordinator's message in a
request's topic, or a reply to its card or to a message passed on from it, reaches the leader
as a copy marked with the request's number and the coordinator's first name.
"""

from __future__ import annotations

from typing import Final

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import gettext as translated
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import is_not_command
from bot.help_requests import HelpAction, Helpdesk, Relayed
from bot.roles import IsCoordinator
from bot.sender import quote
from bot.settings import Settings
from handlers.expert import was_passed_on
from knowledge.help_requests import (
    KIND_LABELS,
    OUTCOME_LIMIT,
    URGENCIES,
    URGENCY_LABELS,
    faq_entry,
)
from knowledge.i18n import N_, translator
from knowledge.text import Lang
from storage import help_requests, members
from storage.models import HelpRequest, RequestMessage
from storage.types import Clock

# /tickets lists at most this many requests.
TICKETS_SHOWN: Final = 30


class Closing(StatesGroup):
    """A coordinator writing the one-line outcome of the request they close."""

    outcome = State()


async def in_coordinators_chat(message: Message, settings: Settings) -> bool:
    """Whether MESSAGE was written in the coordinators' chat."""
    return (
        settings.coordinator_chat_id is not None and message.chat.id == settings.coordinator_chat_id
    )


async def _leader(
    session: AsyncSession, helpdesk: Helpdesk, request: HelpRequest
) -> tuple[Lang, str | None]:
    """The leader's language, and username (if shown to coordinators)."""
    if request.member_id is None:
        return helpdesk.lang, None
    member = await members.get_member(session, member_id=request.member_id)
    if member is None:
        return helpdesk.lang, None
    lang = helpdesk.leader_lang(member.language, member.telegram_language)
    return lang, member.username if request.show_username else None


async def card_pressed(
    query: CallbackQuery,
    callback_data: HelpAction,
    state: FSMContext,
    session: AsyncSession,
    helpdesk: Helpdesk,
    clock: Clock,
) -> None:
    """Take, Release, Close or Make an FAQ entry, pressed by a coordinator."""
    now = clock()
    number = callback_data.id
    request = await help_requests.get(session, number) if help_requests.is_number(number) else None
    if request is None:
        await query.answer(_("This request no longer exists."), show_alert=True)
        return
    coordinator = query.from_user
    action = callback_data.action
    username: str | None = None
    if action == "take":
        if not await help_requests.take(
            session,
            request_id=number,
            coordinator_id=coordinator.id,
            name=coordinator.first_name,
            now=now,
        ):
            request = await help_requests.get(session, number)
            assert request is not None
            if request.status == "taken":
                text = _("{name} has already taken request #{number}.").format(
                    name=request.handler_name, number=number
                )
            else:
                text = _("Request #{number} is closed.").format(number=number)
            await query.answer(text, show_alert=True)
            return
        lang, username = await _leader(session, helpdesk, request)
        words = translator(lang).gettext
        await helpdesk.notify(
            session,
            request,
            to_leader=True,
            html=quote(
                words(N_("Coordinator {name} is handling your request #{number}.")).format(
                    name=coordinator.first_name, number=number
                )
            ),
            event=f"taken-{int(now.timestamp())}",
            now=now,
        )
        await query.answer(_("Request #{number} is yours.").format(number=number))
    elif action == "release":
        if not await help_requests.release(session, request_id=number, now=now):
            await query.answer(_("Request #{number} is not taken.").format(number=number))
            return
        lang, username = await _leader(session, helpdesk, request)
        words = translator(lang).gettext
        await helpdesk.notify(
            session,
            request,
            to_leader=True,
            html=quote(
                words(
                    N_(
                        "Your request #{number} is waiting for a coordinator again; I will tell "
                        "you who takes it."
                    )
                ).format(number=number)
            ),
            event=f"released-{int(now.timestamp())}",
            now=now,
        )
        await query.answer(_("Request #{number} is released.").format(number=number))
    elif action == "close":
        if request.status == "closed":
            await query.answer(_("Request #{number} is closed.").format(number=number))
            return
        await state.set_state(Closing.outcome)
        await state.set_data({"request": number})
        await query.answer()
        if query.message is not None:
            await query.message.answer(
                _(
                    "Closing request #{number}: write its outcome in one line (the leader reads "
                    "it). Send /cancel to keep it open."
                ).format(number=number)
            )
        return
    elif action == "faq":
        await send_faq_entry(query, request, clock)
        return
    else:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    request = await help_requests.get(session, number)
    assert request is not None
    await helpdesk.refresh(request, username)


async def outcome_written(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    helpdesk: Helpdesk,
    clock: Clock,
) -> None:
    """The outcome of the request being closed: close it, tell the leader."""
    now = clock()
    number = int((await state.get_data()).get("request", 0))
    outcome = (message.text or "").strip()
    if not outcome or len(outcome) > OUTCOME_LIMIT:
        await message.answer(
            _("Please keep it under {limit} characters.").format(limit=OUTCOME_LIMIT)
        )
        return
    await state.clear()
    request = await help_requests.get(session, number)
    if request is None or not await help_requests.close(
        session, request_id=number, outcome=outcome, now=now
    ):
        await message.answer(_("Request #{number} is closed.").format(number=number))
        return
    lang, username = await _leader(session, helpdesk, request)
    words = translator(lang).gettext
    await helpdesk.notify(
        session,
        request,
        to_leader=True,
        html=quote(
            words(
                N_(
                    "Your request #{number} is closed. Outcome: {outcome}\nIf you need more, "
                    "write here within 14 days to reopen it, or send /expert for a new request."
                )
            ).format(number=number, outcome=outcome)
        ),
        event=f"closed-{int(now.timestamp())}",
        now=now,
    )
    request = await help_requests.get(session, number)
    assert request is not None
    await helpdesk.refresh(request, username)
    await message.answer(_("Request #{number} is closed.").format(number=number))


async def send_faq_entry(query: CallbackQuery, request: HelpRequest, clock: Clock) -> None:
    """A knowledge-pack entry (YAML) from a closed request: its question and final answer."""
    if request.status != "closed" or query.message is None:
        await query.answer(_("Only a closed request can become an FAQ entry."), show_alert=True)
        return
    answer = request.last_answer or request.outcome or ""
    lang = request.language if request.language in ("lt", "lv", "en") else "lt"
    assert request.id is not None
    text = faq_entry(
        number=request.id,
        question=request.description,
        answer=answer,
        lang=lang,  # type: ignore[arg-type]
        kind=request.kind,
        today=clock(),
    )
    await query.answer()
    await query.message.answer_document(
        BufferedInputFile(text.encode("utf-8"), filename=f"help-request-{request.id}.yaml"),
        caption=_(
            "An FAQ entry from request #{number}: translate the lines marked TODO, save the "
            "file in the knowledge pack, run civicbot knowledge check, then /reload."
        ).format(number=request.id),
    )


async def not_allowed(query: CallbackQuery) -> None:
    """Someone who is no coordinator pressed a card's button: nothing changes."""
    await query.answer(_("Only coordinators may do this."), show_alert=True)


async def coordinator_wrote(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    helpdesk: Helpdesk,
    clock: Clock,
) -> None:
    """A coordinator's message in a request's topic, or a reply to its card or to a message
    passed on from it: to the leader, as a copy."""
    user = message.from_user
    if user is None or not settings.is_coordinator(user.id):
        return
    request, reply_to = await _request_of(message, session)
    if request is None:
        return
    if request.status == "closed":
        await message.reply(
            _("Request #{number} is closed: this was not passed on.").format(number=request.id)
        )
        return
    if request.member_id is None:
        await message.reply(_("The leader of this request asked to be forgotten."))
        return
    header = quote(f"#{request.id} · {user.first_name}")
    media = message.text is None
    body = message.html_text if (message.text or message.caption) else ""
    html = f"<b>{header}</b>\n{body}" if body else f"<b>{header}</b>"
    await helpdesk.relay(
        session,
        request,
        Relayed(message.chat.id, message.message_id, html, media),
        to_leader=True,
        reply_to=reply_to,
        now=clock(),
    )
    if message.text:
        request.last_answer = message.text[:4096]


async def _request_of(
    message: Message, session: AsyncSession
) -> tuple[HelpRequest | None, int | None]:
    """The request a coordinator's message is about, and the leader's message it replies to."""
    replied = message.reply_to_message
    if replied is not None and not (
        message.is_topic_message and replied.message_id == message.message_thread_id
    ):
        found = await help_requests.message(
            session, chat_id=message.chat.id, message_id=replied.message_id
        )
        if found is not None:
            request = await help_requests.get(session, found.request_id)
            leader_message = (
                found.source_message_id
                if found.source_chat_id and found.source_chat_id > 0
                else None
            )
            return request, leader_message
    if message.is_topic_message and message.message_thread_id is not None:
        return await help_requests.by_topic(session, message.message_thread_id), None
    return None, None


async def coordinator_edited(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    helpdesk: Helpdesk,
    clock: Clock,
    copies: list[RequestMessage],
) -> None:
    """A coordinator edited a message that was passed on: edit its copy."""
    user = message.from_user
    if user is None or not settings.is_coordinator(user.id):
        return
    header = quote(f"#{copies[0].request_id} · {user.first_name}")
    body = message.html_text if (message.text or message.caption) else ""
    await helpdesk.edited(
        session,
        copies[0].request_id,
        Relayed(
            message.chat.id, message.message_id, f"<b>{header}</b>\n{body}", message.text is None
        ),
        message.edit_date or 0,
        clock(),
    )


async def tickets(message: Message, session: AsyncSession, helpdesk: Helpdesk, lang: Lang) -> None:
    """/tickets: the open requests, unclaimed first, urgent first, then mine."""
    me = message.from_user.id if message.from_user else 0
    found = await help_requests.open_requests(session)
    if not found:
        await message.answer(_("No request is open."))
        return
    found.sort(
        key=lambda request: (
            request.status != "new",
            URGENCIES.index(request.urgency) if request.urgency in URGENCIES else len(URGENCIES),
            request.handler_id != me,
            request.id or 0,
        )
    )
    lines = [_("Open requests:")]
    builder = InlineKeyboardBuilder()
    for request in found[:TICKETS_SHOWN]:
        view = helpdesk.view(request, lang)
        who = (
            _("handled by {name}").format(name=quote(request.handler_name or ""))
            if request.status == "taken"
            else _("waiting for a coordinator")
        )
        parts = [
            f"#{request.id}",
            translated(KIND_LABELS.get(request.kind, KIND_LABELS["other"])),
            translated(URGENCY_LABELS.get(request.urgency, URGENCY_LABELS["later"])),
            quote(view.municipality or "—"),
            who,
        ]
        lines.append("• " + " · ".join(parts))
        if request.status == "new" and request.id is not None:
            builder.button(
                text=_("Take #{number}").format(number=request.id),
                callback_data=HelpAction(action="take", id=request.id),
            )
    builder.adjust(3)
    await message.answer("\n".join(lines), reply_markup=builder.as_markup())


def create_router() -> Router:
    """Card buttons, outcomes, coordinators' replies in their chat, /tickets."""
    router = Router(name=__name__)
    router.callback_query.register(card_pressed, HelpAction.filter(), IsCoordinator())
    router.callback_query.register(not_allowed, HelpAction.filter())
    router.message.register(tickets, Command("tickets"), IsCoordinator())
    router.message.register(
        outcome_written, StateFilter(Closing.outcome), IsCoordinator(), F.text, is_not_command
    )
    router.message.register(
        coordinator_wrote, in_coordinators_chat, StateFilter(None), is_not_command
    )
    router.edited_message.register(coordinator_edited, in_coordinators_chat, was_passed_on)
    return router
