"""Reminder subscriptions: /remind, and the "Remind me", "Stop reminding" and "Add to
calendar" buttons under calls.

/remind shows what the chat gets reminders about, with buttons to switch each on or off: the
calls of the member's municipality, all calls, each call followed. `/remind NAME` offers the
municipalities matching NAME (how a group, or a member, follows another municipality). In a
member's own chat one more switch says whether the coordinators' announcements come. In a
group chat only its administrators may change anything: every press is checked with
getChatMember, so a replayed or forwarded button changes nothing either.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from datetime import datetime
from typing import Final, Literal

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.reminders import ReminderButton, Reminders, call_buttons
from bot.sender import quote
from bot.settings import Settings
from knowledge.calendar import calendar_file, file_name
from knowledge.calls import open_and_upcoming
from knowledge.municipalities import MunicipalityDirectory
from knowledge.pack import Call
from knowledge.reminders import offsets_text
from knowledge.service import KnowledgeBase
from knowledge.text import Lang
from storage import announcements, subscriptions
from storage.models import GroupChat, Member, Subscription
from storage.types import Clock

log = logging.getLogger(__name__)

GROUPS: Final = frozenset({"group", "supergroup"})
ADMINS: Final = frozenset({"creator", "administrator"})
# Labels longer than this are cut on buttons.
LABEL_LIMIT: Final = 48
# Municipality buttons offered for `/remind NAME`.
MUNICIPALITY_CHOICES: Final = 6


class RemindChoice(CallbackData, prefix="rmc"):
    """A /remind switch: all calls (`a`), a municipality's calls (`m`), one call (`c`), or the
    coordinators' announcements (`n`, members only)."""

    action: Literal["on", "off"]
    kind: Literal["a", "m", "c", "n"]
    id: str = ""


def _cut(text: str) -> str:
    return text if len(text) <= LABEL_LIMIT else text[: LABEL_LIMIT - 1] + "…"


def _target(choice: RemindChoice) -> str:
    if choice.kind == "a":
        return subscriptions.ALL
    if choice.kind == "m":
        return subscriptions.municipality_target(choice.id)
    return subscriptions.call_target(choice.id)


async def may_change(query: CallbackQuery, bot: Bot) -> bool:
    """Whether the presser may change the reminders of the chat the button is in: always in a
    private chat, only its administrators in a group (asked of Telegram each time)."""
    message = query.message
    if message is None or message.chat.type not in GROUPS:
        return True
    try:
        member = await bot.get_chat_member(message.chat.id, query.from_user.id)
    except TelegramAPIError as error:
        log.warning("could not check an administrator of %s: %s", message.chat.id, error)
        return False
    return member.status in ADMINS


async def refuse_non_admin(query: CallbackQuery) -> None:
    """A group member who is not an administrator pressed a reminder button."""
    await query.answer(
        _("Only the group's administrators can change its reminders."), show_alert=True
    )


def overview_text(
    chat_subscriptions: list[Subscription],
    knowledge: KnowledgeBase,
    settings: Settings,
    lang: Lang,
    *,
    in_group: bool,
) -> str:
    """What the chat gets reminders about, and when they come."""
    municipalities = knowledge.municipalities
    lines = [
        _(
            "Reminders come {offsets} before a call closes, and a notice when a call you "
            "follow opens."
        ).format(offsets=offsets_text(settings.offsets, lang)),
        "",
    ]
    followed: list[str] = []
    for subscription in chat_subscriptions:
        kind, _sep, value = subscription.target.partition(":")
        if subscription.target == subscriptions.ALL:
            followed.append(_("all calls"))
        elif kind == "municipality":
            municipality = municipalities.get(value)
            name = municipality.short[lang] if municipality else value
            followed.append(_("calls of {municipality}").format(municipality=quote(name)))
        elif kind == "call":
            title = _title(knowledge, value, lang)
            if title is not None:
                followed.append(_("“{title}”").format(title=quote(title)))
    if followed:
        heading = (
            _("This group gets reminders about:") if in_group else _("You get reminders about:")
        )
        lines += [heading, *(f"• {item}" for item in followed)]
    else:
        lines.append(
            _("This group gets no reminders yet.") if in_group else _("You get no reminders yet.")
        )
    lines += [
        "",
        _(
            "Press a button to switch reminders on or off (✅ means on). Under /calls every call "
            "has its own button. To follow another municipality's calls, send /remind and "
            "its name, for example /remind Kaunas."
        ),
    ]
    return "\n".join(lines)


def _title(knowledge: KnowledgeBase, call_id: str, lang: Lang) -> str | None:
    try:
        return knowledge.pack.call(call_id).title[lang]
    except KeyError:
        return None


def overview_keyboard(
    chat_subscriptions: list[Subscription],
    municipality_id: str | None,
    knowledge: KnowledgeBase,
    lang: Lang,
    *,
    announcements_on: bool | None = None,
) -> InlineKeyboardMarkup:
    """A switch for all calls, the chat's municipality, every municipality and call followed;
    and one for announcements when ANNOUNCEMENTS_ON is given (a member's chat)."""
    targets = {subscription.target for subscription in chat_subscriptions}
    builder = InlineKeyboardBuilder()

    def switch(label: str, kind: Literal["a", "m", "c", "n"], value: str, on: bool) -> None:
        mark = "✅" if on else "⬜"
        builder.button(
            text=f"{mark} {_cut(label)}",
            callback_data=RemindChoice(action="off" if on else "on", kind=kind, id=value),
        )

    municipalities = [
        value
        for kind, _sep, value in (target.partition(":") for target in sorted(targets))
        if kind == "municipality"
    ]
    if municipality_id and municipality_id not in municipalities:
        municipalities.insert(0, municipality_id)
    for value in municipalities:
        municipality = knowledge.municipalities.get(value)
        if municipality is not None:
            label = _("Calls of {municipality}").format(municipality=municipality.short[lang])
            switch(label, "m", value, subscriptions.municipality_target(value) in targets)
    switch(_("All calls"), "a", "", subscriptions.ALL in targets)
    for target in sorted(targets):
        kind, _sep, value = target.partition(":")
        title = _title(knowledge, value, lang) if kind == "call" else None
        if title is not None:
            switch(title, "c", value, True)
    if announcements_on is not None:
        switch("📣 " + _("Announcements from coordinators"), "n", "", announcements_on)
    builder.adjust(1)
    return builder.as_markup()


def _home_municipality(member: Member | None, group: GroupChat | None) -> str | None:
    if member is not None:
        return member.municipality
    return group.municipality if group is not None else None


async def remind(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    knowledge: KnowledgeBase,
    municipalities: MunicipalityDirectory,
    settings: Settings,
    lang: Lang,
    member: Member | None,
    group: GroupChat | None,
) -> None:
    """/remind: the chat's subscriptions with their switches; /remind NAME: find a municipality."""
    typed = (command.args or "").strip()
    if typed:
        found = municipalities.find(typed, limit=MUNICIPALITY_CHOICES)
        if not found:
            await message.answer(
                _("No municipality matches “{query}”. Try another part of the name.").format(
                    query=quote(typed[:100])
                )
            )
            return
        builder = InlineKeyboardBuilder()
        for municipality in found:
            builder.button(
                text=municipality.short[lang],
                callback_data=RemindChoice(action="on", kind="m", id=municipality.id),
            )
        builder.adjust(2)
        await message.answer(
            _("Which municipality's calls should I remind about?"),
            reply_markup=builder.as_markup(),
        )
        return
    await send_overview(message, session, knowledge, settings, lang, member, group)


async def send_overview(
    message: Message,
    session: AsyncSession,
    knowledge: KnowledgeBase,
    settings: Settings,
    lang: Lang,
    member: Member | None,
    group: GroupChat | None,
    *,
    edit: bool = False,
) -> None:
    """The /remind view of the chat of MESSAGE (EDIT: in place of MESSAGE)."""
    chat_subscriptions = await subscriptions.of_chat(session, chat_id=message.chat.id)
    text = overview_text(
        chat_subscriptions, knowledge, settings, lang, in_group=message.chat.type in GROUPS
    )
    announcements_on = None
    if member is not None and message.chat.type == "private":
        announcements_on = member.consent_at is not None and not (
            await announcements.is_opted_out(session, member.id)
        )
    keyboard = overview_keyboard(
        chat_subscriptions,
        _home_municipality(member, group),
        knowledge,
        lang,
        announcements_on=announcements_on,
    )
    if edit:
        with suppress(TelegramBadRequest):  # unchanged, or too old to edit
            await message.edit_text(text, reply_markup=keyboard)
        return
    await message.answer(text, reply_markup=keyboard)


async def remind_choice(
    query: CallbackQuery,
    message: Message,
    callback_data: RemindChoice,
    bot: Bot,
    session: AsyncSession,
    knowledge: KnowledgeBase,
    settings: Settings,
    reminders: Reminders,
    lang: Lang,
    clock: Clock,
    member: Member | None,
    group: GroupChat | None,
) -> None:
    """A /remind switch pressed: change the subscription, plan, redraw the view."""
    if callback_data.kind == "m" and callback_data.id not in knowledge.municipalities:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    if callback_data.kind == "n":
        if member is None or message.chat.type != "private":
            await query.answer(_("This button is no longer active."), show_alert=True)
            return
        if member.consent_at is None:
            await query.answer(
                _("Announcements go to members who stored their profile: send /start first."),
                show_alert=True,
            )
            return
        await announcements.set_opted_out(
            session, member_id=member.id, opted_out=callback_data.action == "off", now=clock()
        )
        await query.answer(
            _("You will get the coordinators' announcements.")
            if callback_data.action == "on"
            else _("You will get no more announcements from coordinators.")
        )
        await send_overview(message, session, knowledge, settings, lang, member, group, edit=True)
        return
    if not await may_change(query, bot):
        await refuse_non_admin(query)
        return
    chat_id = message.chat.id
    target = _target(callback_data)
    if callback_data.action == "on":
        await subscriptions.subscribe(session, chat_id=chat_id, target=target, now=clock())
    else:
        await subscriptions.unsubscribe(session, chat_id=chat_id, target=target)
    _remember_group(group, lang, callback_data)
    await reminders.chat_changed(session, chat_id)
    await query.answer(_("Reminders changed.") if callback_data.action == "on" else _("Done."))
    await send_overview(message, session, knowledge, settings, lang, member, group, edit=True)


def _remember_group(group: GroupChat | None, lang: Lang, choice: RemindChoice) -> None:
    """A group's reminders speak the language of the administrator who set them up, and keep
    the clock of the first municipality it follows."""
    if group is None:
        return
    if group.language != lang:
        group.language = lang
    if choice.kind == "m" and choice.action == "on" and group.municipality is None:
        group.municipality = choice.id


async def reminder_button(
    query: CallbackQuery,
    message: Message,
    callback_data: ReminderButton,
    bot: Bot,
    session: AsyncSession,
    knowledge: KnowledgeBase,
    settings: Settings,
    reminders: Reminders,
    lang: Lang,
    clock: Clock,
    group: GroupChat | None,
) -> None:
    """Remind me, Stop reminding or Add to calendar, under a call's text or in /calls."""
    try:
        call = knowledge.pack.call(callback_data.call)
    except KeyError:
        await query.answer(_("I no longer know this call."), show_alert=True)
        return
    if callback_data.action == "ics":
        await send_calendar(query, message, call, settings, lang, clock)
        return
    if not await may_change(query, bot):
        await refuse_non_admin(query)
        return
    now = clock()
    chat_id = message.chat.id
    title = call.title[lang]
    if callback_data.action == "on":
        if call.closes <= now:
            await query.answer(_("This call has closed: there is nothing to remind of."))
            return
        await subscriptions.subscribe(
            session, chat_id=chat_id, target=subscriptions.call_target(call.id), now=now
        )
        note = _("I will remind you before “{title}” closes.").format(title=_cut(title))
    else:
        await subscriptions.stop_call(session, chat_id=chat_id, call=call, now=now)
        note = _("No more reminders about “{title}”.").format(title=_cut(title))
    if group is not None and group.language != lang:
        group.language = lang
    await reminders.chat_changed(session, chat_id)
    await query.answer(note)
    if callback_data.where == "l":
        markup = await calls_keyboard(session, chat_id, knowledge, lang, now)
    else:
        markup = call_buttons(call.id, subscribed=callback_data.action == "on", lang=lang)
    with suppress(TelegramBadRequest):
        await message.edit_reply_markup(reply_markup=markup)


async def send_calendar(
    query: CallbackQuery, message: Message, call: Call, settings: Settings, lang: Lang, clock: Clock
) -> None:
    """The call's deadline as an .ics file, with alarms at the reminder offsets."""
    data = calendar_file([call], settings.offsets, lang, now=clock())
    await query.answer()
    await message.answer_document(
        BufferedInputFile(data, filename=file_name(call)),
        caption=_("Open the file to add the deadline of “{title}” to your calendar.").format(
            title=quote(call.title[lang])
        ),
    )


async def subscribed_call_ids(session: AsyncSession, chat_id: int, calls: list[Call]) -> set[str]:
    """Which of CALLS the chat gets reminders about."""
    chat_subscriptions = await subscriptions.of_chat(session, chat_id=chat_id)
    return set(subscriptions.wanted_by(chat_subscriptions, calls))


async def calls_keyboard(
    session: AsyncSession, chat_id: int, knowledge: KnowledgeBase, lang: Lang, now: datetime
) -> InlineKeyboardMarkup | None:
    """A "Remind me" or "Stop reminding" button for every open and upcoming call (/calls)."""
    current = open_and_upcoming(knowledge.pack.calls, now)
    if not current:
        return None
    followed = await subscribed_call_ids(session, chat_id, current)
    builder = InlineKeyboardBuilder()
    for call in current:
        title = _cut(call.title[lang])
        if call.id in followed:
            text = "✅ " + _("Stop reminding: {title}").format(title=title)
            action: Literal["on", "off"] = "off"
        else:
            text = "🔔 " + _("Remind me: {title}").format(title=title)
            action = "on"
        builder.button(
            text=text, callback_data=ReminderButton(action=action, where="l", call=call.id)
        )
    builder.adjust(1)
    return builder.as_markup()


async def answer_buttons(
    session: AsyncSession,
    chat_id: int,
    call_id: str,
    knowledge: KnowledgeBase,
    lang: Lang,
    now: datetime,
) -> InlineKeyboardMarkup | None:
    """The reminder buttons under an answer about the call CALL_ID (none once it closed)."""
    try:
        call = knowledge.pack.call(call_id)
    except KeyError:
        return None
    if call.closes <= now:
        return None
    followed = await subscribed_call_ids(session, chat_id, [call])
    return call_buttons(call.id, subscribed=call.id in followed, lang=lang)


def create_router() -> Router:
    """/remind and the reminder buttons."""
    router = Router(name=__name__)
    router.message.register(remind, Command("remind"))
    router.callback_query.register(remind_choice, RemindChoice.filter(), F.message.as_("message"))
    router.callback_query.register(
        reminder_button, ReminderButton.filter(), F.message.as_("message")
    )
    return router
