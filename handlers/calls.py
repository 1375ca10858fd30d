"""Funding calls: /calls for everyone; /newcall and /reload for coordinators.

/newcall is a short wizard (title, programme, funder, opens, closes, who may apply,
municipalities, contact, link, then a preview to save). Its state lives in the conversation
storage, so a restart in the middle loses nothing. The coordinator types the texts in one
language; members of every language read that same text. A saved call goes into the database
and into the knowledge base at once, so /calls lists it and questions find it.
/reload re-reads the knowledge pack's YAML (and the stored calls) without a restart; a broken
pack is refused with its problems and the old one stays in use.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, StateFilter, or_f
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import is_not_command
from bot.reminders import Reminders
from bot.roles import IsCoordinator
from bot.sender import quote
from bot.settings import Settings
from handlers.reminders import calls_keyboard
from handlers.shared import answer_in_pieces, drop_keyboard, refuse_old_button
from knowledge.calls import draft_call, means_everywhere, pack_ids
from knowledge.i18n import format_datetime
from knowledge.municipalities import MunicipalityDirectory
from knowledge.service import KnowledgeBase
from knowledge.text import Lang
from knowledge.values import normalise_contact, normalise_url, parse_local_time
from storage import calls
from storage.types import Clock

# The longest texts a coordinator may type at each step (the table's columns allow more).
TEXT_LIMITS: Final = {
    "title": 200,
    "programme": 300,
    "funder": 300,
    "who_may_apply": 1000,
    "contact": 300,
    "link": 500,
}
# /reload shows at most this many problems; the rest are counted.
PROBLEMS_SHOWN: Final = 20
# Municipality buttons offered for what the coordinator typed.
MUNICIPALITY_CHOICES: Final = 6


class NewCall(StatesGroup):
    """The steps of /newcall."""

    title = State()
    programme = State()
    funder = State()
    opens = State()
    closes = State()
    who_may_apply = State()
    municipalities = State()
    contact = State()
    link = State()
    confirm = State()


class EditCall(StatesGroup):
    """Changing a stored call: the new date is typed."""

    moment = State()


STEPS: Final = (
    "title",
    "programme",
    "funder",
    "opens",
    "closes",
    "who_may_apply",
    "municipalities",
    "contact",
    "link",
)


class NewCallMunicipality(CallbackData, prefix="co-ncm"):
    """A municipality button in /newcall."""

    id: str


class CallEdit(CallbackData, prefix="co-ce"):
    """A coordinator changing a stored call (list, pick, opens, closes, remove, cancel...)."""

    action: str
    id: str = ""


# Stored calls offered for a change, the latest first.
EDITABLE_SHOWN: Final = 20


class NewCallAction(CallbackData, prefix="co-nca"):
    """All municipalities, done choosing, no link, save, cancel."""

    action: str


def prompt(step: str, settings: Settings) -> str:
    """The question of one /newcall step."""
    texts = {
        "title": _(
            "New call, step 1 of 9: what is its title? Type all texts in one language: "
            "members of every language will read them as you type them. Send /cancel to stop."
        ),
        "programme": _("Step 2 of 9: which programme is the call part of?"),
        "funder": _("Step 3 of 9: who funds it?"),
        "opens": _(
            "Step 4 of 9: when does it open? Type a date and time in {zone} time, "
            "for example 2027-03-01 09:00 (a date alone means 00:00)."
        ),
        "closes": _(
            "Step 5 of 9: when does it close? Type a date and time in {zone} time, "
            "for example 2027-03-31 23:59 (a date alone means 23:59)."
        ),
        "who_may_apply": _("Step 6 of 9: who may apply?"),
        "municipalities": _(
            "Step 7 of 9: where may applicants come from? Type the name of a municipality "
            "and choose it from the buttons, as many as needed, then press Done. "
            "Or press All municipalities."
        ),
        "contact": _(
            "Step 8 of 9: whom should applicants contact? Type an e-mail address, a phone "
            "number or a web address."
        ),
        "link": _("Step 9 of 9: the link to the call's page (https://...), or press No link."),
    }
    return texts[step].format(zone=settings.timezone)


def step_keyboard(step: str, chosen: list[str] | None = None) -> InlineKeyboardMarkup | None:
    """The buttons a step offers besides typing."""
    builder = InlineKeyboardBuilder()
    if step == "municipalities":
        if chosen:
            builder.button(text=_("Done"), callback_data=NewCallAction(action="done"))
        builder.button(text=_("All municipalities"), callback_data=NewCallAction(action="all"))
    elif step == "link":
        builder.button(text=_("No link"), callback_data=NewCallAction(action="nolink"))
    else:
        return None
    return builder.as_markup()


async def ask_step(message: Message, state: FSMContext, step: str, settings: Settings) -> None:
    """Move to STEP and ask its question."""
    await state.set_state(getattr(NewCall, step))
    await message.answer(prompt(step, settings), reply_markup=step_keyboard(step))


async def next_step(
    message: Message,
    state: FSMContext,
    done: str,
    settings: Settings,
    knowledge: KnowledgeBase,
    lang: Lang,
    clock: Clock,
) -> None:
    """After step DONE: ask the next question, or show the preview after the last one."""
    position = STEPS.index(done) + 1
    if position < len(STEPS):
        await ask_step(message, state, STEPS[position], settings)
        return
    await state.set_state(NewCall.confirm)
    call = draft_call("preview", await state.get_data())
    preview = knowledge.describe_call(call, lang, clock())
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Save"), callback_data=NewCallAction(action="save"))
    builder.button(text=_("Cancel"), callback_data=NewCallAction(action="cancel"))
    text = _("This is how members will see the call:") + "\n\n" + quote(preview)
    await answer_in_pieces(message, text, builder.as_markup())


# --- /calls -------------------------------------------------------------------------------------


async def list_calls(
    message: Message,
    knowledge: KnowledgeBase,
    lang: Lang,
    clock: Clock,
    session: AsyncSession,
    is_coordinator: bool,
) -> None:
    """Open and upcoming calls, and recently closed ones; a reminder button for each call that
    has not closed."""
    now = clock()
    markup = await calls_keyboard(session, message.chat.id, knowledge, lang, now)
    if is_coordinator and message.chat.type == "private" and await calls.list_calls(session):
        builder = InlineKeyboardBuilder.from_markup(markup) if markup else InlineKeyboardBuilder()
        builder.row(
            InlineKeyboardButton(
                text="✏️ " + _("Change a call added here"),
                callback_data=CallEdit(action="list").pack(),
            )
        )
        markup = builder.as_markup()
    await answer_in_pieces(message, quote(knowledge.calls_overview(lang, now)), markup)


# --- changing a stored call (coordinators) -------------------------------------------------------


async def edit_list(query: CallbackQuery, message: Message, session: AsyncSession) -> None:
    """The calls added with /newcall, to choose the one to change."""
    stored = sorted(await calls.list_calls(session), key=lambda row: row.created_at, reverse=True)
    await query.answer()
    if not stored:
        await message.answer(_("No call was added here with /newcall."))
        return
    builder = InlineKeyboardBuilder()
    for row in stored[:EDITABLE_SHOWN]:
        builder.button(text=row.title[:60], callback_data=CallEdit(action="pick", id=row.id))
    builder.adjust(1)
    await message.answer(_("Which call do you want to change?"), reply_markup=builder.as_markup())


async def edit_pick(
    query: CallbackQuery,
    message: Message,
    callback_data: CallEdit,
    session: AsyncSession,
    knowledge: KnowledgeBase,
    lang: Lang,
    clock: Clock,
) -> None:
    """One stored call: its text, and what can be changed."""
    row = await calls.get_call(session, call_id=callback_data.id)
    if row is None:
        await refuse_old_button(query)
        return
    await query.answer()
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Opening date"), callback_data=CallEdit(action="opens", id=row.id))
    builder.button(text=_("Closing date"), callback_data=CallEdit(action="closes", id=row.id))
    builder.button(text=_("Remove the call"), callback_data=CallEdit(action="remove", id=row.id))
    builder.button(text=_("Cancel"), callback_data=CallEdit(action="cancel"))
    builder.adjust(2, 1, 1)
    text = knowledge.describe_call(calls.as_call(row), lang, clock())
    await answer_in_pieces(
        message, quote(text) + "\n\n" + _("What do you want to change?"), builder.as_markup()
    )


async def edit_date_asked(
    query: CallbackQuery,
    message: Message,
    callback_data: CallEdit,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
) -> None:
    """Ask for the new opening or closing moment."""
    if await calls.get_call(session, call_id=callback_data.id) is None:
        await refuse_old_button(query)
        return
    await state.set_state(EditCall.moment)
    await state.set_data({"call": callback_data.id, "field": callback_data.action})
    await query.answer()
    if callback_data.action == "opens":
        text = _(
            "When does the call open now? Type a date and time in {zone} time, for example "
            "2027-03-01 09:00 (a date alone means 00:00). Send /cancel to stop."
        )
    else:
        text = _(
            "When does the call close now? Type a date and time in {zone} time, for example "
            "2027-03-31 23:59 (a date alone means 23:59). Send /cancel to stop."
        )
    await message.answer(text.format(zone=settings.timezone))


async def edit_date_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    knowledge: KnowledgeBase,
    reminders: Reminders,
    lang: Lang,
) -> None:
    """The new moment: checked, stored, reminders planned again (subscribers hear of a new
    deadline once), all in one transaction."""
    data = await state.get_data()
    field = data.get("field")
    row = await calls.get_call(session, call_id=str(data.get("call")))
    if row is None or field not in {"opens", "closes"}:
        await state.clear()
        await message.answer(_("This call is no longer stored: nothing was changed."))
        return
    local = parse_local_time(message.text or "", end_of_day=field == "closes")
    if local is None:
        await message.answer(
            _("I could not read this date. Please type it like 2027-03-31 23:59 or 31.03.2027.")
        )
        return
    moment = local.replace(tzinfo=ZoneInfo(row.timezone))
    opens, closes = (moment, row.closes) if field == "opens" else (row.opens, moment)
    if closes <= opens:
        await message.answer(
            _("The call must close after it opens ({opens}). Please type another date.").format(
                opens=format_datetime(opens, lang, ZoneInfo(row.timezone))
            )
        )
        return
    changed = await calls.set_dates(session, call_id=row.id, opens=opens, closes=closes)
    assert changed is not None
    new = calls.as_call(changed)
    others = [call for call in knowledge.pack.calls if call.id != new.id]
    await reminders.calls_changed(session, [*others, new])
    await state.clear()
    await session.commit()
    await asyncio.to_thread(knowledge.add_calls, [new])
    when = format_datetime(
        new.opens if field == "opens" else new.closes, lang, ZoneInfo(new.timezone)
    )
    if field == "closes":
        text = _(
            "Saved: the call now closes on {when}. Its subscribers get one notice of the new "
            "deadline, and their reminders follow it."
        )
    else:
        text = _("Saved: the call now opens on {when}.")
    await message.answer(text.format(when=when))


async def edit_remove_asked(
    query: CallbackQuery, message: Message, callback_data: CallEdit, session: AsyncSession
) -> None:
    """Ask once more before removing a call."""
    row = await calls.get_call(session, call_id=callback_data.id)
    if row is None:
        await refuse_old_button(query)
        return
    await query.answer()
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Remove"), callback_data=CallEdit(action="removeyes", id=row.id))
    builder.button(text=_("Cancel"), callback_data=CallEdit(action="cancel"))
    await message.answer(
        _("Remove “{title}”? Members will no longer find it, and its reminders stop.").format(
            title=quote(row.title)
        ),
        reply_markup=builder.as_markup(),
    )


async def edit_remove(
    query: CallbackQuery,
    message: Message,
    callback_data: CallEdit,
    session: AsyncSession,
    knowledge: KnowledgeBase,
    reminders: Reminders,
) -> None:
    """Remove the call; its unsent reminders are cancelled in the same transaction."""
    if not await calls.remove_call(session, call_id=callback_data.id):
        await refuse_old_button(query)
        return
    remaining = [call for call in knowledge.pack.calls if call.id != callback_data.id]
    await reminders.calls_changed(session, remaining)
    await session.commit()
    await asyncio.to_thread(knowledge.set_stored_calls, await calls.stored_calls(session))
    await query.answer()
    await drop_keyboard(query)
    await message.answer(_("Removed. Its reminders will not be sent."))


async def edit_cancel(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    """Leave the change of a call."""
    if await state.get_state() == EditCall.moment.state:
        await state.clear()
    await query.answer()
    await drop_keyboard(query)
    await message.answer(_("Nothing was changed."))


# --- /reload ------------------------------------------------------------------------------------


async def reload_pack(
    message: Message, knowledge: KnowledgeBase, session: AsyncSession, reminders: Reminders
) -> None:
    """Re-read the knowledge pack; refuse a broken one with its problems. Reminders follow the
    calls as they now are (added, moved, gone)."""
    stored = await calls.stored_calls(session)
    problems = await asyncio.to_thread(knowledge.reload, stored)
    if problems:
        lines = [
            _(
                "The knowledge pack was not reloaded because of these problems; "
                "the previous version stays in use."
            ),
            "",
            *(quote(str(problem)) for problem in problems[:PROBLEMS_SHOWN]),
        ]
        hidden = len(problems) - PROBLEMS_SHOWN
        if hidden > 0:
            lines.append(
                ngettext(
                    "…and {count} more problem.", "…and {count} more problems.", hidden
                ).format(count=hidden)
            )
        await answer_in_pieces(message, "\n".join(lines))
        return
    await reminders.calls_changed(session)
    pack = knowledge.pack
    entries = ngettext("{count} entry", "{count} entries", len(pack.entries)).format(
        count=len(pack.entries)
    )
    found = ngettext("{count} call", "{count} calls", len(pack.calls)).format(count=len(pack.calls))
    await message.answer(
        _("The knowledge pack is reloaded: {entries} and {calls}.").format(
            entries=entries, calls=found
        )
    )


# --- /newcall -----------------------------------------------------------------------------------


async def _step_at(state: FSMContext) -> str:
    """The /newcall step the conversation is at ("title", "opens", ...)."""
    return (await state.get_state() or "").rpartition(":")[2]


async def new_call(message: Message, state: FSMContext, settings: Settings) -> None:
    """Start the wizard."""
    await state.set_data({"timezone": settings.timezone, "municipalities": []})
    await ask_step(message, state, "title", settings)


async def text_typed(
    message: Message,
    state: FSMContext,
    settings: Settings,
    knowledge: KnowledgeBase,
    lang: Lang,
    clock: Clock,
) -> None:
    """A text step: keep the text (within its limit) and go on; a contact must be one."""
    step = await _step_at(state)
    text = (message.text or "").strip()
    if not text or len(text) > TEXT_LIMITS[step]:
        await message.answer(
            _("Please keep it under {limit} characters.").format(limit=TEXT_LIMITS[step])
        )
        return
    if step == "contact":
        contact = normalise_contact(text)
        if contact is None:
            await message.answer(
                _(
                    "This is not an e-mail address, a phone number or a web address. Please "
                    "type one, for example info@community.org or +370 612 34567."
                )
            )
            return
        text = contact
    await state.update_data({step: text})
    await next_step(message, state, step, settings, knowledge, lang, clock)


async def time_typed(
    message: Message,
    state: FSMContext,
    settings: Settings,
    knowledge: KnowledgeBase,
    lang: Lang,
    clock: Clock,
) -> None:
    """The opening or closing moment, in TIMEZONE."""
    step = await _step_at(state)
    local = parse_local_time(message.text or "", end_of_day=step == "closes")
    if local is None:
        await message.answer(
            _("I could not read this date. Please type it like 2027-03-31 23:59 or 31.03.2027.")
        )
        return
    moment = local.replace(tzinfo=settings.tz)
    if step == "closes":
        opens = datetime.fromisoformat((await state.get_data())["opens"])
        if moment <= opens:
            await message.answer(
                _("The call must close after it opens ({opens}). When does it close?").format(
                    opens=format_datetime(opens, lang, settings.tz)
                )
            )
            return
    await state.update_data({step: moment.isoformat()})
    await next_step(message, state, step, settings, knowledge, lang, clock)


async def municipality_typed(
    message: Message,
    state: FSMContext,
    settings: Settings,
    knowledge: KnowledgeBase,
    municipalities: MunicipalityDirectory,
    lang: Lang,
    clock: Clock,
) -> None:
    """A municipality's name (offer the matches), or "all"."""
    typed = (message.text or "").strip()
    if means_everywhere(typed):
        await state.update_data(municipalities=[])
        await next_step(message, state, "municipalities", settings, knowledge, lang, clock)
        return
    chosen: list[str] = (await state.get_data()).get("municipalities", [])
    found = municipalities.find(typed, limit=MUNICIPALITY_CHOICES)
    if not found:
        await message.answer(
            _("No municipality matches “{query}”. Try another part of the name.").format(
                query=quote(typed[:100])
            ),
            reply_markup=step_keyboard("municipalities", chosen),
        )
        return
    builder = InlineKeyboardBuilder()
    for municipality in found:
        builder.button(
            text=municipality.short[lang],
            callback_data=NewCallMunicipality(id=municipality.id),
        )
    builder.adjust(2)
    extra = step_keyboard("municipalities", chosen)
    if extra is not None:
        builder.attach(InlineKeyboardBuilder.from_markup(extra))
    await message.answer(_("Choose the municipality:"), reply_markup=builder.as_markup())


async def municipality_chosen(
    query: CallbackQuery,
    message: Message,
    callback_data: NewCallMunicipality,
    state: FSMContext,
    municipalities: MunicipalityDirectory,
    lang: Lang,
) -> None:
    """Add a municipality to the call's list."""
    if callback_data.id not in municipalities:
        await refuse_old_button(query)
        return
    chosen: list[str] = (await state.get_data()).get("municipalities", [])
    if callback_data.id not in chosen:
        chosen = [*chosen, callback_data.id]
        await state.update_data(municipalities=chosen)
    await query.answer()
    names = ", ".join(
        quote(municipality.short[lang])
        for municipality in (municipalities.get(item) for item in chosen)
        if municipality is not None
    )
    await message.answer(
        _("Chosen: {names}. Type another municipality, or press Done.").format(names=names),
        reply_markup=step_keyboard("municipalities", chosen),
    )


async def municipalities_done(
    query: CallbackQuery,
    message: Message,
    callback_data: NewCallAction,
    state: FSMContext,
    settings: Settings,
    knowledge: KnowledgeBase,
    lang: Lang,
    clock: Clock,
) -> None:
    """All municipalities, or the ones chosen so far."""
    if callback_data.action == "all":
        await state.update_data(municipalities=[])
    elif not (await state.get_data()).get("municipalities"):
        await query.answer(
            _("Choose at least one municipality, or press All municipalities."), show_alert=True
        )
        return
    await query.answer()
    await next_step(message, state, "municipalities", settings, knowledge, lang, clock)


async def link_typed(
    message: Message,
    state: FSMContext,
    settings: Settings,
    knowledge: KnowledgeBase,
    lang: Lang,
    clock: Clock,
) -> None:
    """The call's web page (http or https; a bare address gets https://)."""
    link = normalise_url(message.text or "")
    if not link or len(link) > TEXT_LIMITS["link"]:
        await message.answer(
            _("This does not look like a link. Please type it like https://example.org/call."),
            reply_markup=step_keyboard("link"),
        )
        return
    await state.update_data(link=link)
    await next_step(message, state, "link", settings, knowledge, lang, clock)


async def no_link(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    settings: Settings,
    knowledge: KnowledgeBase,
    lang: Lang,
    clock: Clock,
) -> None:
    """The call has no web page."""
    await state.update_data(link="")
    await query.answer()
    await next_step(message, state, "link", settings, knowledge, lang, clock)


async def confirm_expected(message: Message) -> None:
    """Anything but the buttons at the preview."""
    await message.answer(_("Please press Save or Cancel under the preview."))


async def save_call(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    knowledge: KnowledgeBase,
    reminders: Reminders,
    lang: Lang,
) -> None:
    """Store the call and make it known at once; its reminders are planned in the same
    transaction."""
    data = await state.get_data()
    call_id = await calls.free_call_id(
        session, title=data["title"], reserved=pack_ids(knowledge.pack)
    )
    call = draft_call(call_id, data)
    row = await calls.add_call(
        session,
        call_id=call.id,
        title=data["title"],
        programme=data["programme"],
        funder=data["funder"],
        who_may_apply=data["who_may_apply"],
        opens=call.opens,
        closes=call.closes,
        timezone=call.timezone,
        municipalities=call.municipalities,
        contact=call.contact,
        link=call.link,
        language=knowledge.language_of(f"{data['title']} {data['who_may_apply']}", lang),
        created_by=query.from_user.id,
    )
    await reminders.calls_changed(session, [*knowledge.pack.calls, calls.as_call(row)])
    # The wizard ends in the same commit as the call is stored: whatever fails later, the
    # Save button cannot store the call a second time.
    await state.clear()
    # Committed first, so the knowledge never holds a call the database does not.
    await session.commit()
    await asyncio.to_thread(knowledge.add_calls, [calls.as_call(row)])
    await query.answer()
    await drop_keyboard(query)
    await message.answer(_("Saved. /calls lists the call and members' questions find it now."))


async def cancel_call(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    """Drop the draft."""
    await state.clear()
    await query.answer()
    await drop_keyboard(query)
    await message.answer(_("Cancelled: the call was not saved."))


async def stale_wizard_button(query: CallbackQuery) -> None:
    """A coordinator's button from a step that is over."""
    await refuse_old_button(query)


def create_router() -> Router:
    """/calls, /reload and the /newcall wizard; every wizard step is for coordinators only."""
    router = Router(name=__name__)
    router.message.register(list_calls, Command("calls"))
    router.message.register(reload_pack, Command("reload"), IsCoordinator())
    router.message.register(new_call, Command("newcall"), IsCoordinator(), F.chat.type == "private")
    router.message.register(
        text_typed,
        StateFilter(
            NewCall.title, NewCall.programme, NewCall.funder, NewCall.who_may_apply, NewCall.contact
        ),
        IsCoordinator(),
        F.text,
        is_not_command,
    )
    router.message.register(
        time_typed,
        StateFilter(NewCall.opens, NewCall.closes),
        IsCoordinator(),
        F.text,
        is_not_command,
    )
    router.message.register(
        municipality_typed,
        StateFilter(NewCall.municipalities),
        IsCoordinator(),
        F.text,
        is_not_command,
    )
    router.callback_query.register(
        municipality_chosen,
        NewCall.municipalities,
        NewCallMunicipality.filter(),
        IsCoordinator(),
        F.message.as_("message"),
    )
    router.callback_query.register(
        municipalities_done,
        NewCall.municipalities,
        NewCallAction.filter(F.action.in_({"all", "done"})),
        IsCoordinator(),
        F.message.as_("message"),
    )
    router.message.register(
        link_typed, StateFilter(NewCall.link), IsCoordinator(), F.text, is_not_command
    )
    router.callback_query.register(
        no_link,
        NewCall.link,
        NewCallAction.filter(F.action == "nolink"),
        IsCoordinator(),
        F.message.as_("message"),
    )
    router.message.register(confirm_expected, NewCall.confirm, IsCoordinator(), is_not_command)
    router.callback_query.register(
        save_call,
        NewCall.confirm,
        NewCallAction.filter(F.action == "save"),
        IsCoordinator(),
        F.message.as_("message"),
    )
    router.callback_query.register(
        cancel_call,
        StateFilter(*NewCall.__states__),
        NewCallAction.filter(F.action == "cancel"),
        IsCoordinator(),
        F.message.as_("message"),
    )
    router.callback_query.register(
        edit_list, CallEdit.filter(F.action == "list"), IsCoordinator(), F.message.as_("message")
    )
    router.callback_query.register(
        edit_pick, CallEdit.filter(F.action == "pick"), IsCoordinator(), F.message.as_("message")
    )
    router.callback_query.register(
        edit_date_asked,
        CallEdit.filter(F.action.in_({"opens", "closes"})),
        IsCoordinator(),
        F.message.as_("message"),
    )
    router.message.register(
        edit_date_typed, StateFilter(EditCall.moment), IsCoordinator(), F.text, is_not_command
    )
    router.callback_query.register(
        edit_remove_asked,
        CallEdit.filter(F.action == "remove"),
        IsCoordinator(),
        F.message.as_("message"),
    )
    router.callback_query.register(
        edit_remove,
        CallEdit.filter(F.action == "removeyes"),
        IsCoordinator(),
        F.message.as_("message"),
    )
    router.callback_query.register(
        edit_cancel,
        CallEdit.filter(F.action == "cancel"),
        IsCoordinator(),
        F.message.as_("message"),
    )
    router.callback_query.register(
        stale_wizard_button,
        or_f(NewCallAction.filter(), NewCallMunicipality.filter()),
        IsCoordinator(),
    )
    return router
