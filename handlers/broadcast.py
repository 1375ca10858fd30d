"""Announcements by coordinators: the /broadcast wizard, the list of recent announcements and
the buttons under their reports.

/broadcast lists the recent announcements (each with a button that shows its report) and
starts the wizard; every step is kept in the conversation storage, so a restart resumes it:
the language of a version, its content (a text with its formatting, or a photo or a document
with a caption), more versions if wanted, the audience (with the number of recipients it
reaches now), the send time, a preview of every version exactly as recipients get it, and
Confirm. Confirm fixes the recipients as outbox rows in the update's transaction; the drainer
sends them in the background and the report under it shows the progress.

Every step and button is for coordinators only, checked on the server (IsCoordinator): a
replayed button from anyone else is refused by the fallback ("co-" callback data).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any, Final

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import gettext as translated
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.announcements import (
    Broadcaster,
    ReportAction,
    final_progress,
    report_keyboard,
    report_text,
)
from bot.filters import is_not_command
from bot.roles import IsCoordinator
from bot.sender import quote
from bot.settings import Settings
from handlers.shared import drop_keyboard, refuse_old_button
from knowledge.announcements import Audience, count_by_language
from knowledge.calls import open_and_upcoming
from knowledge.i18n import N_, format_datetime
from knowledge.questionnaire import Questionnaire
from knowledge.service import KnowledgeBase
from knowledge.text import LANGUAGES, Lang, is_lang
from knowledge.values import parse_local_time
from storage import announcements, help_requests
from storage.announcements import Recipient
from storage.models import Announcement
from storage.types import Clock

# Telegram's limits, on the HTML the bot sends (so a version is never split in two).
TEXT_LIMIT: Final = 4096
CAPTION_LIMIT: Final = 1024
RECENT_SHOWN: Final = 5
CHOICES_SHOWN: Final = 12
MUNICIPALITY_CHOICES: Final = 6
LABEL_LIMIT: Final = 48
# A send time may be at most this far ahead.
MAX_DAYS_AHEAD: Final = 365


# Language names inside sentences and on the wizard's buttons, in the coordinator's language.
LANGUAGE_WORDS: Final[dict[str, str]] = {
    "lt": N_("Lithuanian"),
    "lv": N_("Latvian"),
    "en": N_("English"),
}


def language_word(code: str) -> str:
    """The name of language CODE in the coordinator's language."""
    return translated(LANGUAGE_WORDS[code]) if code in LANGUAGE_WORDS else code


class Broadcast(StatesGroup):
    """The steps of /broadcast."""

    language = State()
    content = State()
    more = State()
    audience = State()
    send_time = State()
    preview = State()


class BroadcastStep(CallbackData, prefix="co-bc"):
    """A wizard button: what it does, its value, and (audience switches) which view of the
    audience it belongs to: only the newest view's switches work."""

    action: str
    value: str = ""
    view: int = 0


def _cut(text: str) -> str:
    return text if len(text) <= LABEL_LIMIT else text[: LABEL_LIMIT - 1] + "…"


def _button(
    builder: InlineKeyboardBuilder, text: str, action: str, value: str = "", view: int = 0
) -> None:
    builder.button(text=text, callback_data=BroadcastStep(action=action, value=value, view=view))


def _key(text: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=BroadcastStep(action=action, value=value).pack()
    )


# --- /broadcast: the recent announcements, then a new one ------------------------------------


async def broadcast(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    lang: Lang,
) -> None:
    """List the recent announcements with their reports; start a new one."""
    recent = await announcements.recent(session, limit=RECENT_SHOWN)
    if recent:
        lines = [_("Recent announcements:")]
        builder = InlineKeyboardBuilder()
        for announcement in recent:
            assert announcement.id is not None
            progress = final_progress(announcement) or await announcements.progress(
                session, announcement.id
            )
            lines.append(
                _(
                    "#{number}, {moment}: {status}. Sent {sent}, failed {failed}, "
                    "blocked {blocked}, not sent {skipped}, waiting {waiting}."
                ).format(
                    number=announcement.id,
                    moment=format_datetime(announcement.created_at, lang, settings.tz),
                    status=_status_word(announcement, clock(), lang, settings),
                    sent=progress.sent,
                    failed=progress.failed,
                    blocked=progress.blocked,
                    skipped=progress.cancelled,
                    waiting=progress.waiting,
                )
            )
            builder.button(
                text=_("Report #{number}").format(number=announcement.id),
                callback_data=ReportAction(action="show", id=announcement.id),
            )
        builder.adjust(3)
        await message.answer("\n".join(lines), reply_markup=builder.as_markup())
    await state.set_state(Broadcast.language)
    await state.set_data({"versions": {}, "audience": Audience().as_json(), "send_at": None})
    await message.answer(
        _(
            "New announcement. Which language is its first version in? You can add versions "
            "in the other languages next: members whose language has no version get the {default} "
            "one, else the first. Send /cancel to stop."
        ).format(default=language_word(settings.default_locale)),
        reply_markup=_language_keyboard(set()),
    )


def _status_word(announcement: Announcement, now: datetime, lang: Lang, settings: Settings) -> str:
    if announcement.status == "sending" and announcement.send_at > now:
        return _("scheduled for {moment}").format(
            moment=format_datetime(announcement.send_at, lang, settings.tz)
        )
    words = {"sending": _("sending"), "done": _("finished"), "cancelled": _("cancelled")}
    return words.get(announcement.status, announcement.status)


def _language_keyboard(added: set[str]) -> InlineKeyboardMarkup:
    """The languages without a version (one row), then Next (once there is one), then Cancel."""
    builder = InlineKeyboardBuilder()
    for code in LANGUAGES:
        if code not in added:
            builder.add(_key(language_word(code).capitalize(), "lang", code))
    builder.adjust(3)
    if added:
        builder.row(_key(_("Next: the audience"), "audience"))
    builder.row(_key(_("Cancel"), "cancel"))
    return builder.as_markup()


async def language_chosen(
    query: CallbackQuery, message: Message, callback_data: BroadcastStep, state: FSMContext
) -> None:
    """The language of the version to write next."""
    if not is_lang(callback_data.value):
        await refuse_old_button(query)
        return
    await state.update_data(current=callback_data.value)
    await state.set_state(Broadcast.content)
    await query.answer()
    await drop_keyboard(query)
    await message.answer(
        _(
            "Send the {language} version: a text (your formatting is kept), or a photo or a "
            "document with a caption."
        ).format(language=language_word(callback_data.value))
    )


async def content_sent(message: Message, state: FSMContext) -> None:
    """A version's content: text, photo or document (by the file_id Telegram gave it)."""
    data = await state.get_data()
    current = data.get("current")
    if not is_lang(current):
        await state.set_state(Broadcast.language)
        await message.answer(_("Which language is this version in?"), reply_markup=None)
        return
    html = message.html_text if (message.text or message.caption) else ""
    if message.photo:
        version: dict[str, str | None] = {
            "kind": "photo",
            "html": html,
            "file_id": message.photo[-1].file_id,
        }
        limit = CAPTION_LIMIT
    elif message.document:
        version = {"kind": "document", "html": html, "file_id": message.document.file_id}
        limit = CAPTION_LIMIT
    elif message.text:
        version = {"kind": "text", "html": html, "file_id": None}
        limit = TEXT_LIMIT
    else:
        await message.answer(
            _(
                "Please send a text, a photo or a document (a photo or a document may have "
                "a caption)."
            )
        )
        return
    if len(html) > limit:
        await message.answer(
            _(
                "This is too long for one Telegram message: at most {limit} characters, "
                "formatting included. Please send a shorter version."
            ).format(limit=limit)
        )
        return
    versions: dict[str, Any] = dict(data.get("versions") or {})
    versions[current] = dict(version)
    await state.update_data(versions=versions, current=None)
    await state.set_state(Broadcast.more)
    await message.answer(
        _("The {language} version is added. Add a version in another language, or go on.").format(
            language=language_word(current)
        ),
        reply_markup=_language_keyboard(set(versions)),
    )


# --- the audience -------------------------------------------------------------------------------


def _audience(data: Mapping[str, Any]) -> Audience:
    return Audience.from_json(data.get("audience") or {})


async def _recipients(
    session: AsyncSession, broadcaster: Broadcaster, data: Mapping[str, Any]
) -> list[Recipient]:
    versions = list((data.get("versions") or {}).keys())
    return await broadcaster.recipients(session, _audience(data), versions)


def _counts(recipients: list[Recipient]) -> tuple[int, int]:
    groups = sum(1 for recipient in recipients if recipient.chat_id < 0)
    return len(recipients) - groups, groups


def reach_line(recipients: list[Recipient]) -> str:
    """How many members and group chats an audience reaches now."""
    members, groups = _counts(recipients)
    return _("It reaches now: {members} and {groups}.").format(
        members=ngettext("{count} member", "{count} members", members).format(count=members),
        groups=ngettext("{count} group chat", "{count} group chats", groups).format(count=groups),
    )


def _answer_label(
    answer: tuple[str, str, str] | None, questionnaires: Mapping[str, Questionnaire], lang: Lang
) -> str | None:
    if answer is None:
        return None
    questionnaire = questionnaires.get(answer[0])
    question = questionnaire.get(answer[1]) if questionnaire else None
    option = (
        next((item for item in question.choices if item.id == answer[2]), None)
        if question
        else None
    )
    if question is None or option is None:
        return f"{answer[1]}: {answer[2]}"
    return f"{question.text[lang]}: {option.text[lang]}"


def audience_text(
    audience: Audience,
    recipients: list[Recipient],
    *,
    broadcaster: Broadcaster,
    knowledge: KnowledgeBase,
    questionnaires: Mapping[str, Questionnaire],
    lang: Lang,
) -> str:
    """The audience as it stands, and how many it reaches now."""
    names = [
        municipality.short[lang]
        for municipality in (
            broadcaster.municipalities.get(item) for item in audience.municipalities
        )
        if municipality is not None
    ]
    call_title = None
    if audience.call is not None:
        try:
            call_title = knowledge.pack.call(audience.call).title[lang]
        except KeyError:
            call_title = audience.call
    answer = _answer_label(audience.answer, questionnaires, lang)
    lines = [
        "<b>" + _("Who receives it?") + "</b>",
        _("Municipalities: {names}").format(names=quote(", ".join(names)) if names else _("all")),
        _("Language: {language}").format(
            language=language_word(audience.language) if audience.language else _("all")
        ),
        _("Subscribers of the call: {title}").format(
            title=quote(call_title) if call_title else _("no such filter")
        ),
        _("Questionnaire answer: {answer}").format(
            answer=quote(answer) if answer else _("no such filter")
        ),
        "",
        "<b>" + reach_line(recipients) + "</b>",
        _(
            "Members who opted out of announcements, who blocked the bot or never gave "
            "their consent are left out."
        ),
        "",
        _("To choose municipalities, type a name (several, one after another)."),
    ]
    return "\n".join(lines)


def audience_keyboard(audience: Audience, lang: Lang, view: int) -> InlineKeyboardMarkup:
    """Switches for members and groups; language; call; questionnaire answer; next; cancel.
    VIEW numbers this view of the audience (only the newest one's switches work)."""
    builder = InlineKeyboardBuilder()

    def switch(text: str, action: str, value: str = "") -> None:
        _button(builder, text, action, value, view)

    mark = {True: "✅", False: "⬜"}
    switch(f"{mark[audience.people]} " + _("Members"), "people")
    switch(f"{mark[audience.groups]} " + _("Group chats"), "groups")
    following = {None: "lt", "lt": "lv", "lv": "en", "en": ""}
    language = language_word(audience.language) if audience.language else _("all")
    switch(
        _("Language: {language}").format(language=language),
        "language",
        following[audience.language],
    )
    if audience.call is None:
        switch(_("Subscribers of a call…"), "calls")
    else:
        switch("✖ " + _("Any call"), "call")
    if audience.answer is None:
        switch(_("A questionnaire answer…"), "questions")
    else:
        switch("✖ " + _("No questionnaire answer"), "option")
    if audience.municipalities:
        switch("✖ " + _("All municipalities"), "munclear")
    switch(_("Next: when to send"), "time")
    switch(_("Cancel"), "cancel")
    builder.adjust(2, 1)
    return builder.as_markup()


async def show_audience(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    broadcaster: Broadcaster,
    knowledge: KnowledgeBase,
    questionnaires: Mapping[str, Questionnaire],
    lang: Lang,
    *,
    edit: bool,
) -> None:
    """The audience step: its text with the count now, and its switches (EDIT: in place)."""
    await state.set_state(Broadcast.audience)
    data = await state.get_data()
    audience = _audience(data)
    recipients = await _recipients(session, broadcaster, data)
    text = audience_text(
        audience,
        recipients,
        broadcaster=broadcaster,
        knowledge=knowledge,
        questionnaires=questionnaires,
        lang=lang,
    )
    view = int(data.get("view_serial", 0)) + (0 if edit else 1)
    keyboard = audience_keyboard(audience, lang, view)
    if edit:
        with suppress(TelegramBadRequest):  # nothing changed
            await message.edit_text(text, reply_markup=keyboard)
        return
    earlier = data.get("view")
    if earlier is not None and message.bot is not None:
        with suppress(TelegramBadRequest):  # an older view's switches would show stale counts
            await message.bot.edit_message_reply_markup(
                chat_id=message.chat.id, message_id=int(earlier), reply_markup=None
            )
    sent = await message.answer(text, reply_markup=keyboard)
    await state.update_data(view=sent.message_id, view_serial=view)


async def _change(state: FSMContext, **changes: Any) -> None:
    data = await state.get_data()
    audience = _audience(data)
    await state.update_data(audience={**audience.as_json(), **changes})


async def audience_pressed(
    query: CallbackQuery,
    message: Message,
    callback_data: BroadcastStep,
    state: FSMContext,
    session: AsyncSession,
    broadcaster: Broadcaster,
    knowledge: KnowledgeBase,
    questionnaires: Mapping[str, Questionnaire],
    clock: Clock,
    lang: Lang,
) -> None:
    """A switch of the audience step, or a choice from its lists."""
    action, value = callback_data.action, callback_data.value
    data = await state.get_data()
    audience = _audience(data)
    in_place = {"people", "groups", "language", "munclear"} | (
        {"call", "option"} if not value else set()
    )
    if action in in_place and callback_data.view != int(data.get("view_serial", 0)):
        await refuse_old_button(query)  # an older view of the audience
        return
    edit = True
    if action == "audience":  # from the versions step
        if not data.get("versions"):
            await refuse_old_button(query)
            return
        await drop_keyboard(query)
        edit = False
    elif action == "people":
        await _change(state, people=not audience.people)
    elif action == "groups":
        await _change(state, groups=not audience.groups)
    elif action == "language":
        await _change(state, language=value if is_lang(value) else None)
    elif action == "munclear":
        await _change(state, municipalities=[])
    elif action == "mun":
        if value not in broadcaster.municipalities:
            await refuse_old_button(query)
            return
        if value not in audience.municipalities:
            await _change(state, municipalities=[*audience.municipalities, value])
        edit = False
    elif action == "calls":
        await query.answer()
        await _offer_calls(message, state, knowledge, clock, lang)
        return
    elif action == "call":
        offered: list[str] = data.get("calls") or []
        chosen = offered[int(value)] if value.isdigit() and int(value) < len(offered) else None
        await _change(state, call=chosen)
        edit = not value
    elif action == "back":
        await drop_keyboard(query)
        edit = False
    elif action == "questions":
        await query.answer()
        await _offer_questions(message, state, questionnaires, lang)
        return
    elif action == "question":
        await query.answer()
        await _offer_options(message, state, questionnaires, value, lang)
        return
    elif action == "option":
        await _change(state, answer=_chosen_answer(data, questionnaires, value))
        edit = not value
    await query.answer()
    await show_audience(
        message, state, session, broadcaster, knowledge, questionnaires, lang, edit=edit
    )


async def _offer_calls(
    message: Message, state: FSMContext, knowledge: KnowledgeBase, clock: Clock, lang: Lang
) -> None:
    calls = open_and_upcoming(knowledge.pack.calls, clock())[:CHOICES_SHOWN]
    if not calls:
        await message.answer(_("No call is open or upcoming now."))
        return
    await state.update_data(calls=[call.id for call in calls])
    builder = InlineKeyboardBuilder()
    for number, call in enumerate(calls):
        _button(builder, _cut(call.title[lang]), "call", str(number))
    builder.adjust(1)
    builder.row(_key(_("Back"), "back"))
    await message.answer(
        _("Subscribers of which call? (Those who get its reminders.)"),
        reply_markup=builder.as_markup(),
    )


def _choice_questions(questionnaires: Mapping[str, Questionnaire]) -> list[tuple[str, str]]:
    return [
        (questionnaire.id, question.id)
        for questionnaire in questionnaires.values()
        for question in questionnaire.questions
        if question.choices
    ][:CHOICES_SHOWN]


async def _offer_questions(
    message: Message,
    state: FSMContext,
    questionnaires: Mapping[str, Questionnaire],
    lang: Lang,
) -> None:
    offered = _choice_questions(questionnaires)
    if not offered:
        await message.answer(_("No questionnaire has a question with options."))
        return
    await state.update_data(questions=[list(item) for item in offered])
    builder = InlineKeyboardBuilder()
    for number, (questionnaire_id, question_id) in enumerate(offered):
        question = questionnaires[questionnaire_id].question(question_id)
        _button(builder, _cut(question.text[lang]), "question", str(number))
    builder.adjust(1)
    builder.row(_key(_("Back"), "back"))
    await message.answer(
        _("Members who gave which answer? Choose the question first."),
        reply_markup=builder.as_markup(),
    )


def _offered_question(
    data: Mapping[str, Any], questionnaires: Mapping[str, Questionnaire], number: str
) -> tuple[Questionnaire, str] | None:
    offered: list[list[str]] = data.get("questions") or []
    if not number.isdigit() or int(number) >= len(offered):
        return None
    questionnaire_id, question_id = offered[int(number)]
    questionnaire = questionnaires.get(questionnaire_id)
    if questionnaire is None or questionnaire.get(question_id) is None:
        return None
    return questionnaire, question_id


async def _offer_options(
    message: Message,
    state: FSMContext,
    questionnaires: Mapping[str, Questionnaire],
    number: str,
    lang: Lang,
) -> None:
    found = _offered_question(await state.get_data(), questionnaires, number)
    if found is None:
        await message.answer(_("This button is no longer active."))
        return
    questionnaire, question_id = found
    question = questionnaire.question(question_id)
    builder = InlineKeyboardBuilder()
    for index, option in enumerate(question.choices):
        _button(builder, _cut(option.text[lang]), "option", f"{number}.{index}")
    builder.adjust(2)
    builder.row(_key(_("Back"), "back"))
    await message.answer(
        _("“{question}”: members who answered…").format(question=quote(question.text[lang])),
        reply_markup=builder.as_markup(),
    )


def _chosen_answer(
    data: Mapping[str, Any], questionnaires: Mapping[str, Questionnaire], value: str
) -> list[str] | None:
    number, _sep, index = value.partition(".")
    found = _offered_question(data, questionnaires, number)
    if found is None or not index.isdigit():
        return None
    questionnaire, question_id = found
    choices = questionnaire.question(question_id).choices
    if int(index) >= len(choices):
        return None
    return [questionnaire.id, question_id, choices[int(index)].id]


async def municipality_typed(message: Message, broadcaster: Broadcaster, lang: Lang) -> None:
    """A municipality's name typed at the audience step: the matches as buttons (nothing is
    added without a press)."""
    typed = (message.text or "").strip()
    found = broadcaster.municipalities.find(typed, limit=MUNICIPALITY_CHOICES)
    if not found:
        await message.answer(
            _("No municipality matches “{query}”. Try another part of the name.").format(
                query=quote(typed[:100])
            )
        )
        return
    builder = InlineKeyboardBuilder()
    for municipality in found:
        _button(builder, municipality.short[lang], "mun", municipality.id)
    builder.adjust(2)
    await message.answer(_("Choose the municipality:"), reply_markup=builder.as_markup())


# --- when, preview, confirm -----------------------------------------------------------------------


async def ask_time(
    query: CallbackQuery, message: Message, state: FSMContext, settings: Settings
) -> None:
    """Ask when to send it."""
    await state.set_state(Broadcast.send_time)
    await query.answer()
    await drop_keyboard(query)
    builder = InlineKeyboardBuilder()
    _button(builder, _("Send now"), "now")
    _button(builder, _("Cancel"), "cancel")
    await message.answer(
        _(
            "When should it be sent? Press Send now, or type a date and time in {zone} time, "
            "for example 2027-03-01 09:00."
        ).format(zone=settings.timezone),
        reply_markup=builder.as_markup(),
    )


async def time_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    broadcaster: Broadcaster,
    settings: Settings,
    clock: Clock,
    lang: Lang,
) -> None:
    """A send time, in TIMEZONE; it must be ahead."""
    typed = message.text or ""
    local = parse_local_time(typed) if ":" in typed else None
    if local is None:
        await message.answer(
            _("Please type a date and a time of day, like 2027-03-31 09:00 or 31.03.2027 09:00.")
        )
        return
    moment = local.replace(tzinfo=settings.tz)
    if moment <= clock():
        await message.answer(_("This moment has passed. Please type a later one."))
        return
    if moment > clock() + timedelta(days=MAX_DAYS_AHEAD):
        await message.answer(_("Please choose a moment within a year from now."))
        return
    await state.update_data(send_at=moment.isoformat())
    await show_preview(message, state, session, broadcaster, settings, lang)


async def send_now(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    broadcaster: Broadcaster,
    settings: Settings,
    lang: Lang,
) -> None:
    """Send as soon as it is confirmed."""
    await state.update_data(send_at=None)
    await query.answer()
    await drop_keyboard(query)
    await show_preview(message, state, session, broadcaster, settings, lang)


async def show_preview(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    broadcaster: Broadcaster,
    settings: Settings,
    lang: Lang,
) -> None:
    """Every version exactly as its readers get it, then the counts and Confirm."""
    await state.set_state(Broadcast.preview)
    data = await state.get_data()
    versions: dict[str, Any] = data.get("versions") or {}
    recipients = await _recipients(session, broadcaster, data)
    by_version = count_by_language(recipient.version for recipient in recipients)
    for code, version in versions.items():
        await message.answer(
            ngettext(
                "Preview of the {language} version ({count} recipient):",
                "Preview of the {language} version ({count} recipients):",
                by_version.get(code, 0),
            ).format(language=language_word(code), count=by_version.get(code, 0))
        )
        await broadcaster.preview(message.chat.id, version)
    send_at = data.get("send_at")
    when = (
        _("It will be sent {moment}.").format(
            moment=format_datetime(datetime.fromisoformat(send_at), lang, settings.tz)
        )
        if send_at
        else _("It will be sent as soon as you confirm.")
    )
    builder = InlineKeyboardBuilder()
    if recipients:
        _button(builder, "✅ " + _("Confirm and send"), "confirm")
    _button(builder, _("Change the audience"), "edit")
    _button(builder, _("Cancel"), "cancel")
    builder.adjust(1)
    lines = [reach_line(recipients), when]
    if not recipients:
        lines.append(_("Nobody is in this audience: change it to send the announcement."))
    await message.answer("\n".join(lines), reply_markup=builder.as_markup())


async def edit_audience(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    broadcaster: Broadcaster,
    knowledge: KnowledgeBase,
    questionnaires: Mapping[str, Questionnaire],
    lang: Lang,
) -> None:
    """Back from the preview to the audience."""
    await query.answer()
    await drop_keyboard(query)
    await show_audience(
        message, state, session, broadcaster, knowledge, questionnaires, lang, edit=False
    )


async def confirm(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    broadcaster: Broadcaster,
    settings: Settings,
    clock: Clock,
    lang: Lang,
) -> None:
    """Fix the recipients as outbox rows and end the wizard, in one transaction; show the
    report (the drainer sends once this commits)."""
    data = await state.get_data()
    versions: dict[str, Any] = data.get("versions") or {}
    recipients = await _recipients(session, broadcaster, data)
    if not versions or not recipients:
        await query.answer(
            _("Nobody is in this audience: change it to send the announcement."), show_alert=True
        )
        return
    now = clock()
    send_at = datetime.fromisoformat(data["send_at"]) if data.get("send_at") else now
    announcement = await announcements.create(
        session,
        created_by=query.from_user.id,
        versions=versions,
        audience=_audience(data),
        send_at=max(send_at, now),
        recipients=recipients,
    )
    await state.clear()
    await query.answer(_("Confirmed."))
    await drop_keyboard(query)
    await _post_report(message, session, announcement, settings, clock, lang)
    broadcaster.confirmed(session)


async def _post_report(
    message: Message,
    session: AsyncSession,
    announcement: Announcement,
    settings: Settings,
    clock: Clock,
    lang: Lang,
) -> None:
    assert announcement.id is not None
    progress = final_progress(announcement) or await announcements.progress(
        session, announcement.id
    )
    report = await message.answer(
        report_text(announcement, progress, lang, left=None, now=clock(), settings=settings),
        reply_markup=report_keyboard(announcement, lang),
    )
    if announcement.counts is None:  # redrawn there while it is sent
        await announcements.set_report(
            session, announcement.id, chat_id=report.chat.id, message_id=report.message_id
        )


async def cancel_wizard(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    """Drop the draft."""
    await state.clear()
    await query.answer()
    await drop_keyboard(query)
    await message.answer(_("Cancelled: nothing was sent."))


async def expecting_buttons(message: Message) -> None:
    """Anything typed where the step waits for a button."""
    await message.answer(_("Please use the buttons above, or send /cancel to stop."))


async def stale_button(query: CallbackQuery) -> None:
    """A wizard button from a step that is over."""
    await refuse_old_button(query)


# --- the buttons under a report ---------------------------------------------------------------


async def report_pressed(
    query: CallbackQuery,
    message: Message,
    callback_data: ReportAction,
    session: AsyncSession,
    broadcaster: Broadcaster,
    settings: Settings,
    clock: Clock,
    lang: Lang,
) -> None:
    """Show a report again, cancel the rest of a delivery, or send the CSV."""
    known = help_requests.is_number(callback_data.id)  # a forged id may not fit the column
    announcement = await announcements.get(session, callback_data.id) if known else None
    if announcement is None or announcement.id is None:
        await refuse_old_button(query)
        return
    if callback_data.action == "csv":
        await query.answer(_("The file is on its way."))
        broadcaster.send_csv(message.chat.id, announcement.id, lang)
        return
    if callback_data.action == "cancel":
        if announcement.status != "sending":
            await query.answer(_("This announcement is not being sent any more."), show_alert=True)
            return
        stopped = await announcements.cancel(session, announcement.id, clock())
        await query.answer(_("Cancelled: {count} not sent.").format(count=stopped), show_alert=True)
        announcement = await announcements.get(session, callback_data.id)
        assert announcement is not None
        progress = await announcements.progress(session, callback_data.id)
        await message.edit_text(
            report_text(announcement, progress, lang, left=None, now=clock(), settings=settings),
            reply_markup=report_keyboard(announcement, lang),
        )
        return
    if callback_data.action == "show":
        await query.answer()
        await _post_report(message, session, announcement, settings, clock, lang)
        return
    await refuse_old_button(query)


def create_router() -> Router:
    """/broadcast, its steps and the report buttons: coordinators only, in private chats."""
    router = Router(name=__name__)
    coordinator = IsCoordinator()
    private = F.chat.type == "private"
    router.message.register(broadcast, Command("broadcast"), coordinator, private)
    step = BroadcastStep.filter
    with_message = F.message.as_("message")
    router.callback_query.register(
        cancel_wizard,
        StateFilter(*Broadcast.__states__),
        step(F.action == "cancel"),
        coordinator,
        with_message,
    )
    router.callback_query.register(
        language_chosen,
        StateFilter(Broadcast.language, Broadcast.more),
        step(F.action == "lang"),
        coordinator,
        with_message,
    )
    router.message.register(content_sent, Broadcast.content, coordinator, is_not_command)
    router.callback_query.register(
        audience_pressed,
        StateFilter(Broadcast.more),
        step(F.action == "audience"),
        coordinator,
        with_message,
    )
    router.callback_query.register(
        audience_pressed,
        Broadcast.audience,
        step(
            F.action.in_(
                {"people", "groups", "language", "munclear", "mun", "calls", "call"}
                | {"questions", "question", "option", "back"}
            )
        ),
        coordinator,
        with_message,
    )
    router.message.register(
        municipality_typed, Broadcast.audience, coordinator, F.text, is_not_command
    )
    router.callback_query.register(
        ask_time, Broadcast.audience, step(F.action == "time"), coordinator, with_message
    )
    router.message.register(time_typed, Broadcast.send_time, coordinator, F.text, is_not_command)
    router.callback_query.register(
        send_now, Broadcast.send_time, step(F.action == "now"), coordinator, with_message
    )
    router.callback_query.register(
        confirm, Broadcast.preview, step(F.action == "confirm"), coordinator, with_message
    )
    router.callback_query.register(
        edit_audience, Broadcast.preview, step(F.action == "edit"), coordinator, with_message
    )
    router.message.register(
        expecting_buttons,
        StateFilter(Broadcast.language, Broadcast.more, Broadcast.preview),
        coordinator,
        is_not_command,
    )
    router.callback_query.register(stale_button, step(), coordinator)
    router.callback_query.register(report_pressed, ReportAction.filter(), coordinator, with_message)
    return router
