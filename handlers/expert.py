"""Leaders asking for expert help: the /expert wizard, /requests, and their messages passed on
to the coordinator who handles the request.

/expert asks, one step at a time and each answer kept in the conversation storage (a restart
resumes it): consent (once), the kind of help, urgency, municipality, organisation, the
description (then photos or documents, if any), whether the coordinator may see the leader's
Telegram username, a review, Send. "Ask a coordinator" under an unsure answer opens it with
the question filled in.

Afterwards the leader's messages reach the request's thread in the coordinators' chat: a reply
to a message that came from the request is for that request; another message, while requests
are open, gets buttons asking which request it is for (or whether it is a question for the
bot). Nothing is passed into a closed request: the leader may reopen it within 14 days, or
start a new one.
"""

from __future__ import annotations

from typing import Any, Final

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import gettext as translated
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import is_not_command
from bot.help_requests import Helpdesk, Relayed
from bot.sender import quote
from handlers.faq import CoordinatorContact, coordinator_asked
from handlers.faq import reply_to as answer_question
from handlers.shared import drop_keyboard, refuse_old_button
from knowledge.help_requests import (
    DESCRIPTION_LIMIT,
    KIND_LABELS,
    KINDS,
    ORGANISATION_LIMIT,
    STATUS_LABELS,
    URGENCIES,
    URGENCY_LABELS,
)
from knowledge.i18n import format_datetime
from knowledge.municipalities import MunicipalityDirectory
from knowledge.service import KnowledgeBase
from knowledge.text import Lang
from storage import help_requests
from storage.models import HelpRequest, Member, RequestMessage
from storage.surveys import latest_answers
from storage.types import Clock

CONSENT_PURPOSE: Final = "help-request"
CONSENT_VERSION: Final = "help-request-1"
MAX_ATTACHMENTS: Final = 10
MUNICIPALITY_CHOICES: Final = 6


class Expert(StatesGroup):
    """The steps of /expert."""

    consent = State()
    kind = State()
    urgency = State()
    municipality = State()
    organisation = State()
    description = State()
    attachments = State()
    username = State()
    review = State()


class ExpertStep(CallbackData, prefix="ex"):
    """A wizard button: the step it answers and the value chosen."""

    step: str
    value: str = ""


class LeaderChoice(CallbackData, prefix="exm"):
    """What a leader's message is for: request ID (0: a question for the bot), or reopen it
    (`reopen`), or start a new request (`new`). MESSAGE is the leader's message."""

    action: str
    id: int
    message: int


def _button(builder: InlineKeyboardBuilder, text: str, step: str, value: str = "") -> None:
    builder.button(text=text, callback_data=ExpertStep(step=step, value=value))


def _cancel(builder: InlineKeyboardBuilder) -> None:
    _button(builder, _("Cancel"), "cancel")


async def _ask(
    message: Message, state: FSMContext, step: State, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    await state.set_state(step)
    await message.answer(text, reply_markup=markup)


# --- the wizard -----------------------------------------------------------------------------------


async def expert(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    member: Member,
    helpdesk: Helpdesk,
) -> None:
    """/expert: start the wizard (consent first, once)."""
    await begin(message, state, session, member, helpdesk, question=None)


async def begin(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    member: Member,
    helpdesk: Helpdesk,
    *,
    question: str | None,
) -> None:
    """Start the wizard, with QUESTION as the description if given."""
    if helpdesk.chat_id is None:
        await message.answer(
            _(
                "Requests to coordinators are not set up in this bot yet. Please ask your "
                "programme's contact directly."
            )
        )
        return
    await state.set_data({"question": question, "attachments": []})
    if await help_requests.consent(session, member_id=member.id, purpose=CONSENT_PURPOSE):
        await ask_kind(message, state)
        return
    builder = InlineKeyboardBuilder()
    _button(builder, _("I agree"), "consent", "yes")
    _cancel(builder)
    await _ask(
        message,
        state,
        Expert.consent,
        _(
            "To pass your request to the programme's coordinators I store what you tell me in "
            "it (the kind of help, urgency, municipality, organisation, your description and "
            "files) and the messages of its conversation. Coordinators see these, but not your "
            "Telegram account, unless you allow them your username. Do you agree?"
        ),
        builder.as_markup(),
    )


async def ask_kind(message: Message, state: FSMContext) -> None:
    builder = InlineKeyboardBuilder()
    for kind in KINDS:
        _button(builder, translated(KIND_LABELS[kind]), "kind", kind)
    _cancel(builder)
    builder.adjust(1)
    await _ask(
        message, state, Expert.kind, _("What kind of help do you need?"), builder.as_markup()
    )


async def ask_urgency(message: Message, state: FSMContext) -> None:
    builder = InlineKeyboardBuilder()
    for urgency in URGENCIES:
        _button(builder, translated(URGENCY_LABELS[urgency]), "urgency", urgency)
    _cancel(builder)
    builder.adjust(1)
    await _ask(message, state, Expert.urgency, _("How urgent is it?"), builder.as_markup())


async def ask_municipality(
    message: Message,
    state: FSMContext,
    member: Member,
    municipalities: MunicipalityDirectory,
    lang: Lang,
) -> None:
    builder = InlineKeyboardBuilder()
    home = municipalities.get(member.municipality or "")
    if home is not None:
        _button(builder, home.short[lang], "municipality", home.id)
        text = _("Which municipality is it about? Press yours, or type the name of another one.")
    else:
        text = _("Which municipality is it about? Type its name.")
    _button(builder, _("No particular municipality"), "municipality", "-")
    _cancel(builder)
    builder.adjust(1)
    await _ask(message, state, Expert.municipality, text, builder.as_markup())


async def ask_organisation(
    message: Message, state: FSMContext, session: AsyncSession, member: Member
) -> None:
    builder = InlineKeyboardBuilder()
    answers = await latest_answers(session, member_id=member.id)
    suggested = str(answers.get("org_name") or "").strip()[:ORGANISATION_LIMIT]
    if suggested:
        await state.update_data(suggested_organisation=suggested)
        _button(builder, suggested[:60], "organisation", "suggested")
    _button(builder, _("Skip"), "organisation", "-")
    _cancel(builder)
    builder.adjust(1)
    await _ask(
        message,
        state,
        Expert.organisation,
        _("Which organisation or group do you act for? Type its name, or skip."),
        builder.as_markup(),
    )


async def ask_description(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    builder = InlineKeyboardBuilder()
    if data.get("question"):
        _button(builder, _("Keep this question"), "description", "question")
        text = _(
            "Describe what you need help with. Your question was: “{question}”. Keep it, or "
            "type a fuller description."
        ).format(question=quote(str(data["question"])[:500]))
    else:
        text = _("Describe what you need help with, in one message.")
    _cancel(builder)
    await _ask(message, state, Expert.description, text, builder.as_markup())


async def ask_attachments(message: Message, state: FSMContext) -> None:
    builder = InlineKeyboardBuilder()
    _button(builder, _("Continue"), "attachments")
    _cancel(builder)
    await _ask(
        message,
        state,
        Expert.attachments,
        _(
            "If photos or documents would help, send them now (up to {count}); then press Continue."
        ).format(count=MAX_ATTACHMENTS),
        builder.as_markup(),
    )


async def ask_username(message: Message, state: FSMContext, member: Member) -> None:
    if not member.username:
        await state.update_data(show_username=False)
        await show_review(message, state)
        return
    builder = InlineKeyboardBuilder()
    _button(builder, _("No, keep it private"), "username", "no")
    _button(builder, _("Yes, show @{username}").format(username=member.username), "username", "yes")
    _cancel(builder)
    builder.adjust(1)
    await _ask(
        message,
        state,
        Expert.username,
        _(
            "May the coordinator see your Telegram username? Without it they can still answer "
            "you here, through me."
        ),
        builder.as_markup(),
    )


async def show_review(
    message: Message,
    state: FSMContext,
    municipalities: MunicipalityDirectory | None = None,
    lang: Lang | None = None,
) -> None:
    data = await state.get_data()
    place = municipalities.get(data.get("municipality") or "") if municipalities else None
    lines = [
        _("Please check your request:"),
        "",
        _("Kind: {kind}").format(kind=translated(KIND_LABELS[data["kind"]])),
        _("Urgency: {urgency}").format(urgency=translated(URGENCY_LABELS[data["urgency"]])),
        _("Municipality: {municipality}").format(
            municipality=quote(place.short[lang]) if place and lang else "—"
        ),
        _("Organisation: {organisation}").format(
            organisation=quote(data.get("organisation") or "—")
        ),
        _("Files: {count}").format(count=len(data.get("attachments", []))),
        _("Username shown: {answer}").format(
            answer=_("yes") if data.get("show_username") else _("no")
        ),
        "",
        quote(str(data.get("description", ""))),
    ]
    builder = InlineKeyboardBuilder()
    _button(builder, _("Send"), "review", "send")
    _button(builder, _("Start over"), "review", "restart")
    _cancel(builder)
    builder.adjust(1)
    await _ask(message, state, Expert.review, "\n".join(lines), builder.as_markup())


async def step_pressed(
    query: CallbackQuery,
    message: Message,
    callback_data: ExpertStep,
    state: FSMContext,
    session: AsyncSession,
    member: Member,
    municipalities: MunicipalityDirectory,
    helpdesk: Helpdesk,
    lang: Lang,
    clock: Clock,
) -> None:
    """A wizard button: keep the answer, go to the next step."""
    step, value = callback_data.step, callback_data.value
    current = (await state.get_state() or "").rpartition(":")[2]
    if step == "cancel":
        await state.clear()
        await query.answer()
        await drop_keyboard(query)
        await message.answer(_("Cancelled: nothing was sent."))
        return
    valid = {
        "consent": value == "yes",
        "kind": value in KINDS,
        "urgency": value in URGENCIES,
        "municipality": value == "-" or value in municipalities,
        "organisation": value in {"suggested", "-"},
        "description": value == "question",
        "attachments": True,
        "username": value in {"yes", "no"},
        "review": value in {"send", "restart"},
    }
    if not current or step != current or not valid.get(step, False):
        await refuse_old_button(query)
        return
    await query.answer()
    await drop_keyboard(query)
    if step == "consent":
        await help_requests.give_consent(
            session,
            member_id=member.id,
            purpose=CONSENT_PURPOSE,
            version=CONSENT_VERSION,
            now=clock(),
        )
        await ask_kind(message, state)
    elif step == "kind":
        await state.update_data(kind=value)
        await ask_urgency(message, state)
    elif step == "urgency":
        await state.update_data(urgency=value)
        await ask_municipality(message, state, member, municipalities, lang)
    elif step == "municipality":
        await state.update_data(municipality=None if value == "-" else value)
        await ask_organisation(message, state, session, member)
    elif step == "organisation":
        data = await state.get_data()
        organisation = data.get("suggested_organisation") if value == "suggested" else None
        await state.update_data(organisation=organisation)
        await ask_description(message, state)
    elif step == "description":
        data = await state.get_data()
        await state.update_data(description=str(data.get("question") or "")[:DESCRIPTION_LIMIT])
        await ask_attachments(message, state)
    elif step == "attachments":
        await ask_username(message, state, member)
    elif step == "username":
        await state.update_data(show_username=value == "yes")
        await show_review(message, state, municipalities, lang)
    elif step == "review" and value == "restart":
        question = (await state.get_data()).get("question")
        await state.set_data({"question": question, "attachments": []})
        await ask_kind(message, state)
    else:
        await send_request(message, state, session, member, helpdesk, lang, clock)


async def municipality_typed(
    message: Message, municipalities: MunicipalityDirectory, lang: Lang
) -> None:
    """A municipality's name typed: offer the matches (a guess is never taken silently)."""
    typed = (message.text or "").strip()
    found = municipalities.find(typed, limit=MUNICIPALITY_CHOICES)
    builder = InlineKeyboardBuilder()
    for municipality in found:
        _button(builder, municipality.short[lang], "municipality", municipality.id)
    _button(builder, _("No particular municipality"), "municipality", "-")
    builder.adjust(2)
    if not found:
        await message.answer(
            _("No municipality matches “{query}”. Try another part of the name.").format(
                query=quote(typed[:100])
            ),
            reply_markup=builder.as_markup(),
        )
        return
    await message.answer(_("Choose the municipality:"), reply_markup=builder.as_markup())


async def organisation_typed(
    message: Message, state: FSMContext, session: AsyncSession, member: Member
) -> None:
    """The organisation's name."""
    text = (message.text or "").strip()
    if not text or len(text) > ORGANISATION_LIMIT:
        await message.answer(
            _("Please keep it under {limit} characters.").format(limit=ORGANISATION_LIMIT)
        )
        return
    await state.update_data(organisation=text)
    await ask_description(message, state)


async def description_typed(message: Message, state: FSMContext) -> None:
    """The description of the need."""
    text = (message.text or "").strip()
    if not text or len(text) > DESCRIPTION_LIMIT:
        await message.answer(
            _("Please keep it under {limit} characters.").format(limit=DESCRIPTION_LIMIT)
        )
        return
    await state.update_data(description=text)
    await ask_attachments(message, state)


async def attachment_sent(message: Message, state: FSMContext) -> None:
    """A photo or document for the request (kept by its message id, copied when sent)."""
    data = await state.get_data()
    attachments: list[int] = list(data.get("attachments", []))
    if len(attachments) >= MAX_ATTACHMENTS:
        await message.answer(
            _("That is the most I can take ({count}). Press Continue.").format(
                count=MAX_ATTACHMENTS
            )
        )
        return
    attachments.append(message.message_id)
    await state.update_data(attachments=attachments)
    await message.answer(
        _("Added ({count}). Send more, or press Continue.").format(count=len(attachments))
    )


async def step_expected(message: Message, state: FSMContext) -> None:
    """Something the current step cannot take."""
    step = (await state.get_state() or "").rpartition(":")[2]
    if step == "attachments":
        text = _("Please send a photo or a document, or press Continue.")
    elif step == "description":
        text = _("Please describe your need in a text message.")
    else:
        text = _("Please answer with the buttons above, or send /cancel.")
    await message.answer(text)


async def send_request(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    member: Member,
    helpdesk: Helpdesk,
    lang: Lang,
    clock: Clock,
) -> None:
    """Store the request; its card goes to the coordinators in the same transaction."""
    data = await state.get_data()
    now = clock()
    request = await help_requests.create(
        session,
        now=now,
        member_id=member.id,
        kind=data["kind"],
        urgency=data["urgency"],
        municipality=data.get("municipality"),
        organisation=data.get("organisation"),
        description=str(data.get("description", ""))[:DESCRIPTION_LIMIT],
        attachments=list(data.get("attachments", [])),
        language=lang,
        show_username=bool(data.get("show_username")),
    )
    member.help_open = True
    await helpdesk.submitted(session, request, now)
    await state.clear()
    await message.answer(
        _(
            "Your request #{number} is sent. A coordinator will take it, and I will tell you "
            "who. Their answers will come here; reply to them to answer. /requests shows where "
            "your requests stand."
        ).format(number=request.id)
    )


# --- /requests ------------------------------------------------------------------------------------


async def my_requests(
    message: Message,
    session: AsyncSession,
    member: Member,
    municipalities: MunicipalityDirectory,
    helpdesk: Helpdesk,
    lang: Lang,
) -> None:
    """The leader's requests: status, who handles them, last activity."""
    found = await help_requests.of_member(session, member.id)
    if not found:
        await message.answer(
            _("You have sent no requests. /expert asks the coordinators for help.")
        )
        return
    lines = [_("Your requests:")]
    for request in found[:20]:
        who = (
            _("handled by {name}").format(name=quote(request.handler_name))
            if request.handler_name and request.status != "new"
            else ""
        )
        when = format_datetime(request.last_activity_at, lang, helpdesk.settings.tz)
        parts = [
            f"#{request.id}",
            translated(KIND_LABELS.get(request.kind, KIND_LABELS["other"])),
            translated(STATUS_LABELS.get(request.status, STATUS_LABELS["new"])),
        ]
        if who:
            parts.append(who)
        lines.append("• " + " · ".join(parts))
        lines.append("  " + _("last activity: {when}").format(when=when))
        if request.status == "closed" and request.outcome:
            lines.append("  " + _("outcome: {outcome}").format(outcome=quote(request.outcome)))
    await message.answer("\n".join(lines))


# --- the leader's messages -----------------------------------------------------------------------


def relayed(message: Message, header: str) -> Relayed:
    """MESSAGE to pass on, marked with HEADER (HTML) above its text or caption."""
    media = message.text is None
    body = message.html_text if (message.text or message.caption) else ""
    html = f"<b>{header}</b>\n{body}" if body else f"<b>{header}</b>"
    return Relayed(message.chat.id, message.message_id, html, media)


def leader_header(request: HelpRequest) -> str:
    """How a leader's message is marked in the coordinators' chat."""
    return _("#{number} · the leader").format(number=request.id)


async def to_request(
    message: Message,
    session: AsyncSession,
    member: Member,
    helpdesk: Helpdesk,
    request: HelpRequest,
    clock: Clock,
    *,
    reply_to: int | None,
) -> None:
    """Pass the leader's MESSAGE into REQUEST's thread (or offer to reopen a closed one)."""
    now = clock()
    if request.status == "closed":
        await offer_reopen(message, request, now)
        return
    if request.leader_unreachable:
        await help_requests.clear_leader_unreachable(session, member_id=member.id)
    await helpdesk.relay(
        session,
        request,
        relayed(message, quote(leader_header(request))),
        to_leader=False,
        reply_to=reply_to,
        now=now,
    )


async def offer_reopen(message: Message, request: HelpRequest, now: Any) -> None:
    """A message for a closed request: reopen it (within 14 days) or start a new one."""
    assert request.id is not None
    builder = InlineKeyboardBuilder()
    if help_requests.may_reopen(request, now):
        builder.button(
            text=_("Reopen #{number}").format(number=request.id),
            callback_data=LeaderChoice(action="reopen", id=request.id, message=message.message_id),
        )
    builder.button(
        text=_("New request"),
        callback_data=LeaderChoice(action="new", id=request.id, message=message.message_id),
    )
    builder.adjust(1)
    await message.answer(
        _("Request #{number} is closed, so I did not pass this on.").format(number=request.id),
        reply_markup=builder.as_markup(),
    )


async def leader_message(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    member: Member,
    helpdesk: Helpdesk,
    knowledge: KnowledgeBase,
    lang: Lang,
    clock: Clock,
) -> None:
    """A leader's message outside any step: for a request, or a question for the bot."""
    replied = message.reply_to_message
    if replied is not None:
        found = await help_requests.message(
            session, chat_id=message.chat.id, message_id=replied.message_id
        )
        request = await help_requests.get(session, found.request_id) if found else None
        if request is not None:
            source = (
                found.source_message_id
                if found and found.source_chat_id == helpdesk.chat_id
                else None
            )
            await to_request(message, session, member, helpdesk, request, clock, reply_to=source)
            await message.answer(_("Passed on to request #{number}.").format(number=request.id))
            return
    open_requests = await help_requests.open_of_member(session, member.id)
    if not open_requests:
        if member.help_open:
            member.help_open = False
        if message.text:
            await answer_question(message, message.text, knowledge, lang, clock, session)
        else:
            await message.answer(_("I can read only text. Please write your question in words."))
        return
    if message.text is None and len(open_requests) == 1:
        [request] = open_requests
        await to_request(message, session, member, helpdesk, request, clock, reply_to=None)
        await message.answer(_("Passed on to request #{number}.").format(number=request.id))
        return
    pending = dict((await state.get_data()).get("pending", {}))
    pending[str(message.message_id)] = message.text or ""
    await state.update_data(pending=dict(list(pending.items())[-20:]))
    builder = InlineKeyboardBuilder()
    for request in open_requests:
        assert request.id is not None
        builder.button(
            text=_("To #{number}: {kind}").format(
                number=request.id,
                kind=translated(KIND_LABELS.get(request.kind, KIND_LABELS["other"])),
            ),
            callback_data=LeaderChoice(action="to", id=request.id, message=message.message_id),
        )
    if message.text:
        builder.button(
            text=_("A question for the bot"),
            callback_data=LeaderChoice(action="to", id=0, message=message.message_id),
        )
    builder.adjust(1)
    await message.answer(
        _("Is this message for one of your requests?"), reply_markup=builder.as_markup()
    )


async def leader_chose(
    query: CallbackQuery,
    message: Message,
    callback_data: LeaderChoice,
    state: FSMContext,
    session: AsyncSession,
    member: Member,
    helpdesk: Helpdesk,
    knowledge: KnowledgeBase,
    lang: Lang,
    clock: Clock,
    bot: Bot,
) -> None:
    """Which request a message is for; reopen a closed one; or start a new request."""
    now = clock()
    if not (help_requests.is_number(callback_data.message) and callback_data.id >= 0):
        await refuse_old_button(query)
        return
    pending = dict((await state.get_data()).get("pending", {}))
    text = pending.pop(str(callback_data.message), None)
    if callback_data.action == "new":
        await query.answer()
        await drop_keyboard(query)
        await begin(message, state, session, member, helpdesk, question=None)
        return
    known = callback_data.id and help_requests.is_number(callback_data.id)
    request = await help_requests.get(session, callback_data.id) if known else None
    if callback_data.id and (request is None or request.member_id != member.id):
        await refuse_old_button(query)
        return
    await query.answer()
    await drop_keyboard(query)
    if callback_data.action == "reopen":
        assert request is not None
        if not await help_requests.reopen(session, request_id=callback_data.id, now=now):
            await message.answer(
                _("Request #{number} can no longer be reopened. /expert starts a new one.").format(
                    number=callback_data.id
                )
            )
            return
        member.help_open = True
        request = await help_requests.get(session, callback_data.id)
        assert request is not None
        await helpdesk.notify(
            session,
            request,
            to_leader=False,
            html=quote(_("The leader reopened request #{number}.").format(number=request.id)),
            event=f"reopened-{int(now.timestamp())}",
            now=now,
        )
        await helpdesk.refresh(request, None)
        await message.answer(_("Request #{number} is open again.").format(number=request.id))
        return
    await state.update_data(pending=pending)
    if request is None:
        if text:
            await answer_question(message, text, knowledge, lang, clock, session)
        return
    if request.status == "closed":
        await message.answer(
            _("Request #{number} is closed, so I did not pass this on.").format(number=request.id)
        )
        return
    original = Relayed(
        member.id,
        callback_data.message,
        f"<b>{quote(leader_header(request))}</b>\n{quote(text)}"
        if text
        else f"<b>{quote(leader_header(request))}</b>",
        media=not text,
    )
    await helpdesk.relay(session, request, original, to_leader=False, reply_to=None, now=now)
    await message.answer(_("Passed on to request #{number}.").format(number=request.id))


async def was_passed_on(message: Message, session: AsyncSession) -> dict[str, Any] | bool:
    """Filter: an edited message that was passed on to a request (gives its `copies`)."""
    copies = await help_requests.copies_of(
        session, chat_id=message.chat.id, message_id=message.message_id
    )
    return {"copies": copies} if copies else False


async def leader_edited(
    message: Message,
    session: AsyncSession,
    helpdesk: Helpdesk,
    clock: Clock,
    copies: list[RequestMessage],
) -> None:
    """A leader edited a message that was passed on: edit its copy."""
    request = await help_requests.get(session, copies[0].request_id)
    if request is None:
        return
    await helpdesk.edited(
        session,
        copies[0].request_id,
        relayed(message, quote(leader_header(request))),
        message.edit_date or 0,
        clock(),
    )


async def may_be_for_a_request(message: Message, member: Member | None = None) -> bool:
    """Whether a private message may be for a help request (checked before the FAQ takes it):
    the member has an open request, or replies to one of the bot's messages."""
    if member is None:
        return False
    replied = message.reply_to_message
    from_bot = replied is not None and replied.from_user is not None and replied.from_user.is_bot
    return bool(member.help_open or from_bot)


async def ask_a_coordinator(
    query: CallbackQuery,
    callback_data: CoordinatorContact,
    state: FSMContext,
    session: AsyncSession,
    helpdesk: Helpdesk,
    knowledge: KnowledgeBase,
    bot: Bot,
    member: Member | None = None,
) -> None:
    """ "Ask a coordinator" under an unsure answer: the /expert wizard with the question filled
    in; without a coordinators' chat (or in a group), whom to write to about the topic."""
    message = query.message
    if helpdesk.chat_id is None or member is None or not isinstance(message, Message):
        await coordinator_asked(query, callback_data, knowledge, bot)
        return
    replied = message.reply_to_message
    question = replied.text if replied is not None else None
    await query.answer()
    await begin(message, state, session, member, helpdesk, question=question)


def create_router() -> Router:
    """/expert, /requests, the wizard's steps, and leaders' messages for their requests."""
    router = Router(name=__name__)
    router.callback_query.register(ask_a_coordinator, CoordinatorContact.filter())
    router.message.filter(F.chat.type == "private")
    router.message.register(expert, Command("expert"))
    router.message.register(my_requests, Command("requests"))
    router.callback_query.register(step_pressed, ExpertStep.filter(), F.message.as_("message"))
    router.message.register(
        municipality_typed, StateFilter(Expert.municipality), F.text, is_not_command
    )
    router.message.register(
        organisation_typed, StateFilter(Expert.organisation), F.text, is_not_command
    )
    router.message.register(
        description_typed, StateFilter(Expert.description), F.text, is_not_command
    )
    router.message.register(attachment_sent, StateFilter(Expert.attachments), F.photo | F.document)
    router.message.register(step_expected, StateFilter(*Expert.__states__), is_not_command)
    router.callback_query.register(leader_chose, LeaderChoice.filter(), F.message.as_("message"))
    router.message.register(
        leader_message,
        StateFilter(None),
        is_not_command,
        F.text | F.photo | F.document | F.voice,
        may_be_for_a_request,
    )
    router.edited_message.register(leader_edited, F.chat.type == "private", was_passed_on)
    return router
